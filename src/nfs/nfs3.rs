//! NFS version 3 (RFC 1813): all 22 procedures.
//!
//! Every call starts the same way: decode the arguments (GARBAGE_ARGS if they do not parse), turn
//! the handle into an [`Obj`] (the model's view of its volume with this client's export-policy
//! decision, and the object on disk), check what the identity may do, charge the model for any
//! growth, then touch the disk under the volume's data lock. The volume root shows the volume's
//! unix permissions and owner; `chmod`/`chown` of the root change them in the model.

use super::access::{may, Who, R, W, X};
use super::fs::{self, is_dir, is_lnk, is_reg, valid_name, NameError, Node, Tree};
use super::handle::{
    qtree_snapdir_fileid, snaproot_fileid, Fh, TreeKey, FHSIZE3, ROOT_FILEID, SNAPDIR_FILEID,
};
use super::rpc::{self, Accept, Call};
use super::view::{Cx, ViewError, VolView};
use super::xdr::{Dec, Enc, Res};
use super::{Conn, Nfs};
use crate::model::{ModelError, VolumeChange};
use rustix::fs::{self as rfs, AtFlags, Gid, Mode, OFlags, Statx, Timespec, Timestamps, Uid};
use rustix::io::Errno;
use std::ffi::{OsStr, OsString};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use tracing::{debug, warn};
use uuid::Uuid;

pub(crate) mod readdir;

/// Largest READ and WRITE (FSINFO rtmax/wtmax).
pub const MAX_IO: u32 = 1 << 20;
/// Largest symlink target.
const MAX_PATH: usize = 4096;
/// Largest name accepted on the wire (longer than NAME_MAX, so the answer can be NAMETOOLONG).
const WIRE_NAME: usize = 1024;

/// `nfsstat3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nfsstat(pub u32);

impl Nfsstat {
    pub const OK: Nfsstat = Nfsstat(0);
    pub const PERM: Nfsstat = Nfsstat(1);
    pub const NOENT: Nfsstat = Nfsstat(2);
    pub const IO: Nfsstat = Nfsstat(5);
    pub const ACCES: Nfsstat = Nfsstat(13);
    pub const EXIST: Nfsstat = Nfsstat(17);
    pub const XDEV: Nfsstat = Nfsstat(18);
    pub const NOTDIR: Nfsstat = Nfsstat(20);
    pub const ISDIR: Nfsstat = Nfsstat(21);
    pub const INVAL: Nfsstat = Nfsstat(22);
    pub const FBIG: Nfsstat = Nfsstat(27);
    pub const NOSPC: Nfsstat = Nfsstat(28);
    pub const ROFS: Nfsstat = Nfsstat(30);
    pub const MLINK: Nfsstat = Nfsstat(31);
    pub const NAMETOOLONG: Nfsstat = Nfsstat(63);
    pub const NOTEMPTY: Nfsstat = Nfsstat(66);
    pub const DQUOT: Nfsstat = Nfsstat(69);
    pub const STALE: Nfsstat = Nfsstat(70);
    pub const BADHANDLE: Nfsstat = Nfsstat(10001);
    pub const NOT_SYNC: Nfsstat = Nfsstat(10002);
    pub const BAD_COOKIE: Nfsstat = Nfsstat(10003);
    pub const NOTSUPP: Nfsstat = Nfsstat(10004);
    pub const TOOSMALL: Nfsstat = Nfsstat(10005);
    pub const SERVERFAULT: Nfsstat = Nfsstat(10006);
    pub const BADTYPE: Nfsstat = Nfsstat(10007);
}

impl From<Errno> for Nfsstat {
    fn from(e: Errno) -> Nfsstat {
        match e {
            Errno::NOENT => Nfsstat::NOENT,
            Errno::ACCESS => Nfsstat::ACCES,
            Errno::PERM => Nfsstat::PERM,
            Errno::EXIST => Nfsstat::EXIST,
            Errno::NOTDIR => Nfsstat::NOTDIR,
            Errno::ISDIR => Nfsstat::ISDIR,
            Errno::INVAL => Nfsstat::INVAL,
            Errno::FBIG => Nfsstat::FBIG,
            Errno::NOSPC => Nfsstat::NOSPC,
            Errno::ROFS => Nfsstat::ROFS,
            Errno::MLINK => Nfsstat::MLINK,
            Errno::NAMETOOLONG => Nfsstat::NAMETOOLONG,
            Errno::NOTEMPTY => Nfsstat::NOTEMPTY,
            Errno::DQUOT => Nfsstat::DQUOT,
            Errno::STALE => Nfsstat::STALE,
            Errno::XDEV => Nfsstat::XDEV,
            // A symlink where a directory or file was expected.
            Errno::LOOP => Nfsstat::INVAL,
            _ => Nfsstat::IO,
        }
    }
}

impl From<std::io::Error> for Nfsstat {
    fn from(e: std::io::Error) -> Nfsstat {
        Errno::from_io_error(&e).map_or(Nfsstat::IO, Nfsstat::from)
    }
}

type NfsRes<T> = Result<T, Nfsstat>;

// ---------------------------------------------------------------------------------------------
// Attributes

const NF3REG: u32 = 1;
const NF3DIR: u32 = 2;
const NF3BLK: u32 = 3;
const NF3CHR: u32 = 4;
const NF3LNK: u32 = 5;
const NF3SOCK: u32 = 6;
const NF3FIFO: u32 = 7;

/// `fattr3`, plus the file-type bits for permission checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    pub ftype: u32,
    pub fmt: u32,
    pub mode: u32,
    pub nlink: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub used: u64,
    pub rdev: (u32, u32),
    pub fsid: u64,
    pub fileid: u64,
    pub atime: (u32, u32),
    pub mtime: (u32, u32),
    pub ctime: (u32, u32),
}

impl Attr {
    fn full_mode(&self) -> u32 {
        self.fmt | self.mode
    }

    fn is_dir(&self) -> bool {
        self.ftype == NF3DIR
    }
}

fn time3(t: &rustix::fs::StatxTimestamp) -> (u32, u32) {
    (t.tv_sec.clamp(0, i64::from(u32::MAX)) as u32, t.tv_nsec)
}

fn attr_of(st: &Statx, fsid: u64, fileid: u64) -> Attr {
    let m = fs::mode_of(st);
    let fmt = m & fs::S_IFMT;
    let ftype = match fmt {
        fs::S_IFREG => NF3REG,
        fs::S_IFDIR => NF3DIR,
        fs::S_IFLNK => NF3LNK,
        0o060_000 => NF3BLK,
        0o020_000 => NF3CHR,
        0o140_000 => NF3SOCK,
        _ => NF3FIFO,
    };
    Attr {
        ftype,
        fmt,
        mode: m & 0o7777,
        nlink: st.stx_nlink,
        uid: st.stx_uid,
        gid: st.stx_gid,
        size: st.stx_size,
        used: st.stx_blocks.saturating_mul(512),
        rdev: (st.stx_rdev_major, st.stx_rdev_minor),
        fsid,
        fileid,
        atime: time3(&st.stx_atime),
        mtime: time3(&st.stx_mtime),
        ctime: time3(&st.stx_ctime),
    }
}

fn put_attr(e: &mut Enc, a: &Attr) {
    e.u32(a.ftype)
        .u32(a.mode)
        .u32(a.nlink)
        .u32(a.uid)
        .u32(a.gid)
        .u64(a.size)
        .u64(a.used)
        .u32(a.rdev.0)
        .u32(a.rdev.1)
        .u64(a.fsid)
        .u64(a.fileid)
        .u32(a.atime.0)
        .u32(a.atime.1)
        .u32(a.mtime.0)
        .u32(a.mtime.1)
        .u32(a.ctime.0)
        .u32(a.ctime.1);
}

fn put_post(e: &mut Enc, a: Option<&Attr>) {
    match a {
        Some(a) => {
            e.bool(true);
            put_attr(e, a);
        }
        None => {
            e.bool(false);
        }
    }
}

