//! Which CLI command each REST call is, for access control. A role's REST entries
//! (`/api/storage/volumes`) are matched against the request path itself; its command entries
//! (`volume`, `volume snapshot create`) against the command the call stands for: the collection's
//! command directory and the verb (GET `show`, POST `create`, PATCH `modify`, DELETE `delete`).
//! The front translates; the model decides (`Cluster::authorize`).

/// Route pattern prefix (as in the route tables, without `/api`) -> command directory. The
/// longest prefix wins.
pub static DIRECTORIES: &[(&str, &str)] = &[
    ("/cluster", "cluster"),
    ("/cluster/jobs", "job"),
    ("/cluster/nodes", "system node"),
    ("/cluster/software", "cluster image"),
    ("/cluster/licensing/licenses", "system license"),
    ("/name-services/dns", "vserver services name-service dns"),
    (
        "/name-services/unix-groups",
        "vserver services name-service unix-group",
    ),
    (
        "/name-services/unix-users",
        "vserver services name-service unix-user",
    ),
    ("/network/ip/interfaces", "network interface"),
    ("/protocols/nfs/export-policies", "vserver export-policy"),
    (
        "/protocols/nfs/export-policies/{id}/rules",
        "vserver export-policy rule",
    ),
    ("/protocols/nfs/services", "vserver nfs"),
    ("/security/accounts", "security login"),
    ("/security/roles", "security login role"),
    ("/snapmirror/relationships", "snapmirror"),
    ("/storage/aggregates", "storage aggregate"),
    ("/storage/qtrees", "volume qtree"),
    ("/storage/quota/reports", "volume quota"),
    ("/storage/quota/rules", "volume quota policy rule"),
    ("/storage/volumes", "volume"),
    ("/storage/volumes/{uuid}/snapshots", "volume snapshot"),
    ("/support/ems/application-logs", "event"),
    ("/svm/peers", "vserver peer"),
    ("/svm/svms", "vserver"),
];

/// Calls whose command is not their directory plus the verb: (method, route pattern, command).
static EXCEPTIONS: &[(&str, &str, &str)] = &[
    // The cluster's identity and version: what every client reads first, SVM users included.
    ("GET", "/cluster", "version"),
    ("GET", "/storage/quota/reports", "volume quota report"),
    (
        "GET",
        "/storage/quota/reports/{volume}/{index}",
        "volume quota report",
    ),
    (
        "POST",
        "/support/ems/application-logs",
        "event generate-autosupport-log",
    ),
    (
        "POST",
        "/name-services/unix-groups/{svm.uuid}/{unix_group.name}/users",
        "vserver services name-service unix-group adduser",
    ),
    (
        "DELETE",
        "/name-services/unix-groups/{svm.uuid}/{unix_group.name}/users/{name}",
        "vserver services name-service unix-group deluser",
    ),
];

fn segments(p: &str) -> impl Iterator<Item = &str> {
    p.trim_matches('/').split('/').filter(|s| !s.is_empty())
}

/// How many segments `prefix` has when it covers `pattern` (a variable covers a variable).
/// Without allocating: every REST call is looked up here.
fn covers(prefix: &str, pattern: &str) -> Option<usize> {
    let same = |x: &str, y: &str| x == y || (x.starts_with('{') && y.starts_with('{'));
    let mut b = segments(pattern);
    let mut n = 0;
    for x in segments(prefix) {
        match b.next() {
            Some(y) if same(x, y) => n += 1,
            _ => return None,
        }
    }
    Some(n)
}

/// The command directory of a route pattern, if it has one.
pub fn directory(pattern: &str) -> Option<&'static str> {
    DIRECTORIES
        .iter()
        .filter_map(|(p, d)| covers(p, pattern).map(|n| (n, *d)))
        .max_by_key(|(n, _)| *n)
        .map(|(_, d)| d)
}

