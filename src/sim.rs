//! The handle every front shares: the model behind one lock, the store that makes each change
//! durable before it is acknowledged, and the volume data directories that follow the model.

use crate::config::Topology;
use crate::model::{Cluster, Listeners, ModelError};
use crate::store::data::DataDirs;
use crate::store::Store;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use tracing::{error, warn};
use uuid::Uuid;

/// The NLM clients to tell of a restart, in the state dir.
const NLM_CLIENTS: &str = "nlm-clients.json";

pub struct Sim {
    cluster: RwLock<Cluster>,
    /// Runtime fault rules and listener modes (not part of the saved state).
    pub faults: crate::faults::Faults,
    /// Recent requests and the request metrics.
    pub calls: crate::calls::CallLog,
    /// Timeouts, connection caps and the body budget of every listener.
    pub guards: crate::guard::Guards,
    /// NLM byte-range locks and share reservations (in memory, as ONTAP's are: a restart starts
    /// a grace period instead).
    pub locks: Mutex<crate::model::lock::LockTable>,
    store: Option<Mutex<Store>>,
    data: DataDirs,
    /// Held from the end of an operation through its disk work, so data actions run in the order
    /// their operations were committed, without holding the model lock during file copies.
    data_order: Mutex<()>,
    /// What `reset` returns to.
    seed: (Topology, Listeners),
    /// The journal sequence number known to be on disk, and the lock one fsync at a time holds.
    synced: std::sync::atomic::AtomicU64,
    sync_lock: Mutex<()>,
    /// Where NFS is served, once bound (for the mount commands the console shows).
    nfs_addr: std::sync::OnceLock<std::net::SocketAddr>,
    /// Grows whenever data directories change underneath NFS (a data action: restore, volume or
    /// snapshot removal, clone, qtree change; a reset or loaded state), so the NFS shim closes
    /// the files it keeps open.
    pub data_epoch: std::sync::atomic::AtomicU64,
    /// What user and group quotas count, kept up to date by NFS charges.
    quota_usage: crate::quota_usage::QuotaUsage,
}