/// `wcc_attr`: what the client needs to tell whether someone else changed the object.
#[derive(Debug, Clone, Copy)]
struct Pre {
    size: u64,
    mtime: (u32, u32),
    ctime: (u32, u32),
}

fn pre_of(a: &Attr) -> Pre {
    Pre {
        size: a.size,
        mtime: a.mtime,
        ctime: a.ctime,
    }
}

fn put_wcc(e: &mut Enc, pre: Option<Pre>, post: Option<&Attr>) {
    match pre {
        Some(p) => {
            e.bool(true)
                .u64(p.size)
                .u32(p.mtime.0)
                .u32(p.mtime.1)
                .u32(p.ctime.0)
                .u32(p.ctime.1);
        }
        None => {
            e.bool(false);
        }
    }
    put_post(e, post);
}

fn put_fh(e: &mut Enc, fh: &Fh) {
    e.opaque(&fh.encode());
}

// ---------------------------------------------------------------------------------------------
// Objects: a handle resolved against the model and the disk

/// An object a handle names, as this client sees it now.
pub struct Obj {
    pub fh: Fh,
    pub view: VolView,
    /// The tree and node on disk (None for the virtual `.snapshot` directory).
    pub on_disk: Option<(Tree, Node)>,
    pub attr: Attr,
}

impl Obj {
    fn who(&self) -> &Who {
        &self.view.who
    }

    fn node(&self) -> NfsRes<&Node> {
        self.on_disk.as_ref().map(|(_, n)| n).ok_or(Nfsstat::ROFS)
    }

