//! The cluster: the one owner of state and invariants.
//!
//! Fronts (ZAPI now; REST, NFS and the admin API later) read views and call operations here. Nothing
//! in this module knows about XML, HTTP or RPC; failures are typed [`ModelError`]s that each front maps
//! to its own wire codes. All mutation goes through [`Sim::write`], the single serialisation point.

pub mod aggregate;
pub mod ems;
pub mod export_policy;
pub mod identity;
pub mod job;
pub mod license;
pub mod lif;
pub mod lock;
pub mod nfs_access;
pub mod node;
pub mod qtree;
pub mod quota;
pub mod role;
pub mod snapshot;
pub mod svm;
pub mod table;
pub mod text;
pub mod unix_name;
pub mod user;
pub mod volume;

use crate::config::{self, Topology};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use table::Table;
use uuid::Uuid;

pub use aggregate::Aggregate;
pub use ems::EmsMessage;
pub use export_policy::{ExportPolicy, ExportRule, RuleSpec};
pub use job::{Job, JobState};
pub use lif::{Lif, LifChange, LifSpec, OperStatus};
pub use node::Node;
pub use qtree::{Qtree, QtreeChange};
pub use quota::{QuotaRule, QuotaState, QuotaStatus, QuotaType};
pub use role::{AccessLevel, Operation, Privilege, Request, Role};
pub use svm::{Dns, NfsChange, NfsService, Svm, SvmChange, SvmSpec, SvmState};
pub use user::{AccountChange, Application, Scope, User};
pub use volume::{
    parse_permissions, CloneParent, Guarantee, RecoveryEntry, Snapshot, Volume, VolumeChange,
    VolumeSpec, VolumeState,
};

/// What an operation did that the volume data on disk must follow. The model emits these in
/// order; the data layer carries them out after the change is saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataAction {
    CreateVolume {
        volume: Uuid,
    },
    CloneVolume {
        parent: Uuid,
        snapshot: Uuid,
        clone: Uuid,
    },
    /// The volume left the recovery queue: its data goes.
    RemoveVolume {
        volume: Uuid,
    },
    CreateSnapshot {
        volume: Uuid,
        snapshot: Uuid,
    },
    DeleteSnapshot {
        volume: Uuid,
        snapshot: Uuid,
    },
    RestoreSnapshot {
        volume: Uuid,
        snapshot: Uuid,
    },
    /// A qtree is a directory at the volume's root.
    CreateQtree {
        volume: Uuid,
        name: String,
        mode: u32,
    },
    RenameQtree {
        volume: Uuid,
        from: String,
        to: String,
    },
    /// The qtree's directory and everything in it go; what it held is given back to the volume
    /// (named by `svm` and `volume_name`).
    RemoveQtree {
        volume: Uuid,
        svm: String,
        volume_name: String,
        name: String,
    },
}

/// The snapshot policies every cluster has.
pub const SNAPSHOT_POLICIES: &[&str] = &["default", "default-1weekly", "none"];
/// When the seed objects (SVM root volumes) were made: fixed, so answers are reproducible.
pub const SEED_TIME: u64 = 1_704_715_200;

/// Why an operation was refused. Each variant says which object and why, in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    #[error("{kind} \"{name}\" does not exist")]
    NotFound { kind: &'static str, name: String },
    #[error("{kind} \"{name}\" already exists")]
    Duplicate { kind: &'static str, name: String },
    #[error("{0}")]
    InvalidInput(String),
    #[error("{0}")]
    NotAuthorized(String),
    /// The object is in a state that forbids the operation (in use, has dependants, ...).
    #[error("{0}")]
    Busy(String),
    /// A snapshot a FlexClone depends on.
    #[error("{0}")]
    SnapshotBusy(String),
    /// The request clashes with an existing object in a way that is not a plain duplicate name.
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NoSpace(String),
    #[error("{0}")]
    Offline(String),
    #[error("{0}")]
    NotMounted(String),
    #[error("{0}")]
    NotClone(String),
    /// The simulator itself failed (e.g. the state could not be written); nothing was changed.
    #[error("{0}")]
    Internal(String),
    /// Quotas cannot be turned on or resized: the volume has no quota rules.
    #[error("{0}")]
    QuotaNoRules(String),
    /// A write would take a qtree past a hard limit of its tree quota.
    #[error("{0}")]
    QuotaExceeded(String),
    /// A new password that is the one already set.
    #[error("{0}")]
    PasswordReused(String),
    /// A refusal ONTAP tells apart from others of its class (a front may give it its own
    /// code); `reason` says which, [`Refusal::class`] how fronts without a code of their own
    /// for it see it.
    #[error("{message}")]
    Refused { reason: Refusal, message: String },
}

/// Refusals told apart by reason (see [`ModelError::Refused`]). Add new reasons at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A volume cannot be deleted: a FlexClone depends on it.
    VolumeHasClones,
    /// A volume size below the minimum.
    SizeTooSmall,
    /// An export policy cannot be deleted: a volume uses it.
    PolicyUsedByVolume,
    /// An export policy cannot be deleted: a qtree uses it.
    PolicyUsedByQtree,
    /// The `default` export policy cannot be deleted.
    DefaultPolicy,
    /// A volume already holds the most snapshots it may.
    TooManySnapshots,
}

