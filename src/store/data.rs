//! Volume data on disk: one directory per volume (`<root>/<volume uuid>/data`) and a read-only copy
//! per snapshot (`<root>/<volume uuid>/snapshots/<snapshot uuid>`). The model says what happened
//! ([`DataAction`]); this mirrors it on disk. Directories are named by UUID, so renames cost nothing.
//!
//! Snapshots are full copies: simple and exact for a lab's data sizes (ONTAP shares blocks).

use crate::model::{Cluster, DataAction};
use anyhow::{Context, Result};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use tracing::warn;
use uuid::Uuid;

const TEMP_PREFIX: &str = "ontap-sim-data-";
/// The file an ephemeral simulator keeps locked in its temporary directory; the kernel drops the
/// lock when the process ends, however it ends.
const OWNER_LOCK: &str = ".owner";
/// A temporary directory without the lock file is left alone this long: its maker may be between
/// creating it and locking it (or be a release from before the lock).
const UNLOCKED_GRACE: std::time::Duration = std::time::Duration::from_secs(600);

/// Remove the temporary data directories of ephemeral simulators that ended without cleaning up
/// (SIGKILL, a crash, a CI timeout): each can hold a volume's worth of data, and nothing else
/// would ever remove them. A directory whose lock another process holds is in use and kept.
pub fn sweep_stale(tmp: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        if !name.to_string_lossy().starts_with(TEMP_PREFIX) {
            continue;
        }
        let dir = e.path();
        let stale = match std::fs::File::open(dir.join(OWNER_LOCK)) {
            Ok(f) => {
                rustix::fs::flock(&f, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_ok()
            }
            Err(_) => e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > UNLOCKED_GRACE),
        };
        if stale {
            match std::fs::remove_dir_all(&dir) {
                Ok(()) => {
                    tracing::info!(dir = %dir.display(), "removed a stale ephemeral data directory")
                }
                Err(err) => {
                    warn!(dir = %dir.display(), %err, "cannot remove a stale ephemeral data directory")
                }
            }
        }
    }
}

pub struct DataDirs {
    root: PathBuf,
    /// With --ephemeral the data lives in a temporary directory removed at exit.
    _temp: Option<tempfile::TempDir>,
    /// Held locked while this process uses the temporary directory (see [`sweep_stale`]).
    _owner: Option<std::fs::File>,
    /// Per-volume locks: file I/O holds one shared, snapshot/restore/clone take it exclusively.
    locks: Mutex<HashMap<Uuid, Arc<RwLock<()>>>>,
}

/// What each owner holds in a tree: bytes and entries per uid and per gid.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnerUsage {
    pub users: std::collections::HashMap<u32, (u64, u64)>,
    pub groups: std::collections::HashMap<u32, (u64, u64)>,
}

/// The bytes an entry counts for: a file's (or symlink's) length; nothing for a directory.
fn footprint(m: &std::fs::Metadata) -> u64 {
    if m.is_dir() {
        0
    } else {
        m.len()
    }
}

impl DataDirs {
    pub fn at(root: PathBuf) -> Result<DataDirs> {
        std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
        Ok(DataDirs {
            root,
            _temp: None,
            _owner: None,
            locks: Mutex::default(),
        })
    }

