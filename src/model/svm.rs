//! Storage VMs (vservers): the tenants that own LIFs, volumes and policies. An SVM is made from the
//! topology or at runtime (`vserver-create`, `POST /api/svm/svms`), with its root volume, its
//! `default` export policy and, once asked for, its NFS service and DNS configuration; it is saved
//! as one record, so what is made at runtime survives a restart.

use super::{Lif, ModelError};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SvmState {
    Running,
    Stopped,
}

impl SvmState {
    /// ONTAP's wire word for the state.
    pub fn as_str(&self) -> &'static str {
        match self {
            SvmState::Running => "running",
            SvmState::Stopped => "stopped",
        }
    }
}

/// An SVM's NFS server (`vserver nfs`): whether it serves, and which versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NfsService {
    pub enabled: bool,
    pub v3: bool,
    pub v40: bool,
    pub v41: bool,
    pub tcp: bool,
    pub udp: bool,
    pub showmount: bool,
    pub v4_id_domain: String,
}

impl Default for NfsService {
    /// What `vserver nfs create` makes when given nothing: NFSv3 on, NFSv4.x off.
    fn default() -> Self {
        NfsService {
            enabled: true,
            v3: true,
            v40: false,
            v41: false,
            tcp: true,
            udp: true,
            showmount: true,
            v4_id_domain: "defaultv4iddomain.com".into(),
        }
    }
}

/// A change to an NFS service: only the fields given change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NfsChange {
    pub enabled: Option<bool>,
    pub v3: Option<bool>,
    pub v40: Option<bool>,
    pub v41: Option<bool>,
    pub tcp: Option<bool>,
    pub udp: Option<bool>,
    pub showmount: Option<bool>,
    pub v4_id_domain: Option<String>,
}

impl NfsChange {
    fn apply(self, s: &mut NfsService) -> Result<(), ModelError> {
        let set = |slot: &mut bool, v: Option<bool>| {
            if let Some(v) = v {
                *slot = v;
            }
        };
        set(&mut s.enabled, self.enabled);
        set(&mut s.v3, self.v3);
        set(&mut s.v40, self.v40);
        set(&mut s.v41, self.v41);
        set(&mut s.tcp, self.tcp);
        set(&mut s.udp, self.udp);
        set(&mut s.showmount, self.showmount);
        if let Some(d) = self.v4_id_domain {
            if d.len() > 255 || d.contains(char::is_whitespace) {
                return Err(ModelError::InvalidInput(format!(
                    "\"{d}\" is not a valid NFSv4 ID domain"
                )));
            }
            s.v4_id_domain = d;
        }
        if !s.tcp && !s.udp {
            return Err(ModelError::InvalidInput(
                "At least one of the TCP and UDP transports must be enabled".into(),
            ));
        }
        Ok(())
    }
}

/// An SVM's DNS configuration (`vserver services name-service dns`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dns {
    pub domains: Vec<String>,
    pub servers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Svm {
    pub name: String,
    pub uuid: Uuid,
    pub state: SvmState,
    /// `default`, or `sync_source` / `sync_destination` in MetroCluster.
    pub subtype: String,
    /// Aggregates volumes of this SVM may be created on.
    pub aggregates: Vec<String>,
    pub allowed_protocols: Vec<String>,
    pub lifs: Vec<Lif>,
    pub comment: String,
    pub language: String,
    /// The root volume's name (an SVM keeps it across a rename).
    #[serde(default)]
    pub root_volume: String,
    #[serde(default)]
    pub root_volume_aggregate: String,
    #[serde(default = "default_security_style")]
    pub security_style: String,
    #[serde(default = "default_snapshot_policy")]
    pub snapshot_policy: String,
    #[serde(default)]
    pub nfs: Option<NfsService>,
    #[serde(default)]
    pub dns: Option<Dns>,
    /// Its quota policies and the assigned one.
    #[serde(default)]
    pub quota: super::quota::SvmQuota,
    /// Its local UNIX users and groups.
    #[serde(default)]
    pub unix: super::unix_name::UnixNames,
}

