//! Management users: who may sign in, over which application, on which SVM, with which role.
//!
//! A user is a name within a scope (the cluster, or one data SVM) with a password and/or a
//! certificate, a role (built-in or custom, see [`super::role`]), a lock, and the applications
//! it may use (`ontapi` for ZAPI, `http` for REST, `ssh`, `console`) each with its
//! authentication methods. Users made at runtime are saved; the topology's users are made again
//! at every start and saved only once changed.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::role::{self, AccessLevel, Privilege, Role};
use super::{Cluster, ModelError};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Cluster,
    Svm(String),
}

/// The applications a login can be for, as ONTAP names them.
pub const APPLICATIONS: &[&str] = &[
    "console",
    "http",
    "ontapi",
    "ssh",
    "service-processor",
    "snmp",
    "telnet",
    "rsh",
];
/// Authentication methods, as ZAPI names them (REST says `certificate` for `cert`).
pub const METHODS: &[&str] = &[
    "password",
    "cert",
    "publickey",
    "domain",
    "nsswitch",
    "saml",
    "usm",
    "community",
];
/// What the simulator's fronts are reached with: ZAPI and REST.
pub const ZAPI_APPLICATION: &str = "ontapi";
pub const REST_APPLICATION: &str = "http";

/// One application a user may sign in to, with the methods it may use there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Application {
    pub application: String,
    pub authentication_methods: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub name: String,
    /// None: the user can only sign in with a client certificate.
    pub password: Option<String>,
    pub certificate_cn: Option<String>,
    pub scope: Scope,
    /// A built-in role of the scope (`admin`, `readonly`, `vsadmin`, ...) or a custom one.
    pub role: String,
    #[serde(default)]
    pub locked: bool,
    #[serde(default)]
    pub applications: Vec<Application>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
    /// Made by the topology and unchanged since: not saved, the topology makes it again.
    #[serde(skip)]
    pub seeded: bool,
}

impl User {
    /// Whether the user may sign in to `application` with `method`.
    pub fn may_use(&self, application: &str, method: Option<&str>) -> bool {
        !self.locked
            && self.applications.iter().any(|a| {
                a.application == application
                    && method.is_none_or(|m| a.authentication_methods.iter().any(|x| x == m))
            })
    }
}

/// What a REST account create or modify sets (None: unchanged).
#[derive(Debug, Clone, Default)]
pub struct AccountChange {
    pub role: Option<String>,
    pub password: Option<String>,
    pub applications: Option<Vec<Application>>,
    pub locked: Option<bool>,
    pub comment: Option<String>,
}

/// Compare without an early exit, so response timing does not leak how much of a password matched.
fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        diff |= (*a.get(i).unwrap_or(&0) ^ *b.get(i).unwrap_or(&0)) as usize;
    }
    diff == 0
}

fn not_found(kind: &'static str, name: &str) -> ModelError {
    ModelError::NotFound {
        kind,
        name: name.to_string(),
    }
}

fn check_name(what: &str, name: &str) -> Result<(), ModelError> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.@\\".contains(c))
    {
        return Err(ModelError::InvalidInput(format!(
            "Invalid {what} \"{name}\": use 1 to 64 letters, digits and the characters _ - . @ \\"
        )));
    }
    Ok(())
}

fn check_application(app: &str, method: &str) -> Result<(), ModelError> {
    if !APPLICATIONS.contains(&app) {
        return Err(ModelError::InvalidInput(format!(
            "Invalid value specified for \"application\": \"{app}\" (one of {})",
            APPLICATIONS.join(", ")
        )));
    }
    if !METHODS.contains(&method) {
        return Err(ModelError::InvalidInput(format!(
            "Invalid value specified for \"authentication-method\": \"{method}\" (one of {})",
            METHODS.join(", ")
        )));
    }
    Ok(())
}

fn check_password(p: &str) -> Result<(), ModelError> {
    // ONTAP's default policy: at least 8 characters with a letter and a digit.
    if p.chars().count() < 8
        || !p.chars().any(|c| c.is_alphabetic())
        || !p.chars().any(|c| c.is_ascii_digit())
    {
        return Err(ModelError::InvalidInput(
            "Minimum length for new password is 8 characters, with at least one letter and one digit."
                .into(),
        ));
    }
    Ok(())
}