/// The class of error a [`Refusal`] belongs to, for tables that have no code of their own for
/// it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalClass {
    Busy,
    InvalidInput,
    Conflict,
}

impl Refusal {
    pub fn class(self) -> RefusalClass {
        match self {
            Refusal::VolumeHasClones => RefusalClass::Busy,
            Refusal::SizeTooSmall | Refusal::DefaultPolicy | Refusal::TooManySnapshots => {
                RefusalClass::InvalidInput
            }
            Refusal::PolicyUsedByVolume | Refusal::PolicyUsedByQtree => RefusalClass::Conflict,
        }
    }
}

impl ModelError {
    pub fn refused(reason: Refusal, message: impl Into<String>) -> ModelError {
        ModelError::Refused {
            reason,
            message: message.into(),
        }
    }
}

/// The ONTAP release the cluster reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub generation: u32,
    pub major: u32,
    pub minor: u32,
    /// The release as configured, e.g. `9.14.1` or `9.14.1P3`.
    pub release: String,
    pub ontapi_major: u32,
    pub ontapi_minor: u32,
}

impl Version {
    /// The text `system-get-version` returns in `version`.
    pub fn banner(&self) -> String {
        format!(
            "NetApp Release {}: Mon Jan 08 12:00:00 UTC 2024 (ontap-sim)",
            self.release
        )
    }

    pub fn ontapi(&self) -> String {
        format!("{}.{}", self.ontapi_major, self.ontapi_minor)
    }
}

/// Where the simulator's listeners are, as far as the model needs to know (LIF defaults).
#[derive(Debug, Clone, Copy)]
pub struct Listeners {
    pub management: SocketAddr,
    pub nfs: SocketAddr,
}

/// The whole cluster state.
#[derive(Debug, Clone)]
pub struct Cluster {
    pub name: String,
    pub uuid: Uuid,
    pub serial_number: String,
    pub location: String,
    pub contact: String,
    pub version: Version,
    /// How long a REST job stays queued and running (`cluster.job_duration_ms`).
    pub job_duration_ms: u64,
    pub nodes: Vec<Node>,
    pub aggregates: BTreeMap<String, Aggregate>,
    /// Keyed by name; saved, so SVMs made at runtime survive a restart.
    pub svms: Table<String, Svm>,
    /// Keyed by (scope, name). Shared, so a signed-in request holds its user without copying it.
    pub users: Table<(Scope, String), std::sync::Arc<User>>,
    /// Custom roles, keyed by (scope, name); the built-in ones are in [`role::builtin`].
    pub roles: Table<(Scope, String), Role>,
    pub ems: Vec<EmsMessage>,
    /// Keyed by (SVM, volume name).
    pub volumes: Table<(String, String), Volume>,
    /// Keyed by (SVM, policy name).
    pub export_policies: Table<(String, String), ExportPolicy>,
    /// Keyed by (SVM, volume, qtree name).
    pub qtrees: Table<(String, String, String), Qtree>,
    /// Keyed by (SVM, volume, type, target, qtree).
    pub quota_rules: Table<quota::RuleKey, QuotaRule>,
    /// (SVM, junction path) -> the volume mounted there: an index over `volumes`, kept by the
    /// operations that mount, unmount, rename or remove volumes (and checked by the invariants).
    pub junctions: Table<(String, String), String>,
    /// Indexes over tables by the keys fronts are handed (volume UUID, export policy id, job
    /// UUID). They follow the tables' changes in the same all-or-nothing operation (see
    /// [`Cluster::follow_indexes`]) and are checked with the invariants.
    pub volume_uuids: Table<Uuid, (String, String)>,
    pub policy_ids: Table<u64, (String, String)>,
    pub job_uuids: Table<Uuid, u64>,
    pub svm_uuids: Table<Uuid, String>,
    /// FlexClones by parent: (SVM, parent volume, parent snapshot, clone) -> the clone's key, so
    /// a delete's "has clones?" reads a range instead of every volume of the SVM.
    pub clone_children: Table<(String, String, String, String), (String, String)>,
    pub jobs: Table<u64, Job>,
    /// Keyed by (SVM, entry name).
    pub recovery_queue: Table<(String, String), RecoveryEntry>,
    pub qos_policy_groups: BTreeSet<String>,
    /// The cluster identity as last changed at runtime (one entry, or none): saved, and applied
    /// over the topology's on load.
    pub identity: Table<(), identity::Identity>,
    /// Installed licenses, keyed by package.
    pub licenses: Table<String, license::License>,
    pub counters: Counters,
    /// Disk work the operation in progress asks for (see [`DataAction`]).
    pub data_actions: Vec<DataAction>,
    seed: Uuid,
}

