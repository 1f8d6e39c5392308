//! What the model says about one volume for one call: taken under the model's read lock, copied
//! out, and evaluated against the export policy after the lock is released (host names in
//! client-match may need DNS). Nothing is cached between calls, so every ZAPI change to a volume
//! or a policy is seen by the next NFS call.

use super::access::{who_for, Who};
use super::rpc::Cred;
use super::Nfs;
use crate::model::nfs_access::{ExportDecision, NfsAccess};
use crate::model::{Cluster, ExportPolicy, Volume};
use std::net::IpAddr;
use std::path::PathBuf;
use uuid::Uuid;

/// The call's context: who is asking, from where, on which SVM.
pub struct Cx<'a> {
    pub nfs: &'a Nfs,
    pub peer: IpAddr,
    pub svm: String,
    pub cred: &'a Cred,
}

#[derive(Debug, Clone)]
pub struct SnapView {
    pub name: String,
    pub uuid: Uuid,
    pub create_time: u64,
}

/// One volume as this client sees it now.
#[derive(Debug, Clone)]
pub struct VolView {
    pub svm: String,
    pub name: String,
    pub uuid: Uuid,
    pub fsid: u64,
    /// The root directory's permissions and owner (the volume's unix-permissions, user-id,
    /// group-id).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size_total: u64,
    pub size_available: u64,
    pub files_total: u64,
    pub files_used: u64,
    pub snapdir: bool,
    pub snapshots: Vec<SnapView>,
    /// Volumes mounted directly below this one's root: (entry name, volume UUID). Filled in the
    /// view of a volume root's object only (see [`Cx::view_of`]).
    pub children: Vec<(String, Uuid)>,
    /// The volume whose root holds this one's junction (a volume root's object only).
    pub parent: Option<Uuid>,
    pub decision: ExportDecision,
    pub who: Who,
    /// The volume's qtrees (directories at its root the server owns).
    pub qtrees: Vec<String>,
    /// The qtree the object is in, once known (see [`Cx::enter_qtree`]).
    pub qtree: Option<QtreeView>,
}

/// The qtree an object is in: its quota and what it holds, for DQUOT and FSSTAT.
#[derive(Debug, Clone)]
pub struct QtreeView {
    pub name: String,
    /// The tree quota's limits in force (None: no quota applies).
    pub limits: Option<crate::model::quota::Limits>,
    pub data_used: u64,
    pub files_used: u64,
}

impl VolView {
    pub fn is_qtree(&self, name: &[u8]) -> bool {
        self.qtrees.iter().any(|q| q.as_bytes() == name)
    }

    pub fn snapshot(&self, uuid: &Uuid) -> Option<&SnapView> {
        self.snapshots.iter().find(|s| &s.uuid == uuid)
    }

    pub fn child(&self, name: &[u8]) -> Option<Uuid> {
        self.children
            .iter()
            .find(|(n, _)| n.as_bytes() == name)
            .map(|(_, u)| *u)
    }

    pub fn writable(&self) -> bool {
        self.decision.access == NfsAccess::ReadWrite
    }
}

/// Why a volume cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ViewError {
    /// Gone, unmounted or offline: the client's handles are stale.
    Gone,
    /// The export policy refuses the client.
    Denied(String),
}