type Key = (Scope, String);

fn key(scope: &Scope, name: &str) -> Key {
    (scope.clone(), name.to_string())
}

impl Cluster {
    /// Basic-auth sign-in to `application`: a locked user, or one without a password login for
    /// that application, is refused as a wrong password is.
    pub fn authenticate_password(
        &self,
        name: &str,
        password: &str,
        application: &str,
    ) -> Option<&Arc<User>> {
        self.users
            .values()
            .find(|u| {
                u.name == name
                    && u.password
                        .as_deref()
                        .is_some_and(|p| same_secret(p, password))
            })
            .filter(|u| u.may_use(application, Some("password")))
    }

    /// Client-certificate sign-in: the CN names the user (or a user's configured
    /// `certificate_cn`); the user must be unlocked and have the application.
    pub fn authenticate_certificate(&self, cn: &str, application: &str) -> Option<&Arc<User>> {
        self.users
            .values()
            .find(|u| u.certificate_cn.as_deref() == Some(cn))
            .or_else(|| self.users.values().find(|u| u.name == cn))
            .filter(|u| u.may_use(application, None))
    }

    /// The scope a `vserver` input names: the cluster (admin SVM, named as the cluster) or a
    /// data SVM that exists.
    pub fn scope_named(&self, vserver: &str) -> Result<Scope, ModelError> {
        if vserver == self.name {
            return Ok(Scope::Cluster);
        }
        self.svm(vserver)?;
        Ok(Scope::Svm(vserver.to_string()))
    }

    /// The SVM name a scope shows as (the admin SVM is named as the cluster).
    pub fn vserver_of<'a>(&'a self, scope: &'a Scope) -> &'a str {
        match scope {
            Scope::Cluster => &self.name,
            Scope::Svm(s) => s,
        }
    }

    /// The SVM a request acts on: the tunnel target (`vfiler`) when given, else the user's own SVM
    /// (None for cluster context). An SVM-scoped user may not tunnel to another SVM.
    pub fn resolve_context(
        &self,
        user: &User,
        vfiler: Option<&str>,
    ) -> Result<Option<String>, ModelError> {
        match (&user.scope, vfiler) {
            (Scope::Cluster, None) => Ok(None),
            (Scope::Cluster, Some(target)) => {
                self.svm(target)?;
                Ok(Some(target.to_string()))
            }
            (Scope::Svm(own), None) => Ok(Some(own.clone())),
            (Scope::Svm(own), Some(target)) if target == own => Ok(Some(own.clone())),
            (Scope::Svm(own), Some(target)) => Err(ModelError::NotAuthorized(format!(
                "Insufficient privileges: user '{}' is scoped to Vserver \"{own}\" and cannot act on Vserver \"{target}\"",
                user.name
            ))),
        }
    }

    pub fn user(&self, scope: &Scope, name: &str) -> Result<&Arc<User>, ModelError> {
        self.users
            .get(&key(scope, name))
            .ok_or_else(|| not_found("User", name))
    }

    fn check_role(&self, scope: &Scope, role: &str) -> Result<(), ModelError> {
        if self.role_exists(scope, role) {
            Ok(())
        } else {
            Err(ModelError::InvalidInput(format!(
                "Role \"{role}\" does not exist for Vserver \"{}\"",
                self.vserver_of(scope)
            )))
        }
    }

    fn put_user(&mut self, mut u: User) {
        u.seeded = false;
        self.users.insert(key(&u.scope, &u.name), Arc::new(u));
    }

    fn change_user(
        &mut self,
        scope: &Scope,
        name: &str,
        f: impl FnOnce(&mut User) -> Result<(), ModelError>,
    ) -> Result<(), ModelError> {
        let mut u = (**self.user(scope, name)?).clone();
        f(&mut u)?;
        self.put_user(u);
        Ok(())
    }