    /// May the identity do `want` (R|W|X) to this object by its mode bits?
    fn check(&self, want: u32) -> NfsRes<()> {
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
    fn check_io(&self, want: u32) -> NfsRes<()> {
        if self.who().uid == self.attr.uid {
            Ok(())
        } else {
            self.check(want)
        }
    }

    /// May this object be changed at all (snapshots are read-only; so is an ro export)?
    fn check_writable(&self) -> NfsRes<()> {
        if self.fh.read_only() {
            Err(Nfsstat::ROFS)
        } else if !self.view.writable() {
            Err(Nfsstat::ACCES)
        } else {
            Ok(())
        }
    }

    /// Stat again after a change and recompute the attributes (keeping the root's overrides).
    fn refresh(&mut self) {
        if let Some((_, n)) = &mut self.on_disk {
            if n.refresh().is_ok() {
                self.attr = attr_for(&self.fh, &self.view, &n.st);
            }
        }
    }

    fn is_active_root(&self) -> bool {
        matches!(self.fh, Fh::Root { .. })
    }
}

fn attr_for(fh: &Fh, view: &VolView, st: &Statx) -> Attr {
    match fh {
        Fh::Root { .. } | Fh::SnapRoot { .. } => {
            let fileid = match fh {
                Fh::SnapRoot { snapshot, .. } => snaproot_fileid(snapshot),
                _ => ROOT_FILEID,
            };
            let mut a = attr_of(st, view.fsid, fileid);
            a.mode = view.mode;
            a.uid = view.uid;
            a.gid = view.gid;
            a
        }
        _ => attr_of(st, view.fsid, st.stx_ino),
    }
}

fn view_err(e: ViewError) -> Nfsstat {
    match e {
        ViewError::Gone => Nfsstat::STALE,
        ViewError::Denied(why) => {
            debug!(reason = %why, "export policy refuses the call");
            Nfsstat::ACCES
        }
    }
}

fn stale_if_missing(e: Errno) -> Nfsstat {
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
    let view = cx.view(&fh.volume()).map_err(view_err)?;
    let snapshot_ok = |s: &Uuid| view.snapdir && view.snapshot(s).is_some();
    let tree_of = |key: TreeKey| -> NfsRes<Tree> {
        let dir = match key.snapshot {
            None => cx.data_dir(&key.volume),
            Some(s) => cx.snapshot_dir(&key.volume, &s),
        };
        match dir {
            Some(d) => Ok(cx.nfs.trees.tree(key, d)),
            None => {
                // Gone from disk: forget its inode map too.
                cx.nfs.trees.drop_tree(&key);
                Err(Nfsstat::STALE)
            }
        }
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
            let tree = tree_of(key)?;
            let node = match fh {
                Fh::Node { ino, gen, .. } => tree.resolve(ino, gen),
                _ => tree.root(),
            }
            .map_err(stale_if_missing)?;
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
fn is_qtree_root(o: &Obj) -> bool {
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
fn snapdir_attr(cx: &Cx, view: &VolView, volume: &Uuid) -> Attr {
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
fn locked<T>(cx: &Cx, volume: &Uuid, f: impl FnOnce() -> T) -> T {
    let l = cx.nfs.sim.data_lock(volume);
    let _g = l.read().unwrap_or_else(|e| e.into_inner());
    f()
}

/// Account growth (positive) or release (negative) with the model; NOSPC when it is full.
fn charge(cx: &Cx, view: &VolView, bytes: i64, files: i64) -> NfsRes<()> {
    if bytes == 0 && files == 0 {
        return Ok(());
    }
    let charged = match &view.qtree {
        Some(q) => cx
            .nfs
            .sim
            .charge_tree(&view.svm, &view.name, &q.name, bytes, files),
        None => cx.nfs.sim.charge_data(&view.svm, &view.name, bytes, files),
    };
    charged.map_err(|e| match e {
        ModelError::NoSpace(why) => {
            debug!(volume = %view.name, reason = %why, "no space");
            Nfsstat::NOSPC
        }
        ModelError::QuotaExceeded(why) => {
            debug!(volume = %view.name, reason = %why, "tree quota exceeded");
            Nfsstat::DQUOT
        }
        ModelError::NotFound { .. } | ModelError::Offline(_) => Nfsstat::STALE,
        other => {
            warn!(volume = %view.name, error = %other, "charging the volume failed");
            Nfsstat::SERVERFAULT
        }
    })
}

fn refund(cx: &Cx, view: &VolView, bytes: i64, files: i64) {
    if let Err(e) = charge(cx, view, -bytes, -files) {
        debug!(volume = %view.name, status = e.0, "could not give space back");
    }
}

fn name_of(name: &[u8]) -> NfsRes<&OsStr> {
    valid_name(name).map_err(|e| match e {
        NameError::TooLong => Nfsstat::NAMETOOLONG,
        NameError::Invalid => Nfsstat::ACCES,
    })
}

/// A name a client may create: valid, not `.`/`..`, and not a name the server owns at a volume
/// root (`.snapshot`, the junctions of nested volumes, qtrees) or in a qtree's directory
/// (`.snapshot`).
fn new_name<'a>(dir: &Obj, name: &'a [u8]) -> NfsRes<&'a OsStr> {
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
fn reserved(dir: &Obj, name: &[u8]) -> bool {
    (dir.is_active_root()
        && (name == b".snapshot" || dir.view.child(name).is_some() || dir.view.is_qtree(name)))
        || (name == b".snapshot" && is_qtree_root(dir))
}

/// Renames and links stay inside one qtree, as on ONTAP.
fn same_qtree(a: &Obj, b: &Obj) -> bool {
    a.view.qtree.as_ref().map(|q| &q.name) == b.view.qtree.as_ref().map(|q| &q.name)
}

/// The group a new object gets: the directory's when it is set-group-id, else the caller's.
fn new_gid(dir: &Obj) -> u32 {
    if dir.attr.mode & 0o2000 != 0 {
        dir.attr.gid
    } else {
        dir.who().gid
    }
}

fn uid(u: u32) -> Uid {
    Uid::from_raw(u)
}

fn gid(g: u32) -> Gid {
    Gid::from_raw(g)
}

// ---------------------------------------------------------------------------------------------
// LOOKUP, shared with MNT

/// The object `name` names in directory `dir`, crossing into nested volumes and `.snapshot`.
fn lookup_in(cx: &Cx, dir: &Obj, name: &[u8]) -> NfsRes<Obj> {
    if !dir.attr.is_dir() {
        return Err(Nfsstat::NOTDIR);
    }
    let n = name_of(name)?;
    dir.check(X)?;
    let volume = dir.view.uuid;
    if name == b"." {
        return obtain_fh(cx, dir.fh);
    }
    match dir.fh {
        Fh::SnapDir { .. } => {
            if name == b".." {
                return obtain_fh(cx, Fh::Root { volume });
            }
            let snap = dir
                .view
                .snapshots
                .iter()
                .find(|s| s.name.as_bytes() == name)
                .ok_or(Nfsstat::NOENT)?;
            obtain_fh(
                cx,
                Fh::SnapRoot {
                    volume,
                    snapshot: snap.uuid,
                },
            )
        }
        Fh::Root { .. } if name == b".." => match dir.view.parent {
            Some(p) => obtain_fh(cx, Fh::Root { volume: p }),
            None => obtain_fh(cx, dir.fh),
        },
        Fh::Root { .. } if name == b".snapshot" && dir.view.snapdir => {
            obtain_fh(cx, Fh::SnapDir { volume })
        }
        Fh::Root { .. } if dir.view.child(name).is_some() => {
            let child = dir.view.child(name).ok_or(Nfsstat::NOENT)?;
            obtain_fh(cx, Fh::Root { volume: child })
        }
        Fh::QtreeSnapDir { ino, gen, .. } => {
            let qtree = Fh::Node {
                tree: TreeKey {
                    volume,
                    snapshot: None,
                },
                ino,
                gen,
            };
            if name == b".." {
                return obtain_fh(cx, qtree);
            }
            // The qtree's directory as it is in that snapshot, if it was there then.
            let q = obtain_fh(cx, qtree)?;
            let qname = q
                .on_disk
                .as_ref()
                .and_then(|(_, n)| n.name.clone())
                .ok_or(Nfsstat::STALE)?;
            let snap = dir
                .view
                .snapshots
                .iter()
                .find(|s| s.name.as_bytes() == name)
                .ok_or(Nfsstat::NOENT)?;
            let root = obtain_fh(
                cx,
                Fh::SnapRoot {
                    volume,
                    snapshot: snap.uuid,
                },
            )?;
            let o = lookup_in(cx, &root, qname.as_bytes())?;
            if !o.attr.is_dir() {
                return Err(Nfsstat::NOENT);
            }
            Ok(o)
        }
        Fh::Node { .. } if name == b".snapshot" && dir.view.snapdir && is_qtree_root(dir) => {
            let Fh::Node { ino, gen, .. } = dir.fh else {
                return Err(Nfsstat::STALE);
            };
            obtain_fh(cx, Fh::QtreeSnapDir { volume, ino, gen })
        }
        Fh::SnapRoot { .. } if name == b".." => obtain_fh(cx, Fh::SnapDir { volume }),
        Fh::Node { tree: key, .. } if name == b".." => {
            let (tree, node) = dir.on_disk.as_ref().ok_or(Nfsstat::STALE)?;
            let parent = fs::statx_fd(&node.at)?;
            let root = tree.root()?;
            let fh = if parent.stx_ino == root.ino() {
                match key.snapshot {
                    None => Fh::Root { volume },
                    Some(snapshot) => Fh::SnapRoot { volume, snapshot },
                }
            } else {
                Fh::Node {
                    tree: key,
                    ino: parent.stx_ino,
                    gen: fs::generation(&parent),
                }
            };
            obtain_fh(cx, fh)
        }
        _ => {
            let key = dir.fh.tree().ok_or(Nfsstat::STALE)?;
            let (tree, node) = dir.on_disk.as_ref().ok_or(Nfsstat::STALE)?;
            let dirfd = node.dir_fd().map_err(stale_if_missing)?;
            let child = tree.lookup(node, &dirfd, n)?;
            let fh = Fh::Node {
                tree: key,
                ino: child.ino(),
                gen: fs::generation(&child.st),
            };
            let attr = attr_for(&fh, &dir.view, &child.st);
            let (mut view, tree) = (dir.view.clone(), tree.clone());
            if dir.is_active_root() {
                cx.enter_qtree(&mut view, n).map_err(view_err)?;
            }
            Ok(Obj {
                fh,
                view,
                on_disk: Some((tree, child)),
                attr,
            })
        }
    }
}

/// For MNT: the directory `name` in directory `dir`.
pub fn lookup_dir(cx: &Cx, dir: &Fh, name: &[u8]) -> NfsRes<Fh> {
    let d = obtain_fh(cx, *dir)?;
    let o = lookup_in(cx, &d, name)?;
    if !o.attr.is_dir() {
        return Err(Nfsstat::NOTDIR);
    }
    Ok(o.fh)
}

// ---------------------------------------------------------------------------------------------
// Argument decoding

fn fh_arg<'a>(a: &mut Dec<'a>) -> Res<&'a [u8]> {
    a.opaque(FHSIZE3)
}

fn name_arg<'a>(a: &mut Dec<'a>) -> Res<&'a [u8]> {
    a.opaque(WIRE_NAME)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetTime {
    Server,
    Client(u32, u32),
}

#[derive(Debug, Clone, Copy, Default)]
struct Sattr {
    mode: Option<u32>,
    uid: Option<u32>,
    gid: Option<u32>,
    size: Option<u64>,
    atime: Option<SetTime>,
    mtime: Option<SetTime>,
}

impl Sattr {
    fn is_empty(&self) -> bool {
        self.mode.is_none()
            && self.uid.is_none()
            && self.gid.is_none()
            && self.size.is_none()
            && self.atime.is_none()
            && self.mtime.is_none()
    }
}

fn set_time(a: &mut Dec) -> Res<Option<SetTime>> {
    Ok(match a.u32()? {
        0 => None,
        1 => Some(SetTime::Server),
        2 => Some(SetTime::Client(a.u32()?, a.u32()?)),
        _ => return Err(super::xdr::Short),
    })
}

fn sattr_arg(a: &mut Dec) -> Res<Sattr> {
    Ok(Sattr {
        mode: a.option(|a| a.u32())?,
        uid: a.option(|a| a.u32())?,
        gid: a.option(|a| a.u32())?,
        size: a.option(|a| a.u64())?,
        atime: set_time(a)?,
        mtime: set_time(a)?,
    })
}

// ---------------------------------------------------------------------------------------------
// Dispatch

pub fn handle(nfs: &Nfs, conn: &Conn, svm: &str, call: &mut Call) -> Vec<u8> {
    let xid = call.xid;
    let cx = Cx {
        nfs,
        peer: conn.peer.ip(),
        svm: svm.to_string(),
        cred: &call.cred,
    };
    let a = &mut call.args;
    let cap = match call.proc_ {
        6 => MAX_IO as usize + 256,
        16 | 17 => 64 << 10,
        _ => 512,
    };
    let mut r = rpc::accepted_with_capacity(xid, Accept::Success, cap);
    let e = &mut r.enc;
    // The directories a create, remove, rename or link changes: their listings are read again.
    let changes = readdir::dirs_changed_by(call.proc_, a.clone());
    let res = match call.proc_ {
        0 => Ok(()),
        1 => getattr(&cx, a, e),
        2 => setattr(&cx, a, e),
        3 => lookup(&cx, a, e),
        4 => access(&cx, a, e),
        5 => readlink(&cx, a, e),
        6 => read(&cx, a, e),
        7 => write(&cx, a, e),
        8 => create(&cx, a, e),
        9 => mkdir(&cx, a, e),
        10 => symlink(&cx, a, e),
        11 => mknod(&cx, a, e),
        12 => remove(&cx, a, e, false),
        13 => remove(&cx, a, e, true),
        14 => rename(&cx, a, e),
        15 => link(&cx, a, e),
        16 => readdir::readdir(&cx, a, e, false),
        17 => readdir::readdir(&cx, a, e, true),
        18 => fsstat(&cx, a, e),
        19 => fsinfo(&cx, a, e),
        20 => pathconf(&cx, a, e),
        21 => commit(&cx, a, e),
        _ => return rpc::accepted(xid, Accept::ProcUnavail).finish(),
    };
    for dir in changes.iter().flatten() {
        nfs.listings.changed(dir);
    }
    match res {
        Ok(()) => r.finish(),
        Err(_) => rpc::accepted(xid, Accept::GarbageArgs).finish(),
    }
}

fn status(e: &mut Enc, s: Nfsstat) {
    e.u32(s.0);
}

// ---------------------------------------------------------------------------------------------
// Procedures

fn getattr(cx: &Cx, a: &mut Dec, e: &mut Enc) -> Res<()> {
    let fh = fh_arg(a)?;
    match obtain(cx, fh) {
        Ok(o) => {
            status(e, Nfsstat::OK);
            put_attr(e, &o.attr);
        }
        Err(s) => status(e, s),
    }
    Ok(())
}

fn setattr(cx: &Cx, a: &mut Dec, e: &mut Enc) -> Res<()> {
    let fh = fh_arg(a)?;
    let s = sattr_arg(a)?;
    let guard = a.option(|a| Ok((a.u32()?, a.u32()?)))?;
    let mut o = match obtain(cx, fh) {
        Ok(o) => o,
        Err(st) => {
            status(e, st);
            put_wcc(e, None, None);
            return Ok(());
        }
    };
    let pre = pre_of(&o.attr);
    let r = match guard {
        Some(g) if g != o.attr.ctime => Err(Nfsstat::NOT_SYNC),
        _ => set_attrs(cx, &o, &s, false),
    };
    // The root's attributes may have changed in the model: look again.
    if o.is_active_root() {
        if let Ok(fresh) = obtain_fh(cx, o.fh) {
            o = fresh;
        }
    } else {
        o.refresh();
    }
    status(e, r.err().unwrap_or(Nfsstat::OK));
    put_wcc(e, Some(pre), Some(&o.attr));
    Ok(())
}

fn timespec(t: Option<SetTime>) -> Timespec {
    match t {
        None => Timespec {
            tv_sec: 0,
            tv_nsec: rfs::UTIME_OMIT,
        },
        Some(SetTime::Server) => Timespec {
            tv_sec: 0,
            tv_nsec: rfs::UTIME_NOW,
        },
        Some(SetTime::Client(s, n)) => Timespec {
            tv_sec: i64::from(s),
            tv_nsec: i64::from(n.min(999_999_999)),
        },
    }
}

/// Apply a `sattr3`. `fresh`: the caller just created the object (no permission checks).
fn set_attrs(cx: &Cx, o: &Obj, s: &Sattr, fresh: bool) -> NfsRes<()> {
    if s.is_empty() {
        return Ok(());
    }
    o.check_writable()?;
    let who = o.who();
    let owner = who.is_root() || who.uid == o.attr.uid;
    // Giving a file away is for root alone, even for a file just created.
    if s.uid.is_some_and(|u| u != o.attr.uid) && !who.is_root() {
        return Err(Nfsstat::PERM);
    }
    if s.gid
        .is_some_and(|g| g != o.attr.gid && !(who.is_root() || (owner && who.in_group(g))))
    {
        return Err(Nfsstat::PERM);
    }
    if !fresh {
        if s.mode.is_some() && !owner {
            return Err(Nfsstat::PERM);
        }
        if s.size.is_some() {
            o.check_io(W)?;
        }
        for t in [s.atime, s.mtime].into_iter().flatten() {
            match t {
                SetTime::Client(..) if !owner => return Err(Nfsstat::PERM),
                SetTime::Server if !owner => o.check(W)?,
                _ => {}
            }
        }
    }
    if s.uid == Some(u32::MAX) || s.gid == Some(u32::MAX) {
        return Err(Nfsstat::INVAL);
    }
    let times = (s.atime.is_some() || s.mtime.is_some()).then(|| Timestamps {
        last_access: timespec(s.atime),
        last_modification: timespec(s.mtime),
    });
    if o.is_active_root() {
        if s.size.is_some() {
            return Err(Nfsstat::ISDIR);
        }
        if s.mode.is_some() || s.uid.is_some() || s.gid.is_some() {
            let change = VolumeChange {
                unix_permissions: s.mode.map(|m| m & 0o7777),
                user_id: s.uid,
                group_id: s.gid,
                ..VolumeChange::default()
            };
            let (svm, name) = (o.view.svm.clone(), o.view.name.clone());
            cx.nfs
                .sim
                .mutate(|c| c.modify_volume(&svm, &name, change))
                .map_err(|e: ModelError| {
                    warn!(volume = %name, error = %e, "changing the volume root's attributes failed");
                    Nfsstat::IO
                })?;
        }
        if let Some(t) = times {
            let node = o.node()?;
            locked(cx, &o.view.uuid, || {
                rfs::utimensat(&node.at, c".", &t, AtFlags::empty())
            })?;
        }
        return Ok(());
    }
    let node = o.node()?;
    let name = node.name.as_deref().ok_or(Nfsstat::INVAL)?;
    if let Some(size) = s.size {
        if !is_reg(&node.st) {
            return Err(if is_dir(&node.st) {
                Nfsstat::ISDIR
            } else {
                Nfsstat::INVAL
            });
        }
        if size > i64::MAX as u64 {
            return Err(Nfsstat::FBIG);
        }
        let _s = cx.nfs.stripe(&o.view.uuid, node.ino());
        let cur = fs::statx_at(&node.at, name)?.stx_size;
        let delta = size as i64 - cur as i64;
        charge(cx, &o.view, delta.max(0), 0)?;
        let r = locked(cx, &o.view.uuid, || -> NfsRes<()> {
            let f = node.open(OFlags::WRONLY)?;
            f.set_len(size)?;
            Ok(())
        });
        match r {
            Ok(()) if delta < 0 => refund(cx, &o.view, -delta, 0),
            Ok(()) => {}
            Err(err) => {
                refund(cx, &o.view, delta.max(0), 0);
                return Err(err);
            }
        }
    }
    locked(cx, &o.view.uuid, || -> NfsRes<()> {
        if s.uid.is_some() || s.gid.is_some() {
            rfs::chownat(
                &node.at,
                name,
                s.uid.map(uid),
                s.gid.map(gid),
                AtFlags::SYMLINK_NOFOLLOW,
            )?;
        }
        if let Some(mut m) = s.mode {
            m &= 0o7777;
            if !who.is_root() && !who.in_group(s.gid.unwrap_or(o.attr.gid)) && !is_dir(&node.st) {
                m &= !0o2000;
            }
            if is_reg(&node.st) || is_dir(&node.st) {
                let f = node.open(OFlags::RDONLY | OFlags::NONBLOCK)?;
                rfs::fchmod(&f, Mode::from_raw_mode(m))?;
            } else if !is_lnk(&node.st) {
                // FIFOs, sockets and devices are never opened here: changed by name.
                rfs::chmodat(&node.at, name, Mode::from_raw_mode(m), AtFlags::empty())?;
            }
            // Symlinks have no mode of their own.
        }
        if let Some(t) = times {
            rfs::utimensat(&node.at, name, &t, AtFlags::SYMLINK_NOFOLLOW)?;
        }
        Ok(())
    })
}

fn lookup(cx: &Cx, a: &mut Dec, e: &mut Enc) -> Res<()> {
    let fh = fh_arg(a)?;
    let name = name_arg(a)?;
    let dir = match obtain(cx, fh) {
        Ok(d) => d,
        Err(s) => {
            status(e, s);
            put_post(e, None);
            return Ok(());
        }
    };
    match lookup_in(cx, &dir, name) {
        Ok(o) => {
            status(e, Nfsstat::OK);
            put_fh(e, &o.fh);
            put_post(e, Some(&o.attr));
            put_post(e, Some(&dir.attr));
        }
        Err(s) => {
            status(e, s);
            put_post(e, Some(&dir.attr));
        }
    }
    Ok(())
}

pub const ACCESS3_READ: u32 = 0x01;
pub const ACCESS3_LOOKUP: u32 = 0x02;
pub const ACCESS3_MODIFY: u32 = 0x04;
pub const ACCESS3_EXTEND: u32 = 0x08;
pub const ACCESS3_DELETE: u32 = 0x10;
pub const ACCESS3_EXECUTE: u32 = 0x20;

fn access(cx: &Cx, a: &mut Dec, e: &mut Enc) -> Res<()> {
    let fh = fh_arg(a)?;
    let want = a.u32()?;
    let o = match obtain(cx, fh) {
        Ok(o) => o,
        Err(s) => {
            status(e, s);
            put_post(e, None);
            return Ok(());
        }
    };
    let ok = |bits| o.check(bits).is_ok();
    let mut got = 0;
    if ok(R) {
        got |= ACCESS3_READ;
    }
    if o.attr.is_dir() {
        if ok(X) {
            got |= ACCESS3_LOOKUP;
        }
        if ok(W | X) {
            got |= ACCESS3_MODIFY | ACCESS3_EXTEND | ACCESS3_DELETE;
        }
    } else {
        if ok(W) {
            got |= ACCESS3_MODIFY | ACCESS3_EXTEND | ACCESS3_DELETE;
        }
        if ok(X) {
            got |= ACCESS3_EXECUTE;
        }
    }
    if o.check_writable().is_err() {
        got &= !(ACCESS3_MODIFY | ACCESS3_EXTEND | ACCESS3_DELETE);
    }
    status(e, Nfsstat::OK);
    put_post(e, Some(&o.attr));
    e.u32(got & want);
    Ok(())
}

fn readlink(cx: &Cx, a: &mut Dec, e: &mut Enc) -> Res<()> {
    let fh = fh_arg(a)?;
    let r = obtain(cx, fh).and_then(|o| {
        let node = o.node()?;
        if !is_lnk(&node.st) {
            return Err(Nfsstat::INVAL);
        }
        let name = node.name.as_deref().ok_or(Nfsstat::INVAL)?;
        let target = locked(cx, &o.view.uuid, || {
            rfs::readlinkat(&node.at, name, Vec::new())
        })?;
        Ok((o.attr.clone(), target.into_bytes()))
    });
    match r {
        Ok((attr, target)) => {
            status(e, Nfsstat::OK);
            put_post(e, Some(&attr));
            e.opaque(&target);
        }
        Err(s) => {
            status(e, s);
            put_post(e, None);
        }
    }
    Ok(())
}

fn read(cx: &Cx, a: &mut Dec, e: &mut Enc) -> Res<()> {
    let fh = fh_arg(a)?;
    let offset = a.u64()?;
    let count = a.u32()?.min(MAX_IO) as usize;
    let o = match obtain(cx, fh) {
        Ok(o) => o,
        Err(s) => {
            status(e, s);
            put_post(e, None);
            return Ok(());
        }
    };
    let check = || -> NfsRes<()> {
        if o.attr.is_dir() {
            return Err(Nfsstat::ISDIR);
        }
        if o.attr.ftype != NF3REG {
            return Err(Nfsstat::INVAL);
        }
        o.check_io(R)
    };
    if let Err(s) = check() {
        status(e, s);
        put_post(e, Some(&o.attr));
        return Ok(());
    }
    let Ok(node) = o.node() else {
        status(e, Nfsstat::IO);
        put_post(e, Some(&o.attr));
        return Ok(());
    };
    // Read straight into the reply: status, attributes, count, eof, then the data.
    let start = e.len();
    status(e, Nfsstat::OK);
    put_post(e, Some(&o.attr));
    let count_at = e.len();
    e.u32(0).bool(false).u32(0);
    let data_at = e.len();
    e.buf.resize(data_at + count, 0);
    let r = locked(cx, &o.view.uuid, || -> NfsRes<(usize, u64)> {
        let f = node.open(OFlags::RDONLY)?;
        let mut got = 0;
        while got < count {
            match f.read_at(
                &mut e.buf[data_at + got..data_at + count],
                offset + got as u64,
            ) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err.into()),
            }
        }
        let size = fs::statx_fd(&f).map_or(o.attr.size, |st| st.stx_size);
        Ok((got, size))
    });
    match r {
        Ok((got, size)) => {
            e.buf.truncate(data_at + got);
            e.buf.extend_from_slice(&[0u8; 3][..super::xdr::pad(got)]);
            let eof = offset.saturating_add(got as u64) >= size;
            e.patch_u32(count_at, got as u32);
            e.patch_u32(count_at + 4, u32::from(eof));
            e.patch_u32(count_at + 8, got as u32);
        }
        Err(s) => {
            e.buf.truncate(start);
            status(e, s);
            put_post(e, Some(&o.attr));
        }
    }
    Ok(())
}