/// Identity counters; saved with every change so a restart never reuses a number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counters {
    pub next_dsid: u64,
    pub next_job_id: u64,
    pub next_policy_id: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub next_quota_rule: u64,
    /// Numbers the identities of SVMs and LIFs made at runtime.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub next_object: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What an operation in progress may need to restore besides its tables.
pub struct Savepoint {
    counters: Counters,
    aggregates: BTreeMap<String, Aggregate>,
    identity: (String, String, String),
}

/// The clone index's key of a volume, if it is a FlexClone.
fn clone_child_key(v: &Volume) -> Option<(String, String, String, String)> {
    v.clone_parent.as_ref().map(|p| {
        (
            v.svm.clone(),
            p.volume.clone(),
            p.snapshot.clone(),
            v.name.clone(),
        )
    })
}

/// A deterministic identity derived from the seed, so two runs of one config agree.
pub fn derive_uuid(seed: &Uuid, what: &str) -> Uuid {
    Uuid::new_v5(seed, what.as_bytes())
}

/// A decimal string of `digits` digits derived from the seed (serial numbers, system ids).
fn derive_digits(seed: &Uuid, what: &str, digits: usize) -> String {
    let id = derive_uuid(seed, what);
    let n = u128::from_be_bytes(*id.as_bytes());
    let s = format!("{:040}", n);
    s[s.len() - digits..].to_string()
}

