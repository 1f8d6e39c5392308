//! `security-login-*` and `security-login-role-*`: management users (one record per user,
//! application and authentication method, as ONTAP lists logins) and access-control roles (one
//! record per role and command directory). The calls Ansible's `na_ontap_user` and
//! `na_ontap_user_role` make: they name the SVM with a `vserver` input, or tunnel to it.

use super::{need, opt, req, text, Access, Api, Ctx, Exposure, Kind, ITER_INPUTS};
use crate::model::role::{self, AccessLevel, Privilege};
use crate::model::{Cluster, ModelError, Operation, Request, Scope, User};
use crate::zapi::errno::{ZapiError, EAPIPRIVILEGE, EINVALIDINPUTERROR};
use crate::zapi::iter::IterRequest;
use crate::zapi::xml::Element;

const LOGIN_KEY: &[super::Input] = &[
    opt("vserver", Kind::Str),
    req("user-name", Kind::Str),
    req("application", Kind::Str),
    req("authentication-method", Kind::Str),
];

pub static APIS: &[Api] = &[
    Api {
        name: "security-login-create",
        access: Access::Write,
        exposure: Exposure::Both,
        inputs: &[
            opt("vserver", Kind::Str),
            req("user-name", Kind::Str),
            req("application", Kind::Str),
            req("authentication-method", Kind::Str),
            opt("role-name", Kind::Str),
            opt("password", Kind::Str),
            opt("comment", Kind::Str),
            opt("second-authentication-method", Kind::Str),
            opt("is-ns-switch-group", Kind::Bool),
        ],
        handler: login_create,
    },
    Api {
        name: "security-login-modify",
        access: Access::Write,
        exposure: Exposure::Both,
        inputs: &[
            opt("vserver", Kind::Str),
            req("user-name", Kind::Str),
            req("application", Kind::Str),
            req("authentication-method", Kind::Str),
            opt("role-name", Kind::Str),
            opt("comment", Kind::Str),
            opt("second-authentication-method", Kind::Str),
            opt("is-ns-switch-group", Kind::Bool),
        ],
        handler: login_modify,
    },
    Api {
        name: "security-login-delete",
        access: Access::Write,
        exposure: Exposure::Both,
        inputs: LOGIN_KEY,
        handler: login_delete,
    },
    Api {
        name: "security-login-lock",
        access: Access::Write,
        exposure: Exposure::Both,
        inputs: &[opt("vserver", Kind::Str), req("user-name", Kind::Str)],
        handler: login_lock,
    },
    Api {
        name: "security-login-unlock",
        access: Access::Write,
        exposure: Exposure::Both,
        inputs: &[opt("vserver", Kind::Str), req("user-name", Kind::Str)],
        handler: login_unlock,
    },
    Api {
        name: "security-login-modify-password",
        access: Access::Write,
        exposure: Exposure::Both,
        inputs: &[req("user-name", Kind::Str), req("new-password", Kind::Str)],
        handler: login_modify_password,
    },
    Api {
        name: "security-login-get-iter",
        access: Access::Read,
        exposure: Exposure::Both,
        inputs: ITER_INPUTS,
        handler: login_get_iter,
    },
    Api {
        name: "security-login-role-create",
        access: Access::Write,
        exposure: Exposure::Both,
        inputs: &[
            opt("vserver", Kind::Str),
            req("role-name", Kind::Str),
            req("command-directory-name", Kind::Str),
            opt("access-level", Kind::Str),
            opt("role-query", Kind::Str),
        ],
        handler: role_create,
    },
    Api {
        name: "security-login-role-modify",
        access: Access::Write,
        exposure: Exposure::Both,
        inputs: &[
            opt("vserver", Kind::Str),
            req("role-name", Kind::Str),
            req("command-directory-name", Kind::Str),
            opt("access-level", Kind::Str),
            opt("role-query", Kind::Str),
        ],
        handler: role_modify,
    },
    Api {
        name: "security-login-role-delete",
        access: Access::Write,
        exposure: Exposure::Both,
        inputs: &[
            opt("vserver", Kind::Str),
            req("role-name", Kind::Str),
            req("command-directory-name", Kind::Str),
        ],
        handler: role_delete,
    },
    Api {
        name: "security-login-role-get-iter",
        access: Access::Read,
        exposure: Exposure::Both,
        inputs: ITER_INPUTS,
        handler: role_get_iter,
    },
];