    /// ZAPI `security-login-create`: a login (application + method) for a user, made with the
    /// user if it is new. A password login of a new user needs a password.
    pub fn add_login(
        &mut self,
        scope: &Scope,
        name: &str,
        (application, method): (&str, &str),
        role: &str,
        password: Option<&str>,
        comment: Option<&str>,
    ) -> Result<(), ModelError> {
        check_name("user name", name)?;
        check_application(application, method)?;
        self.check_role(scope, role)?;
        if let Some(p) = password {
            check_password(p)?;
        }
        let mut u = match self.users.get(&key(scope, name)) {
            Some(u) => (**u).clone(),
            None => {
                if method == "password" && password.is_none() {
                    return Err(ModelError::InvalidInput(format!(
                        "A password is required to create user \"{name}\" with authentication method password"
                    )));
                }
                User {
                    name: name.to_string(),
                    password: None,
                    certificate_cn: None,
                    scope: scope.clone(),
                    role: role.to_string(),
                    locked: false,
                    applications: Vec::new(),
                    comment: String::new(),
                    seeded: false,
                }
            }
        };
        match u
            .applications
            .iter_mut()
            .find(|a| a.application == application)
        {
            Some(a) if a.authentication_methods.iter().any(|m| m == method) => {
                return Err(ModelError::Duplicate {
                    kind: "Login",
                    name: format!("{name} {application} {method}"),
                })
            }
            Some(a) => a.authentication_methods.push(method.to_string()),
            None => u.applications.push(Application {
                application: application.to_string(),
                authentication_methods: vec![method.to_string()],
            }),
        }
        u.role = role.to_string();
        if let Some(p) = password {
            u.password = Some(p.to_string());
        }
        if let Some(c) = comment {
            u.comment = c.to_string();
        }
        self.put_user(u);
        Ok(())
    }

    /// ZAPI `security-login-modify`: the role (and comment) of a user's login.
    pub fn modify_login(
        &mut self,
        scope: &Scope,
        name: &str,
        application: &str,
        method: &str,
        role: Option<&str>,
        comment: Option<&str>,
    ) -> Result<(), ModelError> {
        if let Some(r) = role {
            self.check_role(scope, r)?;
        }
        self.change_user(scope, name, |u| {
            if !u.applications.iter().any(|a| {
                a.application == application && a.authentication_methods.iter().any(|m| m == method)
            }) {
                return Err(not_found(
                    "Login",
                    &format!("{name} {application} {method}"),
                ));
            }
            if let Some(r) = role {
                u.role = r.to_string();
            }
            if let Some(c) = comment {
                u.comment = c.to_string();
            }
            Ok(())
        })
    }

    /// ZAPI `security-login-delete`: one login of a user; the user goes with its last one.
    pub fn delete_login(
        &mut self,
        scope: &Scope,
        name: &str,
        application: &str,
        method: &str,
    ) -> Result<(), ModelError> {
        let mut u = (**self.user(scope, name)?).clone();
        let gone = not_found("Login", &format!("{name} {application} {method}"));
        let a = u
            .applications
            .iter_mut()
            .find(|a| a.application == application)
            .ok_or_else(|| gone.clone())?;
        let before = a.authentication_methods.len();
        a.authentication_methods.retain(|m| m != method);
        if a.authentication_methods.len() == before {
            return Err(gone);
        }
        u.applications
            .retain(|a| !a.authentication_methods.is_empty());
        if u.applications.is_empty() {
            self.users.remove(&key(scope, name));
        } else {
            self.put_user(u);
        }
        Ok(())
    }

    /// REST `POST /api/security/accounts`: a whole account at once.
    pub fn create_user(
        &mut self,
        scope: &Scope,
        name: &str,
        change: AccountChange,
    ) -> Result<(), ModelError> {
        check_name("user name", name)?;
        if self.users.contains_key(&key(scope, name)) {
            return Err(ModelError::Duplicate {
                kind: "User",
                name: name.to_string(),
            });
        }
        let role = change
            .role
            .clone()
            .ok_or_else(|| ModelError::InvalidInput("A role is required".into()))?;
        let apps = change.applications.clone().unwrap_or_default();
        if apps.is_empty() {
            return Err(ModelError::InvalidInput(
                "At least one application is required".into(),
            ));
        }
        let u = User {
            name: name.to_string(),
            password: None,
            certificate_cn: None,
            scope: scope.clone(),
            role,
            locked: false,
            applications: Vec::new(),
            comment: String::new(),
            seeded: false,
        };
        self.users.insert(key(scope, name), Arc::new(u));
        self.modify_user(scope, name, change)
    }

