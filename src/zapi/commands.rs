//! Which CLI command each ZAPI API is, as ONTAP maps them for access control: a role's entries
//! name command directories (`volume`, `volume snapshot create`), and a ZAPI call is allowed when
//! the role grants the command its API stands for. The front translates; the model decides
//! (`Cluster::authorize`).

/// (API, command). Every API of the ZAPI table has exactly one row (a test checks).
pub static COMMANDS: &[(&str, &str)] = &[
    // system
    ("system-get-version", "version"),
    ("system-get-ontapi-version", "version"),
    ("system-node-get-iter", "system node show"),
    ("system-node-get", "system node show"),
    // vserver
    ("vserver-get", "vserver show"),
    ("vserver-get-iter", "vserver show"),
    ("vserver-peer-get-iter", "vserver peer show"),
    ("vserver-show-aggr-get-iter", "vserver show-aggregates"),
    ("vserver-create", "vserver create"),
    ("vserver-modify", "vserver modify"),
    ("vserver-rename", "vserver rename"),
    ("vserver-start", "vserver start"),
    ("vserver-stop", "vserver stop"),
    ("vserver-destroy", "vserver delete"),
    // nfs
    ("nfs-service-get-iter", "vserver nfs show"),
    ("nfs-service-create", "vserver nfs create"),
    ("nfs-service-modify", "vserver nfs modify"),
    ("nfs-service-destroy", "vserver nfs delete"),
    ("nfs-enable", "vserver nfs on"),
    ("nfs-disable", "vserver nfs off"),
    ("nfs-status", "vserver nfs status"),
    // dns
    ("net-dns-get", "vserver services name-service dns show"),
    ("net-dns-get-iter", "vserver services name-service dns show"),
    ("net-dns-create", "vserver services name-service dns create"),
    ("net-dns-modify", "vserver services name-service dns modify"),
    (
        "net-dns-destroy",
        "vserver services name-service dns delete",
    ),
    // local UNIX users and groups
    (
        "name-mapping-unix-user-create",
        "vserver services name-service unix-user create",
    ),
    (
        "name-mapping-unix-user-modify",
        "vserver services name-service unix-user modify",
    ),
    (
        "name-mapping-unix-user-destroy",
        "vserver services name-service unix-user delete",
    ),
    (
        "name-mapping-unix-user-get-iter",
        "vserver services name-service unix-user show",
    ),
    (
        "name-mapping-unix-group-create",
        "vserver services name-service unix-group create",
    ),
    (
        "name-mapping-unix-group-modify",
        "vserver services name-service unix-group modify",
    ),
    (
        "name-mapping-unix-group-destroy",
        "vserver services name-service unix-group delete",
    ),
    (
        "name-mapping-unix-group-add-user",
        "vserver services name-service unix-group adduser",
    ),
    (
        "name-mapping-unix-group-delete-user",
        "vserver services name-service unix-group deluser",
    ),
    (
        "name-mapping-unix-group-get-iter",
        "vserver services name-service unix-group show",
    ),
    // identity
    ("cluster-identity-get", "cluster identity show"),
    ("cluster-identity-modify", "cluster identity modify"),
    // license
    ("license-v2-list-info", "system license show"),
    ("license-v2-status-list-info", "system license status show"),
    ("license-v2-add", "system license add"),
    ("license-v2-delete", "system license delete"),
    // ems
    ("ems-autosupport-log", "event generate-autosupport-log"),
    // aggr
    ("aggr-get-iter", "storage aggregate show"),
    ("aggr-space-get-iter", "storage aggregate show-space"),
    // net
    ("net-interface-get-iter", "network interface show"),
    ("net-interface-create", "network interface create"),
    ("net-interface-modify", "network interface modify"),
    ("net-interface-delete", "network interface delete"),
    ("net-interface-rename", "network interface rename"),
    // volume
    ("volume-create", "volume create"),
    ("volume-create-async", "volume create"),
    ("volume-size", "volume size"),
    ("volume-size-async", "volume size"),
    ("volume-get-iter", "volume show"),
    ("volume-modify-iter", "volume modify"),
    ("volume-modify-iter-async", "volume modify"),
    ("volume-mount", "volume mount"),
    ("volume-unmount", "volume unmount"),
    ("volume-offline", "volume offline"),
    ("volume-online", "volume online"),
    ("volume-restrict", "volume restrict"),
    ("volume-rename", "volume rename"),
    ("volume-destroy", "volume delete"),
    ("volume-destroy-async", "volume delete"),
    (
        "volume-recovery-queue-get-iter",
        "volume recovery-queue show",
    ),
    ("volume-recovery-queue-purge", "volume recovery-queue purge"),
    // clone
    ("volume-clone-create", "volume clone create"),
    ("volume-clone-create-async", "volume clone create"),
    ("volume-clone-split-start", "volume clone split start"),
    ("volume-clone-split-status", "volume clone split show"),
    // sis
    ("sis-get-iter", "volume efficiency show"),
    // snapshot
    ("snapshot-create", "volume snapshot create"),
    ("snapshot-get-iter", "volume snapshot show"),
    ("snapshot-delete", "volume snapshot delete"),
    ("snapshot-restore-volume", "volume snapshot restore"),
    ("snapshot-rename", "volume snapshot rename"),
    ("snapshot-modify-iter", "volume snapshot modify"),
    // export
    ("export-policy-create", "vserver export-policy create"),
    ("export-policy-get", "vserver export-policy show"),
    ("export-policy-get-iter", "vserver export-policy show"),
    ("export-policy-destroy", "vserver export-policy delete"),
    ("export-policy-rename", "vserver export-policy rename"),
    ("export-rule-create", "vserver export-policy rule create"),
    ("export-rule-get-iter", "vserver export-policy rule show"),
    ("export-rule-destroy", "vserver export-policy rule delete"),
    ("export-rule-modify", "vserver export-policy rule modify"),
    (
        "export-rule-set-index",
        "vserver export-policy rule setindex",
    ),
    // qtree
    ("qtree-create", "volume qtree create"),
    ("qtree-modify", "volume qtree modify"),
    ("qtree-list-iter", "volume qtree show"),
    ("qtree-delete", "volume qtree delete"),
    ("qtree-delete-async", "volume qtree delete"),
    ("qtree-rename", "volume qtree rename"),
    // quota
    ("quota-set-entry", "volume quota policy rule create"),
    ("quota-modify-entry", "volume quota policy rule modify"),
    ("quota-delete-entry", "volume quota policy rule delete"),
    ("quota-get-entry", "volume quota policy rule show"),
    ("quota-list-entries-iter", "volume quota policy rule show"),
    ("quota-on", "volume quota on"),
    ("quota-off", "volume quota off"),
    ("quota-resize", "volume quota resize"),
    ("quota-status", "volume quota show"),
    ("quota-policy-get-iter", "volume quota policy show"),
    ("quota-policy-create", "volume quota policy create"),
    ("quota-policy-delete", "volume quota policy delete"),
    ("quota-policy-rename", "volume quota policy rename"),
    ("quota-policy-copy", "volume quota policy copy"),
    ("quota-report-iter", "volume quota report"),
    // snapmirror
    ("snapmirror-get-iter", "snapmirror show"),
    (
        "snapmirror-get-destination-iter",
        "snapmirror list-destinations",
    ),
    ("snapmirror-destroy", "snapmirror delete"),
    ("snapmirror-release", "snapmirror release"),
    ("snapmirror-release-iter", "snapmirror release"),
    ("snapmirror-policy-get-iter", "snapmirror policy show"),
    // job
    ("job-get-iter", "job show"),
    ("job-schedule-get-iter", "job schedule show"),
    // security
    ("security-login-create", "security login create"),
    ("security-login-modify", "security login modify"),
    ("security-login-delete", "security login delete"),
    ("security-login-lock", "security login lock"),
    ("security-login-unlock", "security login unlock"),
    ("security-login-modify-password", "security login password"),
    ("security-login-get-iter", "security login show"),
    ("security-login-role-create", "security login role create"),
    ("security-login-role-modify", "security login role modify"),
    ("security-login-role-delete", "security login role delete"),
    ("security-login-role-get-iter", "security login role show"),
];