/// The command a call on a route stands for.
pub fn command(method: &str, pattern: &str) -> String {
    if let Some((_, _, c)) = EXCEPTIONS
        .iter()
        .find(|(m, p, _)| *m == method && *p == pattern)
    {
        return c.to_string();
    }
    let verb = match method {
        "POST" => "create",
        "PATCH" => "modify",
        "DELETE" => "delete",
        _ => "show",
    };
    match directory(pattern) {
        Some(d) => format!("{d} {verb}"),
        // Unmapped: only a role's DEFAULT entry can cover it.
        None => format!("{} {verb}", pattern.trim_matches('/').replace('/', " ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::role::{self, AccessLevel, Privilege};
    use crate::model::{Operation, Request};

    #[test]
    fn every_route_has_a_directory() {
        let missing: Vec<_> = crate::rest::routes()
            .filter(|(_, p)| directory(p).is_none())
            .collect();
        assert!(missing.is_empty(), "routes without a command: {missing:?}");
    }

    #[test]
    fn commands_of_calls() {
        assert_eq!(command("POST", "/storage/volumes"), "volume create");
        assert_eq!(command("PATCH", "/storage/volumes/{uuid}"), "volume modify");
        assert_eq!(
            command("DELETE", "/storage/volumes/{uuid}/snapshots/{snapshot}"),
            "volume snapshot delete"
        );
        assert_eq!(
            command("POST", "/protocols/nfs/export-policies/{id}/rules"),
            "vserver export-policy rule create"
        );
        assert_eq!(command("GET", "/cluster"), "version");
        assert_eq!(command("GET", "/cluster/nodes"), "system node show");
        assert_eq!(command("GET", "/svm/svms/{uuid}"), "vserver show");
    }

    /// The README's Trident role (see `zapi::commands`), with what Trident's REST client also
    /// reads: aggregates and nodes.
    const TRIDENT_ROLE: &[(&str, AccessLevel)] = &[
        ("DEFAULT", AccessLevel::None),
        ("version", AccessLevel::Readonly),
        ("vserver", AccessLevel::Readonly),
        ("vserver export-policy", AccessLevel::All),
        ("network interface", AccessLevel::Readonly),
        ("event generate-autosupport-log", AccessLevel::All),
        ("job", AccessLevel::Readonly),
        ("volume", AccessLevel::All),
        ("snapmirror", AccessLevel::All),
        ("storage aggregate", AccessLevel::Readonly),
        ("system node", AccessLevel::Readonly),
    ];

    /// The calls of shared/spec/trident-rest.md the simulator serves.
    const TRIDENT_CALLS: &[(&str, &str)] = &[
        ("GET", "/cluster"),
        ("GET", "/cluster/jobs/{uuid}"),
        ("GET", "/cluster/nodes"),
        ("GET", "/network/ip/interfaces"),
        ("GET", "/snapmirror/relationships"),
        ("GET", "/storage/aggregates"),
        ("GET", "/storage/volumes"),
        ("POST", "/storage/volumes"),
        ("PATCH", "/storage/volumes/{uuid}"),
        ("DELETE", "/storage/volumes/{uuid}"),
        ("GET", "/storage/volumes/{uuid}/snapshots"),
        ("POST", "/storage/volumes/{uuid}/snapshots"),
        ("DELETE", "/storage/volumes/{uuid}/snapshots/{snapshot}"),
        ("GET", "/svm/svms"),
        ("GET", "/svm/svms/{uuid}"),
        ("GET", "/protocols/nfs/export-policies"),
        ("POST", "/protocols/nfs/export-policies"),
        ("POST", "/protocols/nfs/export-policies/{id}/rules"),
        ("POST", "/storage/qtrees"),
        ("POST", "/storage/quota/rules"),
        ("POST", "/support/ems/application-logs"),
    ];

    fn refused(privileges: &[Privilege]) -> Vec<(&'static str, &'static str)> {
        TRIDENT_CALLS
            .iter()
            .copied()
            .filter(|(m, p)| {
                let cmd = command(m, p);
                let path = format!("/api{}", p.replace("{uuid}", "0b1c").replace("{id}", "7"));
                let req = Request {
                    command: &cmd,
                    rest_path: Some(&path),
                    op: Operation::of_command(&cmd, *m != "GET"),
                };
                !role::access(privileges, &req).allows(req.op)
            })
            .collect()
    }

    #[test]
    fn the_trident_role_allows_every_trident_rest_call_and_needs_every_entry() {
        let served: Vec<_> = crate::rest::routes().collect();
        for call in TRIDENT_CALLS {
            assert!(served.contains(call), "{call:?} is not served");
        }
        let role = |skip: Option<&str>| -> Vec<Privilege> {
            TRIDENT_ROLE
                .iter()
                .filter(|(d, _)| Some(*d) != skip)
                .map(|(d, a)| Privilege::new(d, *a))
                .collect()
        };
        assert_eq!(refused(&role(None)), vec![]);
        for (dir, _) in TRIDENT_ROLE.iter().skip(1) {
            assert!(!refused(&role(Some(dir))).is_empty(), "{dir} is not needed");
        }
        // The same role written as REST paths.
        let rest = vec![
            Privilege::new("/api/cluster", AccessLevel::Readonly),
            Privilege::new("/api/network/ip/interfaces", AccessLevel::Readonly),
            Privilege::new("/api/snapmirror/relationships", AccessLevel::All),
            Privilege::new("/api/storage", AccessLevel::Readonly),
            Privilege::new("/api/storage/volumes", AccessLevel::All),
            Privilege::new("/api/storage/qtrees", AccessLevel::All),
            Privilege::new("/api/storage/quota", AccessLevel::All),
            Privilege::new("/api/svm/svms", AccessLevel::Readonly),
            Privilege::new("/api/protocols/nfs/export-policies", AccessLevel::All),
            Privilege::new("/api/support/ems/application-logs", AccessLevel::All),
        ];
        assert_eq!(refused(&rest), vec![]);
        let no_volumes: Vec<_> = rest
            .iter()
            .filter(|p| p.path != "/api/storage/volumes")
            .cloned()
            .collect();
        assert!(refused(&no_volumes).contains(&("POST", "/storage/volumes")));
    }
}