    /// REST `PATCH /api/security/accounts/{owner}/{name}`.
    pub fn modify_user(
        &mut self,
        scope: &Scope,
        name: &str,
        change: AccountChange,
    ) -> Result<(), ModelError> {
        if let Some(r) = &change.role {
            self.check_role(scope, r)?;
        }
        if let Some(apps) = &change.applications {
            for a in apps {
                if a.authentication_methods.is_empty() {
                    return Err(ModelError::InvalidInput(format!(
                        "Application \"{}\" needs at least one authentication method",
                        a.application
                    )));
                }
                for m in &a.authentication_methods {
                    check_application(&a.application, m)?;
                }
            }
        }
        self.change_user(scope, name, |u| {
            if let Some(p) = &change.password {
                check_password(p)?;
                if u.password.as_deref().is_some_and(|old| same_secret(old, p)) {
                    return Err(ModelError::PasswordReused(
                        "New password must be different than last 6 passwords.".into(),
                    ));
                }
                u.password = Some(p.clone());
            }
            if let Some(apps) = change.applications {
                u.applications = apps;
            }
            let needs_password = u
                .applications
                .iter()
                .any(|a| a.authentication_methods.iter().any(|m| m == "password"));
            if needs_password && u.password.is_none() {
                return Err(ModelError::InvalidInput(format!(
                    "A password is required for user \"{}\": it has a password login",
                    u.name
                )));
            }
            if let Some(r) = change.role {
                u.role = r;
            }
            if let Some(l) = change.locked {
                u.locked = l;
            }
            if let Some(c) = change.comment {
                u.comment = c;
            }
            Ok(())
        })
    }

    /// REST `DELETE /api/security/accounts/{owner}/{name}`: the user and every login.
    pub fn delete_user(&mut self, scope: &Scope, name: &str) -> Result<(), ModelError> {
        self.user(scope, name)?;
        self.users.remove(&key(scope, name));
        Ok(())
    }

    /// `security-login-lock` / `-unlock`.
    pub fn lock_user(&mut self, scope: &Scope, name: &str, locked: bool) -> Result<(), ModelError> {
        self.change_user(scope, name, |u| {
            u.locked = locked;
            Ok(())
        })
    }

    /// `security-login-modify-password`: refused when it is the password already set.
    pub fn set_password(
        &mut self,
        scope: &Scope,
        name: &str,
        password: &str,
    ) -> Result<(), ModelError> {
        self.modify_user(
            scope,
            name,
            AccountChange {
                password: Some(password.to_string()),
                ..Default::default()
            },
        )
    }

    pub fn role(&self, scope: &Scope, name: &str) -> Result<&Role, ModelError> {
        self.roles
            .get(&key(scope, name))
            .ok_or_else(|| not_found("Role", name))
    }

    fn custom_role_name(&self, scope: &Scope, name: &str) -> Result<(), ModelError> {
        check_name("role name", name)?;
        if role::builtin(name, scope).is_some() {
            return Err(ModelError::InvalidInput(format!(
                "Role \"{name}\" is a built-in role of Vserver \"{}\" and cannot be changed",
                self.vserver_of(scope)
            )));
        }
        Ok(())
    }

    fn check_entry(p: &Privilege) -> Result<Privilege, ModelError> {
        let path = if p.path.starts_with('/') {
            if !p.path.starts_with("/api/") || p.path.contains(char::is_whitespace) {
                return Err(ModelError::InvalidInput(format!(
                    "Invalid value specified for \"path\": \"{}\" is neither a REST path (/api/...) nor a command directory",
                    p.path
                )));
            }
            p.path.trim_end_matches('/').to_string()
        } else {
            let c = role::normalise_command(&p.path);
            if c.is_empty() {
                return Err(ModelError::InvalidInput(
                    "Invalid value specified for \"command-directory-name\": empty".into(),
                ));
            }
            c
        };
        Ok(Privilege {
            path,
            access: p.access,
            query: p.query.clone().filter(|q| !q.trim().is_empty()),
        })
    }