const UNSTABLE: u32 = 0;
const FILE_SYNC: u32 = 2;

fn write(cx: &Cx, a: &mut Dec, e: &mut Enc) -> Res<()> {
    let fh = fh_arg(a)?;
    let offset = a.u64()?;
    let count = a.u32()? as usize;
    let stable = a.u32()?;
    let data = a.opaque(MAX_IO as usize)?;
    let data = &data[..count.min(data.len())];
    let o = match obtain(cx, fh) {
        Ok(o) => o,
        Err(s) => {
            status(e, s);
            put_wcc(e, None, None);
            return Ok(());
        }
    };
    let pre = pre_of(&o.attr);
    let r = (|| -> NfsRes<(Attr, u32)> {
        o.check_writable()?;
        if o.attr.is_dir() {
            return Err(Nfsstat::ISDIR);
        }
        if o.attr.ftype != NF3REG {
            return Err(Nfsstat::INVAL);
        }
        o.check_io(W)?;
        let end = offset
            .checked_add(data.len() as u64)
            .filter(|e| *e <= i64::MAX as u64)
            .ok_or(Nfsstat::FBIG)?;
        let node = o.node()?;
        let _s = cx.nfs.stripe(&o.view.uuid, node.ino());
        let name = node.name.as_deref().ok_or(Nfsstat::INVAL)?;
        let cur = fs::statx_at(&node.at, name)?.stx_size;
        let grow = end.saturating_sub(cur) as i64;
        charge(cx, &o.view, grow, 0)?;
        let r = locked(cx, &o.view.uuid, || -> NfsRes<Statx> {
            let f = node.open(OFlags::WRONLY)?;
            f.write_all_at(data, offset)?;
            if stable != UNSTABLE {
                f.sync_all()?;
            }
            Ok(fs::statx_fd(&f)?)
        });
        match r {
            Ok(st) => {
                // Another writer of the same inode outside this server could have raced; settle
                // what was actually added.
                let actual = st.stx_size.saturating_sub(cur) as i64;
                if actual != grow {
                    let _ = charge(cx, &o.view, actual - grow, 0);
                }
                let committed = if stable == UNSTABLE {
                    UNSTABLE
                } else {
                    FILE_SYNC
                };
                Ok((attr_for(&o.fh, &o.view, &st), committed))
            }
            Err(err) => {
                let now = fs::statx_at(&node.at, name).map_or(cur, |s| s.stx_size);
                refund(cx, &o.view, grow - now.saturating_sub(cur) as i64, 0);
                Err(err)
            }
        }
    })();
    match r {
        Ok((post, committed)) => {
            status(e, Nfsstat::OK);
            put_wcc(e, Some(pre), Some(&post));
            e.u32(data.len() as u32).u32(committed);
            e.fixed(&cx.nfs.write_verifier);
        }
        Err(s) => {
            status(e, s);
            put_wcc(e, Some(pre), Some(&o.attr));
        }
    }
    Ok(())
}