    pub fn temporary() -> Result<DataDirs> {
        sweep_stale(&std::env::temp_dir());
        let t = tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .tempdir()
            .context("creating a temporary data directory")?;
        // Locked before it takes its name, so a sweep never finds it unlocked.
        let pending = t.path().join(".owner.new");
        let owner = std::fs::File::create(&pending)
            .context("creating the temporary data directory's lock")?;
        rustix::fs::flock(&owner, rustix::fs::FlockOperation::LockExclusive)
            .context("locking the temporary data directory")?;
        std::fs::rename(&pending, t.path().join(OWNER_LOCK))
            .context("naming the temporary data directory's lock")?;
        // Volumes one level down, so what `reconcile` sets aside (`../orphans`) stays inside
        // the temporary directory and goes with it.
        let root = t.path().join("volumes");
        std::fs::create_dir(&root).context("creating the temporary data directory")?;
        Ok(DataDirs {
            root,
            _temp: Some(t),
            _owner: Some(owner),
            locks: Mutex::default(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn volume_dir(&self, volume: &Uuid) -> PathBuf {
        self.root.join(volume.to_string()).join("data")
    }

    pub fn snapshot_dir(&self, volume: &Uuid, snapshot: &Uuid) -> PathBuf {
        self.root
            .join(volume.to_string())
            .join("snapshots")
            .join(snapshot.to_string())
    }

    pub fn lock(&self, volume: &Uuid) -> Arc<RwLock<()>> {
        let mut m = self.locks.lock().unwrap_or_else(|e| e.into_inner());
        m.entry(*volume).or_default().clone()
    }

    /// Mirror one model change on disk.
    pub fn apply(&self, action: &DataAction) -> Result<()> {
        match action {
            DataAction::CreateVolume { volume } => {
                // Two mkdirs for a new volume: create_dir_all would first try data/ and fail,
                // its parent being new too. Anything else (a leftover) takes the general way.
                let dir = self.root.join(volume.to_string());
                match std::fs::create_dir(&dir) {
                    Ok(()) => std::fs::create_dir(dir.join("data"))?,
                    Err(_) => std::fs::create_dir_all(dir.join("data"))?,
                }
            }
            DataAction::CloneVolume {
                parent,
                snapshot,
                clone,
            } => {
                let src = self.snapshot_dir(parent, snapshot);
                let dst = self.volume_dir(clone);
                let _g = self.lock(clone);
                let _w = _g.write().unwrap_or_else(|e| e.into_inner());
                copy_tree(&src, &dst)?;
            }
            DataAction::RemoveVolume { volume } => {
                let l = self.lock(volume);
                let _w = l.write().unwrap_or_else(|e| e.into_inner());
                remove_if_present(&self.root.join(volume.to_string()))?;
                self.locks
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(volume);
            }
            DataAction::CreateSnapshot { volume, snapshot } => {
                let l = self.lock(volume);
                let _w = l.write().unwrap_or_else(|e| e.into_inner());
                let dst = self.snapshot_dir(volume, snapshot);
                remove_if_present(&dst)?;
                copy_tree(&self.volume_dir(volume), &dst)?;
            }
            DataAction::DeleteSnapshot { volume, snapshot } => {
                remove_if_present(&self.snapshot_dir(volume, snapshot))?;
            }
            DataAction::RestoreSnapshot { volume, snapshot } => {
                let l = self.lock(volume);
                let _w = l.write().unwrap_or_else(|e| e.into_inner());
                let data = self.volume_dir(volume);
                let staged = data.with_extension("restoring");
                remove_if_present(&staged)?;
                copy_tree(&self.snapshot_dir(volume, snapshot), &staged)?;
                remove_if_present(&data)?;
                std::fs::rename(&staged, &data)?;
            }
            DataAction::CreateQtree { volume, name, mode } => {
                use std::os::unix::fs::PermissionsExt;
                let l = self.lock(volume);
                let _w = l.write().unwrap_or_else(|e| e.into_inner());
                let dir = self.volume_dir(volume).join(name);
                std::fs::create_dir_all(&dir)?;
                std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(*mode & 0o7777))?;
            }
            DataAction::RenameQtree { volume, from, to } => {
                let l = self.lock(volume);
                let _w = l.write().unwrap_or_else(|e| e.into_inner());
                let root = self.volume_dir(volume);
                let (src, dst) = (root.join(from), root.join(to));
                if src.exists() {
                    remove_if_present(&dst)?;
                    std::fs::rename(&src, &dst)?;
                } else {
                    std::fs::create_dir_all(&dst)?;
                }
            }
            DataAction::RemoveQtree { volume, name, .. } => {
                let l = self.lock(volume);
                let _w = l.write().unwrap_or_else(|e| e.into_inner());
                remove_if_present(&self.volume_dir(volume).join(name))?;
            }
        }
        Ok(())
    }

    /// Bytes and entries stored in a volume's active file system.
    pub fn usage(&self, volume: &Uuid) -> (u64, u64) {
        let mut bytes = 0;
        let mut files = 0;
        let mut stack = vec![self.volume_dir(volume)];
        while let Some(d) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in rd.flatten() {
                files += 1;
                if let Ok(m) = e.path().symlink_metadata() {
                    if m.is_dir() {
                        stack.push(e.path());
                    } else {
                        bytes += m.len();
                    }
                }
            }
        }
        (bytes, files)
    }

    /// Bytes and entries under `tree` (a qtree directory, or the whole volume when ""); with
    /// `owner`, only what that uid (`(true, uid)`) or gid (`(false, gid)`) owns.
    pub fn tree_usage(&self, volume: &Uuid, tree: &str, owner: Option<(bool, u32)>) -> (u64, u64) {
        use std::os::unix::fs::MetadataExt;
        let (mut bytes, mut files) = (0, 0);
        self.each_in_tree(volume, tree, |m| {
            let mine = match owner {
                None => true,
                Some((true, uid)) => m.uid() == uid,
                Some((false, gid)) => m.gid() == gid,
            };
            if mine {
                files += 1;
                bytes += footprint(m);
            }
        });
        (bytes, files)
    }

    /// What each uid and each gid holds under `tree` (as [`DataDirs::tree_usage`] counts it),
    /// in one pass.
    pub fn owner_usage(&self, volume: &Uuid, tree: &str) -> OwnerUsage {
        use std::os::unix::fs::MetadataExt;
        let mut u = OwnerUsage::default();
        self.each_in_tree(volume, tree, |m| {
            for (map, id) in [(&mut u.users, m.uid()), (&mut u.groups, m.gid())] {
                let e = map.entry(id).or_default();
                e.0 += footprint(m);
                e.1 += 1;
            }
        });
        u
    }

    /// Call `f` with every entry under `tree`: the qtree directory itself first (one of the
    /// qtree's files, as on ONTAP), then everything below it. Nothing when it is not there.
    fn each_in_tree(&self, volume: &Uuid, tree: &str, mut f: impl FnMut(&std::fs::Metadata)) {
        let mut root = self.volume_dir(volume);
        if !tree.is_empty() {
            if tree.contains('/') || tree == ".." {
                return;
            }
            root.push(tree);
            match root.symlink_metadata() {
                Ok(m) if m.is_dir() => f(&m),
                _ => return,
            }
        }
        let mut stack = vec![root];
        while let Some(d) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in rd.flatten() {
                let Ok(m) = e.path().symlink_metadata() else {
                    continue;
                };
                f(&m);
                if m.is_dir() {
                    stack.push(e.path());
                }
            }
        }
    }

    /// Make the directories agree with the model: a volume (live or in the recovery queue) or
    /// snapshot without a directory gets an empty one; a directory without its object is moved
    /// to `orphans/` beside the data root. Both are logged, unless `quiet` (a first start).
    pub fn reconcile(&self, cluster: &Cluster, quiet: bool) -> Result<(usize, usize)> {
        let orphans = self.root.parent().unwrap_or(&self.root).join("orphans");
        let mut moved = 0;
        let mut move_aside = |path: &Path, what: &str| -> Result<()> {
            std::fs::create_dir_all(&orphans)?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            let dest = orphans.join(format!("{name}-{}", crate::model::volume::now_secs()));
            std::fs::rename(path, &dest)?;
            warn!(dir = %path.display(), moved_to = %dest.display(), "{what}; kept under orphans/");
            moved += 1;
            Ok(())
        };
        // Path lookups are most of the cost at 100k volumes (kernel time): they are made relative
        // to the root (short paths, no allocation), mostly one per volume, on every core, while
        // another thread lists the root; then the findings are acted on.
        let root_fd = rustix::fs::open(
            &self.root,
            rustix::fs::OFlags::DIRECTORY
                | rustix::fs::OFlags::RDONLY
                | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .with_context(|| format!("opening {}", self.root.display()))?;
        enum Finding<'a> {
            NoVolumeDir(&'a crate::model::Volume),
            OrphanSnapshot(PathBuf),
            NoSnapshotDir(&'a crate::model::Volume, &'a crate::model::Snapshot),
        }
        fn scan<'a>(
            data: &DataDirs,
            root_fd: &std::os::fd::OwnedFd,
            vols: &[&'a crate::model::Volume],
        ) -> Vec<Finding<'a>> {
            let stat = |volume: &Uuid, sub: &str| {
                let mut buf = [0u8; 64];
                let path = sub_path(&mut buf, volume, sub);
                rustix::fs::statat(root_fd, path, rustix::fs::AtFlags::empty())
            };
            let mut out = Vec::new();
            for v in vols {
                // `<uuid>/data/..` is found only if data/ is a directory, and is `<uuid>` itself:
                // its link count (2 + its subdirectories on ext4, xfs, tmpfs) of 3 says data/
                // is the only subdirectory, so there is no snapshots/ to look into. Elsewhere
                // (btrfs counts 1) snapshots/ is looked up.
                let (has_data, only_data) = match stat(&v.uuid, "data/..") {
                    Ok(st) => (true, st.st_nlink == 3),
                    Err(_) => (stat(&v.uuid, "data").is_ok(), false),
                };
                if !has_data {
                    out.push(Finding::NoVolumeDir(v));
                }
                // A volume without snapshots has no snapshots/ directory, unless left over.
                let look =
                    !v.snapshots.is_empty() || (!only_data && stat(&v.uuid, "snapshots").is_ok());
                let sdir = || data.root.join(v.uuid.to_string()).join("snapshots");
                if let Some(rd) = look.then(|| std::fs::read_dir(sdir()).ok()).flatten() {
                    let snaps: BTreeSet<String> =
                        v.snapshots.values().map(|s| s.uuid.to_string()).collect();
                    for e in rd.flatten() {
                        if !snaps.contains(&e.file_name().to_string_lossy().to_string()) {
                            out.push(Finding::OrphanSnapshot(e.path()));
                        }
                    }
                }
                for snap in v.snapshots.values() {
                    if !data.snapshot_dir(&v.uuid, &snap.uuid).exists() {
                        out.push(Finding::NoSnapshotDir(v, snap));
                    }
                }
            }
            out
        }
        /// The root's entries: the volume UUIDs they are named after (as `volume_dir` spells
        /// them), sorted, and the paths of the other entries.
        fn list(root: &Path) -> Result<(Vec<Uuid>, Vec<PathBuf>)> {
            let (mut named, mut other) = (Vec::new(), Vec::new());
            for entry in
                std::fs::read_dir(root).with_context(|| format!("reading {}", root.display()))?
            {
                let entry = entry?;
                match entry.file_name().to_str().and_then(dir_uuid) {
                    Some(u) => named.push(u),
                    None => other.push(entry.path()),
                }
            }
            named.sort_unstable();
            Ok((named, other))
        }
        let vols: Vec<&crate::model::Volume> = cluster.volumes.values().collect();
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
        let chunk = vols.len().div_ceil(threads).max(1);
        let (listed, findings, expected) = std::thread::scope(|s| {
            let listing = s.spawn(|| list(&self.root));
            let root_fd = &root_fd;
            let scans: Vec<_> = vols
                .chunks(chunk)
                .map(|c| s.spawn(move || scan(self, root_fd, c)))
                .collect();
            let mut expected: Vec<Uuid> = vols
                .iter()
                .map(|v| v.uuid)
                .chain(cluster.recovery_queue.values().map(|e| e.uuid))
                .collect();
            expected.sort_unstable();
            fn join<T>(h: std::thread::ScopedJoinHandle<'_, T>) -> T {
                h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
            }
            let findings: Vec<Finding> = scans.into_iter().flat_map(join).collect();
            (join(listing), findings, expected)
        });
        let (named, mut other) = listed?;
        // Directories named after no volume of the model (both lists are sorted).
        let mut known = expected.iter().peekable();
        for u in named {
            while known.next_if(|k| **k < u).is_some() {}
            if known.peek() != Some(&&u) {
                other.push(self.root.join(u.to_string()));
            }
        }
        for path in other {
            move_aside(&path, "a data directory has no volume in the model")?;
        }
        let mut created = 0;
        for f in findings {
            match f {
                Finding::NoVolumeDir(v) => {
                    let d = self.volume_dir(&v.uuid);
                    std::fs::create_dir_all(&d)?;
                    if !quiet {
                        warn!(volume = %v.name, svm = %v.svm, dir = %d.display(),
                            "a volume had no data directory; created an empty one");
                        created += 1;
                    }
                }
                Finding::OrphanSnapshot(p) => {
                    move_aside(&p, "a snapshot directory has no snapshot in the model")?
                }
                Finding::NoSnapshotDir(v, snap) => {
                    std::fs::create_dir_all(self.snapshot_dir(&v.uuid, &snap.uuid))?;
                    if !quiet {
                        warn!(volume = %v.name, snapshot = %snap.name, "a snapshot had no data directory; created an empty one");
                        created += 1;
                    }
                }
            }
        }
        Ok((moved, created))
    }
}

/// The volume a data root entry is the directory of: a UUID spelled as `volume_dir` spells it.
fn dir_uuid(name: &str) -> Option<Uuid> {
    let u: Uuid = name.parse().ok()?;
    let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    (u.hyphenated().encode_lower(&mut buf) == name).then_some(u)
}

/// `<volume uuid>/<sub>` as a C string in `buf`, for a lookup relative to the data root.
fn sub_path<'b>(buf: &'b mut [u8; 64], volume: &Uuid, sub: &str) -> &'b std::ffi::CStr {
    let n = uuid::fmt::Hyphenated::LENGTH;
    volume.hyphenated().encode_lower(&mut buf[..n]);
    buf[n] = b'/';
    buf[n + 1..n + 1 + sub.len()].copy_from_slice(sub.as_bytes());
    buf[n + 1 + sub.len()] = 0;
    std::ffi::CStr::from_bytes_with_nul(&buf[..n + 2 + sub.len()]).expect("one NUL, at the end")
}

