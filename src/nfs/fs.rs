//! A volume's file tree on the local disk, reached only from its root directory.
//!
//! Confinement: every path is walked one component at a time with `openat(O_NOFOLLOW)`, from a
//! descriptor of the tree root, using names that contain no `/` or NUL and are never `.` or
//! `..`. A symlink is never followed by the server (clients resolve symlinks themselves), so no
//! name and no symlink a client makes can lead outside the tree, even while other clients rename
//! directories underneath.
//!
//! Finding a file again from its handle (volume, inode, generation): a per-tree map from inode
//! to (parent inode, name) is filled by every LOOKUP, READDIRPLUS and create, and by one full scan
//! of the tree when a handle is not in it (the first handles used after a restart). A hit is
//! verified by `statx` (inode and generation must match), so a stale map entry can never return
//! the wrong file; a miss after a complete scan is NFS3ERR_STALE. A tree whose root directory
//! changed identity (a snapshot restore replaces it) starts a new map.

use super::handle::TreeKey;
use rustix::fs::{self as rfs, AtFlags, Mode, OFlags, Statx, StatxFlags};
use rustix::io::Errno;
use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The longest name a client may create or look up.
pub const NAME_MAX: usize = 255;
/// How deep a tree scan goes.
const MAX_DEPTH: usize = 512;

pub const S_IFMT: u32 = 0o170_000;
pub const S_IFDIR: u32 = 0o040_000;
pub const S_IFREG: u32 = 0o100_000;
pub const S_IFLNK: u32 = 0o120_000;

const WANT: StatxFlags = StatxFlags::BASIC_STATS.union(StatxFlags::BTIME);

pub fn statx_at(dir: impl AsFd, name: &OsStr) -> Result<Statx, Errno> {
    rfs::statx(dir, name, AtFlags::SYMLINK_NOFOLLOW, WANT)
}

pub fn statx_fd(fd: impl AsFd) -> Result<Statx, Errno> {
    rfs::statx(fd, c"", AtFlags::EMPTY_PATH, WANT)
}

pub fn mode_of(st: &Statx) -> u32 {
    u32::from(st.stx_mode)
}

pub fn is_dir(st: &Statx) -> bool {
    mode_of(st) & S_IFMT == S_IFDIR
}

pub fn is_reg(st: &Statx) -> bool {
    mode_of(st) & S_IFMT == S_IFREG
}

pub fn is_lnk(st: &Statx) -> bool {
    mode_of(st) & S_IFMT == S_IFLNK
}

/// The inode's generation: derived from its birth time, so a reused inode number is told apart.
pub fn generation(st: &Statx) -> u32 {
    if st.stx_mask & StatxFlags::BTIME.bits() == 0 {
        return 0;
    }
    let x =
        (st.stx_btime.tv_sec as u64).wrapping_mul(1_000_000_007) ^ u64::from(st.stx_btime.tv_nsec);
    (x ^ (x >> 32)) as u32
}