/// What a create-type procedure makes.
enum Make<'a> {
    File {
        how: u32,
        sattr: Sattr,
        verf: [u8; 8],
    },
    Dir(Sattr),
    Symlink(Sattr, &'a [u8]),
    /// MKNOD: a FIFO, a socket, or a character or block device (major, minor).
    Special {
        ftype: u32,
        sattr: Sattr,
        rdev: (u32, u32),
    },
}

const UNCHECKED: u32 = 0;
const GUARDED: u32 = 1;
const EXCLUSIVE: u32 = 2;

fn create(cx: &Cx, a: &mut Dec, e: &mut Enc) -> Res<()> {
    let dir = fh_arg(a)?;
    let name = name_arg(a)?;
    let how = a.u32()?;
    let (sattr, verf) = match how {
        UNCHECKED | GUARDED => (sattr_arg(a)?, [0u8; 8]),
        EXCLUSIVE => {
            let mut v = [0u8; 8];
            v.copy_from_slice(a.fixed(8)?);
            (Sattr::default(), v)
        }
        _ => return Err(super::xdr::Short),
    };
    make(cx, e, dir, name, Make::File { how, sattr, verf });
    Ok(())
}

fn mkdir(cx: &Cx, a: &mut Dec, e: &mut Enc) -> Res<()> {
    let dir = fh_arg(a)?;
    let name = name_arg(a)?;
    let sattr = sattr_arg(a)?;
    make(cx, e, dir, name, Make::Dir(sattr));
    Ok(())
}