impl Cluster {
    /// Build the cluster a topology describes. The topology has been validated already.
    pub fn from_topology(t: &Topology, listen: &Listeners) -> Cluster {
        let seed = Uuid::new_v5(&Uuid::NAMESPACE_OID, t.seed.as_bytes());
        let (generation, major, minor) =
            config::parse_version(&t.cluster.version).unwrap_or((9, 14, 1));
        let (ontapi_major, ontapi_minor) = match &t.cluster.ontapi {
            Some(o) => config::parse_ontapi(o).unwrap_or((1, 241)),
            None => (1, 100 + 10 * major + minor),
        };
        let nodes: Vec<Node> = t
            .nodes
            .iter()
            .map(|n| Node {
                name: n.name.clone(),
                uuid: derive_uuid(&seed, &format!("node/{}", n.name)),
                serial_number: n
                    .serial_number
                    .clone()
                    .unwrap_or_else(|| derive_digits(&seed, &format!("serial/{}", n.name), 12)),
                system_id: derive_digits(&seed, &format!("sysid/{}", n.name), 10),
                model: n.model.clone(),
            })
            .collect();
        let first_node = nodes[0].name.clone();
        let aggregates = t
            .aggregates
            .iter()
            .map(|a| {
                let aggr = Aggregate {
                    name: a.name.clone(),
                    uuid: derive_uuid(&seed, &format!("aggr/{}", a.name)),
                    node: a.node.clone().unwrap_or_else(|| first_node.clone()),
                    size: a.size.0,
                    used: 0,
                    media: a.media.clone(),
                    reserved: 0,
                };
                (a.name.clone(), aggr)
            })
            .collect();
        let default_lif_ip = match listen.nfs.ip() {
            ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            ip => ip,
        };
        let svms = t
            .svms
            .iter()
            .map(|s| {
                let lifs: Vec<Lif> = s
                    .lifs
                    .iter()
                    .map(|l| Lif {
                        name: l.name.clone(),
                        uuid: derive_uuid(&seed, &format!("lif/{}", l.name)),
                        address: l
                            .address
                            .as_deref()
                            .and_then(|a| a.parse().ok())
                            .unwrap_or(default_lif_ip),
                        netmask: l.netmask.clone(),
                        role: l.role.clone(),
                        protocols: l.protocols.clone(),
                        status: if l.status == "down" {
                            OperStatus::Down
                        } else {
                            OperStatus::Up
                        },
                        home_node: l.node.clone().unwrap_or_else(|| first_node.clone()),
                        home_port: "e0a".into(),
                        service_policy: String::new(),
                    })
                    .collect();
                let protocols = s.protocols.clone().unwrap_or_else(|| {
                    let mut p: Vec<String> =
                        lifs.iter().flat_map(|l| l.protocols.clone()).collect();
                    p.sort();
                    p.dedup();
                    p
                });
                let svm = Svm {
                    name: s.name.clone(),
                    uuid: derive_uuid(&seed, &format!("svm/{}", s.name)),
                    state: if s.state == "stopped" {
                        SvmState::Stopped
                    } else {
                        SvmState::Running
                    },
                    subtype: "default".into(),
                    aggregates: s.aggregates.clone(),
                    lifs,
                    comment: s.comment.clone().unwrap_or_default(),
                    language: "c.utf_8".into(),
                    root_volume: format!("{}_root", s.name),
                    root_volume_aggregate: s.aggregates.first().cloned().unwrap_or_default(),
                    security_style: "unix".into(),
                    snapshot_policy: "default".into(),
                    // An SVM that allows NFS comes with its NFS server running.
                    nfs: (protocols.is_empty() || protocols.iter().any(|p| p == "nfs"))
                        .then(NfsService::default),
                    dns: None,
                    quota: Default::default(),
                    unix: Default::default(),
                    allowed_protocols: protocols,
                };
                (s.name.clone(), svm)
            })
            .collect::<Vec<_>>();
        let mut svm_table = Table::default();
        svm_table.load_all(svms);
        let env_password = std::env::var(config::PASSWORD_ENV).ok();
        let users = t
            .users
            .iter()
            .map(|u| {
                let scope = if u.scope == "cluster" {
                    Scope::Cluster
                } else {
                    Scope::Svm(u.scope.clone())
                };
                // The topology's `admin`/`readonly` are the built-in roles of the user's scope.
                let role = match (&scope, u.role.as_str()) {
                    (Scope::Svm(_), "admin") => "vsadmin",
                    (Scope::Svm(_), "readonly") => "vsadmin-readonly",
                    (_, r) => r,
                };
                let methods: Vec<String> = match (&u.password, &u.certificate_cn) {
                    (None, Some(_)) => vec!["cert".into()],
                    _ => vec!["password".into()],
                };
                let applications = ["console", "http", "ontapi", "ssh"]
                    .iter()
                    .map(|a| user::Application {
                        application: a.to_string(),
                        authentication_methods: methods.clone(),
                    })
                    .collect();
                let user = std::sync::Arc::new(User {
                    name: u.name.clone(),
                    password: match (&u.password, &u.certificate_cn) {
                        (Some(p), _) => Some(p.clone()),
                        (None, Some(_)) => None,
                        (None, None) => Some(
                            env_password
                                .clone()
                                .unwrap_or_else(|| config::DEFAULT_PASSWORD.to_string()),
                        ),
                    },
                    certificate_cn: u.certificate_cn.clone(),
                    scope: scope.clone(),
                    role: role.to_string(),
                    locked: false,
                    applications,
                    comment: String::new(),
                    seeded: true,
                });
                ((scope, u.name.clone()), user)
            })
            .collect::<Vec<_>>();
        let mut user_table = Table::default();
        user_table.load_all(users);
        let mut c = Cluster {
            name: t.cluster.name.clone(),
            uuid: derive_uuid(&seed, "cluster"),
            serial_number: derive_digits(&seed, "cluster-serial", 13),
            location: t.cluster.location.clone().unwrap_or_default(),
            contact: t.cluster.contact.clone().unwrap_or_default(),
            version: Version {
                generation,
                major,
                minor,
                release: t.cluster.version.clone(),
                ontapi_major,
                ontapi_minor,
            },
            job_duration_ms: t.cluster.job_duration_ms,
            nodes,
            aggregates,
            svms: svm_table,
            users: user_table,
            roles: Table::default(),
            ems: Vec::new(),
            volumes: Table::default(),
            export_policies: Table::default(),
            qtrees: Table::default(),
            quota_rules: Table::default(),
            junctions: Table::default(),
            volume_uuids: Table::default(),
            policy_ids: Table::default(),
            job_uuids: Table::default(),
            svm_uuids: Table::default(),
            clone_children: Table::default(),
            jobs: Table::default(),
            recovery_queue: Table::default(),
            qos_policy_groups: t.qos_policy_groups.iter().cloned().collect(),
            identity: Table::default(),
            licenses: Table::default(),
            counters: Counters {
                next_dsid: 1000,
                next_job_id: 0,
                next_policy_id: 0,
                next_quota_rule: 0,
                next_object: 0,
            },
            data_actions: Vec::new(),
            seed,
        };
        c.svm_uuids = table::rebuild(&c.svms, |s| s.uuid);
        // Every SVM starts as ONTAP makes one: a `default` export policy (no rules) and a root
        // volume holding the namespace root "/" on its first aggregate.
        let svms: Vec<(String, Option<String>)> = c
            .svms
            .values()
            .map(|s| (s.name.clone(), s.aggregates.first().cloned()))
            .collect();
        for (svm, aggr) in svms {
            c.create_export_policy(&svm, "default")
                .expect("a new SVM has no policies");
            let configured = t
                .svms
                .iter()
                .find(|s| s.name == svm)
                .map(|s| s.export_policies.clone())
                .unwrap_or_default();
            for p in configured {
                if p.name != "default" {
                    c.create_export_policy(&svm, &p.name)
                        .expect("validated: unique policy names");
                }
                for r in p.rules {
                    c.add_export_rule(
                        &svm,
                        &p.name,
                        RuleSpec {
                            client_match: Some(r.client_match),
                            protocols: Some(r.protocols),
                            ro_rule: Some(r.ro_rule),
                            rw_rule: Some(r.rw_rule),
                            superuser: Some(r.superuser),
                            ..Default::default()
                        },
                    )
                    .expect("validated: well-formed rules");
                }
            }
            if let Some(aggr) = aggr {
                c.create_root_volume(&svm, &aggr, SEED_TIME);
            }
        }
        let serial = c.serial_number.clone();
        c.licenses
            .load_all(license::INSTALLED_AT_START.iter().map(|p| {
                let l = license::License {
                    package: p.to_string(),
                    serial_number: serial.clone(),
                    installed_at: 0,
                };
                (p.to_string(), l)
            }));
        c.commit();
        c
    }

