//! Access-control roles: which command directories (and REST paths) a user may read or change.
//!
//! A role is a list of entries, each a command or command directory (`volume`, `volume snapshot
//! create`, the special `DEFAULT`) or a REST path (`/api/storage/volumes`) with an access level.
//! ONTAP's rule decides: the longest entry that covers the request wins (`volume` covers `volume
//! snapshot create` unless a longer entry names it), `DEFAULT` covers everything, and nothing
//! matching means no access. The fronts say which command a call is (a ZAPI API maps to the CLI
//! command ONTAP maps it to; a REST path to itself and to its command); the model decides here.

use serde::{Deserialize, Serialize};

use super::{Cluster, ModelError, Scope, User};

/// How much an entry grants, as ONTAP names the levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessLevel {
    None,
    Readonly,
    ReadCreate,
    ReadModify,
    ReadCreateModify,
    All,
}

impl AccessLevel {
    pub const ALL: [AccessLevel; 6] = [
        AccessLevel::None,
        AccessLevel::Readonly,
        AccessLevel::ReadCreate,
        AccessLevel::ReadModify,
        AccessLevel::ReadCreateModify,
        AccessLevel::All,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            AccessLevel::None => "none",
            AccessLevel::Readonly => "readonly",
            AccessLevel::ReadCreate => "read_create",
            AccessLevel::ReadModify => "read_modify",
            AccessLevel::ReadCreateModify => "read_create_modify",
            AccessLevel::All => "all",
        }
    }

    pub fn parse(s: &str) -> Option<AccessLevel> {
        AccessLevel::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// Whether this level lets a call of kind `op` through.
    pub fn allows(&self, op: Operation) -> bool {
        use AccessLevel as A;
        match op {
            Operation::Read => *self != A::None,
            Operation::Create => matches!(self, A::All | A::ReadCreate | A::ReadCreateModify),
            Operation::Modify => matches!(self, A::All | A::ReadModify | A::ReadCreateModify),
            Operation::Delete => *self == A::All,
        }
    }
}

/// What a call does to what it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Read,
    Create,
    Modify,
    Delete,
}

impl Operation {
    /// The kind of a writing command, from its last word (`volume create`, `volume snapshot
    /// delete`, `volume modify`).
    pub fn of_command(command: &str, writes: bool) -> Operation {
        if !writes {
            return Operation::Read;
        }
        match command.rsplit(' ').next().unwrap_or_default() {
            "create" | "add" => Operation::Create,
            "delete" | "destroy" | "purge" | "remove" => Operation::Delete,
            _ => Operation::Modify,
        }
    }

    pub fn writes(&self) -> bool {
        *self != Operation::Read
    }
}

/// One entry of a role: a command directory or REST path, its access, and an optional query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Privilege {
    pub path: String,
    pub access: AccessLevel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
}

impl Privilege {
    pub fn new(path: &str, access: AccessLevel) -> Privilege {
        Privilege {
            path: path.to_string(),
            access,
            query: None,
        }
    }

    /// Whether the entry is a REST path (`/api/...`) rather than a command directory.
    pub fn is_rest(&self) -> bool {
        self.path.starts_with('/')
    }
}

/// A custom role, made at runtime. The built-in roles are [`builtin`] and never stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    pub name: String,
    /// The cluster (admin SVM) or the data SVM the role belongs to.
    pub scope: Scope,
    /// In the order they were added; the decision does not depend on the order.
    pub privileges: Vec<Privilege>,
}

/// A call as the access check sees it: the CLI command it is (`volume snapshot create`), the REST
/// path it was made on (REST calls only), and what it does.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub command: &'a str,
    pub rest_path: Option<&'a str>,
    pub op: Operation,
}