fn symlink(cx: &Cx, a: &mut Dec, e: &mut Enc) -> Res<()> {
    let dir = fh_arg(a)?;
    let name = name_arg(a)?;
    let sattr = sattr_arg(a)?;
    let target = a.opaque(MAX_PATH)?;
    make(cx, e, dir, name, Make::Symlink(sattr, target));
    Ok(())
}

fn mknod(cx: &Cx, a: &mut Dec, e: &mut Enc) -> Res<()> {
    let dir = fh_arg(a)?;
    let name = name_arg(a)?;
    let ftype = a.u32()?;
    let (sattr, rdev) = match ftype {
        NF3CHR | NF3BLK => (sattr_arg(a)?, (a.u32()?, a.u32()?)),
        NF3SOCK | NF3FIFO => (sattr_arg(a)?, (0, 0)),
        NF3REG | NF3DIR | NF3LNK => {
            // Not a type MKNOD makes.
            status(e, Nfsstat::BADTYPE);
            put_wcc(e, None, None);
            return Ok(());
        }
        _ => return Err(super::xdr::Short),
    };
    make(cx, e, dir, name, Make::Special { ftype, sattr, rdev });
    Ok(())
}

/// CREATE, MKDIR, SYMLINK and MKNOD: reply `post_op_fh3, post_op_attr, wcc_data` or `wcc_data`.
fn make(cx: &Cx, e: &mut Enc, dir: &[u8], name: &[u8], what: Make) {
    let mut d = match obtain(cx, dir) {
        Ok(d) => d,
        Err(s) => {
            status(e, s);
            put_wcc(e, None, None);
            return;
        }
    };
    let pre = pre_of(&d.attr);
    let r = make_in(cx, &d, name, what);
    d.refresh();
    match r {
        Ok(o) => {
            status(e, Nfsstat::OK);
            e.bool(true);
            put_fh(e, &o.fh);
            put_post(e, Some(&o.attr));
        }
        Err(s) => status(e, s),
    }
    put_wcc(e, Some(pre), Some(&d.attr));
}

fn make_in(cx: &Cx, d: &Obj, name: &[u8], what: Make) -> NfsRes<Obj> {
    if !d.attr.is_dir() {
        return Err(Nfsstat::NOTDIR);
    }
    d.check_writable()?;
    let n = new_name(d, name)?;
    d.check(W | X)?;
    let (tree, dnode) = d.on_disk.as_ref().ok_or(Nfsstat::ROFS)?;
    let key = d.fh.tree().ok_or(Nfsstat::ROFS)?;
    let dirfd = dnode.dir_fd().map_err(stale_if_missing)?;
    let who = d.who().clone();
    let gid_new = new_gid(d);
    let found = |st: Statx| -> NfsRes<Obj> {
        tree.remember(st.stx_ino, dnode.ino(), n);
        let fh = Fh::Node {
            tree: key,
            ino: st.stx_ino,
            gen: fs::generation(&st),
        };
        Ok(Obj {
            fh,
            attr: attr_for(&fh, &d.view, &st),
            view: d.view.clone(),
            on_disk: Some((
                tree.clone(),
                Node {
                    at: dirfd.try_clone().map_err(|_| Nfsstat::IO)?,
                    name: Some(n.to_os_string()),
                    st,
                },
            )),
        })
    };
    let asked = match &what {
        Make::File { sattr, .. }
        | Make::Dir(sattr)
        | Make::Symlink(sattr, _)
        | Make::Special { sattr, .. } => sattr,
    };
    // Devices are made by root only, as on any POSIX server.
    if matches!(
        what,
        Make::Special {
            ftype: NF3CHR | NF3BLK,
            ..
        }
    ) && !who.is_root()
    {
        return Err(Nfsstat::PERM);
    }
    if asked.uid == Some(u32::MAX) || asked.gid == Some(u32::MAX) {
        return Err(Nfsstat::INVAL);
    }
    let existing = match fs::statx_at(&dirfd, n) {
        Ok(st) => Some(st),
        Err(Errno::NOENT) => None,
        Err(err) => return Err(err.into()),
    };
    match (&what, existing) {
        (Make::File { how, sattr, verf }, Some(st)) => {
            match *how {
                GUARDED => return Err(Nfsstat::EXIST),
                EXCLUSIVE => {
                    let (v0, v1) = verifier_times(verf);
                    if is_reg(&st)
                        && st.stx_atime.tv_sec as u32 == v0
                        && st.stx_mtime.tv_sec as u32 == v1
                    {
                        return found(st); // a retransmission of our own create
                    }
                    return Err(Nfsstat::EXIST);
                }
                _ => {}
            }
            if !is_reg(&st) {
                return Err(if is_dir(&st) {
                    Nfsstat::ISDIR
                } else {
                    Nfsstat::EXIST
                });
            }
            // UNCHECKED on an existing file: open it, applying only the size.
            let o = found(st)?;
            let size_only = Sattr {
                size: sattr.size,
                ..Sattr::default()
            };
            set_attrs(cx, &o, &size_only, false)?;
            let mut o = o;
            o.refresh();
            return Ok(o);
        }
        (_, Some(_)) => return Err(Nfsstat::EXIST),
        (_, None) => {}
    }
    let bytes = match &what {
        Make::Symlink(_, t) => t.len() as i64,
        _ => 0,
    };
    charge(cx, &d.view, bytes, 1)?;
    let made = locked(cx, &d.view.uuid, || -> NfsRes<Statx> {
        match &what {
            Make::File {
                how, sattr, verf, ..
            } => {
                let mode = sattr.mode.unwrap_or(0o644) & 0o7777;
                let f = rfs::openat(
                    &dirfd,
                    n,
                    OFlags::CREATE
                        | OFlags::EXCL
                        | OFlags::WRONLY
                        | OFlags::NOFOLLOW
                        | OFlags::CLOEXEC,
                    Mode::from_raw_mode(0o600),
                )?;
                let done = (|| -> NfsRes<()> {
                    rfs::fchown(&f, Some(uid(who.uid)), Some(gid(gid_new)))?;
                    rfs::fchmod(&f, Mode::from_raw_mode(mode))?;
                    if *how == EXCLUSIVE {
                        let (v0, v1) = verifier_times(verf);
                        rfs::futimens(
                            &f,
                            &Timestamps {
                                last_access: Timespec {
                                    tv_sec: i64::from(v0),
                                    tv_nsec: 0,
                                },
                                last_modification: Timespec {
                                    tv_sec: i64::from(v1),
                                    tv_nsec: 0,
                                },
                            },
                        )?;
                    }
                    Ok(())
                })();
                if let Err(err) = done {
                    let _ = rfs::unlinkat(&dirfd, n, AtFlags::empty());
                    return Err(err);
                }
                Ok(fs::statx_fd(&f)?)
            }
            Make::Dir(sattr) => {
                let mut mode = sattr.mode.unwrap_or(0o755) & 0o7777;
                if d.attr.mode & 0o2000 != 0 {
                    mode |= 0o2000;
                }
                rfs::mkdirat(&dirfd, n, Mode::from_raw_mode(0o700))?;
                let done = (|| -> NfsRes<Statx> {
                    let f = rfs::openat(
                        &dirfd,
                        n,
                        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                        Mode::empty(),
                    )?;
                    rfs::fchown(&f, Some(uid(who.uid)), Some(gid(gid_new)))?;
                    rfs::fchmod(&f, Mode::from_raw_mode(mode))?;
                    Ok(fs::statx_fd(&f)?)
                })();
                if done.is_err() {
                    let _ = rfs::unlinkat(&dirfd, n, AtFlags::REMOVEDIR);
                }
                done
            }
            Make::Symlink(_, target) => {
                if target.is_empty() || target.contains(&0) {
                    return Err(Nfsstat::INVAL);
                }
                rfs::symlinkat(OsStr::from_bytes(target), &dirfd, n)?;
                rfs::chownat(
                    &dirfd,
                    n,
                    Some(uid(who.uid)),
                    Some(gid(gid_new)),
                    AtFlags::SYMLINK_NOFOLLOW,
                )?;
                Ok(fs::statx_at(&dirfd, n)?)
            }
            Make::Special { ftype, sattr, rdev } => {
                let (kind, dev) = match *ftype {
                    NF3CHR => (rfs::FileType::CharacterDevice, rfs::makedev(rdev.0, rdev.1)),
                    NF3BLK => (rfs::FileType::BlockDevice, rfs::makedev(rdev.0, rdev.1)),
                    NF3SOCK => (rfs::FileType::Socket, 0),
                    _ => (rfs::FileType::Fifo, 0),
                };
                let mode = sattr.mode.unwrap_or(0o644) & 0o7777;
                rfs::mknodat(&dirfd, n, kind, Mode::from_raw_mode(0o600), dev)?;
                let done = (|| -> NfsRes<Statx> {
                    rfs::chownat(
                        &dirfd,
                        n,
                        Some(uid(who.uid)),
                        Some(gid(gid_new)),
                        AtFlags::SYMLINK_NOFOLLOW,
                    )?;
                    rfs::chmodat(&dirfd, n, Mode::from_raw_mode(mode), AtFlags::empty())?;
                    Ok(fs::statx_at(&dirfd, n)?)
                })();
                if done.is_err() {
                    let _ = rfs::unlinkat(&dirfd, n, AtFlags::empty());
                }
                done
            }
        }
    });
    let st = match made {
        Ok(st) => st,
        Err(err) => {
            refund(cx, &d.view, bytes, 1);
            return Err(err);
        }
    };
    let mut o = found(st)?;
    // Whatever else the client asked for at creation (size, times; mode was applied).
    let rest = match &what {
        Make::File { how, sattr, .. } if *how != EXCLUSIVE => Sattr {
            mode: None,
            uid: sattr.uid.filter(|u| *u != who.uid),
            gid: sattr.gid.filter(|g| *g != gid_new),
            ..*sattr
        },
        Make::Dir(sattr) | Make::Symlink(sattr, _) | Make::Special { sattr, .. } => Sattr {
            mode: None,
            size: None,
            uid: sattr.uid.filter(|u| *u != who.uid),
            gid: sattr.gid.filter(|g| *g != gid_new),
            ..*sattr
        },
        _ => Sattr::default(),
    };
    set_attrs(cx, &o, &rest, true)?;
    o.refresh();
    Ok(o)
}