    /// Start an operation: remember what the tables cannot.
    pub fn savepoint(&self) -> Savepoint {
        Savepoint {
            counters: self.counters,
            aggregates: self.aggregates.clone(),
            identity: (
                self.name.clone(),
                self.location.clone(),
                self.contact.clone(),
            ),
        }
    }

    /// Undo everything since the savepoint.
    pub fn rollback(&mut self, sp: Savepoint) {
        self.svms.rollback();
        self.volumes.rollback();
        self.export_policies.rollback();
        self.qtrees.rollback();
        self.quota_rules.rollback();
        self.junctions.rollback();
        self.volume_uuids.rollback();
        self.policy_ids.rollback();
        self.job_uuids.rollback();
        self.svm_uuids.rollback();
        self.clone_children.rollback();
        self.jobs.rollback();
        self.recovery_queue.rollback();
        self.identity.rollback();
        self.licenses.rollback();
        self.users.rollback();
        self.roles.rollback();
        self.counters = sp.counters;
        self.aggregates = sp.aggregates;
        (self.name, self.location, self.contact) = sp.identity;
        self.data_actions.clear();
    }

    /// Make the operation's changes final (after they are journaled).
    pub fn commit(&mut self) {
        self.follow_indexes();
        self.volume_uuids.commit();
        self.policy_ids.commit();
        self.job_uuids.commit();
        self.svm_uuids.commit();
        self.clone_children.commit();
        self.svms.commit();
        self.volumes.commit();
        self.export_policies.commit();
        self.qtrees.commit();
        self.quota_rules.commit();
        self.junctions.commit();
        self.jobs.commit();
        self.recovery_queue.commit();
        self.identity.commit();
        self.licenses.commit();
        self.users.commit();
        self.roles.commit();
        self.data_actions.clear();
    }