/// The command an API stands for.
pub fn command(api: &str) -> Option<&'static str> {
    COMMANDS.iter().find(|(a, _)| *a == api).map(|(_, c)| *c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Topology;
    use crate::model::role::{self, AccessLevel, Privilege};
    use crate::model::{Cluster, Listeners, Operation, Request, Scope};
    use crate::zapi::api::{Access, Exposure, FAMILIES};

    #[test]
    fn every_api_has_a_command_and_every_row_an_api() {
        let mut missing = Vec::new();
        for api in FAMILIES.iter().flat_map(|f| f.iter()) {
            if command(api.name).is_none() {
                missing.push(api.name);
            }
        }
        assert!(missing.is_empty(), "APIs without a command: {missing:?}");
        for (api, _) in COMMANDS {
            assert!(
                crate::zapi::api::lookup(api).is_some(),
                "{api} is mapped but not served"
            );
        }
        let mut names: Vec<_> = COMMANDS.iter().map(|(a, _)| a).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), COMMANDS.len(), "an API is mapped twice");
    }

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

    /// The built-in roles keep what the topology's `admin` and `readonly` allowed before roles:
    /// an SVM's vsadmin runs every API an SVM context has, vsadmin-readonly every reading one
    /// there, the cluster admin everything.
    #[test]
    fn built_in_roles_cover_the_apis_of_their_scope() {
        let c = cluster();
        let vsadmin = c.user(&Scope::Svm("svm1".into()), "vsadmin").unwrap();
        let admin = c.user(&Scope::Cluster, "admin").unwrap();
        let mut ro = (**vsadmin).clone();
        ro.role = "vsadmin-readonly".into();
        for api in FAMILIES.iter().flat_map(|f| f.iter()) {
            let cmd = command(api.name).unwrap();
            let writes = api.access == Access::Write;
            let req = Request {
                command: cmd,
                rest_path: None,
                op: Operation::of_command(cmd, writes),
            };
            assert!(c.authorize(admin, &req).is_ok(), "admin: {}", api.name);
            // LIFs are the cluster administrator's, even in an SVM's context (ONTAP's vsadmin
            // reads `network interface` only).
            let cluster_only = cmd.starts_with("network interface") && writes;
            if api.exposure != Exposure::Cluster
                && !api.name.starts_with("security-login")
                && !cluster_only
            {
                assert!(c.authorize(vsadmin, &req).is_ok(), "vsadmin: {}", api.name);
                if !writes {
                    assert!(c.authorize(&ro, &req).is_ok(), "readonly: {}", api.name);
                }
            }
        }
    }

    /// The README's least-privilege role for Trident's ontap-nas driver.
    pub const TRIDENT_ROLE: &[(&str, AccessLevel)] = &[
        ("DEFAULT", AccessLevel::None),
        ("version", AccessLevel::Readonly),
        ("vserver", AccessLevel::Readonly),
        ("vserver export-policy", AccessLevel::All),
        ("network interface", AccessLevel::Readonly),
        ("event generate-autosupport-log", AccessLevel::All),
        ("job", AccessLevel::Readonly),
        ("volume", AccessLevel::All),
        ("snapmirror", AccessLevel::All),
    ];

    /// Every ZAPI call of shared/spec/trident-zapi.md the simulator serves in an SVM context
    /// (the cluster-only ones answer 13005 to an SVM user before any role is asked).
    const TRIDENT_CALLS: &[&str] = &[
        "ems-autosupport-log",
        "export-policy-create",
        "export-policy-destroy",
        "export-policy-get",
        "export-rule-create",
        "export-rule-destroy",
        "export-rule-get-iter",
        "job-get-iter",
        "job-schedule-get-iter",
        "net-interface-get-iter",
        "qtree-create",
        "qtree-delete-async",
        "qtree-list-iter",
        "qtree-modify",
        "qtree-rename",
        "quota-list-entries-iter",
        "quota-off",
        "quota-on",
        "quota-resize",
        "quota-set-entry",
        "quota-status",
        "snapmirror-destroy",
        "snapmirror-get-destination-iter",
        "snapmirror-policy-get-iter",
        "snapmirror-release",
        "snapmirror-release-iter",
        "snapshot-create",
        "snapshot-delete",
        "snapshot-get-iter",
        "snapshot-restore-volume",
        "system-get-ontapi-version",
        "system-get-version",
        "volume-clone-create",
        "volume-clone-create-async",
        "volume-clone-split-start",
        "volume-create",
        "volume-create-async",
        "volume-destroy",
        "volume-destroy-async",
        "volume-get-iter",
        "volume-modify-iter",
        "volume-modify-iter-async",
        "volume-mount",
        "volume-offline",
        "volume-recovery-queue-get-iter",
        "volume-recovery-queue-purge",
        "volume-rename",
        "volume-size",
        "volume-size-async",
        "volume-unmount",
        "vserver-get",
        "vserver-get-iter",
        "vserver-peer-get-iter",
        "vserver-show-aggr-get-iter",
    ];

    fn refused(privileges: &[Privilege]) -> Vec<&'static str> {
        TRIDENT_CALLS
            .iter()
            .copied()
            .filter(|name| {
                let api = crate::zapi::api::lookup(name).expect("served");
                let cmd = command(name).expect("mapped");
                // volume-size writes when given a new size, which Trident does.
                let writes = api.access == Access::Write || name.starts_with("volume-size");
                let req = Request {
                    command: cmd,
                    rest_path: None,
                    op: Operation::of_command(cmd, writes),
                };
                !role::access(privileges, &req).allows(req.op)
            })
            .collect()
    }

    fn trident(skip: Option<&str>) -> Vec<Privilege> {
        TRIDENT_ROLE
            .iter()
            .filter(|(d, _)| Some(*d) != skip)
            .map(|(d, a)| Privilege::new(d, *a))
            .collect()
    }

    #[test]
    fn the_trident_role_allows_every_trident_call_and_needs_every_entry() {
        for name in TRIDENT_CALLS {
            let api = crate::zapi::api::lookup(name).expect("served");
            assert_ne!(api.exposure, Exposure::Cluster, "{name}");
        }
        assert_eq!(refused(&trident(None)), Vec::<&str>::new());
        for (dir, _) in TRIDENT_ROLE.iter().skip(1) {
            assert!(
                !refused(&trident(Some(dir))).is_empty(),
                "without {dir} every Trident call still passes: the entry is not needed"
            );
        }
    }
}