/// Normalise a command directory as ONTAP compares them: words separated by single spaces,
/// case-insensitive (`Volume  Snapshot` is `volume snapshot`).
pub fn normalise_command(s: &str) -> String {
    if s.trim().eq_ignore_ascii_case("default") {
        return "DEFAULT".into();
    }
    s.split_whitespace()
        .map(str::to_ascii_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// How specific `entry` is for `command` (its number of words; `DEFAULT` is 0), or None when it
/// does not cover it.
fn command_match(entry: &str, command: &str) -> Option<usize> {
    if entry == "DEFAULT" {
        return Some(0);
    }
    let (e, c): (Vec<&str>, Vec<&str>) = (
        entry.split(' ').collect(),
        command.split(' ').collect::<Vec<_>>(),
    );
    (e.len() <= c.len() && e.iter().zip(&c).all(|(a, b)| a == b)).then_some(e.len())
}

/// How specific the REST path `entry` is for the request path (its number of segments), or
/// None. A `*` or `{...}` segment in the entry stands for any one segment.
fn rest_match(entry: &str, path: &str) -> Option<usize> {
    let seg = |s: &str| -> Vec<String> {
        s.trim_matches('/')
            .split('/')
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect()
    };
    let (e, p) = (seg(entry), seg(path));
    let covers = e.len() <= p.len()
        && e.iter()
            .zip(&p)
            .all(|(a, b)| a == "*" || a.starts_with('{') || a == b);
    covers.then_some(e.len())
}

/// The entry that decides a request: the longest REST path covering its path, else the longest
/// command directory covering its command (`DEFAULT` last). None: nothing covers it.
pub fn deciding<'a>(privileges: &'a [Privilege], req: &Request) -> Option<&'a Privilege> {
    if let Some(path) = req.rest_path {
        let best = privileges
            .iter()
            .filter(|p| p.is_rest())
            .filter_map(|p| rest_match(&p.path, path).map(|n| (n, p)))
            .max_by_key(|(n, _)| *n);
        if let Some((_, p)) = best {
            return Some(p);
        }
    }
    privileges
        .iter()
        .filter(|p| !p.is_rest())
        .filter_map(|p| command_match(&p.path, req.command).map(|n| (n, p)))
        .max_by_key(|(n, _)| *n)
        .map(|(_, p)| p)
}

/// The access a list of entries grants a request.
pub fn access(privileges: &[Privilege], req: &Request) -> AccessLevel {
    deciding(privileges, req).map_or(AccessLevel::None, |p| p.access)
}

/// The cluster-scoped built-in roles.
pub const CLUSTER_BUILTINS: &[&str] = &["admin", "readonly", "none"];
/// The SVM-scoped built-in roles.
pub const SVM_BUILTINS: &[&str] = &[
    "vsadmin",
    "vsadmin-readonly",
    "vsadmin-volume",
    "vsadmin-protocol",
    "vsadmin-backup",
];

/// What an SVM administrator works with, and how much of it each built-in SVM role gets:
/// (command directory, vsadmin, vsadmin-volume, vsadmin-protocol, vsadmin-backup).
const SVM_DIRECTORIES: &[(&str, AccessLevel, AccessLevel, AccessLevel, AccessLevel)] = {
    use AccessLevel::{All as A, None as N, Readonly as R};
    &[
        ("event generate-autosupport-log", A, A, A, A),
        ("job", A, A, A, A),
        ("lun", A, R, A, R),
        ("network interface", R, R, R, R),
        ("security login", R, R, R, R),
        ("security login password", A, A, A, A),
        ("snapmirror", A, R, R, A),
        ("statistics", R, R, R, R),
        ("storage aggregate", R, R, R, R),
        ("system node", R, R, R, R),
        ("version", R, R, R, R),
        ("volume", A, A, R, R),
        ("volume snapshot", A, A, R, A),
        ("vserver", A, R, R, R),
        ("vserver export-policy", A, A, A, R),
        ("vserver nfs", A, R, A, R),
        ("vserver cifs", A, R, A, R),
        ("vserver peer", R, N, N, R),
    ]
};