/// The scope a call acts on: its `vserver` input (the cluster's name is the admin SVM), else the
/// SVM it tunnels to, else the cluster. An SVM context may not name another SVM.
fn scope_of(ctx: &Ctx, c: &Cluster, el: &Element) -> Result<Scope, ZapiError> {
    let named = text(el, "vserver").filter(|v| !v.is_empty());
    match (ctx.svm.as_deref(), named) {
        (Some(own), Some(v)) if v != own => Err(ZapiError::new(
            EAPIPRIVILEGE,
            format!(
                "Insufficient privileges: the call acts on Vserver \"{own}\" and cannot name Vserver \"{v}\""
            ),
        )),
        (Some(own), _) => Ok(Scope::Svm(own.to_string())),
        (None, Some(v)) => c.scope_named(v).map_err(vserver_not_found),
        (None, None) => Ok(Scope::Cluster),
    }
}

fn vserver_not_found(e: ModelError) -> ZapiError {
    match e {
        ModelError::NotFound { name, .. } => ZapiError::new(
            crate::zapi::errno::EVSERVERNOTFOUND,
            format!("Specified vserver not found: \"{name}\""),
        ),
        other => other.into(),
    }
}

fn second_method_unsupported(el: &Element) -> Result<(), ZapiError> {
    match text(el, "second-authentication-method") {
        None | Some("") | Some("none") => Ok(()),
        Some(m) => Err(ZapiError::new(
            EINVALIDINPUTERROR,
            format!(
                "Invalid value specified for \"second-authentication-method\": \"{m}\" (the simulator signs in with one method: none)"
            ),
        )),
    }
}

/// The role a login gets when none is named: the scope's administrator.
fn default_role(scope: &Scope) -> &'static str {
    match scope {
        Scope::Cluster => "admin",
        Scope::Svm(_) => "vsadmin",
    }
}

fn login_create(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    second_method_unsupported(el)?;
    ctx.sim.mutate(|c| {
        let scope = scope_of(ctx, c, el)?;
        let role = text(el, "role-name")
            .filter(|r| !r.is_empty())
            .unwrap_or(default_role(&scope));
        c.add_login(
            &scope,
            need(el, "user-name"),
            (need(el, "application"), need(el, "authentication-method")),
            role,
            text(el, "password"),
            text(el, "comment"),
        )?;
        Ok(vec![])
    })
}

fn login_modify(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    second_method_unsupported(el)?;
    ctx.sim.mutate(|c| {
        let scope = scope_of(ctx, c, el)?;
        c.modify_login(
            &scope,
            need(el, "user-name"),
            need(el, "application"),
            need(el, "authentication-method"),
            text(el, "role-name").filter(|r| !r.is_empty()),
            text(el, "comment"),
        )?;
        Ok(vec![])
    })
}

fn login_delete(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    ctx.sim.mutate(|c| {
        let scope = scope_of(ctx, c, el)?;
        c.delete_login(
            &scope,
            need(el, "user-name"),
            need(el, "application"),
            need(el, "authentication-method"),
        )?;
        Ok(vec![])
    })
}

fn lock(ctx: &Ctx, el: &Element, locked: bool) -> Result<Vec<Element>, ZapiError> {
    ctx.sim.mutate(|c| {
        let scope = scope_of(ctx, c, el)?;
        c.lock_user(&scope, need(el, "user-name"), locked)?;
        Ok(vec![])
    })
}

fn login_lock(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    lock(ctx, el, true)
}

fn login_unlock(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    lock(ctx, el, false)
}

/// Any user may change its own password (`security login password`); another user's takes the
/// right to modify logins.
fn login_modify_password(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    ctx.sim.mutate(|c| {
        let scope = scope_of(ctx, c, el)?;
        let name = need(el, "user-name");
        if ctx.user.scope != scope || ctx.user.name != name {
            let req = Request {
                command: "security login modify",
                rest_path: None,
                op: Operation::Modify,
            };
            c.authorize(ctx.user, &req)
                .map_err(|e| ZapiError::new(EAPIPRIVILEGE, e.to_string()))?;
        }
        c.set_password(&scope, name, need(el, "new-password"))?;
        Ok(vec![])
    })
}

fn login_info(vserver: &str, u: &User, application: &str, method: &str) -> Element {
    let mut e = Element::new("security-login-account-info")
        .with_leaf("application", application)
        .with_leaf("authentication-method", method)
        .with_leaf("is-locked", u.locked)
        .with_leaf("role-name", &u.role)
        .with_leaf("second-authentication-method", "none")
        .with_leaf("user-name", &u.name)
        .with_leaf("vserver", vserver);
    if !u.comment.is_empty() {
        e = e.with_leaf("comment", &u.comment);
    }
    e
}

