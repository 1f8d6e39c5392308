//! Objects: a handle resolved against the model (the volume as this client sees it) and the disk,
//! with the checks every procedure makes (mode bits, read-only trees and exports) and the space
//! accounting of changes.

use super::*;

/// An object a handle names, as this client sees it now.
pub struct Obj {
    pub fh: Fh,
    pub view: VolView,
    /// The tree and node on disk (None for the virtual `.snapshot` directory).
    pub on_disk: Option<(Tree, Node)>,
    pub attr: Attr,
}

impl Obj {
    pub(super) fn who(&self) -> &Who {
        &self.view.who
    }

    pub(super) fn node(&self) -> NfsRes<&Node> {
        self.on_disk.as_ref().map(|(_, n)| n).ok_or(Nfsstat::ROFS)
    }

    /// May the identity do `want` (R|W|X) to this object by its mode bits?
    pub(super) fn check(&self, want: u32) -> NfsRes<()> {
        if may(
            self.who(),
            self.attr.full_mode(),
            self.attr.uid,
            self.attr.gid,
            want,
        ) {
            Ok(())
        } else {
            Err(Nfsstat::ACCES)
        }
    }

    /// READ, WRITE and truncation: as [`Obj::check`], except that the owner may always read and
    /// write (as the Linux server's owner override: a file created 0444 by `tar` or `git` is
    /// still written through the descriptor its creator holds).
    pub(super) fn check_io(&self, want: u32) -> NfsRes<()> {
        if self.who().uid == self.attr.uid {
            Ok(())
        } else {
            self.check(want)
        }
    }

    /// May this object be changed at all (snapshots are read-only; so is an ro export)?
    pub(super) fn check_writable(&self) -> NfsRes<()> {
        if self.fh.read_only() {
            Err(Nfsstat::ROFS)
        } else if !self.view.writable() {
            Err(Nfsstat::ACCES)
        } else {
            Ok(())
        }
    }

    /// Stat again after a change and recompute the attributes (keeping the root's overrides).
    pub(super) fn refresh(&mut self) {
        if let Some((_, n)) = &mut self.on_disk {
            if n.refresh().is_ok() {
                self.attr = attr_for(&self.fh, &self.view, &n.st);
            }
        }
    }

    pub(super) fn is_active_root(&self) -> bool {
        matches!(self.fh, Fh::Root { .. })
    }

    /// This regular file open for I/O, from the open-file cache when it is kept there.
    pub(super) fn file(&self, cx: &Cx, write: bool) -> NfsRes<std::sync::Arc<std::fs::File>> {
        let (tree, node) = self.on_disk.as_ref().ok_or(Nfsstat::ROFS)?;
        let epoch = cx
            .nfs
            .sim
            .data_epoch
            .load(std::sync::atomic::Ordering::Acquire);
        Ok(tree.open_file(node, write, epoch)?)
    }
}

pub(super) fn view_err(e: ViewError) -> Nfsstat {
    match e {
        ViewError::Gone => Nfsstat::STALE,
        ViewError::Denied(why) => {
            debug!(reason = %why, "export policy refuses the call");
            Nfsstat::ACCES
        }
    }
}

pub(super) fn stale_if_missing(e: Errno) -> Nfsstat {
    match e {
        Errno::NOENT | Errno::STALE | Errno::NOTDIR => Nfsstat::STALE,
        e => e.into(),
    }
}

/// Turn wire handle bytes into an object.
pub fn obtain(cx: &Cx, fh: &[u8]) -> NfsRes<Obj> {
    let fh = Fh::decode(fh).ok_or(Nfsstat::BADHANDLE)?;
    obtain_fh(cx, fh)
}