/// The entries of a built-in role, or None if `name` is not one for `scope`.
pub fn builtin(name: &str, scope: &Scope) -> Option<Vec<Privilege>> {
    use AccessLevel::{All, None as No, Readonly};
    let p = Privilege::new;
    match (scope, name) {
        (Scope::Cluster, "admin") => Some(vec![p("DEFAULT", All)]),
        (Scope::Cluster, "readonly") => Some(vec![
            p("DEFAULT", Readonly),
            p("security", No),
            p("security login password", All),
            p("set", All),
        ]),
        (Scope::Cluster, "none") => Some(vec![p("DEFAULT", No)]),
        (Scope::Svm(_), name) => {
            let column =
                |row: &(&str, AccessLevel, AccessLevel, AccessLevel, AccessLevel)| match name {
                    "vsadmin" => Some(row.1),
                    // Every directory vsadmin reads, read only; its own password it may change.
                    "vsadmin-readonly" => Some(if row.0 == "security login password" {
                        All
                    } else {
                        row.1.min(Readonly)
                    }),
                    "vsadmin-volume" => Some(row.2),
                    "vsadmin-protocol" => Some(row.3),
                    "vsadmin-backup" => Some(row.4),
                    _ => None,
                };
            let mut out = vec![p("DEFAULT", No)];
            for row in SVM_DIRECTORIES {
                out.push(p(row.0, column(row)?));
            }
            Some(out)
        }
        _ => None,
    }
}

impl Cluster {
    /// The entries of the role `name` as seen from `scope`: a custom role of that scope, else a
    /// built-in one.
    pub fn role_privileges(&self, scope: &Scope, name: &str) -> Option<Vec<Privilege>> {
        match self.roles.get(&(scope.clone(), name.to_string())) {
            Some(r) => Some(r.privileges.clone()),
            None => builtin(name, scope),
        }
    }

    /// Whether a role of that name exists for `scope` (built-in or custom).
    pub fn role_exists(&self, scope: &Scope, name: &str) -> bool {
        self.roles.contains_key(&(scope.clone(), name.to_string()))
            || builtin(name, scope).is_some()
    }