/// An EXCLUSIVE create's verifier, kept in the new file's access and modification seconds (as
/// the Linux server does) until the client sets real times.
fn verifier_times(v: &[u8; 8]) -> (u32, u32) {
    (
        u32::from_be_bytes([v[0], v[1], v[2], v[3]]) & 0x7fff_ffff,
        u32::from_be_bytes([v[4], v[5], v[6], v[7]]) & 0x7fff_ffff,
    )
}

/// Sticky directories: only the owner of the entry or of the directory (or root) may remove or
/// replace it.
fn sticky_ok(d: &Obj, entry: &Statx) -> bool {
    let who = d.who();
    d.attr.mode & 0o1000 == 0 || who.is_root() || who.uid == entry.stx_uid || who.uid == d.attr.uid
}

/// What an entry gives back when it goes: bytes (files and symlinks) and one file.
fn footprint(st: &Statx) -> i64 {
    if is_dir(st) {
        0
    } else {
        st.stx_size as i64
    }
}

fn remove(cx: &Cx, a: &mut Dec, e: &mut Enc, dir_wanted: bool) -> Res<()> {
    let dir = fh_arg(a)?;
    let name = name_arg(a)?;
    let mut d = match obtain(cx, dir) {
        Ok(d) => d,
        Err(s) => {
            status(e, s);
            put_wcc(e, None, None);
            return Ok(());
        }
    };
    let pre = pre_of(&d.attr);
    let r = (|| -> NfsRes<()> {
        if !d.attr.is_dir() {
            return Err(Nfsstat::NOTDIR);
        }
        let n = name_of(name)?;
        if name == b"." {
            return Err(Nfsstat::INVAL);
        }
        if name == b".." {
            return Err(if dir_wanted {
                Nfsstat::NOTEMPTY
            } else {
                Nfsstat::ISDIR
            });
        }
        d.check_writable()?;
        if reserved(&d, name) {
            return Err(Nfsstat::ACCES);
        }
        d.check(W | X)?;
        let (tree, dnode) = d.on_disk.as_ref().ok_or(Nfsstat::ROFS)?;
        let dirfd = dnode.dir_fd().map_err(stale_if_missing)?;
        let st = fs::statx_at(&dirfd, n)?;
        if !sticky_ok(&d, &st) {
            return Err(Nfsstat::ACCES);
        }
        match (dir_wanted, is_dir(&st)) {
            (true, false) => return Err(Nfsstat::NOTDIR),
            (false, true) => return Err(Nfsstat::ISDIR),
            _ => {}
        }
        let flags = if dir_wanted {
            AtFlags::REMOVEDIR
        } else {
            AtFlags::empty()
        };
        let _s = cx.nfs.stripe(&d.view.uuid, st.stx_ino);
        locked(cx, &d.view.uuid, || rfs::unlinkat(&dirfd, n, flags))?;
        tree.removed(st.stx_ino, dnode.ino(), n, st.stx_nlink > 1 && !is_dir(&st));
        refund(cx, &d.view, footprint(&st), 1);
        Ok(())
    })();
    d.refresh();
    status(e, r.err().unwrap_or(Nfsstat::OK));
    put_wcc(e, Some(pre), Some(&d.attr));
    Ok(())
}

fn rename(cx: &Cx, a: &mut Dec, e: &mut Enc) -> Res<()> {
    let from_dir = fh_arg(a)?;
    let from_name = name_arg(a)?;
    let to_dir = fh_arg(a)?;
    let to_name = name_arg(a)?;
    let from = obtain(cx, from_dir);
    let to = obtain(cx, to_dir);
    let (mut fd, mut td) = match (from, to) {
        (Ok(f), Ok(t)) => (f, t),
        (f, t) => {
            let s = f.as_ref().err().or(t.as_ref().err()).copied();
            status(e, s.unwrap_or(Nfsstat::SERVERFAULT));
            put_wcc(e, None, f.as_ref().ok().map(|o| &o.attr));
            put_wcc(e, None, t.as_ref().ok().map(|o| &o.attr));
            return Ok(());
        }
    };
    let (fpre, tpre) = (pre_of(&fd.attr), pre_of(&td.attr));
    let r = (|| -> NfsRes<()> {
        if !fd.attr.is_dir() || !td.attr.is_dir() {
            return Err(Nfsstat::NOTDIR);
        }
        let fname = name_of(from_name)?;
        if from_name == b"." || from_name == b".." {
            return Err(Nfsstat::INVAL);
        }
        let tname = new_name(&td, to_name)?;
        fd.check_writable()?;
        td.check_writable()?;
        if reserved(&fd, from_name) {
            return Err(Nfsstat::ACCES);
        }
        if fd.fh.tree() != td.fh.tree() || !same_qtree(&fd, &td) {
            return Err(Nfsstat::XDEV);
        }
        fd.check(W | X)?;
        td.check(W | X)?;
        let (tree, fnode) = fd.on_disk.as_ref().ok_or(Nfsstat::ROFS)?;
        let tnode = td.node()?;
        let ffd = fnode.dir_fd().map_err(stale_if_missing)?;
        let tfd = tnode.dir_fd().map_err(stale_if_missing)?;
        let src = fs::statx_at(&ffd, fname)?;
        if !sticky_ok(&fd, &src) {
            return Err(Nfsstat::ACCES);
        }
        let dst = match fs::statx_at(&tfd, tname) {
            Ok(st) => Some(st),
            Err(Errno::NOENT) => None,
            Err(err) => return Err(err.into()),
        };
        if let Some(dst) = &dst {
            if dst.stx_ino == src.stx_ino {
                return Ok(()); // two names of one file: nothing to do
            }
            if !sticky_ok(&td, dst) {
                return Err(Nfsstat::ACCES);
            }
        }
        locked(cx, &fd.view.uuid, || {
            rfs::renameat(&ffd, fname, &tfd, tname)
        })?;
        tree.remember(src.stx_ino, tnode.ino(), tname);
        if let Some(dst) = dst {
            tree.removed(
                dst.stx_ino,
                tnode.ino(),
                tname,
                dst.stx_nlink > 1 && !is_dir(&dst),
            );
            refund(cx, &td.view, footprint(&dst), 1);
        }
        Ok(())
    })();
    fd.refresh();
    td.refresh();
    status(e, r.err().unwrap_or(Nfsstat::OK));
    put_wcc(e, Some(fpre), Some(&fd.attr));
    put_wcc(e, Some(tpre), Some(&td.attr));
    Ok(())
}