pub fn obtain_fh(cx: &Cx, fh: Fh) -> NfsRes<Obj> {
    // Only a volume root's object shows the volumes mounted below it and goes up to `..`.
    let view = cx
        .view_of(&fh.volume(), matches!(fh, Fh::Root { .. }))
        .map_err(view_err)?;
    let snapshot_ok = |s: &Uuid| view.snapdir && view.snapshot(s).is_some();
    // The tree's root is not checked here: finding it (one statx) tells whether it is there.
    let tree_of = |key: TreeKey| -> Tree {
        let sim = &cx.nfs.sim;
        let dir = match key.snapshot {
            None => sim.volume_data_path(&key.volume),
            Some(s) => sim.snapshot_data_path(&key.volume, &s),
        };
        cx.nfs.trees.tree(key, dir)
    };
    match fh {
        Fh::SnapDir { volume } => {
            if !view.snapdir {
                return Err(Nfsstat::STALE);
            }
            let attr = snapdir_attr(cx, &view, &volume);
            Ok(Obj {
                fh,
                view,
                on_disk: None,
                attr,
            })
        }
        Fh::QtreeSnapDir { ino, gen, .. } => {
            if !view.snapdir {
                return Err(Nfsstat::STALE);
            }
            // The qtree's directory must still be there; its policy decides.
            let qtree = obtain_fh(
                cx,
                Fh::Node {
                    tree: TreeKey {
                        volume: view.uuid,
                        snapshot: None,
                    },
                    ino,
                    gen,
                },
            )?;
            if !is_qtree_root(&qtree) {
                return Err(Nfsstat::STALE);
            }
            let mut attr = snapdir_attr(cx, &qtree.view, &view.uuid);
            attr.fileid = qtree_snapdir_fileid(ino);
            Ok(Obj {
                fh,
                view: qtree.view,
                on_disk: None,
                attr,
            })
        }
        Fh::Root { .. } | Fh::SnapRoot { .. } | Fh::Node { .. } => {
            let key = fh.tree().ok_or(Nfsstat::STALE)?;
            if let Some(s) = &key.snapshot {
                if !snapshot_ok(s) {
                    return Err(Nfsstat::STALE);
                }
            }
            let tree = tree_of(key);
            let epoch = Some(
                cx.nfs
                    .sim
                    .data_epoch
                    .load(std::sync::atomic::Ordering::Acquire),
            );
            let node = match fh {
                Fh::Node { ino, gen, .. } => tree.resolve_at(ino, gen, epoch),
                _ => tree.root_at(epoch),
            }
            .map_err(|e| {
                if matches!(e, Errno::NOENT | Errno::NOTDIR) {
                    // The tree's root is gone from disk: forget its inode map too.
                    cx.nfs.trees.drop_tree(&key);
                }
                stale_if_missing(e)
            })?;
            let mut view = view;
            if let (Fh::Node { .. }, None) = (fh, key.snapshot) {
                if let Some(top) = tree.top_name(node.ino()) {
                    cx.enter_qtree(&mut view, &top).map_err(view_err)?;
                }
            }
            let attr = attr_for(&fh, &view, &node.st);
            Ok(Obj {
                fh,
                view,
                on_disk: Some((tree, node)),
                attr,
            })
        }
    }
}

/// Is this object a qtree's directory in the active file system (an entry of the volume root
/// that the volume has as a qtree)?
pub(super) fn is_qtree_root(o: &Obj) -> bool {
    let Fh::Node {
        tree: TreeKey { snapshot: None, .. },
        ..
    } = o.fh
    else {
        return false;
    };
    let Some((tree, node)) = &o.on_disk else {
        return false;
    };
    let in_root = match (fs::statx_fd(&node.at), tree.root()) {
        (Ok(parent), Ok(root)) => parent.stx_ino == root.ino(),
        _ => false,
    };
    in_root
        && o.attr.is_dir()
        && node
            .name
            .as_ref()
            .is_some_and(|n| o.view.is_qtree(n.as_bytes()))
}

/// `.snapshot`: read-only, owned by root. Its times are those of the volume's snapshot store on
/// disk, which change whenever a snapshot is made or deleted (so a client that cached the listing
/// sees the directory change, as it does on ONTAP); before the first snapshot, the volume root's.
pub(super) fn snapdir_attr(cx: &Cx, view: &VolView, volume: &Uuid) -> Attr {
    let st = cx.data_dir(volume).and_then(|d| {
        d.parent()
            .and_then(|v| std::fs::symlink_metadata(v.join("snapshots")).ok())
            .or_else(|| std::fs::symlink_metadata(&d).ok())
    });
    let t = |s: i64, n: i64| (s.clamp(0, i64::from(u32::MAX)) as u32, n as u32);
    use std::os::unix::fs::MetadataExt;
    let (atime, mtime, ctime) = st.map_or(((0, 0), (0, 0), (0, 0)), |m| {
        (
            t(m.atime(), m.atime_nsec()),
            t(m.mtime(), m.mtime_nsec()),
            t(m.ctime(), m.ctime_nsec()),
        )
    });
    Attr {
        ftype: NF3DIR,
        fmt: fs::S_IFDIR,
        mode: 0o555,
        nlink: 2 + view.snapshots.len() as u32,
        uid: 0,
        gid: 0,
        size: 4096,
        used: 4096,
        rdev: (0, 0),
        fsid: view.fsid,
        fileid: SNAPDIR_FILEID,
        atime,
        mtime,
        ctime,
    }
}