fn remove_if_present(p: &Path) -> Result<()> {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => {
            std::fs::remove_dir_all(p).with_context(|| format!("removing {}", p.display()))
        }
        Ok(_) => std::fs::remove_file(p).with_context(|| format!("removing {}", p.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("inspecting {}", p.display())),
    }
}

/// Copy a tree keeping modes, owners, times-agnostic contents and symlinks (never following them).
pub fn copy_tree(src: &Path, dst: &Path) -> Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    std::fs::create_dir_all(dst).with_context(|| format!("creating {}", dst.display()))?;
    let meta = std::fs::symlink_metadata(src);
    if let Ok(m) = &meta {
        let _ = std::fs::set_permissions(dst, std::fs::Permissions::from_mode(m.mode()));
        let _ = std::os::unix::fs::lchown(dst, Some(m.uid()), Some(m.gid()));
    }
    let Ok(rd) = std::fs::read_dir(src) else {
        return Ok(()); // nothing to copy (e.g. an empty snapshot of a new volume)
    };
    for e in rd {
        let e = e?;
        let (from, to) = (e.path(), dst.join(e.file_name()));
        let m = std::fs::symlink_metadata(&from)?;
        if m.file_type().is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&from)?, &to)?;
        } else if m.is_dir() {
            copy_tree(&from, &to)?;
        } else if m.is_file() {
            std::fs::copy(&from, &to).with_context(|| format!("copying {}", from.display()))?;
        } else {
            // FIFOs, sockets and devices: made again (never opened, which could block).
            use std::os::unix::fs::FileTypeExt;
            let ft = m.file_type();
            let kind = if ft.is_fifo() {
                rustix::fs::FileType::Fifo
            } else if ft.is_char_device() {
                rustix::fs::FileType::CharacterDevice
            } else if ft.is_block_device() {
                rustix::fs::FileType::BlockDevice
            } else {
                rustix::fs::FileType::Socket
            };
            let mode = rustix::fs::Mode::from_raw_mode(m.mode() & 0o7777);
            if let Err(e) = rustix::fs::mknodat(rustix::fs::CWD, &to, kind, mode, m.rdev()) {
                // Without the privilege to make devices the copy goes on without them.
                tracing::warn!(file = %from.display(), error = %e, "a special file was not copied");
                continue;
            }
        }
        let _ = std::os::unix::fs::lchown(&to, Some(m.uid()), Some(m.gid()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweep_removes_only_unlocked_temporary_directories() {
        let tmp = tempfile::tempdir().unwrap();
        let make = |name: &str, lock: bool| {
            let d = tmp.path().join(name);
            std::fs::create_dir_all(d.join("volumes/x")).unwrap();
            lock.then(|| std::fs::File::create(d.join(OWNER_LOCK)).unwrap())
        };
        // Ended without cleaning up: the lock file is there, nobody holds it.
        drop(make("ontap-sim-data-dead", true));
        // In use: its owner holds the lock (flock locks are per open file, so this conflicts).
        let held = make("ontap-sim-data-live", true).unwrap();
        rustix::fs::flock(&held, rustix::fs::FlockOperation::LockExclusive).unwrap();
        // Just made, not locked yet.
        make("ontap-sim-data-new", false);
        // Not ours.
        make("other-dead", true);
        sweep_stale(tmp.path());
        let left: BTreeSet<String> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        let want: BTreeSet<String> = ["ontap-sim-data-live", "ontap-sim-data-new", "other-dead"]
            .map(String::from)
            .into();
        assert_eq!(left, want);
    }

    #[test]
    fn temporary_data_goes_at_drop_and_keeps_orphans_inside() {
        let d = DataDirs::temporary().unwrap();
        let top = d.root().parent().unwrap().to_path_buf();
        assert!(top
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(TEMP_PREFIX));
        drop(d);
        assert!(!top.exists());
    }
}