    /// The access check every front makes before a call runs: the user's role must grant the
    /// request. A refusal says whether read or write access was missing.
    pub fn authorize(&self, user: &User, req: &Request) -> Result<(), ModelError> {
        let level = match self.roles.get(&(user.scope.clone(), user.role.clone())) {
            Some(r) => access(&r.privileges, req),
            None => builtin(&user.role, &user.scope).map_or(AccessLevel::None, |p| access(&p, req)),
        };
        if level.allows(req.op) {
            return Ok(());
        }
        let what = if req.op.writes() { "write" } else { "read" };
        Err(ModelError::NotAuthorized(format!(
            "Insufficient privileges: user '{}' does not have {what} access to this resource",
            user.name
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AccessLevel::{All, ReadCreate, ReadCreateModify, ReadModify, Readonly};

    fn req(command: &str, op: Operation) -> Request<'_> {
        Request {
            command,
            rest_path: None,
            op,
        }
    }

    fn rest<'a>(command: &'a str, path: &'a str, op: Operation) -> Request<'a> {
        Request {
            command,
            rest_path: Some(path),
            op,
        }
    }

    #[test]
    fn the_longest_entry_decides() {
        let role = vec![
            Privilege::new("DEFAULT", Readonly),
            Privilege::new("volume", All),
            Privilege::new("volume snapshot", AccessLevel::None),
            Privilege::new("volume snapshot show", Readonly),
        ];
        let at = |c: &str| access(&role, &req(c, Operation::Read));
        assert_eq!(at("volume create"), All);
        assert_eq!(at("volume"), All);
        assert_eq!(at("volume snapshot create"), AccessLevel::None);
        assert_eq!(at("volume snapshot show"), Readonly);
        assert_eq!(at("vserver show"), Readonly, "DEFAULT covers the rest");
        // A word is matched whole: `volume` does not cover `volumes`.
        assert_eq!(at("volumes show"), Readonly);
        // Without DEFAULT, an uncovered command gets no access.
        let bare = vec![Privilege::new("volume", All)];
        assert_eq!(
            access(&bare, &req("vserver show", Operation::Read)),
            AccessLevel::None
        );
    }

    #[test]
    fn levels_allow_what_they_say() {
        use Operation::*;
        assert!(!AccessLevel::None.allows(Read));
        assert!(Readonly.allows(Read) && !Readonly.allows(Create) && !Readonly.allows(Delete));
        assert!(ReadCreate.allows(Create) && !ReadCreate.allows(Modify));
        assert!(ReadModify.allows(Modify) && !ReadModify.allows(Delete));
        assert!(ReadCreateModify.allows(Create) && ReadCreateModify.allows(Modify));
        assert!(!ReadCreateModify.allows(Delete));
        assert!(All.allows(Delete));
        assert_eq!(
            Operation::of_command("volume snapshot create", true),
            Create
        );
        assert_eq!(Operation::of_command("volume destroy", true), Delete);
        assert_eq!(Operation::of_command("volume modify", true), Modify);
        assert_eq!(Operation::of_command("volume create", false), Read);
        for a in AccessLevel::ALL {
            assert_eq!(AccessLevel::parse(a.as_str()), Some(a));
        }
    }

    #[test]
    fn rest_paths_map_to_themselves_then_to_commands() {
        let role = vec![
            Privilege::new("/api/storage/volumes", Readonly),
            Privilege::new("/api/storage/volumes/*/snapshots", All),
            Privilege::new("volume", All),
        ];
        let vol = "/api/storage/volumes/0b1c/snapshots";
        assert_eq!(
            access(
                &role,
                &rest("volume snapshot create", vol, Operation::Create)
            ),
            All
        );
        assert_eq!(
            access(
                &role,
                &rest(
                    "volume modify",
                    "/api/storage/volumes/0b1c",
                    Operation::Modify
                )
            ),
            Readonly,
            "the REST entry decides a REST call before the command entry"
        );
        // Not covered by a REST entry: the command entry decides.
        assert_eq!(
            access(
                &role,
                &rest(
                    "volume qtree create",
                    "/api/storage/qtrees",
                    Operation::Create
                )
            ),
            All
        );
        // Over ZAPI (no path) only command entries count.
        assert_eq!(access(&role, &req("volume modify", Operation::Modify)), All);
    }

    #[test]
    fn builtins_have_ontaps_meaning() {
        let svm = Scope::Svm("svm1".into());
        let at = |role: &str, scope: &Scope, c: &str, op| {
            access(&builtin(role, scope).unwrap(), &req(c, op)).allows(op)
        };
        use Operation::*;
        assert!(at(
            "admin",
            &Scope::Cluster,
            "security login create",
            Create
        ));
        assert!(at("readonly", &Scope::Cluster, "volume show", Read));
        assert!(!at("readonly", &Scope::Cluster, "volume create", Create));
        assert!(!at(
            "readonly",
            &Scope::Cluster,
            "security login show",
            Read
        ));
        assert!(at(
            "readonly",
            &Scope::Cluster,
            "security login password",
            Modify
        ));
        assert!(at("vsadmin", &svm, "volume create", Create));
        assert!(at(
            "vsadmin",
            &svm,
            "vserver export-policy rule create",
            Create
        ));
        assert!(!at("vsadmin", &svm, "network interface create", Create));
        assert!(!at("vsadmin", &svm, "cluster identity modify", Modify));
        assert!(at("vsadmin-readonly", &svm, "volume show", Read));
        assert!(!at(
            "vsadmin-readonly",
            &svm,
            "volume snapshot create",
            Create
        ));
        assert!(at("vsadmin-volume", &svm, "volume snapshot create", Create));
        assert!(!at("vsadmin-volume", &svm, "vserver nfs modify", Modify));
        assert!(at("vsadmin-protocol", &svm, "vserver nfs modify", Modify));
        assert!(!at("vsadmin-protocol", &svm, "volume create", Create));
        assert!(at("vsadmin-backup", &svm, "volume snapshot create", Create));
        assert!(!at("vsadmin-backup", &svm, "volume create", Create));
        // Built-ins belong to their scope.
        assert!(builtin("vsadmin", &Scope::Cluster).is_none());
        assert!(builtin("admin", &svm).is_none());
        assert!(builtin("trident", &svm).is_none());
    }

    #[test]
    fn commands_normalise() {
        assert_eq!(normalise_command("  Volume   Snapshot "), "volume snapshot");
        assert_eq!(normalise_command("default"), "DEFAULT");
    }
}