    /// Bytes and files written through NFS: checked against the volume's size and, for a volume
    /// without a space guarantee, the aggregate's free space.
    ///
    /// All or nothing. Only counters change (no text, nothing an index follows), which lets
    /// [`crate::sim::Sim::charge_data`] skip the generic operation's savepoint and text scan: it
    /// runs for every NFS write that grows a file and every create. The volume is copied once
    /// (for the operation's undo log), not three times as [`Cluster::change_volume`] would.
    pub fn charge_data(
        &mut self,
        svm: &str,
        volume: &str,
        bytes: i64,
        files: i64,
    ) -> Result<(), ModelError> {
        let key = (svm.to_string(), volume.to_string());
        let v = self
            .volumes
            .get(&key)
            .ok_or_else(|| volume::not_found(svm, volume))?;
        let data = v.data_used.checked_add_signed(bytes).unwrap_or(0);
        if bytes > 0 && data + v.size_used() - v.data_used > v.size_total() {
            return Err(ModelError::NoSpace(format!(
                "Volume \"{volume}\" in Vserver \"{svm}\" is full: {} of {} bytes used",
                v.size_used(),
                v.size_total()
            )));
        }
        let files_used = v.files_used.checked_add_signed(files).unwrap_or(0);
        if files > 0 && files_used > v.files_total {
            return Err(ModelError::NoSpace(format!(
                "Volume \"{volume}\" in Vserver \"{svm}\" has no free inodes ({} of {})",
                v.files_used, v.files_total
            )));
        }
        let aggr_name = v.aggregate.clone();
        let available = self.aggregate(&aggr_name)?.available();
        let v = self.volumes.get_mut(&key).expect("looked up above");
        let before = (v.data_used, v.files_used, v.footprint());
        v.data_used = data;
        v.files_used = files_used;
        // The aggregate follows the volume's footprint, which moves with its data when it has
        // no space guarantee.
        let (old, new) = (before.2, v.footprint());
        if new > old && new - old > available {
            (v.data_used, v.files_used) = (before.0, before.1);
            return Err(ModelError::NoSpace(format!(
                "Aggregate \"{aggr_name}\" has {available} bytes available; the change to volume \"{volume}\" needs {} more",
                new - old
            )));
        }
        if let Some(a) = self.aggregates.get_mut(&aggr_name) {
            a.used = a.used - old + new;
        }
        Ok(())
    }

    pub fn aggregate(&self, name: &str) -> Result<&Aggregate, ModelError> {
        self.aggregates
            .get(name)
            .ok_or_else(|| ModelError::NotFound {
                kind: "Aggregate",
                name: name.to_string(),
            })
    }

    pub fn check_snapshot_policy(&self, name: &str) -> Result<(), ModelError> {
        if SNAPSHOT_POLICIES.contains(&name) {
            Ok(())
        } else {
            Err(ModelError::NotFound {
                kind: "Snapshot policy",
                name: name.to_string(),
            })
        }
    }

    pub fn check_qos_policy_group(&self, name: &str) -> Result<(), ModelError> {
        if self.qos_policy_groups.contains(name) {
            Ok(())
        } else {
            Err(ModelError::NotFound {
                kind: "QoS policy group",
                name: name.to_string(),
            })
        }
    }

    /// Apply the operation's table changes to the lookup indexes (before the invariant check;
    /// again, harmlessly, at commit).
    pub fn follow_indexes(&mut self) {
        table::follow(&mut self.volume_uuids, &self.volumes, |v| v.uuid);
        table::follow(&mut self.policy_ids, &self.export_policies, |p| p.id);
        table::follow(&mut self.job_uuids, &self.jobs, |j| j.uuid);
        table::follow(&mut self.svm_uuids, &self.svms, |s| s.uuid);
        table::follow_some(&mut self.clone_children, &self.volumes, clone_child_key);
    }

    /// The volume with this UUID.
    pub fn volume_by_uuid(&self, uuid: &Uuid) -> Option<&Volume> {
        self.volume_uuids
            .get(uuid)
            .and_then(|k| self.volumes.get(k))
    }

    /// The SVM with this UUID (as the fronts are handed it: text).
    pub fn svm_by_uuid(&self, uuid: &str) -> Option<&Svm> {
        let uuid = Uuid::parse_str(uuid).ok()?;
        self.svm_uuids.get(&uuid).and_then(|n| self.svms.get(n))
    }

    /// The export policy with this id.
    pub fn policy_by_id(&self, id: u64) -> Option<&ExportPolicy> {
        self.policy_ids
            .get(&id)
            .and_then(|k| self.export_policies.get(k))
    }