fn link(cx: &Cx, a: &mut Dec, e: &mut Enc) -> Res<()> {
    let file = fh_arg(a)?;
    let dir = fh_arg(a)?;
    let name = name_arg(a)?;
    let (mut f, mut d) = match (obtain(cx, file), obtain(cx, dir)) {
        (Ok(f), Ok(d)) => (f, d),
        (f, d) => {
            let s = f.as_ref().err().or(d.as_ref().err()).copied();
            status(e, s.unwrap_or(Nfsstat::SERVERFAULT));
            put_post(e, f.as_ref().ok().map(|o| &o.attr));
            put_wcc(e, None, d.as_ref().ok().map(|o| &o.attr));
            return Ok(());
        }
    };
    let dpre = pre_of(&d.attr);
    let r = (|| -> NfsRes<()> {
        if !d.attr.is_dir() {
            return Err(Nfsstat::NOTDIR);
        }
        if f.attr.is_dir() {
            return Err(Nfsstat::ISDIR);
        }
        let n = new_name(&d, name)?;
        d.check_writable()?;
        if f.fh.tree() != d.fh.tree() || !same_qtree(&f, &d) {
            return Err(Nfsstat::XDEV);
        }
        d.check(W | X)?;
        let fnode = f.node()?;
        let fname = fnode.name.as_deref().ok_or(Nfsstat::INVAL)?;
        let (tree, dnode) = d.on_disk.as_ref().ok_or(Nfsstat::ROFS)?;
        let dirfd = dnode.dir_fd().map_err(stale_if_missing)?;
        let bytes = footprint(&fnode.st);
        charge(cx, &d.view, bytes, 1)?;
        let r = locked(cx, &d.view.uuid, || {
            rfs::linkat(&fnode.at, fname, &dirfd, n, AtFlags::empty())
        });
        if let Err(err) = r {
            refund(cx, &d.view, bytes, 1);
            return Err(err.into());
        }
        tree.remember(fnode.ino(), dnode.ino(), n);
        Ok(())
    })();
    f.refresh();
    d.refresh();
    status(e, r.err().unwrap_or(Nfsstat::OK));
    put_post(e, Some(&f.attr));
    put_wcc(e, Some(dpre), Some(&d.attr));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// FSSTAT, FSINFO, PATHCONF, COMMIT

fn fsstat(cx: &Cx, a: &mut Dec, e: &mut Enc) -> Res<()> {
    let fh = fh_arg(a)?;
    match obtain(cx, fh) {
        Ok(o) => {
            let v = &o.view;
            let (mut tbytes, mut fbytes) = (v.size_total, v.size_available);
            let (mut tfiles, mut ffiles) =
                (v.files_total, v.files_total.saturating_sub(v.files_used));
            // Inside a qtree with a tree quota, the quota is the file system's size (as ONTAP
            // answers a quota-aware df).
            if let Some(q) = &v.qtree {
                let l = q.limits.unwrap_or_default();
                if let Some(kib) = l.disk {
                    tbytes = kib.saturating_mul(1024);
                    fbytes = fbytes.min(tbytes.saturating_sub(q.data_used));
                }
                if let Some(max) = l.files {
                    tfiles = max;
                    ffiles = ffiles.min(max.saturating_sub(q.files_used));
                }
            }
            status(e, Nfsstat::OK);
            put_post(e, Some(&o.attr));
            e.u64(tbytes)
                .u64(fbytes)
                .u64(fbytes)
                .u64(tfiles)
                .u64(ffiles)
                .u64(ffiles)
                .u32(0);
        }
        Err(s) => {
            status(e, s);
            put_post(e, None);
        }
    }
    Ok(())
}

const FSF3_LINK: u32 = 0x01;
const FSF3_SYMLINK: u32 = 0x02;
const FSF3_HOMOGENEOUS: u32 = 0x08;
const FSF3_CANSETTIME: u32 = 0x10;

fn fsinfo(cx: &Cx, a: &mut Dec, e: &mut Enc) -> Res<()> {
    let fh = fh_arg(a)?;
    match obtain(cx, fh) {
        Ok(o) => {
            status(e, Nfsstat::OK);
            put_post(e, Some(&o.attr));
            e.u32(MAX_IO) // rtmax
                .u32(MAX_IO) // rtpref
                .u32(4096) // rtmult
                .u32(MAX_IO) // wtmax
                .u32(MAX_IO) // wtpref
                .u32(4096) // wtmult
                .u32(64 << 10) // dtpref
                .u64(i64::MAX as u64) // maxfilesize
                .u32(0) // time_delta: 1 ns
                .u32(1)
                .u32(FSF3_LINK | FSF3_SYMLINK | FSF3_HOMOGENEOUS | FSF3_CANSETTIME);
        }
        Err(s) => {
            status(e, s);
            put_post(e, None);
        }
    }
    Ok(())
}

fn pathconf(cx: &Cx, a: &mut Dec, e: &mut Enc) -> Res<()> {
    let fh = fh_arg(a)?;
    match obtain(cx, fh) {
        Ok(o) => {
            status(e, Nfsstat::OK);
            put_post(e, Some(&o.attr));
            e.u32(65_000) // linkmax
                .u32(fs::NAME_MAX as u32)
                .bool(true) // no_trunc
                .bool(true) // chown_restricted
                .bool(false) // case_insensitive
                .bool(true); // case_preserving
        }
        Err(s) => {
            status(e, s);
            put_post(e, None);
        }
    }
    Ok(())
}

fn commit(cx: &Cx, a: &mut Dec, e: &mut Enc) -> Res<()> {
    let fh = fh_arg(a)?;
    let _offset = a.u64()?;
    let _count = a.u32()?;
    let o = match obtain(cx, fh) {
        Ok(o) => o,
        Err(s) => {
            status(e, s);
            put_wcc(e, None, None);
            return Ok(());
        }
    };
    let pre = pre_of(&o.attr);
    let r = (|| -> NfsRes<()> {
        if o.fh.read_only() || !is_reg(&o.node()?.st) {
            return Ok(());
        }
        let node = o.node()?;
        locked(cx, &o.view.uuid, || -> NfsRes<()> {
            let f = node.open(OFlags::RDONLY)?;
            f.sync_all()?;
            Ok(())
        })
    })();
    status(e, r.err().unwrap_or(Nfsstat::OK));
    put_wcc(e, Some(pre), Some(&o.attr));
    if r.is_ok() {
        e.fixed(&cx.nfs.write_verifier);
    }
    Ok(())
}