fn default_security_style() -> String {
    "unix".into()
}

fn default_snapshot_policy() -> String {
    "default".into()
}

impl Svm {
    pub fn root_volume(&self) -> String {
        if self.root_volume.is_empty() {
            format!("{}_root", self.name)
        } else {
            self.root_volume.clone()
        }
    }

    /// Whether a protocol is allowed (an empty list allows every protocol, as a topology SVM
    /// without a protocol list does).
    pub fn allows(&self, protocol: &str) -> bool {
        self.allowed_protocols.is_empty()
            || self
                .allowed_protocols
                .iter()
                .any(|p| p.eq_ignore_ascii_case(protocol))
    }
}

/// The protocols a new SVM allows when the request names none (ONTAP allows them all).
pub const DEFAULT_PROTOCOLS: &[&str] = &["nfs", "cifs", "fcp", "iscsi", "ndmp", "nvme", "s3"];
/// The protocols an SVM may allow.
pub const PROTOCOLS: &[&str] = &["nfs", "cifs", "fcp", "iscsi", "ndmp", "nvme", "s3"];
/// The languages accepted for an SVM (and its root volume).
pub const LANGUAGES: &[&str] = &[
    "c",
    "c.utf_8",
    "en",
    "en_us",
    "en.utf_8",
    "en_us.utf_8",
    "utf8mb4",
    "de",
    "de.utf_8",
    "fr",
    "fr.utf_8",
    "ja",
    "ja.utf_8",
    "zh",
    "zh.utf_8",
];

/// What a new SVM is made of.
#[derive(Debug, Clone, Default)]
pub struct SvmSpec {
    pub name: String,
    /// The root volume's name; `<svm>_root` when absent.
    pub root_volume: Option<String>,
    /// The aggregate the root volume goes on; the first of `aggregates`, else the aggregate with
    /// the most free space, when absent.
    pub root_volume_aggregate: Option<String>,
    pub aggregates: Vec<String>,
    pub language: Option<String>,
    pub security_style: Option<String>,
    pub allowed_protocols: Option<Vec<String>>,
    pub comment: Option<String>,
    pub snapshot_policy: Option<String>,
    pub subtype: Option<String>,
}

/// A change to an SVM: only the fields given change.
#[derive(Debug, Clone, Default)]
pub struct SvmChange {
    pub comment: Option<String>,
    pub language: Option<String>,
    pub aggregates: Option<Vec<String>>,
    pub allowed_protocols: Option<Vec<String>>,
    pub snapshot_policy: Option<String>,
    /// The quota policy to assign.
    pub quota_policy: Option<String>,
}

fn check_language(l: &str) -> Result<String, ModelError> {
    let lower = l.to_ascii_lowercase().replace('-', "_");
    if LANGUAGES.contains(&lower.as_str()) {
        Ok(lower)
    } else {
        Err(ModelError::InvalidInput(format!(
            "Invalid language \"{l}\" (for example c.utf_8, en_us, utf8mb4)"
        )))
    }
}

fn check_protocols(list: &[String]) -> Result<Vec<String>, ModelError> {
    let mut out = Vec::new();
    for p in list {
        let p = p.to_ascii_lowercase();
        if !PROTOCOLS.contains(&p.as_str()) {
            return Err(ModelError::InvalidInput(format!(
                "Invalid protocol \"{p}\" (nfs, cifs, fcp, iscsi, ndmp, nvme, s3)"
            )));
        }
        if !out.contains(&p) {
            out.push(p);
        }
    }
    Ok(out)
}

impl super::Cluster {
    pub(crate) fn svm_mut(&mut self, name: &str) -> Result<&mut Svm, ModelError> {
        self.svms
            .get_mut(&name.to_string())
            .ok_or_else(|| ModelError::NotFound {
                kind: "Vserver",
                name: name.to_string(),
            })
    }

    /// Stop or start an SVM.
    pub fn set_svm_state(&mut self, name: &str, state: SvmState) -> Result<(), ModelError> {
        let svm = self.svm_mut(name)?;
        if svm.state != state {
            svm.state = state;
        }
        Ok(())
    }