    /// The FlexClones of a volume (of one of its snapshots, when given), from the clone index.
    pub fn clone_keys<'a>(
        &'a self,
        svm: &str,
        volume: &str,
        snapshot: Option<&'a str>,
    ) -> impl Iterator<Item = &'a (String, String)> + 'a {
        let from = (
            svm.to_string(),
            volume.to_string(),
            snapshot.unwrap_or_default().to_string(),
            String::new(),
        );
        let (svm, volume) = (from.0.clone(), from.1.clone());
        self.clone_children
            .range(from..)
            .take_while(move |(k, _)| {
                k.0 == svm && k.1 == volume && snapshot.is_none_or(|s| k.2 == s)
            })
            .map(|(_, v)| v)
    }

    /// Rebuild every index from the tables (after loading saved state).
    pub fn reindex(&mut self) {
        self.reindex_junctions();
        self.volume_uuids = table::rebuild(&self.volumes, |v| v.uuid);
        self.policy_ids = table::rebuild(&self.export_policies, |p| p.id);
        self.job_uuids = table::rebuild(&self.jobs, |j| j.uuid);
        self.svm_uuids = table::rebuild(&self.svms, |s| s.uuid);
        self.clone_children = table::rebuild_some(&self.volumes, clone_child_key);
    }

    /// Rebuild the junction index from the volumes (after loading saved state).
    pub fn reindex_junctions(&mut self) {
        let all: Vec<((String, String), String)> = self
            .volumes
            .values()
            .filter_map(|v| {
                v.junction_path
                    .as_ref()
                    .map(|j| ((v.svm.clone(), j.clone()), v.name.clone()))
            })
            .collect();
        self.junctions = Table::default();
        self.junctions.load_all(all);
    }

    /// Set every aggregate's used space from its volumes (after loading saved state).
    pub fn recompute_space(&mut self) {
        for a in self.aggregates.values_mut() {
            a.used = 0;
        }
        for v in self.volumes.values() {
            if let Some(a) = self.aggregates.get_mut(&v.aggregate) {
                a.used += v.footprint();
            }
        }
        for e in self.recovery_queue.values() {
            if let Some(a) = self.aggregates.get_mut(&e.aggregate) {
                a.used += e.footprint;
            }
        }
    }

    /// Every cross-object invariant, checked from scratch. Tests call this after storms of
    /// concurrent changes; a violation names what is wrong.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut footprints: BTreeMap<&str, u64> = BTreeMap::new();
        // (SVM, junction path) -> volume, borrowed: checked against the index after the loop.
        let mut junctions: Vec<((&str, &str), &str)> = Vec::new();
        // Volumes come in SVM order and mostly share a policy: look each pair up once.
        let mut policy_seen: Option<(&str, &str)> = None;
        for ((svm, name), v) in self.volumes.iter() {
            if &v.svm != svm || &v.name != name {
                return Err(format!("volume {svm}/{name} is filed under the wrong key"));
            }
            self.svm(svm).map_err(|e| e.to_string())?;
            if !self.aggregates.contains_key(&v.aggregate) {
                return Err(format!(
                    "volume {svm}/{name} is on aggregate {}, which the topology does not have",
                    v.aggregate
                ));
            }
            *footprints.entry(v.aggregate.as_str()).or_default() += v.footprint();
            if let Some(j) = &v.junction_path {
                junctions.push(((svm, j), name));
                if v.state != VolumeState::Online {
                    return Err(format!(
                        "volume {svm}/{name} is mounted but {}",
                        v.state.as_str()
                    ));
                }
            }
            if let Some(p) = &v.clone_parent {
                let parent = self
                    .volume(svm, &p.volume)
                    .map_err(|e| format!("clone {name}: {e}"))?;
                if !parent.snapshots.contains_key(&p.snapshot) {
                    return Err(format!(
                        "clone {name}: parent snapshot {} is gone",
                        p.snapshot
                    ));
                }
            }
            if policy_seen != Some((svm, &v.export_policy)) {
                if !self
                    .export_policies
                    .contains_key(&(svm.clone(), v.export_policy.clone()))
                {
                    return Err(format!(
                        "volume {svm}/{name} uses missing policy {}",
                        v.export_policy
                    ));
                }
                policy_seen = Some((svm, &v.export_policy));
            }
            if v.size_used() > v.size_total() + v.snapshot_reserve() {
                return Err(format!("volume {svm}/{name} holds more than its size"));
            }
        }
        for e in self.recovery_queue.values() {
            *footprints.entry(e.aggregate.as_str()).or_default() += e.footprint;
        }
        // Sorted as the index is ((&str, &str) orders as (String, String)).
        junctions.sort_unstable();
        if let Some(w) = junctions.windows(2).find(|w| w[0].0 == w[1].0) {
            let (svm, j) = w[0].0;
            return Err(format!("junction path {j} in {svm} is used twice"));
        }
        let index_matches = junctions.len() == self.junctions.len()
            && junctions.iter().zip(self.junctions.iter()).all(
                |(((svm, j), name), ((isvm, ij), iname))| svm == isvm && j == ij && name == iname,
            );
        if !index_matches {
            return Err("the junction index does not match the volumes' junction paths".into());
        }
        fn same<IK: Ord + Clone, K: Ord + Clone + PartialEq>(
            index: &Table<IK, K>,
            built: Table<IK, K>,
        ) -> bool {
            index.len() == built.len() && index.iter().eq(built.iter())
        }
        if !same(
            &self.volume_uuids,
            table::rebuild(&self.volumes, |v| v.uuid),
        ) {
            return Err("the volume UUID index does not match the volumes".into());
        }
        if !same(
            &self.policy_ids,
            table::rebuild(&self.export_policies, |p| p.id),
        ) {
            return Err("the export policy id index does not match the policies".into());
        }
        if !same(&self.job_uuids, table::rebuild(&self.jobs, |j| j.uuid)) {
            return Err("the job UUID index does not match the jobs".into());
        }
        if !same(&self.svm_uuids, table::rebuild(&self.svms, |s| s.uuid)) {
            return Err("the SVM UUID index does not match the SVMs".into());
        }
        if !same(
            &self.clone_children,
            table::rebuild_some(&self.volumes, clone_child_key),
        ) {
            return Err("the clone index does not match the volumes' clone parents".into());
        }
        for a in self.aggregates.values() {
            let sum = footprints.get(a.name.as_str()).copied().unwrap_or(0);
            if a.used != sum {
                return Err(format!(
                    "aggregate {} records {} bytes used but its volumes take {sum}",
                    a.name, a.used
                ));
            }
            if a.used > a.size {
                return Err(format!("aggregate {} is over-committed", a.name));
            }
        }
        for q in self.qtrees.values() {
            self.volume(&q.svm, &q.volume)
                .map_err(|e| format!("qtree {}: {e}", q.name))?;
        }
        self.check_quota_invariants()?;
        Ok(())
    }

    pub fn uuid_for(&self, what: &str) -> Uuid {
        derive_uuid(&self.seed, what)
    }

    pub fn svm(&self, name: &str) -> Result<&Svm, ModelError> {
        self.svms.get(name).ok_or_else(|| ModelError::NotFound {
            kind: "Vserver",
            name: name.to_string(),
        })
    }

    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listeners() -> Listeners {
        Listeners {
            management: "0.0.0.0:8443".parse().unwrap(),
            nfs: "0.0.0.0:2049".parse().unwrap(),
        }
    }

    #[test]
    fn default_topology_builds_the_documented_cluster() {
        let c = Cluster::from_topology(&Topology::builtin_default(), &listeners());
        assert_eq!(c.name, "cluster1");
        assert_eq!(c.version.ontapi(), "1.241");
        assert_eq!(c.nodes[0].name, "cluster1-01");
        assert_eq!(c.nodes[0].serial_number.len(), 12);
        let svm = c.svm("svm1").unwrap();
        assert_eq!(svm.state, SvmState::Running);
        assert_eq!(svm.lifs[0].address.to_string(), "127.0.0.1");
        assert_eq!(c.aggregates["aggr1"].size, 10 << 40);
    }

    #[test]
    fn identities_are_reproducible_and_seeded() {
        let t = Topology::builtin_default();
        let a = Cluster::from_topology(&t, &listeners());
        let b = Cluster::from_topology(&t, &listeners());
        assert_eq!(a.svms["svm1"].uuid, b.svms["svm1"].uuid);
        let mut t2 = t.clone();
        t2.seed = "other".into();
        let c = Cluster::from_topology(&t2, &listeners());
        assert_ne!(a.svms["svm1"].uuid, c.svms["svm1"].uuid);
        assert_ne!(a.nodes[0].serial_number, c.nodes[0].serial_number);
    }
}