fn login_get_iter(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let req = IterRequest::parse(el, "security-login-account-info")?;
    let c = ctx.sim.read();
    let mut rows: Vec<(Vec<String>, Element)> = Vec::new();
    for u in c.users.values() {
        if ctx
            .svm
            .as_deref()
            .is_some_and(|s| u.scope != Scope::Svm(s.into()))
        {
            continue;
        }
        let vserver = c.vserver_of(&u.scope);
        for a in &u.applications {
            for m in &a.authentication_methods {
                rows.push((
                    vec![
                        vserver.to_string(),
                        u.name.clone(),
                        a.application.clone(),
                        m.clone(),
                    ],
                    login_info(vserver, u, &a.application, m),
                ));
            }
        }
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(req.page_tree(&el.name, rows, |r| r.0.clone(), |r| r.1.clone()))
}

fn access_level(el: &Element) -> Result<Option<AccessLevel>, ZapiError> {
    match text(el, "access-level") {
        None => Ok(None),
        Some(v) => AccessLevel::parse(v).map(Some).ok_or_else(|| {
            ZapiError::invalid(format!(
                "Invalid value specified for \"access-level\": \"{v}\" (none, readonly, all)"
            ))
        }),
    }
}

fn role_create(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let access = access_level(el)?.unwrap_or(AccessLevel::All);
    ctx.sim.mutate(|c| {
        let scope = scope_of(ctx, c, el)?;
        c.add_role_entry(
            &scope,
            need(el, "role-name"),
            Privilege {
                path: need(el, "command-directory-name").to_string(),
                access,
                query: text(el, "role-query").map(str::to_string),
            },
        )?;
        Ok(vec![])
    })
}

fn role_modify(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let access = access_level(el)?;
    ctx.sim.mutate(|c| {
        let scope = scope_of(ctx, c, el)?;
        c.modify_role_entry(
            &scope,
            need(el, "role-name"),
            need(el, "command-directory-name"),
            access,
            text(el, "role-query").map(|q| Some(q.to_string())),
        )?;
        Ok(vec![])
    })
}

fn role_delete(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    ctx.sim.mutate(|c| {
        let scope = scope_of(ctx, c, el)?;
        c.delete_role_entry(
            &scope,
            need(el, "role-name"),
            need(el, "command-directory-name"),
        )?;
        Ok(vec![])
    })
}

fn role_info(vserver: &str, role: &str, p: &Privilege) -> Element {
    // Always present, empty without a query: na_ontap_user_role reads it unconditionally.
    Element::new("security-login-role-info")
        .with_leaf("access-level", p.access.as_str())
        .with_leaf("command-directory-name", &p.path)
        .with_leaf("role-name", role)
        .with_leaf("role-query", p.query.as_deref().unwrap_or_default())
        .with_leaf("vserver", vserver)
}

/// Every role entry, built-in and custom, of the scopes the caller sees; the REST path entries
/// of REST-made roles are not commands and are listed over REST only.
fn role_get_iter(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let req = IterRequest::parse(el, "security-login-role-info")?;
    let c = ctx.sim.read();
    let mut scopes = vec![Scope::Cluster];
    scopes.extend(c.svms.keys().map(|s| Scope::Svm(s.clone())));
    if let Some(s) = ctx.svm.as_deref() {
        scopes.retain(|x| *x == Scope::Svm(s.into()));
    }
    let mut rows: Vec<(Vec<String>, Element)> = Vec::new();
    for scope in &scopes {
        let vserver = c.vserver_of(scope);
        let builtins = match scope {
            Scope::Cluster => role::CLUSTER_BUILTINS,
            Scope::Svm(_) => role::SVM_BUILTINS,
        };
        let mut roles: Vec<(String, Vec<Privilege>)> = builtins
            .iter()
            .filter_map(|n| role::builtin(n, scope).map(|p| (n.to_string(), p)))
            .collect();
        roles.extend(
            c.roles
                .values()
                .filter(|r| &r.scope == scope)
                .map(|r| (r.name.clone(), r.privileges.clone())),
        );
        for (name, privileges) in roles {
            for p in privileges.iter().filter(|p| !p.is_rest()) {
                rows.push((
                    vec![vserver.to_string(), name.clone(), p.path.clone()],
                    role_info(vserver, &name, p),
                ));
            }
        }
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(req.page_tree(&el.name, rows, |r| r.0.clone(), |r| r.1.clone()))
}