    /// Whether `name` is taken by a vserver of any kind (the admin vserver is named after the
    /// cluster, node vservers after the nodes).
    fn vserver_name_taken(&self, name: &str) -> bool {
        self.svms.contains_key(name) || self.name == name || self.node(name).is_some()
    }

    fn check_aggregates(&self, list: &[String]) -> Result<Vec<String>, ModelError> {
        let mut out: Vec<String> = Vec::new();
        for a in list {
            self.aggregate(a)?;
            if !out.contains(a) {
                out.push(a.clone());
            }
        }
        Ok(out)
    }

    /// Make an SVM with its root volume (holding the namespace root "/") and its `default`
    /// export policy, as `vserver create` does.
    pub fn create_svm(&mut self, spec: SvmSpec) -> Result<(), ModelError> {
        let name = spec.name.clone();
        crate::config::check_name(&name, crate::config::NameKind::Svm).map_err(|r| {
            ModelError::InvalidInput(format!("Invalid Vserver name \"{name}\": {r}"))
        })?;
        if self.vserver_name_taken(&name) {
            return Err(ModelError::Duplicate {
                kind: "Vserver",
                name,
            });
        }
        let aggregates = self.check_aggregates(&spec.aggregates)?;
        let root_aggr = match spec.root_volume_aggregate.filter(|a| !a.is_empty()) {
            Some(a) => {
                self.aggregate(&a)?;
                a
            }
            None => match aggregates.first() {
                Some(a) => a.clone(),
                None => self
                    .aggregates
                    .values()
                    .min_by_key(|a| (std::cmp::Reverse(a.available()), a.name.clone()))
                    .map(|a| a.name.clone())
                    .ok_or_else(|| {
                        ModelError::InvalidInput(
                            "The cluster has no aggregate to hold the Vserver's root volume".into(),
                        )
                    })?,
            },
        };
        let root_volume = spec
            .root_volume
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| format!("{}_root", name.replace(['-', '.'], "_")));
        crate::model::volume::check_volume_name(&root_volume)?;
        let language = match spec.language.as_deref() {
            Some(l) if !l.is_empty() => check_language(l)?,
            _ => "c.utf_8".into(),
        };
        let security_style = match spec.security_style.as_deref() {
            None | Some("") => "unix".to_string(),
            Some(s @ ("unix" | "ntfs" | "mixed")) => s.to_string(),
            Some(s) => {
                return Err(ModelError::InvalidInput(format!(
                    "Invalid security style \"{s}\" (unix, ntfs, mixed)"
                )))
            }
        };
        let allowed_protocols = match &spec.allowed_protocols {
            Some(p) => check_protocols(p)?,
            None => DEFAULT_PROTOCOLS.iter().map(|p| p.to_string()).collect(),
        };
        let snapshot_policy = spec.snapshot_policy.unwrap_or_else(|| "default".into());
        self.check_snapshot_policy(&snapshot_policy)?;
        let subtype = match spec.subtype.as_deref() {
            None | Some("") | Some("default") => "default".to_string(),
            Some(s) => {
                return Err(ModelError::InvalidInput(format!(
                    "Vserver subtype \"{s}\" is not supported here (default)"
                )))
            }
        };
        let comment = spec.comment.unwrap_or_default();
        if comment.len() > 255 {
            return Err(ModelError::InvalidInput(
                "The comment is longer than 255 characters".into(),
            ));
        }
        self.counters.next_object += 1;
        let uuid = self.uuid_for(&format!("svm/{name}/{}", self.counters.next_object));
        let svm = Svm {
            name: name.clone(),
            uuid,
            state: SvmState::Running,
            subtype,
            aggregates,
            allowed_protocols,
            lifs: Vec::new(),
            comment,
            language: language.clone(),
            root_volume: root_volume.clone(),
            root_volume_aggregate: root_aggr.clone(),
            security_style: security_style.clone(),
            snapshot_policy,
            nfs: None,
            dns: None,
            quota: Default::default(),
            unix: Default::default(),
        };
        self.svms.insert(name.clone(), svm);
        self.create_export_policy(&name, "default")?;
        let now = crate::model::volume::now_secs();
        self.create_root_volume_named(&name, &root_volume, &root_aggr, now, true)?;
        if let Some(v) = self.volumes.get_mut(&(name.clone(), root_volume.clone())) {
            v.language = language;
            v.security_style = security_style;
        }
        Ok(())
    }

    pub fn modify_svm(&mut self, name: &str, ch: SvmChange) -> Result<(), ModelError> {
        let aggregates = match &ch.aggregates {
            Some(a) => Some(self.check_aggregates(a)?),
            None => None,
        };
        let protocols = match &ch.allowed_protocols {
            Some(p) => Some(check_protocols(p)?),
            None => None,
        };
        let language = match &ch.language {
            Some(l) => Some(check_language(l)?),
            None => None,
        };
        if let Some(p) = &ch.snapshot_policy {
            self.check_snapshot_policy(p)?;
        }
        if let Some(p) = &ch.quota_policy {
            self.assign_quota_policy(name, p)?;
        }
        let svm = self.svm_mut(name)?;
        if let Some(c) = ch.comment {
            if c.len() > 255 {
                return Err(ModelError::InvalidInput(
                    "The comment is longer than 255 characters".into(),
                ));
            }
            svm.comment = c;
        }
        if let Some(l) = language {
            svm.language = l;
        }
        if let Some(a) = aggregates {
            svm.aggregates = a;
        }
        if let Some(p) = protocols {
            svm.allowed_protocols = p;
        }
        if let Some(p) = ch.snapshot_policy {
            svm.snapshot_policy = p;
        }
        Ok(())
    }

    /// Rename an SVM: everything it owns follows (its root volume keeps its name, as on ONTAP).
    pub fn rename_svm(&mut self, name: &str, new_name: &str) -> Result<(), ModelError> {
        self.svm(name)?;
        if name == new_name {
            return Ok(());
        }
        crate::config::check_name(new_name, crate::config::NameKind::Svm).map_err(|r| {
            ModelError::InvalidInput(format!("Invalid Vserver name \"{new_name}\": {r}"))
        })?;
        if self.vserver_name_taken(new_name) {
            return Err(ModelError::Duplicate {
                kind: "Vserver",
                name: new_name.to_string(),
            });
        }
        let (old, new) = (name.to_string(), new_name.to_string());
        let mut svm = self.svms.remove(&old).ok_or_else(|| ModelError::NotFound {
            kind: "Vserver",
            name: old.clone(),
        })?;
        svm.name = new.clone();
        if svm.root_volume.is_empty() {
            svm.root_volume = format!("{old}_root");
        }
        self.svms.insert(new.clone(), svm);
        fn rekey<K: Ord + Clone, V: Clone>(
            t: &mut super::table::Table<K, V>,
            pick: impl Fn(&K) -> bool,
            change: impl Fn(K, &mut V) -> K,
        ) {
            let keys: Vec<K> = t.keys().filter(|k| pick(k)).cloned().collect();
            for k in keys {
                if let Some(mut v) = t.remove(&k) {
                    let nk = change(k, &mut v);
                    t.insert(nk, v);
                }
            }
        }
        rekey(
            &mut self.volumes,
            |k| k.0 == old,
            |k, v| {
                v.svm = new.clone();
                (new.clone(), k.1)
            },
        );
        rekey(
            &mut self.export_policies,
            |k| k.0 == old,
            |k, p| {
                p.svm = new.clone();
                (new.clone(), k.1)
            },
        );
        rekey(
            &mut self.qtrees,
            |k| k.0 == old,
            |k, q| {
                q.svm = new.clone();
                (new.clone(), k.1, k.2)
            },
        );
        rekey(
            &mut self.quota_rules,
            |k| k.0 == old,
            |k, r| {
                r.svm = new.clone();
                (new.clone(), k.1, k.2, k.3, k.4, k.5)
            },
        );
        rekey(
            &mut self.recovery_queue,
            |k| k.0 == old,
            |k, e| {
                e.svm = new.clone();
                (new.clone(), k.1)
            },
        );
        rekey(
            &mut self.junctions,
            |k| k.0 == old,
            |k, _| (new.clone(), k.1),
        );
        // The SVM's own logins and roles follow it.
        let (old_scope, new_scope) = (
            super::Scope::Svm(old.clone()),
            super::Scope::Svm(new.clone()),
        );
        rekey(
            &mut self.users,
            |k| k.0 == old_scope,
            |k, u| {
                let u = std::sync::Arc::make_mut(u);
                u.scope = new_scope.clone();
                // The topology names the old SVM: from now on the login is saved state.
                u.seeded = false;
                (new_scope.clone(), k.1)
            },
        );
        rekey(
            &mut self.roles,
            |k| k.0 == old_scope,
            |k, r| {
                r.scope = new_scope.clone();
                (new_scope.clone(), k.1)
            },
        );
        Ok(())
    }

    /// Delete an SVM: refused while it holds volumes other than its root (as ONTAP refuses);
    /// its root volume, LIFs, export policies, NFS service, DNS, logins and roles go with it.
    pub fn delete_svm(&mut self, name: &str) -> Result<(), ModelError> {
        let svm = self.svm(name)?.clone();
        let root = svm.root_volume();
        let others: Vec<String> = self
            .volumes_of(name)
            .filter(|v| !v.is_svm_root && v.name != root)
            .map(|v| v.name.clone())
            .collect();
        if !others.is_empty() {
            return Err(ModelError::Busy(format!(
                "Cannot delete Vserver \"{name}\" because it has {} volume(s) other than its root volume ({}); delete them first",
                others.len(),
                others.join(", ")
            )));
        }
        let key = |n: &str| (name.to_string(), n.to_string());
        if let Some(v) = self.volumes.remove(&key(&root)) {
            if let Some(j) = &v.junction_path {
                self.junctions.remove(&key(j));
            }
            if let Some(a) = self.aggregates.get_mut(&v.aggregate) {
                a.used = a.used.saturating_sub(v.footprint());
            }
            let qtrees: Vec<_> = self
                .qtrees
                .keys()
                .filter(|(s, vol, _)| s == name && *vol == root)
                .cloned()
                .collect();
            for k in qtrees {
                self.qtrees.remove(&k);
            }
            self.drop_quota_volume(name, &root);
            self.data_actions
                .push(super::DataAction::RemoveVolume { volume: v.uuid });
        }
        // Deleted volumes waiting in the recovery queue go for good.
        let queued: Vec<String> = self
            .recovery_queue
            .keys()
            .filter(|(s, _)| s == name)
            .map(|(_, n)| n.clone())
            .collect();
        for n in queued {
            self.purge_recovery_queue(name, &n)?;
        }
        self.export_policies.retain(|(s, _), _| s != name);
        // Its logins and roles go with it, as on ONTAP.
        let scope = super::Scope::Svm(name.to_string());
        self.users.retain(|(s, _), _| *s != scope);
        self.roles.retain(|(s, _), _| *s != scope);
        self.svms.remove(&name.to_string());
        Ok(())
    }

    /// Make the SVM's NFS service (`vserver nfs create`).
    pub fn create_nfs_service(&mut self, svm: &str, ch: NfsChange) -> Result<(), ModelError> {
        let s = self.svm_mut(svm)?;
        if s.nfs.is_some() {
            return Err(ModelError::Duplicate {
                kind: "NFS service of Vserver",
                name: svm.to_string(),
            });
        }
        if !s.allows("nfs") {
            return Err(ModelError::InvalidInput(format!(
                "NFS is not allowed on Vserver \"{svm}\": add it to the Vserver's allowed protocols first"
            )));
        }
        let mut n = NfsService::default();
        ch.apply(&mut n)?;
        s.nfs = Some(n);
        Ok(())
    }

    pub fn modify_nfs_service(&mut self, svm: &str, ch: NfsChange) -> Result<(), ModelError> {
        let s = self.svm_mut(svm)?;
        let n = s.nfs.as_mut().ok_or_else(|| ModelError::NotFound {
            kind: "NFS service of Vserver",
            name: svm.to_string(),
        })?;
        let mut next = n.clone();
        ch.apply(&mut next)?;
        *n = next;
        Ok(())
    }

    /// `nfs-enable` / `nfs-disable`: enabling an SVM without a service makes one with the
    /// defaults, as ONTAP does.
    pub fn set_nfs_enabled(&mut self, svm: &str, enabled: bool) -> Result<(), ModelError> {
        let has = self.svm(svm)?.nfs.is_some();
        if !has {
            if !enabled {
                return Err(ModelError::NotFound {
                    kind: "NFS service of Vserver",
                    name: svm.to_string(),
                });
            }
            return self.create_nfs_service(svm, NfsChange::default());
        }
        self.modify_nfs_service(
            svm,
            NfsChange {
                enabled: Some(enabled),
                ..Default::default()
            },
        )
    }

    pub fn delete_nfs_service(&mut self, svm: &str) -> Result<(), ModelError> {
        let s = self.svm_mut(svm)?;
        if s.nfs.take().is_none() {
            return Err(ModelError::NotFound {
                kind: "NFS service of Vserver",
                name: svm.to_string(),
            });
        }
        Ok(())
    }

    /// Create (`create`), replace or remove an SVM's DNS configuration.
    pub fn set_dns(&mut self, svm: &str, dns: Option<Dns>, create: bool) -> Result<(), ModelError> {
        if let Some(d) = &dns {
            if d.domains.is_empty() || d.servers.is_empty() {
                return Err(ModelError::InvalidInput(
                    "DNS needs at least one domain and one name server".into(),
                ));
            }
            if d.domains.len() > 6 || d.servers.len() > 3 {
                return Err(ModelError::InvalidInput(
                    "DNS takes at most 6 domains and 3 name servers".into(),
                ));
            }
            for s in &d.servers {
                if s.parse::<std::net::IpAddr>().is_err() {
                    return Err(ModelError::InvalidInput(format!(
                        "Name server \"{s}\" is not an IP address"
                    )));
                }
            }
            for dom in &d.domains {
                if dom.is_empty()
                    || dom.len() > 255
                    || !dom
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_')
                {
                    return Err(ModelError::InvalidInput(format!(
                        "\"{dom}\" is not a valid domain name"
                    )));
                }
            }
        }
        let s = self.svm_mut(svm)?;
        match (&s.dns, &dns, create) {
            (Some(_), Some(_), true) => Err(ModelError::Duplicate {
                kind: "DNS configuration of Vserver",
                name: svm.to_string(),
            }),
            (None, _, false) => Err(ModelError::NotFound {
                kind: "DNS configuration of Vserver",
                name: svm.to_string(),
            }),
            _ => {
                s.dns = dns;
                Ok(())
            }
        }
    }
}