/// Hold the volume's data lock (shared) around disk work, so snapshots see whole operations.
/// Never call into the model while holding it.
pub(super) fn locked<T>(cx: &Cx, volume: &Uuid, f: impl FnOnce() -> T) -> T {
    let l = cx.nfs.sim.data_lock(volume);
    let _g = l.read().unwrap_or_else(|e| e.into_inner());
    f()
}

/// Account growth (positive) or release (negative) of a file `owner` (uid, gid) owns with the
/// model; NOSPC when the volume is full, DQUOT past a tree, user or group quota.
pub(super) fn charge(
    cx: &Cx,
    view: &VolView,
    owner: (u32, u32),
    bytes: i64,
    files: i64,
) -> NfsRes<()> {
    if bytes == 0 && files == 0 {
        return Ok(());
    }
    let qtree = view.qtree.as_ref().map(|q| q.name.as_str());
    let owner = crate::quota_usage::Owner {
        uid: owner.0,
        gid: owner.1,
        by: view.who.uid,
    };
    let charged = cx
        .nfs
        .sim
        .charge_owned(&view.svm, &view.name, qtree, owner, bytes, files);
    charged.map_err(|e| match e {
        ModelError::NoSpace(why) => {
            debug!(volume = %view.name, reason = %why, "no space");
            Nfsstat::NOSPC
        }
        ModelError::QuotaExceeded(why) => {
            debug!(volume = %view.name, reason = %why, "quota exceeded");
            Nfsstat::DQUOT
        }
        ModelError::NotFound { .. } | ModelError::Offline(_) => Nfsstat::STALE,
        other => {
            warn!(volume = %view.name, error = %other, "charging the volume failed");
            Nfsstat::SERVERFAULT
        }
    })
}

pub(super) fn refund(cx: &Cx, view: &VolView, owner: (u32, u32), bytes: i64, files: i64) {
    if let Err(e) = charge(cx, view, owner, -bytes, -files) {
        debug!(volume = %view.name, status = e.0, "could not give space back");
    }
}

pub(super) fn name_of(name: &[u8]) -> NfsRes<&OsStr> {
    valid_name(name).map_err(|e| match e {
        NameError::TooLong => Nfsstat::NAMETOOLONG,
        NameError::Invalid => Nfsstat::ACCES,
    })
}

/// A name a client may create: valid, not `.`/`..`, and not a name the server owns at a volume
/// root (`.snapshot`, the junctions of nested volumes, qtrees) or in a qtree's directory
/// (`.snapshot`).
pub(super) fn new_name<'a>(dir: &Obj, name: &'a [u8]) -> NfsRes<&'a OsStr> {
    let n = name_of(name)?;
    if name == b"." || name == b".." {
        return Err(Nfsstat::EXIST);
    }
    if reserved(dir, name) {
        return Err(Nfsstat::EXIST);
    }
    Ok(n)
}

/// A name at a volume root that the server owns (cannot be removed or renamed): `.snapshot`,
/// junctions and qtrees (deleted with `qtree-delete`, not `rmdir`); `.snapshot` in a qtree's
/// directory.
pub(super) fn reserved(dir: &Obj, name: &[u8]) -> bool {
    (dir.is_active_root()
        && (name == b".snapshot" || dir.view.child(name).is_some() || dir.view.is_qtree(name)))
        || (name == b".snapshot" && is_qtree_root(dir))
}

/// Renames and links stay inside one qtree, as on ONTAP.
pub(super) fn same_qtree(a: &Obj, b: &Obj) -> bool {
    a.view.qtree.as_ref().map(|q| &q.name) == b.view.qtree.as_ref().map(|q| &q.name)
}

/// The group a new object gets: the directory's when it is set-group-id, else the caller's.
pub(super) fn new_gid(dir: &Obj) -> u32 {
    if dir.attr.mode & 0o2000 != 0 {
        dir.attr.gid
    } else {
        dir.who().gid
    }
}

pub(super) fn uid(u: u32) -> Uid {
    Uid::from_raw(u)
}

pub(super) fn gid(g: u32) -> Gid {
    Gid::from_raw(g)
}