/// A name a client may use for an entry: not empty, no `/` or NUL, at most [`NAME_MAX`]
/// bytes. `.` and `..` pass here; callers that create refuse them.
pub fn valid_name(name: &[u8]) -> Result<&OsStr, NameError> {
    if name.is_empty() || name.contains(&b'/') || name.contains(&0) {
        return Err(NameError::Invalid);
    }
    if name.len() > NAME_MAX {
        return Err(NameError::TooLong);
    }
    Ok(OsStr::from_bytes(name))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameError {
    Invalid,
    TooLong,
}

/// One object of a tree, found and stat'ed.
pub struct Node {
    /// O_PATH descriptor of the directory holding the entry; for the tree root, the root. Shared
    /// (the root's and kept directories' descriptors are handed out without a dup).
    pub at: Arc<OwnedFd>,
    /// The entry's name in `at`; None for the tree root.
    pub name: Option<OsString>,
    pub st: Statx,
}

impl Node {
    pub fn ino(&self) -> u64 {
        self.st.stx_ino
    }

    pub fn is_root(&self) -> bool {
        self.name.is_none()
    }

    /// An O_PATH descriptor of this node itself (it must be a directory).
    pub fn dir_fd(&self) -> Result<Arc<OwnedFd>, Errno> {
        if !is_dir(&self.st) {
            return Err(Errno::NOTDIR);
        }
        match &self.name {
            None => Ok(self.at.clone()),
            Some(n) => {
                let fd = rfs::openat(
                    &self.at,
                    n.as_os_str(),
                    OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )?;
                same_inode(&fd, self.ino())?;
                Ok(Arc::new(fd))
            }
        }
    }

    /// Open this node for I/O (never following a symlink), checking it is still the same inode.
    pub fn open(&self, flags: OFlags) -> Result<std::fs::File, Errno> {
        let flags = flags | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NOCTTY;
        let fd = match &self.name {
            None => rfs::openat(&self.at, c".", flags, Mode::empty())?,
            Some(n) => rfs::openat(&self.at, n.as_os_str(), flags, Mode::empty())?,
        };
        same_inode(&fd, self.ino())?;
        Ok(std::fs::File::from(fd))
    }

    /// Stat again (after a change).
    pub fn refresh(&mut self) -> Result<(), Errno> {
        self.st = match &self.name {
            None => statx_fd(&self.at)?,
            Some(n) => statx_at(&self.at, n)?,
        };
        Ok(())
    }
}

fn same_inode(fd: &OwnedFd, ino: u64) -> Result<(), Errno> {
    if statx_fd(fd)?.stx_ino == ino {
        Ok(())
    } else {
        Err(Errno::STALE)
    }
}

#[derive(Default)]
struct Cache {
    /// (device major, minor, inode) of the root the map belongs to.
    root: Option<(u32, u32, u64)>,
    /// inode -> (parent inode, name).
    names: HashMap<u64, (u64, OsString)>,
    /// The map holds every entry of the tree (a scan was done and changes were followed).
    complete: bool,
    /// Open (O_PATH) descriptors of directories by inode, so a handle is found again with one
    /// `statx` in its parent instead of a walk from the root. A descriptor follows its directory
    /// through renames; a removed one finds nothing (then the walk runs); a new root (a restore)
    /// empties the whole cache with the map.
    dirs: HashMap<u64, Arc<OwnedFd>>,
    /// An O_PATH descriptor of the root whose identity is `root`: a call finds the root with one
    /// `statx` of its path instead of an open, a `statx` and a close.
    root_fd: Option<Arc<OwnedFd>>,
    /// The simulator's data epoch when the root's path last showed the identity `root`. Until
    /// the epoch moves (a data action: restore, removal, reset, loaded state), only the
    /// simulator could have replaced the root, so a call trusts the kept descriptors without
    /// looking the root's path up again.
    checked: Option<u64>,
}

/// Directory descriptors kept per tree (then the set starts over).
const MAX_DIR_FDS: usize = 1024;

impl Cache {
    fn path_of(&self, mut ino: u64, root: u64) -> Option<Vec<OsString>> {
        let mut out = Vec::new();
        while ino != root {
            let (parent, name) = self.names.get(&ino)?;
            out.push(name.clone());
            if out.len() > MAX_DEPTH {
                return None;
            }
            ino = *parent;
        }
        out.reverse();
        Some(out)
    }
}

/// Files kept open for READ, WRITE and COMMIT, across every tree.
const MAX_OPEN_FILES: usize = 128;

/// Regular files kept open so a stream of READs or WRITEs does not open and close the file on
/// every call. Keyed by tree, inode and generation: a handle whose object was replaced (a new
/// life of the inode number) never meets the old file's descriptor, and a handle is only
/// looked up here after it was resolved in its tree on disk. Bounded (least recently used goes
/// first); a tree's files are closed when its root changes identity (a restore) or the tree is
/// forgotten, a file's when it is removed or renamed over, and all of them when the data
/// directories change under NFS (the simulator's data epoch moves).
#[derive(Default)]
struct OpenFiles {
    map: HashMap<(TreeKey, u64, u32), OpenFile>,
    tick: u64,
    epoch: u64,
}

struct OpenFile {
    file: Arc<std::fs::File>,
    /// Opened for reading and writing (else for reading only).
    writable: bool,
    used: u64,
}

impl OpenFiles {
    fn forget_tree(&mut self, key: &TreeKey) {
        self.map.retain(|k, _| k.0 != *key);
    }
}

/// The inode maps of every tree served.
#[derive(Default)]
pub struct Trees {
    map: Mutex<HashMap<TreeKey, Arc<Mutex<Cache>>>>,
    files: Arc<Mutex<OpenFiles>>,
}

impl Trees {
    pub fn tree(&self, key: TreeKey, root: PathBuf) -> Tree {
        let cache = self
            .map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key)
            .or_default()
            .clone();
        Tree {
            root,
            key,
            cache,
            files: self.files.clone(),
        }
    }

    /// Forget a tree (its volume or snapshot is gone).
    pub fn drop_tree(&self, key: &TreeKey) {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
        lock(&self.files).forget_tree(key);
    }

    /// How many files are kept open now.
    pub fn open_files(&self) -> usize {
        lock(&self.files).map.len()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One tree: a volume's active file system or a snapshot.
#[derive(Clone)]
pub struct Tree {
    root: PathBuf,
    key: TreeKey,
    cache: Arc<Mutex<Cache>>,
    files: Arc<Mutex<OpenFiles>>,
}

impl Tree {
    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The regular file `node` open for I/O: a kept descriptor when there is one, else a new
    /// one, kept. `write`: the caller writes (a file the server may only read is then opened
    /// for writing alone and not kept). `epoch`: the simulator's data epoch now; a different one
    /// than the kept files were opened under closes them all first.
    pub fn open_file(
        &self,
        node: &Node,
        write: bool,
        epoch: u64,
    ) -> Result<Arc<std::fs::File>, Errno> {
        let key = (self.key, node.ino(), generation(&node.st));
        {
            let mut f = lock(&self.files);
            if f.epoch != epoch {
                f.map.clear();
                f.epoch = epoch;
            }
            f.tick += 1;
            let tick = f.tick;
            if let Some(o) = f.map.get_mut(&key) {
                if o.writable || !write {
                    o.used = tick;
                    return Ok(o.file.clone());
                }
            }
        }
        let (file, writable) = match node.open(OFlags::RDWR) {
            Ok(f) => (f, true),
            Err(Errno::ACCESS | Errno::PERM | Errno::ROFS | Errno::TXTBSY) if write => {
                return node.open(OFlags::WRONLY).map(Arc::new);
            }
            Err(Errno::ACCESS | Errno::PERM | Errno::ROFS | Errno::TXTBSY) => {
                (node.open(OFlags::RDONLY)?, false)
            }
            Err(e) => return Err(e),
        };
        let file = Arc::new(file);
        let mut f = lock(&self.files);
        if f.epoch != epoch {
            // The data changed while this was opened: use it for this call only.
            return Ok(file);
        }
        if f.map.len() >= MAX_OPEN_FILES && !f.map.contains_key(&key) {
            if let Some(old) = f.map.iter().min_by_key(|(_, o)| o.used).map(|(k, _)| *k) {
                f.map.remove(&old);
            }
        }
        let used = f.tick;
        f.map.insert(
            key,
            OpenFile {
                file: file.clone(),
                writable,
                used,
            },
        );
        Ok(file)
    }

    /// Keep `file`, just made (open for reading and writing) with attributes `st`, for the I/O
    /// that follows. `epoch`: the simulator's data epoch read before it was made (a different one
    /// now: not kept).
    pub fn keep_file(&self, st: &Statx, file: std::fs::File, epoch: u64) {
        let key = (self.key, st.stx_ino, generation(st));
        let mut f = lock(&self.files);
        if f.epoch != epoch {
            return;
        }
        if f.map.len() >= MAX_OPEN_FILES && !f.map.contains_key(&key) {
            if let Some(old) = f.map.iter().min_by_key(|(_, o)| o.used).map(|(k, _)| *k) {
                f.map.remove(&old);
            }
        }
        f.tick += 1;
        let used = f.tick;
        f.map.insert(
            key,
            OpenFile {
                file: Arc::new(file),
                writable: true,
                used,
            },
        );
    }

    /// Close the kept descriptors of inode `ino` (removed, or renamed over).
    pub fn close_file(&self, ino: u64) {
        let key = self.key;
        lock(&self.files)
            .map
            .retain(|k, _| !(k.0 == key && k.1 == ino));
    }

    pub fn root_path(&self) -> &Path {
        &self.root
    }

    /// The tree root. A root with a new identity (replaced by a restore) resets the map.
    pub fn root(&self) -> Result<Node, Errno> {
        self.root_at(None)
    }

    /// [`Tree::root`], under data epoch `epoch` (read before the call): when the root was
    /// checked under the same epoch, it is stated through its kept descriptor (no walk of its
    /// path); else it is checked, and the check noted for `epoch`.
    pub fn root_at(&self, epoch: Option<u64>) -> Result<Node, Errno> {
        if let Some(e) = epoch {
            let kept = {
                let c = self.cache();
                c.root_fd.clone().filter(|_| c.checked == Some(e))
            };
            if let Some(fd) = kept {
                let st = statx_fd(&fd)?;
                return Ok(Node {
                    at: fd,
                    name: None,
                    st,
                });
            }
        }
        let st = rfs::statx(rfs::CWD, &self.root, AtFlags::empty(), WANT)?;
        let id = (st.stx_dev_major, st.stx_dev_minor, st.stx_ino);
        let kept = {
            let mut c = self.cache();
            if c.root != Some(id) {
                *c = Cache {
                    root: Some(id),
                    ..Cache::default()
                };
                lock(&self.files).forget_tree(&self.key);
            }
            if epoch.is_some() {
                c.checked = epoch;
            }
            c.root_fd.clone()
        };
        if let Some(fd) = kept {
            return Ok(Node {
                at: fd,
                name: None,
                st,
            });
        }
        let fd = Arc::new(rfs::openat(
            rfs::CWD,
            &self.root,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?);
        let st = statx_fd(&fd)?;
        let mut c = self.cache();
        // Kept only when it is the root the map belongs to (not one replaced meanwhile).
        if c.root == Some((st.stx_dev_major, st.stx_dev_minor, st.stx_ino)) {
            c.root_fd = Some(fd.clone());
        }
        Ok(Node {
            at: fd,
            name: None,
            st,
        })
    }

    /// Find the object with inode `ino` and generation `gen`, or ESTALE.
    pub fn resolve(&self, ino: u64, gen: u32) -> Result<Node, Errno> {
        self.resolve_at(ino, gen, None)
    }

    /// [`Tree::resolve`] under data epoch `epoch` (read before the call): when the root was
    /// checked under the same epoch, an object whose parent's descriptor is kept is found with
    /// one `statx` there, the root not looked at.
    pub fn resolve_at(&self, ino: u64, gen: u32, epoch: Option<u64>) -> Result<Node, Errno> {
        if let Some(e) = epoch {
            let trusted = {
                let c = self.cache();
                c.checked == Some(e) && c.root.is_some_and(|r| r.2 != ino)
            };
            if trusted {
                if let Some(n) = self.in_kept_parent(ino, gen) {
                    return Ok(n);
                }
            }
        }
        let root = self.root_at(epoch)?;
        if ino == root.ino() {
            return Ok(root);
        }
        if let Some(n) = self.in_kept_parent(ino, gen) {
            return Ok(n);
        }
        for attempt in 0..2 {
            let path = {
                let c = self.cache();
                let p = c.path_of(ino, root.ino());
                if p.is_none() && c.complete {
                    return Err(Errno::STALE);
                }
                p
            };
            if let Some(path) = path {
                if let Ok(n) = walk(&root, &path) {
                    if n.ino() == ino && generation(&n.st) == gen {
                        self.keep_parent(ino, &n);
                        return Ok(n);
                    }
                    if n.ino() == ino {
                        // Same number, another life: the handle is stale.
                        return Err(Errno::STALE);
                    }
                }
                // The map was wrong (changed outside our view): forget the entry.
                self.cache().names.remove(&ino);
            }
            if attempt == 0 {
                // A scan reads the whole tree: not on an async task.
                if !super::inline::may_block() {
                    return Err(Errno::AGAIN);
                }
                self.scan(&root)?;
            }
        }
        Err(Errno::STALE)
    }

    /// The object through the kept descriptor of its parent directory, when both are known and
    /// the entry there is still this inode of this generation.
    fn in_kept_parent(&self, ino: u64, gen: u32) -> Option<Node> {
        let (name, fd) = {
            let c = self.cache();
            let (parent, name) = c.names.get(&ino)?;
            (name.clone(), c.dirs.get(parent)?.clone())
        };
        let st = statx_at(&*fd, &name).ok()?;
        if st.stx_ino != ino || generation(&st) != gen {
            return None;
        }
        Some(Node {
            at: fd,
            name: Some(name),
            st,
        })
    }

    /// Keep the descriptor of the parent directory a walk found `n` (inode `ino`) in.
    fn keep_parent(&self, ino: u64, n: &Node) {
        let Some(parent) = self.cache().names.get(&ino).map(|(p, _)| *p) else {
            return;
        };
        let Ok(st) = statx_fd(&n.at) else {
            return;
        };
        let fd = n.at.clone();
        if st.stx_ino != parent {
            return;
        }
        let mut c = self.cache();
        if c.dirs.len() >= MAX_DIR_FDS {
            c.dirs.clear();
        }
        c.dirs.insert(parent, fd);
    }

    /// An O_PATH descriptor of directory `node`: the one kept for its inode when there is one
    /// (no open, statx and close per call), else a new one, then kept. A kept descriptor holds its
    /// inode, so the number cannot name another directory while it is kept; it follows the
    /// directory through renames and is dropped when the directory is removed through the shim
    /// (see [`Tree::removed`]) or the root changes identity (a restore).
    pub fn dir_fd(&self, node: &Node) -> Result<Arc<OwnedFd>, Errno> {
        if node.is_root() || !is_dir(&node.st) {
            return node.dir_fd();
        }
        if let Some(fd) = self.cache().dirs.get(&node.ino()) {
            return Ok(fd.clone());
        }
        let fd = node.dir_fd()?;
        let mut c = self.cache();
        if c.dirs.len() >= MAX_DIR_FDS {
            c.dirs.clear();
        }
        c.dirs.insert(node.ino(), fd.clone());
        Ok(fd)
    }

    /// How many directory descriptors this tree keeps (for tests).
    pub fn kept_dirs(&self) -> usize {
        self.cache().dirs.len()
    }

    /// Look up `name` in directory `dir` (whose O_PATH descriptor is `dirfd`), and remember it.
    pub fn lookup(&self, dir: &Node, dirfd: &Arc<OwnedFd>, name: &OsStr) -> Result<Node, Errno> {
        let st = statx_at(dirfd, name)?;
        self.remember(st.stx_ino, dir.ino(), name);
        Ok(Node {
            at: dirfd.clone(),
            name: Some(name.to_os_string()),
            st,
        })
    }

    /// The first component of the path of `ino` below the root, when the map knows it (what
    /// qtree an object is in).
    pub fn top_name(&self, ino: u64) -> Option<OsString> {
        let c = self.cache();
        let root = c.root?.2;
        c.path_of(ino, root)?.into_iter().next()
    }

    pub fn remember(&self, ino: u64, parent: u64, name: &OsStr) {
        let mut c = self.cache();
        // Most calls (READDIRPLUS, LOOKUP) confirm what is known: no allocation then.
        if c.names
            .get(&ino)
            .is_some_and(|(p, n)| *p == parent && n == name)
        {
            return;
        }
        c.names.insert(ino, (parent, name.to_os_string()));
    }

    /// An entry went away. `other_links`: the inode still has names we may not know.
    pub fn removed(&self, ino: u64, parent: u64, name: &OsStr, other_links: bool) {
        let mut c = self.cache();
        // A removed directory's kept descriptor is closed (its inode is let go).
        if !other_links {
            c.dirs.remove(&ino);
        }
        if c.names
            .get(&ino)
            .is_some_and(|(p, n)| *p == parent && n == name)
        {
            c.names.remove(&ino);
            if other_links {
                c.complete = false;
            }
        }
    }

    /// Walk the whole tree and rebuild the map.
    fn scan(&self, root: &Node) -> Result<(), Errno> {
        let mut names = HashMap::new();
        scan_dir(&root.at, root.ino(), 0, &mut names)?;
        let mut c = self.cache();
        c.names = names;
        c.complete = true;
        Ok(())
    }
}

fn walk(root: &Node, path: &[OsString]) -> Result<Node, Errno> {
    let Some((last, dirs)) = path.split_last() else {
        return Err(Errno::INVAL);
    };
    let mut fd = root.at.clone();
    for d in dirs {
        fd = Arc::new(rfs::openat(
            &fd,
            d.as_os_str(),
            OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )?);
    }
    let st = statx_at(&fd, last)?;
    Ok(Node {
        at: fd,
        name: Some(last.clone()),
        st,
    })
}

fn scan_dir(
    dir: &OwnedFd,
    ino: u64,
    depth: usize,
    names: &mut HashMap<u64, (u64, OsString)>,
) -> Result<(), Errno> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    let entries = list_dir(dir)?;
    for (name, _) in entries {
        let Ok(st) = statx_at(dir, &name) else {
            continue;
        };
        names.insert(st.stx_ino, (ino, name.clone()));
        if is_dir(&st) {
            if let Ok(sub) = rfs::openat(
                dir,
                name.as_os_str(),
                OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            ) {
                scan_dir(&sub, st.stx_ino, depth + 1, names)?;
            }
        }
    }
    Ok(())
}

/// The entries of a directory (without `.` and `..`): (name, inode from the directory).
pub fn list_dir(dir: &OwnedFd) -> Result<Vec<(OsString, u64)>, Errno> {
    // Dir::read_from would reopen with the O_PATH flag, which cannot be read: open for reading.
    let fd = rfs::openat(
        dir,
        c".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let mut d = rfs::Dir::new(fd)?;
    let mut out = Vec::new();
    while let Some(e) = d.read() {
        let e = e?;
        let name = e.file_name().to_bytes();
        if name == b"." || name == b".." {
            continue;
        }
        out.push((OsStr::from_bytes(name).to_os_string(), e.ino()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn key() -> TreeKey {
        TreeKey {
            volume: Uuid::from_u128(5),
            snapshot: None,
        }
    }

    /// A tree whose root holds the directory `a` and in it the file `f`.
    fn tree_with_a_file() -> (tempfile::TempDir, PathBuf, Tree) {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("data");
        std::fs::create_dir_all(root.join("a")).unwrap();
        std::fs::write(root.join("a/f"), b"x").unwrap();
        let tree = Trees::default().tree(key(), root.clone());
        (t, root, tree)
    }

    #[test]
    fn resolves_after_a_fresh_start_and_refuses_escapes() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("data");
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("a/b/f"), b"x").unwrap();
        std::os::unix::fs::symlink("/etc", root.join("a/esc")).unwrap();
        let st = std::fs::metadata(root.join("a/b/f")).unwrap();
        let ino = std::os::unix::fs::MetadataExt::ino(&st);
        let gen = {
            let r = Trees::default().tree(key(), root.clone()).root().unwrap();
            let fd = walk(&r, &["a".into(), "b".into(), "f".into()]).unwrap();
            generation(&fd.st)
        };
        // A new map (as after a restart) finds the file by scanning.
        let trees = Trees::default();
        let tree = trees.tree(key(), root.clone());
        let n = tree.resolve(ino, gen).unwrap();
        assert_eq!(n.name.as_deref(), Some(OsStr::new("f")));
        assert_eq!(
            tree.resolve(ino, gen.wrapping_add(1)).err(),
            Some(Errno::STALE)
        );
        assert_eq!(tree.resolve(999_999_999, 0).err(), Some(Errno::STALE));
        // A symlink to a directory outside is not walked through.
        let r = tree.root().unwrap();
        assert!(walk(&r, &["a".into(), "esc".into(), "passwd".into()]).is_err());
        assert_eq!(valid_name(b"a/b"), Err(NameError::Invalid));
        assert_eq!(valid_name(&[b'x'; 256]), Err(NameError::TooLong));
        assert!(valid_name(b"ok").is_ok());
    }

    #[test]
    fn a_root_checked_under_an_epoch_is_trusted_until_the_epoch_moves() {
        let (t, root, tree) = tree_with_a_file();
        let ino = |p: &Path| std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(p).unwrap());
        let (f, old_root) = (ino(&root.join("a/f")), ino(&root));
        let gen = generation(
            &walk(&tree.root().unwrap(), &["a".into(), "f".into()])
                .unwrap()
                .st,
        );
        assert_eq!(tree.resolve_at(f, gen, Some(7)).unwrap().ino(), f);
        // The root replaced underneath (as a restore does) while the epoch stays: the checked
        // root and the kept descriptors are still used.
        std::fs::rename(&root, t.path().join("old")).unwrap();
        std::fs::create_dir_all(root.join("a")).unwrap();
        std::fs::write(root.join("a/f"), b"y").unwrap();
        assert_eq!(tree.root_at(Some(7)).unwrap().ino(), old_root);
        assert_eq!(tree.resolve_at(f, gen, Some(7)).unwrap().ino(), f);
        // The next epoch looks at the path again: a new root, a new map, the old file gone.
        assert_eq!(tree.root_at(Some(8)).unwrap().ino(), ino(&root));
        assert_eq!(tree.resolve_at(f, gen, Some(8)).err(), Some(Errno::STALE));
        // Without an epoch the path is always looked at.
        assert_eq!(tree.root().unwrap().ino(), ino(&root));
    }

    #[test]
    fn kept_directory_descriptors_follow_renames_and_never_outlive_their_tree() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("data");
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("a/b/f"), b"x").unwrap();
        let st = std::fs::metadata(root.join("a/b/f")).unwrap();
        let ino = std::os::unix::fs::MetadataExt::ino(&st);
        let trees = Trees::default();
        let tree = trees.tree(key(), root.clone());
        let gen = {
            let r = tree.root().unwrap();
            generation(&walk(&r, &["a".into(), "b".into(), "f".into()]).unwrap().st)
        };
        // Found by a walk, then through the kept descriptor of its directory.
        assert!(tree.resolve(ino, gen).is_ok());
        assert_eq!(tree.cache().dirs.len(), 1);
        assert_eq!(tree.resolve(ino, gen).unwrap().st.stx_ino, ino);
        // Its directory renamed: still found, through the same descriptor.
        std::fs::rename(root.join("a/b"), root.join("a/c")).unwrap();
        assert_eq!(tree.resolve(ino, gen).unwrap().st.stx_ino, ino);
        // Removed: stale.
        std::fs::remove_file(root.join("a/c/f")).unwrap();
        assert_eq!(tree.resolve(ino, gen).err(), Some(Errno::STALE));
        // A restore puts a new root in place while the old tree still exists beside it: a handle
        // of the old tree is stale, never served from the old tree's kept descriptor.
        std::fs::write(root.join("a/c/g"), b"y").unwrap();
        let g = std::fs::metadata(root.join("a/c/g")).unwrap();
        let gino = std::os::unix::fs::MetadataExt::ino(&g);
        let c = std::fs::metadata(root.join("a/c")).unwrap();
        // (What a create through the shim does.)
        tree.remember(
            gino,
            std::os::unix::fs::MetadataExt::ino(&c),
            OsStr::new("g"),
        );
        let r = tree.root().unwrap();
        let ggen = generation(&walk(&r, &["a".into(), "c".into(), "g".into()]).unwrap().st);
        assert!(tree.resolve(gino, ggen).is_ok());
        assert!(tree.resolve(gino, ggen).is_ok());
        std::fs::rename(&root, t.path().join("old")).unwrap();
        std::fs::create_dir_all(root.join("a/c")).unwrap();
        assert_eq!(tree.resolve(gino, ggen).err(), Some(Errno::STALE));
        assert!(tree.cache().dirs.is_empty());
    }

    #[test]
    fn directories_looked_in_are_kept_followed_through_renames_and_let_go_when_removed() {
        let (t, root, tree) = tree_with_a_file();
        let r = tree.root().unwrap();
        let rfd = tree.dir_fd(&r).unwrap();
        // The root is never kept among the directories (it has its own descriptor).
        assert_eq!(tree.kept_dirs(), 0);
        let a = tree.lookup(&r, &rfd, OsStr::new("a")).unwrap();
        let one = tree.dir_fd(&a).unwrap();
        let two = tree.dir_fd(&a).unwrap();
        assert!(Arc::ptr_eq(&one, &two), "the second lookup opens nothing");
        assert_eq!(tree.kept_dirs(), 1);
        assert!(tree.lookup(&a, &two, OsStr::new("f")).is_ok());
        // Renamed: the kept descriptor is still the directory.
        std::fs::rename(root.join("a"), root.join("b")).unwrap();
        let fd = tree.dir_fd(&a).unwrap();
        assert_eq!(
            tree.lookup(&a, &fd, OsStr::new("f")).unwrap().ino(),
            std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(root.join("b/f")).unwrap())
        );
        // A file is not a directory; its descriptor is never kept.
        let f = tree.lookup(&a, &fd, OsStr::new("f")).unwrap();
        assert_eq!(tree.dir_fd(&f).err(), Some(Errno::NOTDIR));
        // Removed through the shim: let go.
        std::fs::remove_file(root.join("b/f")).unwrap();
        std::fs::remove_dir(root.join("b")).unwrap();
        tree.removed(a.ino(), r.ino(), OsStr::new("b"), false);
        assert_eq!(tree.kept_dirs(), 0);
        // A new root (a restore) lets every kept directory go.
        std::fs::create_dir_all(root.join("c")).unwrap();
        let c = tree.lookup(&r, &rfd, OsStr::new("c")).unwrap();
        tree.dir_fd(&c).unwrap();
        assert_eq!(tree.kept_dirs(), 1);
        std::fs::rename(&root, t.path().join("old")).unwrap();
        std::fs::create_dir_all(&root).unwrap();
        tree.root().unwrap();
        assert_eq!(tree.kept_dirs(), 0);
    }

    #[test]
    fn kept_files_are_per_life_bounded_and_closed_on_change() {
        use std::io::Read;
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("data");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join("f"), b"one").unwrap();
        let trees = Trees::default();
        let tree = trees.tree(key(), root.clone());
        let r = tree.root().unwrap();
        let dirfd = r.dir_fd().unwrap();
        let node = tree.lookup(&r, &dirfd, OsStr::new("f")).unwrap();
        let a = tree.open_file(&node, false, 0).unwrap();
        let b = tree.open_file(&node, true, 0).unwrap();
        assert!(Arc::ptr_eq(&a, &b), "one descriptor, read and write");
        assert_eq!(trees.open_files(), 1);
        // Removed and made again (a new life of the name, perhaps of the inode number): the
        // new node never gets the old descriptor.
        tree.close_file(node.ino());
        assert_eq!(trees.open_files(), 0);
        std::fs::remove_file(root.join("f")).unwrap();
        std::fs::write(root.join("f"), b"two").unwrap();
        let node2 = tree.lookup(&r, &dirfd, OsStr::new("f")).unwrap();
        let mut s = String::new();
        (&*tree.open_file(&node2, false, 0).unwrap())
            .read_to_string(&mut s)
            .unwrap();
        assert_eq!(s, "two");
        // A new data epoch closes everything kept.
        assert_eq!(trees.open_files(), 1);
        let c = tree.open_file(&node2, false, 1).unwrap();
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(trees.open_files(), 1);
        // Bounded.
        for i in 0..MAX_OPEN_FILES + 10 {
            let n = format!("g{i}");
            std::fs::write(root.join(&n), b"x").unwrap();
            let node = tree.lookup(&r, &dirfd, OsStr::new(&n)).unwrap();
            tree.open_file(&node, true, 1).unwrap();
        }
        assert_eq!(trees.open_files(), MAX_OPEN_FILES);
        // A file just made is kept open for the WRITEs that follow, unless the data epoch
        // moved meanwhile.
        let made = |n: &str| {
            let f = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(root.join(n))
                .unwrap();
            (tree.lookup(&r, &dirfd, OsStr::new(n)).unwrap(), f)
        };
        let (node, f) = made("new");
        let raw = std::os::fd::AsRawFd::as_raw_fd(&f);
        tree.keep_file(&node.st, f, 1);
        let kept = tree.open_file(&node, true, 1).unwrap();
        assert_eq!(std::os::fd::AsRawFd::as_raw_fd(&*kept), raw);
        assert_eq!(trees.open_files(), MAX_OPEN_FILES);
        let (node, f) = made("late");
        tree.keep_file(&node.st, f, 0);
        let opened = tree.open_file(&node, true, 1).unwrap();
        assert!(!Arc::ptr_eq(&opened, &kept));
        // A forgotten tree's files are closed.
        trees.drop_tree(&key());
        assert_eq!(trees.open_files(), 0);
    }
}