impl super::Cluster {
    /// Where a volume goes when the request names no aggregate: the SVM's first assigned one.
    /// The aggregate `auto-provision-as flexgroup` places a new FlexGroup on: of the SVM's
    /// aggregates (every aggregate when none is assigned), the one with the most free space.
    /// Too little space anywhere is for the create to refuse.
    pub fn auto_provision_aggregate(&self, svm: &str) -> Result<String, super::ModelError> {
        let s = self.svm(svm)?;
        let candidates: Vec<&super::Aggregate> = if s.aggregates.is_empty() {
            self.aggregates.values().collect()
        } else {
            s.aggregates
                .iter()
                .filter_map(|a| self.aggregates.get(a))
                .collect()
        };
        candidates
            .into_iter()
            // Most free first; ties go to the first by name.
            .min_by_key(|a| (std::cmp::Reverse(a.available()), a.name.clone()))
            .map(|a| a.name.clone())
            .ok_or_else(|| {
                super::ModelError::InvalidInput(format!(
                    "Vserver \"{svm}\" has no aggregates to provision a FlexGroup on"
                ))
            })
    }

    pub fn default_aggregate(&self, svm: &str) -> Result<String, super::ModelError> {
        self.svm(svm)?.aggregates.first().cloned().ok_or_else(|| {
            super::ModelError::InvalidInput(format!(
                "Vserver \"{svm}\" has no aggregates assigned; give aggr-list"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Topology;
    use crate::model::{Cluster, Listeners, VolumeSpec};

    fn empty() -> Cluster {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/deploy/topologies/empty-cluster.toml"
        ))
        .unwrap();
        let t = Topology::parse(&text, "empty-cluster.toml").unwrap();
        let l = Listeners {
            management: "127.0.0.1:8443".parse().unwrap(),
            nfs: "127.0.0.1:2049".parse().unwrap(),
        };
        Cluster::from_topology(&t, &l)
    }

    fn spec(name: &str) -> SvmSpec {
        SvmSpec {
            name: name.into(),
            aggregates: vec!["aggr2".into()],
            ..Default::default()
        }
    }

    #[test]
    fn the_empty_topology_starts_with_no_svm_and_the_admin_user() {
        let c = empty();
        assert!(c.svms.is_empty());
        assert_eq!(c.aggregates.len(), 2);
        assert_eq!(
            c.users
                .values()
                .map(|u| u.name.as_str())
                .collect::<Vec<_>>(),
            ["admin"]
        );
        c.check_invariants().unwrap();
    }

    #[test]
    fn an_svm_is_made_with_its_root_volume_and_default_policy() {
        let mut c = empty();
        c.create_svm(spec("s1")).unwrap();
        c.commit();
        let s = c.svm("s1").unwrap();
        assert_eq!(s.root_volume(), "s1_root");
        assert_eq!(s.root_volume_aggregate, "aggr2");
        assert!(s.nfs.is_none() && s.lifs.is_empty());
        let root = c.volume("s1", "s1_root").unwrap();
        assert_eq!(root.junction_path.as_deref(), Some("/"));
        assert!(c.export_policy("s1", "default").is_ok());
        assert!(c.aggregates["aggr2"].used > 0);
        c.check_invariants().unwrap();
        // Names are unique among SVMs, the cluster and its nodes.
        for taken in ["s1", "cluster1", "cluster1-01"] {
            assert!(
                matches!(c.create_svm(spec(taken)), Err(ModelError::Duplicate { .. })),
                "{taken}"
            );
        }
        assert!(matches!(
            c.create_svm(SvmSpec {
                root_volume_aggregate: Some("nope".into()),
                ..spec("s2")
            }),
            Err(ModelError::NotFound {
                kind: "Aggregate",
                ..
            })
        ));
    }

    #[test]
    fn delete_is_refused_while_volumes_remain_and_takes_everything_with_it() {
        let mut c = empty();
        c.create_svm(spec("s1")).unwrap();
        c.create_lif(
            "s1",
            crate::model::LifSpec {
                name: "l1".into(),
                address: Some("192.0.2.1".into()),
                netmask: Some("24".into()),
                ..Default::default()
            },
        )
        .unwrap();
        c.create_nfs_service("s1", NfsChange::default()).unwrap();
        c.create_export_policy("s1", "p1").unwrap();
        c.create_volume(
            "s1",
            VolumeSpec {
                name: "v1".into(),
                aggregate: "aggr2".into(),
                size: 100 << 20,
                ..Default::default()
            },
        )
        .unwrap();
        c.commit();
        let err = c.delete_svm("s1").unwrap_err();
        assert!(
            matches!(&err, ModelError::Busy(m) if m.contains("v1")),
            "{err}"
        );
        c.destroy_volume("s1", "v1", true).unwrap();
        c.delete_svm("s1").unwrap();
        c.commit();
        assert!(c.svms.is_empty());
        assert_eq!(c.volumes.len(), 0);
        assert_eq!(c.export_policies.len(), 0);
        assert_eq!(c.recovery_queue.len(), 0);
        assert_eq!(c.aggregates["aggr2"].used, 0);
        c.check_invariants().unwrap();
    }

    #[test]
    fn rename_moves_what_the_svm_owns() {
        let mut c = empty();
        c.create_svm(spec("s1")).unwrap();
        c.create_export_policy("s1", "p1").unwrap();
        c.commit();
        let s1 = crate::model::Scope::Svm("s1".into());
        let s2 = crate::model::Scope::Svm("s2".into());
        let entry = crate::model::Privilege::new("volume", crate::model::AccessLevel::All);
        c.create_role(&s1, "trident", vec![entry]).unwrap();
        c.add_login(
            &s1,
            "tri",
            ("ontapi", "password"),
            "trident",
            Some("Netapp1!x"),
            None,
        )
        .unwrap();
        c.commit();
        let uuid = c.svm("s1").unwrap().uuid;
        c.rename_svm("s1", "s2").unwrap();
        c.follow_indexes();
        c.commit();
        let s = c.svm("s2").unwrap();
        assert_eq!((s.uuid, s.root_volume()), (uuid, "s1_root".to_string()));
        assert!(c.volume("s2", "s1_root").is_ok());
        assert!(c.export_policy("s2", "p1").is_ok());
        assert!(c.svm("s1").is_err());
        // The SVM's login and role moved with it.
        assert_eq!(c.user(&s2, "tri").unwrap().scope, s2);
        assert!(c.user(&s1, "tri").is_err());
        assert!(c.role(&s2, "trident").is_ok() && c.role(&s1, "trident").is_err());
        c.check_invariants().unwrap();
        c.delete_svm("s2").unwrap();
        c.commit();
        assert!(c.user(&s2, "tri").is_err() && c.role(&s2, "trident").is_err());
        c.check_invariants().unwrap();
    }

    #[test]
    fn a_failed_operation_leaves_svms_as_they_were() {
        let mut c = empty();
        c.create_svm(spec("s1")).unwrap();
        c.commit();
        let sp = c.savepoint();
        c.create_nfs_service("s1", NfsChange::default()).unwrap();
        c.modify_identity(Some("lab9"), Some("rack"), None).unwrap();
        c.rollback(sp);
        assert!(c.svm("s1").unwrap().nfs.is_none());
        assert_eq!((c.name.as_str(), c.location.as_str()), ("cluster1", ""));
        // A bad change refuses without touching the service.
        c.create_nfs_service("s1", NfsChange::default()).unwrap();
        let bad = NfsChange {
            tcp: Some(false),
            udp: Some(false),
            ..Default::default()
        };
        assert!(c.modify_nfs_service("s1", bad).is_err());
        assert!(c.svm("s1").unwrap().nfs.as_ref().unwrap().tcp);
    }

    #[test]
    fn runtime_svms_are_saved_records_and_load_back() {
        let mut c = empty();
        c.create_svm(spec("s1")).unwrap();
        c.create_lif(
            "s1",
            crate::model::LifSpec {
                name: "l1".into(),
                address: Some("192.0.2.1".into()),
                netmask: Some("255.255.255.0".into()),
                ..Default::default()
            },
        )
        .unwrap();
        let (put, _) = crate::store::records::changes(&c);
        assert!(put
            .iter()
            .any(|r| matches!(r, crate::store::records::Record::Svm(s) if s.name == "s1")));
        c.commit();
        let records = crate::store::records::all(&c);
        let mut fresh = empty();
        crate::store::records::load_into(
            &mut fresh,
            crate::store::Loaded {
                clean: true,
                counters: c.counters,
                records,
                seq: 0,
                journal_lines: 0,
                dirty: Vec::new(),
            },
        )
        .unwrap();
        let (a, b) = (c.svm("s1").unwrap(), fresh.svm("s1").unwrap());
        assert_eq!(a, b);
        assert_eq!(fresh.lif("s1", "l1").unwrap().netmask, "255.255.255.0");
    }
}