    /// ZAPI `security-login-role-create` (and a REST privilege POST): one entry of a custom
    /// role, made with the role if it is new.
    pub fn add_role_entry(
        &mut self,
        scope: &Scope,
        name: &str,
        entry: Privilege,
    ) -> Result<(), ModelError> {
        self.custom_role_name(scope, name)?;
        let entry = Self::check_entry(&entry)?;
        let mut r = self.roles.get(&key(scope, name)).cloned().unwrap_or(Role {
            name: name.to_string(),
            scope: scope.clone(),
            privileges: Vec::new(),
        });
        if r.privileges.iter().any(|p| p.path == entry.path) {
            return Err(ModelError::Duplicate {
                kind: "Role entry",
                name: format!("{name} {}", entry.path),
            });
        }
        r.privileges.push(entry);
        self.roles.insert(key(scope, name), r);
        Ok(())
    }

    /// `security-login-role-modify` (and a REST privilege PATCH): an entry's access and query.
    /// `query: Some(None)` clears the query.
    pub fn modify_role_entry(
        &mut self,
        scope: &Scope,
        name: &str,
        path: &str,
        access: Option<AccessLevel>,
        query: Option<Option<String>>,
    ) -> Result<(), ModelError> {
        self.custom_role_name(scope, name)?;
        let mut r = self.role(scope, name)?.clone();
        let wanted = Self::check_entry(&Privilege::new(path, AccessLevel::None))?.path;
        let p = r
            .privileges
            .iter_mut()
            .find(|p| p.path == wanted)
            .ok_or_else(|| not_found("Role entry", &format!("{name} {path}")))?;
        if let Some(a) = access {
            p.access = a;
        }
        if let Some(q) = query {
            p.query = q.filter(|q| !q.trim().is_empty());
        }
        self.roles.insert(key(scope, name), r);
        Ok(())
    }

    /// `security-login-role-delete` (and a REST privilege DELETE): one entry; the role goes with
    /// its last entry, unless a user still has it.
    pub fn delete_role_entry(
        &mut self,
        scope: &Scope,
        name: &str,
        path: &str,
    ) -> Result<(), ModelError> {
        self.custom_role_name(scope, name)?;
        let mut r = self.role(scope, name)?.clone();
        let wanted = Self::check_entry(&Privilege::new(path, AccessLevel::None))?.path;
        let before = r.privileges.len();
        r.privileges.retain(|p| p.path != wanted);
        if r.privileges.len() == before {
            return Err(not_found("Role entry", &format!("{name} {path}")));
        }
        if r.privileges.is_empty() {
            return self.delete_role(scope, name);
        }
        self.roles.insert(key(scope, name), r);
        Ok(())
    }

    /// REST `POST /api/security/roles`: a role with its entries.
    pub fn create_role(
        &mut self,
        scope: &Scope,
        name: &str,
        privileges: Vec<Privilege>,
    ) -> Result<(), ModelError> {
        self.custom_role_name(scope, name)?;
        if self.roles.contains_key(&key(scope, name)) {
            return Err(ModelError::Duplicate {
                kind: "Role",
                name: name.to_string(),
            });
        }
        if privileges.is_empty() {
            return Err(ModelError::InvalidInput(
                "A role needs at least one privilege".into(),
            ));
        }
        for p in privileges {
            self.add_role_entry(scope, name, p)?;
        }
        Ok(())
    }