pub fn fsid_of(uuid: &Uuid) -> u64 {
    let b = uuid.as_bytes();
    u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

/// `junctions`: fill `children` and `parent` (a scan of the SVM's volumes; only a volume root's
/// view needs them).
fn copy_view(
    c: &Cluster,
    svm: &str,
    v: &Volume,
    junctions: bool,
) -> (VolView, Option<ExportPolicy>) {
    let mut snapshots: Vec<SnapView> = v
        .snapshots
        .values()
        .map(|s| SnapView {
            name: s.name.clone(),
            uuid: s.uuid,
            create_time: s.create_time,
        })
        .collect();
    snapshots.sort_by(|a, b| a.name.cmp(&b.name));
    let view = VolView {
        svm: svm.to_string(),
        name: v.name.clone(),
        uuid: v.uuid,
        fsid: fsid_of(&v.uuid),
        mode: v.unix_permissions & 0o7777,
        uid: v.user_id,
        gid: v.group_id,
        size_total: v.size_total(),
        size_available: v.size_available(),
        files_total: v.files_total,
        files_used: v.files_used,
        snapdir: v.snapdir_access,
        snapshots,
        children: if junctions {
            c.nfs_junction_children(svm, v)
                .map(|(n, cv)| (n.to_string(), cv.uuid))
                .collect()
        } else {
            Vec::new()
        },
        parent: junctions
            .then(|| c.nfs_junction_parent(svm, v).map(|p| p.uuid))
            .flatten(),
        decision: ExportDecision {
            access: NfsAccess::Denied,
            rule_index: None,
            squashed: true,
            anon_uid: 65534,
            reason: String::new(),
        },
        who: Who::root(),
        qtrees: c
            .qtrees
            .range((svm.to_string(), v.name.clone(), String::new())..)
            .take_while(|((s, vol, _), _)| s == svm && *vol == v.name)
            .map(|(_, q)| q.name.clone())
            .collect(),
        qtree: None,
    };
    (view, c.nfs_policy_of(v).cloned())
}

impl Cx<'_> {
    /// The volume `uuid` of this SVM, if it is online and mounted, with the policy's decision.
    pub fn view(&self, uuid: &Uuid) -> Result<VolView, ViewError> {
        self.view_of(uuid, true)
    }

    /// [`Cx::view`]; `junctions`: with the volumes mounted below its root and the one above it
    /// (what a volume root's object needs: its entries, `..`), found by a scan of the SVM's
    /// volumes that an object below the root is spared.
    pub fn view_of(&self, uuid: &Uuid, junctions: bool) -> Result<VolView, ViewError> {
        let (mut view, policy) = {
            let c = self.nfs.sim.read();
            let v = c
                .nfs_volume_by_uuid(&self.svm, uuid)
                .filter(|v| v.junction_path.is_some())
                .ok_or(ViewError::Gone)?;
            copy_view(&c, &self.svm, v, junctions)
        };
        self.decide(&mut view, policy.as_ref());
        if view.decision.access == NfsAccess::Denied {
            return Err(ViewError::Denied(view.decision.reason));
        }
        Ok(view)
    }

    /// The volume at junction path `path` (or below it), the rest of the path, and the volumes
    /// on the way there from the namespace root; their decisions are filled in (denied ones
    /// too: MNT checks them).
    pub fn view_at(&self, path: &str) -> Option<(VolView, String, Vec<VolView>)> {
        let (mut view, policy, rest, mut ancestors) = {
            let c = self.nfs.sim.read();
            let (v, rest) = c.nfs_volume_at(&self.svm, path)?;
            let (view, policy) = copy_view(&c, &self.svm, v, true);
            let ancestors: Vec<(VolView, Option<ExportPolicy>)> = c
                .nfs_junction_ancestors(&self.svm, v)
                .into_iter()
                .map(|a| copy_view(&c, &self.svm, a, true))
                .collect();
            (view, policy, rest, ancestors)
        };
        self.decide(&mut view, policy.as_ref());
        for (a, p) in &mut ancestors {
            self.decide(a, p.as_ref());
        }
        Some((view, rest, ancestors.into_iter().map(|(a, _)| a).collect()))
    }

    /// The object is in qtree `name` (the first component of its path) when the volume has
    /// one by that name: the qtree's export policy, when it has its own, decides instead of the
    /// volume's, and its quota applies.
    pub fn enter_qtree(&self, view: &mut VolView, name: &std::ffi::OsStr) -> Result<(), ViewError> {
        let Some(name) = name.to_str().filter(|n| view.is_qtree(n.as_bytes())) else {
            return Ok(());
        };
        let policy = {
            let c = self.nfs.sim.read();
            let Some(q) = c
                .qtrees
                .get(&(view.svm.clone(), view.name.clone(), name.to_string()))
            else {
                return Ok(());
            };
            view.qtree = Some(QtreeView {
                name: name.to_string(),
                limits: c.tree_limits(&view.svm, &view.name, name),
                data_used: q.data_used,
                files_used: q.files_used,
            });
            match &q.export_policy {
                None => return Ok(()),
                // A policy that vanished (it cannot: in use) refuses everyone.
                Some(p) => c.export_policy(&view.svm, p).ok().cloned(),
            }
        };
        self.decide(view, policy.as_ref());
        if view.decision.access == NfsAccess::Denied {
            return Err(ViewError::Denied(view.decision.reason.clone()));
        }
        Ok(())
    }

    fn decide(&self, view: &mut VolView, policy: Option<&ExportPolicy>) {
        view.decision = self.nfs.policies.decide(policy, self.peer, self.cred);
        view.who = who_for(self.cred, &view.decision);
    }

    /// Where the volume's active file system lives on disk.
    pub fn data_dir(&self, uuid: &Uuid) -> Option<PathBuf> {
        self.nfs.sim.volume_data_dir(uuid)
    }

    pub fn snapshot_dir(&self, volume: &Uuid, snapshot: &Uuid) -> Option<PathBuf> {
        self.nfs.sim.snapshot_data_dir(volume, snapshot)
    }
}