/// Run work that waits (the write lock, new data directories, the journal's fsync) without
/// holding up a runtime worker: called on one, it hands the worker's other tasks to another
/// thread first. The HTTP fronts call the model straight from their tasks, and a server has few
/// workers (one a core): without this, two writers waiting on the disk stall every connection.
pub(crate) fn off_the_runtime<R>(f: impl FnOnce() -> R) -> R {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

impl Sim {
    /// A simulator that keeps its model in memory and its data in a temporary directory.
    pub fn ephemeral(cluster: Cluster, seed: (Topology, Listeners)) -> anyhow::Result<Sim> {
        let data = DataDirs::temporary()?;
        data.reconcile(&cluster, true)?;
        Ok(Self::new(cluster, None, data, seed))
    }

    pub fn durable(
        cluster: Cluster,
        store: Store,
        data: DataDirs,
        seed: (Topology, Listeners),
    ) -> Sim {
        Self::new(cluster, Some(store), data, seed)
    }

    fn new(
        cluster: Cluster,
        store: Option<Store>,
        data: DataDirs,
        seed: (Topology, Listeners),
    ) -> Sim {
        Sim {
            seed,
            synced: Default::default(),
            sync_lock: Mutex::new(()),
            cluster: RwLock::new(cluster),
            faults: Default::default(),
            calls: Default::default(),
            guards: Default::default(),
            locks: Default::default(),
            store: store.map(Mutex::new),
            data,
            data_order: Mutex::new(()),
            nfs_addr: std::sync::OnceLock::new(),
            data_epoch: Default::default(),
            quota_usage: Default::default(),
        }
    }

    /// The NLM lock table (a poisoned lock still holds a consistent table: its operations do not
    /// panic half-way).
    pub fn lock_table(&self) -> std::sync::MutexGuard<'_, crate::model::lock::LockTable> {
        self.locks.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Where the clients to tell of a restart are kept (none when ephemeral).
    fn nlm_clients_path(&self) -> Option<PathBuf> {
        self.store.as_ref().map(|s| {
            s.lock()
                .unwrap_or_else(|e| e.into_inner())
                .dir()
                .join(NLM_CLIENTS)
        })
    }

    /// Save the NLM clients to notify after a restart (written aside, synced, renamed in).
    pub fn save_nlm_clients(&self) {
        let Some(path) = self.nlm_clients_path() else {
            return;
        };
        let list = self.lock_table().monitored();
        let write = || -> std::io::Result<()> {
            let tmp = path.with_extension("json.tmp");
            let mut f = std::fs::File::create(&tmp)?;
            std::io::Write::write_all(&mut f, &serde_json::to_vec_pretty(&list)?)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)
        };
        if let Err(e) = write() {
            warn!(file = %path.display(), error = %e, "the NLM clients to notify after a restart could not be saved");
        }
    }

    /// Read the NLM clients saved by the previous run into the lock table.
    pub fn load_nlm_clients(&self) {
        let Some(path) = self.nlm_clients_path() else {
            return;
        };
        let list: Vec<crate::model::lock::NsmClient> = match std::fs::read(&path) {
            Ok(b) => match serde_json::from_slice(&b) {
                Ok(l) => l,
                Err(e) => {
                    warn!(file = %path.display(), error = %e, "unreadable NLM client list; no client will be told of the restart");
                    return;
                }
            },
            Err(_) => return,
        };
        let mut t = self.lock_table();
        for c in list {
            t.monitor(c);
        }
    }

    /// Note where the NFS listener is bound (set once, at start).
    pub fn set_nfs_addr(&self, addr: std::net::SocketAddr) {
        let _ = self.nfs_addr.set(addr);
    }

    /// Where NFS is served; None when it is not.
    pub fn nfs_addr(&self) -> Option<std::net::SocketAddr> {
        self.nfs_addr.get().copied()
    }

    /// A consistent read view. A poisoned lock still holds a consistent model (operations that
    /// panic are rolled back before the lock is released), so it is recovered, not propagated.
    pub fn read(&self) -> RwLockReadGuard<'_, Cluster> {
        self.cluster.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Cluster> {
        self.cluster.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Run one operation at the single serialisation point. It applies completely or not at all:
    /// an error from `f`, or a failure to journal what it did, undoes every change it made. The
    /// disk work it implies (new data directories, snapshot copies, restores) is done before this
    /// returns, so a client that hears "passed" finds the data in place.
    pub fn mutate<T, E: From<ModelError>>(
        &self,
        f: impl FnOnce(&mut Cluster) -> Result<T, E>,
    ) -> Result<T, E> {
        off_the_runtime(|| self.mutate_here(f))
    }

    fn mutate_here<T, E: From<ModelError>>(
        &self,
        f: impl FnOnce(&mut Cluster) -> Result<T, E>,
    ) -> Result<T, E> {
        let (out, seq, actions, order) = {
            let mut c = self.write();
            let (out, seq) = self.apply(&mut c, f, true)?;
            let actions = std::mem::take(&mut c.data_actions);
            c.commit();
            let order = (!actions.is_empty())
                .then(|| self.data_order.lock().unwrap_or_else(|e| e.into_inner()));
            (out, seq, actions, order)
        };
        // Copies that change a volume's data are marked first, so a crash mid-copy is measured.
        let copied: Vec<Uuid> = actions
            .iter()
            .filter_map(|a| match a {
                crate::model::DataAction::CloneVolume { clone, .. } => Some(*clone),
                crate::model::DataAction::RestoreSnapshot { volume, .. } => Some(*volume),
                _ => None,
            })
            .collect();
        self.mark_dirty(&copied);
        for a in &actions {
            // What a removed qtree held goes back to its volume.
            let refund = match a {
                crate::model::DataAction::RemoveQtree {
                    volume,
                    svm,
                    volume_name,
                    name,
                } => Some((svm, volume_name, self.data.tree_usage(volume, name, None))),
                _ => None,
            };
            if let Err(e) = self.data.apply(a) {
                // The model change is saved; the next start reconciles the directories.
                error!(action = ?a, error = %format!("{e:#}"), "volume data could not follow a model change");
            } else if let Some((svm, volume, (bytes, files))) = refund {
                let (b, f) = (
                    bytes.min(i64::MAX as u64) as i64,
                    files.min(i64::MAX as u64) as i64,
                );
                if let Err(e) = self.charge_data(svm, volume, -b, -f) {
                    warn!(error = %e, "the space of a deleted qtree could not be given back");
                }
            }
        }
        if !actions.is_empty() {
            self.data_epoch
                .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        }
        drop(order);
        if let Some(seq) = seq {
            self.sync_to(seq).map_err(|e| {
                error!(error = %format!("{e:#}"), "the journal could not be synced; this change may not survive a crash");
                ModelError::Internal(format!("The change could not be made durable ({e:#})"))
            })?;
        }
        Ok(out)
    }

    /// Wait until the journal is on disk up to `seq`. Whoever holds the lock fsyncs everything
    /// written so far, so operations that finish together share one fsync.
    fn sync_to(&self, seq: u64) -> anyhow::Result<()> {
        use std::sync::atomic::Ordering;
        let Some(store) = &self.store else {
            return Ok(());
        };
        let _one = self.sync_lock.lock().unwrap_or_else(|e| e.into_inner());
        if self.synced.load(Ordering::Acquire) >= seq {
            return Ok(());
        }
        let (file, upto) = store.lock().unwrap_or_else(|e| e.into_inner()).syncer();
        file.sync_data()?;
        self.synced.fetch_max(upto, Ordering::AcqRel);
        Ok(())
    }

    /// Run `f` with rollback on error; append the result to the journal when `journal` (the
    /// caller syncs). Returns the journal sequence number of the change, if it saved anything.
    fn apply<T, E: From<ModelError>>(
        &self,
        c: &mut Cluster,
        f: impl FnOnce(&mut Cluster) -> Result<T, E>,
        journal: bool,
    ) -> Result<(T, Option<u64>), E> {
        let sp = c.savepoint();
        let out = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(c))) {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => {
                c.rollback(sp);
                return Err(e);
            }
            Err(panic) => {
                c.rollback(sp);
                error!("an operation panicked; its changes were undone");
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                return Err(ModelError::Internal(format!(
                    "internal error: {what}; nothing was changed"
                ))
                .into());
            }
        };
        c.follow_indexes();
        // Every string the operation wrote must be text XML can carry (any build).
        if let Err(e) = c.check_changed_text() {
            c.rollback(sp);
            return Err(e.into());
        }
        // Debug builds (every test) check every invariant after every operation.
        #[cfg(debug_assertions)]
        if let Err(e) = c.check_invariants() {
            c.rollback(sp);
            error!(error = %e, "an operation broke an invariant; it was undone");
            return Err(ModelError::Internal(format!(
                "invariant broken: {e}; nothing was changed"
            ))
            .into());
        }
        let mut seq = None;
        if let (true, Some(store)) = (journal, &self.store) {
            let mut st = store.lock().unwrap_or_else(|e| e.into_inner());
            match st.append(c) {
                Ok(s) => seq = s,
                Err(e) => {
                    c.rollback(sp);
                    error!(error = %format!("{e:#}"), "a change could not be saved; it was undone");
                    return Err(ModelError::Internal(format!(
                        "The change could not be saved ({e:#}); nothing was changed"
                    ))
                    .into());
                }
            }
            if st.wants_compaction() {
                // The fold syncs the journal it sets aside: everything so far is durable.
                match st.compact_in_background(c) {
                    Ok(()) => {
                        self.synced
                            .fetch_max(seq.unwrap_or(0), std::sync::atomic::Ordering::AcqRel);
                    }
                    Err(e) => {
                        warn!(error = %format!("{e:#}"), "compaction failed; the journal keeps growing")
                    }
                }
            }
        }
        Ok((out, seq))
    }

    /// Account bytes and files written or freed through NFS. Refused with `NoSpace` when the
    /// volume (or, without a space guarantee, its aggregate) is full. Not journaled: usage is
    /// measured from the data directories after an unclean stop, and saved at a clean one.
    pub fn charge_data(
        &self,
        svm: &str,
        volume: &str,
        bytes: i64,
        files: i64,
    ) -> Result<(), ModelError> {
        self.charge(svm, volume, bytes, files, |c| {
            c.charge_data(svm, volume, bytes, files)
        })
    }

    /// [`Sim::charge_data`] inside a qtree: its tree quota's hard limits in force refuse growth
    /// past them with `QuotaExceeded`.
    pub fn charge_tree(
        &self,
        svm: &str,
        volume: &str,
        qtree: &str,
        bytes: i64,
        files: i64,
    ) -> Result<(), ModelError> {
        self.charge(svm, volume, bytes, files, |c| {
            c.charge_tree(svm, volume, qtree, bytes, files)
        })
    }

    /// NFS's charge for a file of `owner` in `qtree` (None: outside any) that grows or shrinks:
    /// [`Sim::charge_tree`] or [`Sim::charge_data`], and growth past a user or group quota's
    /// hard limit in force is refused with `QuotaExceeded`, unless root makes the change (root
    /// is held by tree quotas only, as on ONTAP, so it can act for users over theirs).
    pub fn charge_owned(
        &self,
        svm: &str,
        volume: &str,
        qtree: Option<&str>,
        owner: crate::quota_usage::Owner,
        bytes: i64,
        files: i64,
    ) -> Result<(), ModelError> {
        use std::sync::atomic::Ordering;
        let tree = qtree.unwrap_or("");
        let grows = owner.by != 0 && (bytes > 0 || files > 0);
        let epoch = self.data_epoch.load(Ordering::Acquire);
        if grows {
            // What the quotas here count is measured (a walk of the scope) before the model
            // is locked for the charge.
            let (uuid, quotas) = {
                let c = self.read();
                let uuid = c.volume(svm, volume)?.uuid;
                (
                    uuid,
                    c.owner_quotas(svm, volume, tree, owner.uid, owner.gid),
                )
            };
            for q in &quotas {
                if !self.quota_usage.has(uuid, &q.tree, epoch) {
                    let l = self.data.lock(&uuid);
                    let _r = l.read().unwrap_or_else(|e| e.into_inner());
                    let usage = self.data.owner_usage(&uuid, &q.tree);
                    self.quota_usage.insert(uuid, &q.tree, epoch, usage);
                }
            }
        }
        self.charge(svm, volume, bytes, files, |c| {
            let uuid = c.volume(svm, volume)?.uuid;
            if grows {
                for q in c.owner_quotas(svm, volume, tree, owner.uid, owner.gid) {
                    // Not measured means the data moved underneath since: let it pass.
                    let Some(held) =
                        self.quota_usage
                            .held(uuid, &q.tree, epoch, q.quota_type, &q.ids)
                    else {
                        continue;
                    };
                    q.check_growth(volume, held, bytes, files)?;
                }
            }
            match qtree {
                Some(q) => c.charge_tree(svm, volume, q, bytes, files)?,
                None => c.charge_data(svm, volume, bytes, files)?,
            }
            self.quota_usage.charge(uuid, tree, owner, bytes, files);
            Ok(())
        })
    }

    /// Files of a volume changed owners (a chown through NFS): what its user and group quotas
    /// count is measured again when next needed.
    pub fn owners_changed(&self, volume: Uuid) {
        self.quota_usage.forget(volume);
    }

    /// A data charge. Not the generic [`Sim::apply`]: a charge changes only counters and is all
    /// or nothing by construction (no savepoint, no text to scan), and it is not journaled (a
    /// start measures usage from the disk; the volume is marked dirty instead).
    fn charge(
        &self,
        svm: &str,
        volume: &str,
        bytes: i64,
        files: i64,
        f: impl FnOnce(&mut Cluster) -> Result<(), ModelError>,
    ) -> Result<(), ModelError> {
        let mut c = self.write();
        let out = f(&mut c);
        // A refused charge changed nothing; this only forgets the undo log.
        c.commit();
        #[cfg(debug_assertions)]
        if let Err(e) = c.check_invariants() {
            panic!("a data charge broke an invariant: {e}");
        }
        if out.is_ok() && (bytes != 0 || files != 0) {
            if let Some(v) = c.volumes.get(&(svm.to_string(), volume.to_string())) {
                self.mark_dirty(&[v.uuid]);
            }
        }
        out
    }

    /// See [`Store::mark_dirty`]. A failure is logged: the worst outcome is a usage figure that
    /// is off after a crash, until the volume is written again.
    fn mark_dirty(&self, volumes: &[Uuid]) {
        let Some(store) = &self.store else { return };
        if volumes.is_empty() {
            return;
        }
        let mut st = store.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = st.mark_dirty(volumes) {
            warn!(error = %format!("{e:#}"), "could not note volumes whose data changes; a crash may leave their usage stale");
        }
    }

    /// Write a fresh snapshot of the state now.
    pub fn save_snapshot(&self) -> anyhow::Result<()> {
        let c = self.write();
        if let Some(store) = &self.store {
            store
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .compact(&c)?;
        }
        Ok(())
    }

    /// End a job the model has queued after `after_ms` (it runs from half-way), in the
    /// background as ONTAP's jobs run: `finish` makes the job's change and ends it.
    pub fn finish_later(sim: &Arc<Sim>, job: u64, after_ms: u64, finish: fn(&mut Cluster, u64)) {
        let sim = sim.clone();
        let half = std::time::Duration::from_millis(after_ms / 2);
        std::thread::spawn(move || {
            std::thread::sleep(half);
            let _ = sim.mutate(|c| {
                c.start_job(job);
                Ok::<_, ModelError>(())
            });
            std::thread::sleep(half);
            let _ = sim.mutate(|c| {
                finish(c, job);
                Ok::<_, ModelError>(())
            });
        });
    }

    /// Bytes and entries under `tree` of a volume's active file system (the whole volume when
    /// ""), counting only what `owner` owns when given (`(true, uid)` or `(false, gid)`).
    pub fn tree_usage(&self, volume: &Uuid, tree: &str, owner: Option<(bool, u32)>) -> (u64, u64) {
        let l = self.data.lock(volume);
        let _r = l.read().unwrap_or_else(|e| e.into_inner());
        self.data.tree_usage(volume, tree, owner)
    }

    /// The quota report of `svm` (all SVMs when None), each row with its usage measured from
    /// the data: a tree row counts what is under its qtree; a user or group row what its uid or
    /// gid owns (in its qtree, or the whole volume). Measured after the model lock is released.
    pub fn quota_report(&self, svm: Option<&str>) -> Vec<crate::model::quota::Measured> {
        use crate::model::quota::Measured;
        use crate::model::QuotaType;
        let rows = self.read().quota_report(svm);
        rows.into_iter()
            .map(|row| {
                // A name that no longer resolves (its user was deleted) owns nothing.
                let id = row.owner().unwrap_or(u32::MAX);
                let owner = match row.quota_type {
                    QuotaType::Tree => None,
                    QuotaType::User => Some((true, id)),
                    QuotaType::Group => Some((false, id)),
                };
                let (bytes, files) = self.tree_usage(&row.volume_uuid, &row.tree, owner);
                Measured { row, bytes, files }
            })
            .collect()
    }

    /// The directory holding a volume's active file system.
    pub fn volume_data_dir(&self, volume: &Uuid) -> Option<PathBuf> {
        let d = self.data.volume_dir(volume);
        d.is_dir().then_some(d)
    }

    /// Where a volume's data lives (or would), without asking the disk whether it is there.
    pub fn volume_data_path(&self, volume: &Uuid) -> PathBuf {
        self.data.volume_dir(volume)
    }

    /// Where a snapshot's copy lives (or would), without asking the disk whether it is there.
    pub fn snapshot_data_path(&self, volume: &Uuid, snapshot: &Uuid) -> PathBuf {
        self.data.snapshot_dir(volume, snapshot)
    }

    /// The read-only copy of a volume's data taken when the snapshot was created.
    pub fn snapshot_data_dir(&self, volume: &Uuid, snapshot: &Uuid) -> Option<PathBuf> {
        let d = self.data.snapshot_dir(volume, snapshot);
        d.is_dir().then_some(d)
    }

    /// Hold shared for file I/O on a volume; snapshot, restore and clone take it exclusively.
    /// Never call into the model (read, mutate, charge) while holding it.
    pub fn data_lock(&self, volume: &Uuid) -> Arc<RwLock<()>> {
        self.data.lock(volume)
    }

    /// Measure the usage of these volumes from their data directories (after an unclean stop:
    /// the ones whose data changed since the last snapshot).
    pub fn measure_usage(&self, only: &[Uuid]) {
        if only.is_empty() {
            return; // nothing to measure: spare a pass over every volume
        }
        let only: std::collections::HashSet<&Uuid> = only.iter().collect();
        let mut c = self.write();
        let keys: Vec<((String, String), Uuid)> = c
            .volumes
            .iter()
            .filter(|(_, v)| only.contains(&v.uuid))
            .map(|(k, v)| (k.clone(), v.uuid))
            .collect();
        for (k, uuid) in keys {
            let (bytes, files) = self.data.usage(&uuid);
            if let Some(v) = c.volumes.get_mut(&k) {
                v.data_used = bytes;
                v.files_used = v.files_used.max(files);
            }
            // And each of its qtrees.
            let qtrees: Vec<(String, String, String)> = c
                .qtrees
                .range((k.0.clone(), k.1.clone(), String::new())..)
                .take_while(|((s, v, _), _)| *s == k.0 && *v == k.1)
                .map(|(qk, _)| qk.clone())
                .collect();
            for qk in qtrees {
                let (bytes, files) = self.data.tree_usage(&uuid, &qk.2, None);
                if let Some(q) = c.qtrees.get_mut(&qk) {
                    q.data_used = bytes;
                    q.files_used = files;
                }
            }
        }
        c.commit();
        c.recompute_space();
    }

    /// A clean stop: save exact usage in a fresh snapshot and mark the state clean.
    pub fn shutdown(&self) {
        let c = self.write();
        if let Some(store) = &self.store {
            let mut st = store.lock().unwrap_or_else(|e| e.into_inner());
            if let Err(e) = st.compact(&c).and_then(|_| st.mark_clean()) {
                warn!(error = %format!("{e:#}"), "could not save the state at stop; the next start measures usage from disk");
            }
        }
    }

    /// A runtime switch (LIF, SVM state, aggregate size): applied at once, not journaled, gone
    /// after a restart or a reset.
    pub fn switch(
        &self,
        f: impl FnOnce(&mut Cluster) -> Result<(), ModelError>,
    ) -> Result<(), ModelError> {
        let mut c = self.write();
        let svms = c.svms.clone();
        let out = self.apply(&mut c, f, false).map(|(v, _)| v);
        if out.is_err() {
            c.svms = svms;
        }
        c.commit();
        out
    }

    /// Replace the whole model (a reset to the seed, or a loaded state): saved at once, data
    /// directories reconciled (data of volumes that are gone moves to `orphans/`).
    pub fn replace(&self, cluster: Cluster) -> anyhow::Result<()> {
        let mut c = self.write();
        let _order = self.data_order.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(store) = &self.store {
            let mut st = store.lock().unwrap_or_else(|e| e.into_inner());
            st.compact(&cluster)?;
        }
        *c = cluster;
        let done = self.data.reconcile(&c, true);
        self.data_epoch
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        done?;
        Ok(())
    }

    /// Back to the seed topology: volumes, policies, jobs and data gone; fault rules cleared and
    /// listeners back to normal.
    pub fn reset(&self) -> anyhow::Result<()> {
        let (t, l) = &self.seed;
        let fresh = Cluster::from_topology(t, l);
        // The old data goes entirely (not to orphans/): a reset is asked for.
        let old: Vec<Uuid> = {
            let c = self.read();
            c.volumes
                .values()
                .map(|v| v.uuid)
                .chain(c.recovery_queue.values().map(|e| e.uuid))
                .collect()
        };
        {
            let _order = self.data_order.lock().unwrap_or_else(|e| e.into_inner());
            for volume in old {
                let _ = self
                    .data
                    .apply(&crate::model::DataAction::RemoveVolume { volume });
            }
            self.data_epoch
                .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        }
        self.replace(fresh)?;
        self.lock_table().clear();
        self.faults.clear();
        for m in [
            &self.faults.listeners.management,
            &self.faults.listeners.nfs,
        ] {
            m.reset();
        }
        Ok(())
    }

    /// Load a saved state (as `GET /state` gives it) over the seed topology.
    pub fn load_state(&self, doc: crate::store::StateDoc) -> anyhow::Result<()> {
        let (t, l) = &self.seed;
        let mut fresh = Cluster::from_topology(t, l);
        for r in &doc.records {
            r.check_text()
                .map_err(|e| anyhow::anyhow!("the state is refused: {e}"))?;
        }
        crate::store::records::load_into(&mut fresh, doc.into_loaded())
            .map_err(|e| anyhow::anyhow!("the state is inconsistent: {e}"))?;
        self.replace(fresh)
    }

    /// The model as a saved-state document.
    pub fn state(&self) -> crate::store::StateDoc {
        crate::store::StateDoc::of(&self.read())
    }
}