    /// REST `DELETE /api/security/roles/{owner}/{name}`: refused while a user has the role.
    pub fn delete_role(&mut self, scope: &Scope, name: &str) -> Result<(), ModelError> {
        self.custom_role_name(scope, name)?;
        self.role(scope, name)?;
        if let Some(u) = self
            .users
            .values()
            .find(|u| &u.scope == scope && u.role == name)
        {
            return Err(ModelError::Busy(format!(
                "Role \"{name}\" cannot be deleted: it is assigned to user \"{}\"",
                u.name
            )));
        }
        self.roles.remove(&key(scope, name));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Topology;
    use crate::model::role::{Operation, Request};
    use crate::model::Listeners;

    fn cluster() -> Cluster {
        let any = "0.0.0.0:0".parse().unwrap();
        Cluster::from_topology(
            &Topology::builtin_default(),
            &Listeners {
                management: any,
                nfs: any,
            },
        )
    }

    #[test]
    fn secret_compare() {
        assert!(same_secret("netapp1!", "netapp1!"));
        assert!(!same_secret("netapp1!", "netapp1"));
        assert!(!same_secret("", "x"));
    }

    #[test]
    fn logins_lock_and_applications() {
        let mut c = cluster();
        let svm = Scope::Svm("svm1".into());
        c.add_login(
            &svm,
            "u1",
            ("ontapi", "password"),
            "vsadmin",
            Some("secret123"),
            None,
        )
        .unwrap();
        assert!(c
            .authenticate_password("u1", "secret123", "ontapi")
            .is_some());
        assert!(
            c.authenticate_password("u1", "secret123", "http").is_none(),
            "no http login"
        );
        c.add_login(&svm, "u1", ("http", "password"), "vsadmin", None, None)
            .unwrap();
        assert!(c.authenticate_password("u1", "secret123", "http").is_some());
        assert!(matches!(
            c.add_login(&svm, "u1", ("http", "password"), "vsadmin", None, None),
            Err(ModelError::Duplicate { .. })
        ));
        c.lock_user(&svm, "u1", true).unwrap();
        assert!(c
            .authenticate_password("u1", "secret123", "ontapi")
            .is_none());
        c.lock_user(&svm, "u1", false).unwrap();
        assert!(matches!(
            c.set_password(&svm, "u1", "secret123"),
            Err(ModelError::PasswordReused(_))
        ));
        c.set_password(&svm, "u1", "other4567").unwrap();
        assert!(c
            .authenticate_password("u1", "other4567", "ontapi")
            .is_some());
        c.delete_login(&svm, "u1", "ontapi", "password").unwrap();
        c.delete_login(&svm, "u1", "http", "password").unwrap();
        assert!(c.user(&svm, "u1").is_err(), "gone with its last login");
        // A role that does not exist for the scope is refused.
        assert!(c
            .add_login(
                &svm,
                "u2",
                ("ontapi", "password"),
                "admin",
                Some("secret123"),
                None
            )
            .is_err());
    }

    #[test]
    fn custom_roles_decide_and_are_kept_while_used() {
        let mut c = cluster();
        let svm = Scope::Svm("svm1".into());
        c.add_role_entry(&svm, "r", Privilege::new("DEFAULT", AccessLevel::None))
            .unwrap();
        c.add_role_entry(&svm, "r", Privilege::new("volume", AccessLevel::All))
            .unwrap();
        c.add_role_entry(
            &svm,
            "r",
            Privilege::new("Volume  Snapshot", AccessLevel::Readonly),
        )
        .unwrap();
        assert!(c
            .add_role_entry(&svm, "vsadmin", Privilege::new("volume", AccessLevel::All))
            .is_err());
        c.add_login(
            &svm,
            "t",
            ("ontapi", "password"),
            "r",
            Some("secret123"),
            None,
        )
        .unwrap();
        let u = c.user(&svm, "t").unwrap().clone();
        let ask = |c: &Cluster, command: &str, op| {
            c.authorize(
                &u,
                &Request {
                    command,
                    rest_path: None,
                    op,
                },
            )
        };
        assert!(ask(&c, "volume create", Operation::Create).is_ok());
        assert!(ask(&c, "volume snapshot show", Operation::Read).is_ok());
        let e = ask(&c, "volume snapshot create", Operation::Create).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Insufficient privileges: user 't' does not have write access to this resource"
        );
        assert!(ask(&c, "vserver show", Operation::Read).is_err());
        c.modify_role_entry(&svm, "r", "volume snapshot", Some(AccessLevel::All), None)
            .unwrap();
        assert!(ask(&c, "volume snapshot create", Operation::Create).is_ok());
        assert!(matches!(c.delete_role(&svm, "r"), Err(ModelError::Busy(_))));
        c.delete_user(&svm, "t").unwrap();
        c.delete_role(&svm, "r").unwrap();
        assert!(c.role(&svm, "r").is_err());
    }

    #[test]
    fn topology_users_keep_their_meaning() {
        let c = cluster();
        let admin = c.user(&Scope::Cluster, "admin").unwrap();
        assert_eq!(admin.role, "admin");
        let vsadmin = c.user(&Scope::Svm("svm1".into()), "vsadmin").unwrap();
        assert_eq!(vsadmin.role, "vsadmin");
        for app in ["ontapi", "http"] {
            assert!(admin.may_use(app, Some("password")));
        }
    }
}
