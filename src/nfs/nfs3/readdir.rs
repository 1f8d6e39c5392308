//! READDIR and READDIRPLUS, linear in the directory's size.
//!
//! A cookie is a hash of the entry's name, and a directory's listing is kept sorted by cookie in
//! a bounded per-directory cache ([`Listings`]), so a call resumes after its cookie by a binary
//! search instead of reading, sorting and skipping the whole directory again. The cached listing
//! is rebuilt (one read of the directory) when the directory changes: its ctime, mtime or
//! identity differ, the model's view of it differs (junctions, qtrees, `.snapshot`, the snapshot
//! list), or the shim itself created, removed, renamed or linked in it (a per-directory
//! generation bumped after every such call, since a file-system timestamp may not move between
//! two changes close together).
//!
//! Each listing gets a fresh cookie verifier. Because cookies are name hashes, a listing resumed
//! on a newer listing of the same directory loses and repeats no entry that existed throughout,
//! so a verifier this server issued recently for this directory is honoured; an unknown one (from
//! another directory, from before a restart, or one evicted from the cache) is
//! NFS3ERR_BAD_COOKIE, as RFC 1813 allows. A zero verifier with a non-zero cookie (a client that
//! keeps none) resumes by cookie alone.

use super::*;
use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Directories whose listing is kept.
const MAX_DIRS: usize = 256;
/// Entries kept over all directories (a larger directory is listed on every call instead).
const MAX_ENTRIES: usize = 1_000_000;
/// Verifiers of one directory still honoured after it changed.
const KEEP_VERIFIERS: usize = 64;
/// Stripes of the per-directory change generations.
const GEN_STRIPES: usize = 1024;

/// A directory entry with its stable cookie (a hash of its name, so entries added or removed
/// between calls never shift the others).
pub(crate) struct Ent {
    name: OsString,
    fileid: u64,
    cookie: u64,
    kind: EntKind,
}

enum EntKind {
    Dot,
    DotDot,
    Real,
    Junction(Uuid),
    SnapDir,
    Snapshot(Uuid),
    /// A snapshot in a qtree's `.snapshot` (the client LOOKUPs it).
    QtreeSnapshot,
}

fn cookie_of(name: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let h = h & 0x7fff_ffff_ffff_ffff;
    if h < 3 {
        h + 3
    } else {
        h
    }
}

struct Listing {
    version: u64,
    verf: u64,
    /// Verifiers issued for this directory, oldest first (the current one last).
    issued: VecDeque<u64>,
    ents: Arc<Vec<Ent>>,
    used: u64,
}

#[derive(Default)]
struct Inner {
    map: HashMap<Fh, Listing>,
    entries: usize,
    tick: u64,
}

/// The cache of directory listings, shared by every connection.
pub struct Listings {
    inner: Mutex<Inner>,
    gens: Vec<AtomicU64>,
    next_verf: AtomicU64,
    builds: AtomicU64,
}

impl Default for Listings {
    fn default() -> Self {
        // Verifiers start from the clock, so none repeats one issued before a restart.
        let boot = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
            | 1;
        Listings {
            inner: Mutex::new(Inner::default()),
            gens: (0..GEN_STRIPES).map(|_| AtomicU64::new(0)).collect(),
            next_verf: AtomicU64::new(boot),
            builds: AtomicU64::new(0),
        }
    }
}

/// Why a listing could not be had.
enum Miss {
    BadCookie,
    Status(Nfsstat),
}

impl Listings {
    fn stripe(&self, dir: &Fh) -> &AtomicU64 {
        let mut h = DefaultHasher::new();
        dir.hash(&mut h);
        &self.gens[(h.finish() % GEN_STRIPES as u64) as usize]
    }

    /// The shim changed the entries of `dir` (called after the change is on disk).
    pub fn changed(&self, dir: &Fh) {
        self.stripe(dir).fetch_add(1, Ordering::SeqCst);
    }

    /// How many times a directory was read to build a listing (for tests and the bench).
    pub fn builds(&self) -> u64 {
        self.builds.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The listing of `dir` (sorted by cookie, without `.` and `..`) and its verifier. `version`
    /// identifies the directory's state as the caller saw it before reading; `client` is the
    /// verifier a resuming client sent (None when it starts or keeps none).
    fn get(
        &self,
        dir: Fh,
        version: u64,
        client: Option<u64>,
        build: impl FnOnce() -> NfsRes<Vec<Ent>>,
    ) -> Result<(Arc<Vec<Ent>>, u64), Miss> {
        // The generation is read before the directory, so a change made while it is read
        // makes the next call read it again.
        let version = version
            ^ self
                .stripe(&dir)
                .load(Ordering::SeqCst)
                .wrapping_mul(0x9e37_79b9_7f4a_7c15);
        {
            let mut g = self.lock();
            g.tick += 1;
            let tick = g.tick;
            match g.map.get_mut(&dir) {
                Some(l) => {
                    if client.is_some_and(|v| !l.issued.contains(&v)) {
                        return Err(Miss::BadCookie);
                    }
                    if l.version == version {
                        l.used = tick;
                        return Ok((l.ents.clone(), l.verf));
                    }
                }
                None if client.is_some() => return Err(Miss::BadCookie),
                None => {}
            }
        }
        let mut ents = build().map_err(Miss::Status)?;
        ents.sort_by_key(|e| e.cookie);
        self.builds.fetch_add(1, Ordering::Relaxed);
        let ents = Arc::new(ents);
        let verf = self.next_verf.fetch_add(1, Ordering::Relaxed);
        let mut g = self.lock();
        let g = &mut *g;
        let tick = g.tick;
        let mut issued = g
            .map
            .remove(&dir)
            .map(|old| {
                g.entries -= old.ents.len();
                old.issued
            })
            .unwrap_or_default();
        if ents.len() > MAX_ENTRIES {
            return Ok((ents, verf));
        }
        issued.push_back(verf);
        while issued.len() > KEEP_VERIFIERS {
            issued.pop_front();
        }
        // Make room: drop the least recently used listings.
        while !g.map.is_empty() && (g.map.len() >= MAX_DIRS || g.entries + ents.len() > MAX_ENTRIES)
        {
            let Some(victim) = g.map.iter().min_by_key(|(_, l)| l.used).map(|(k, _)| *k) else {
                break;
            };
            if let Some(old) = g.map.remove(&victim) {
                g.entries -= old.ents.len();
            }
        }
        g.entries += ents.len();
        g.map.insert(
            dir,
            Listing {
                version,
                verf,
                issued,
                ents: ents.clone(),
                used: tick,
            },
        );
        Ok((ents, verf))
    }
}

/// The directories a mutating call (CREATE..LINK) changes, read from its arguments.
pub(super) fn dirs_changed_by(proc_: u32, mut a: Dec) -> [Option<Fh>; 2] {
    let fh = |a: &mut Dec| fh_arg(a).ok().and_then(Fh::decode);
    match proc_ {
        8..=13 => [fh(&mut a), None],
        14 => {
            let from = fh(&mut a);
            let to = name_arg(&mut a).ok().and_then(|_| fh(&mut a));
            [from, to]
        }
        15 => {
            let _file = fh(&mut a);
            [fh(&mut a), None]
        }
        _ => [None, None],
    }
}

/// What the listing depends on besides the directory itself: the view's junctions, qtrees,
/// `.snapshot` and snapshots.
fn version_of(d: &Obj) -> u64 {
    let mut h = DefaultHasher::new();
    d.attr.fileid.hash(&mut h);
    d.attr.ctime.hash(&mut h);
    d.attr.mtime.hash(&mut h);
    if let Some((_, n)) = &d.on_disk {
        n.st.stx_ctime.tv_sec.hash(&mut h);
        n.st.stx_ctime.tv_nsec.hash(&mut h);
        fs::generation(&n.st).hash(&mut h);
    }
    match d.fh {
        Fh::SnapDir { .. } | Fh::QtreeSnapDir { .. } => {
            for s in &d.view.snapshots {
                s.name.hash(&mut h);
                s.uuid.hash(&mut h);
            }
        }
        _ if d.is_active_root() => {
            d.view.snapdir.hash(&mut h);
            for (name, uuid) in &d.view.children {
                name.hash(&mut h);
                uuid.hash(&mut h);
            }
            d.view.qtrees.hash(&mut h);
        }
        _ => {}
    }
    h.finish()
}

/// Read the directory: every entry but `.` and `..`, unsorted.
fn build(cx: &Cx, d: &Obj) -> NfsRes<Vec<Ent>> {
    let mut rest: Vec<Ent> = Vec::new();
    let mk = |name: &OsStr, fileid: u64, kind: EntKind| Ent {
        cookie: cookie_of(name.as_bytes()),
        name: name.to_os_string(),
        fileid,
        kind,
    };
    match d.fh {
        Fh::SnapDir { .. } => {
            for s in &d.view.snapshots {
                rest.push(mk(
                    OsStr::new(&s.name),
                    snaproot_fileid(&s.uuid),
                    EntKind::Snapshot(s.uuid),
                ));
            }
        }
        Fh::QtreeSnapDir { .. } => {
            for s in &d.view.snapshots {
                rest.push(mk(
                    OsStr::new(&s.name),
                    snaproot_fileid(&s.uuid),
                    EntKind::QtreeSnapshot,
                ));
            }
        }
        _ => {
            let node = d.node()?;
            let dirfd = node.dir_fd().map_err(stale_if_missing)?;
            let list = locked(cx, &d.view.uuid, || fs::list_dir(&dirfd))?;
            let root = d.is_active_root();
            for (name, ino) in list {
                if root && reserved(d, name.as_bytes()) {
                    continue;
                }
                rest.push(mk(&name, ino, EntKind::Real));
            }
            if root {
                for (name, uuid) in &d.view.children {
                    rest.push(mk(OsStr::new(name), ROOT_FILEID, EntKind::Junction(*uuid)));
                }
                if d.view.snapdir {
                    rest.push(mk(
                        OsStr::new(".snapshot"),
                        SNAPDIR_FILEID,
                        EntKind::SnapDir,
                    ));
                }
            }
        }
    }
    Ok(rest)
}

/// The handle and attributes of an entry (READDIRPLUS), or None to let the client LOOKUP.
fn entry_obj(cx: &Cx, d: &Obj, dirfd: Option<&OwnedFd>, ent: &Ent) -> Option<(Fh, Attr)> {
    let volume = d.view.uuid;
    let fh = match ent.kind {
        EntKind::Dot | EntKind::DotDot | EntKind::QtreeSnapshot => return None,
        EntKind::Junction(u) => Fh::Root { volume: u },
        EntKind::SnapDir => Fh::SnapDir { volume },
        EntKind::Snapshot(s) => Fh::SnapRoot {
            volume,
            snapshot: s,
        },
        EntKind::Real => {
            let (tree, dnode) = d.on_disk.as_ref()?;
            let key = d.fh.tree()?;
            let dirfd = dirfd?;
            let st = locked(cx, &volume, || fs::statx_at(dirfd, &ent.name)).ok()?;
            tree.remember(st.stx_ino, dnode.ino(), &ent.name);
            let fh = Fh::Node {
                tree: key,
                ino: st.stx_ino,
                gen: fs::generation(&st),
            };
            return Some((fh, attr_for(&fh, &d.view, &st)));
        }
    };
    obtain_fh(cx, fh).ok().map(|o| (o.fh, o.attr))
}

pub(super) fn readdir(cx: &Cx, a: &mut Dec, e: &mut Enc, plus: bool) -> Res<()> {
    let fh = fh_arg(a)?;
    let cookie = a.u64()?;
    let verf = a.u64()?;
    let maxcount = if plus {
        let _dircount = a.u32()?;
        a.u32()?
    } else {
        a.u32()?
    } as usize;
    let d = match obtain(cx, fh) {
        Ok(d) => d,
        Err(s) => {
            status(e, s);
            put_post(e, None);
            return Ok(());
        }
    };
    let r = (|| -> NfsRes<()> {
        if !d.attr.is_dir() {
            return Err(Nfsstat::NOTDIR);
        }
        d.check(R)
    })();
    let listed = r.map_err(Miss::Status).and_then(|()| {
        let client = (cookie != 0 && verf != 0).then_some(verf);
        cx.nfs
            .listings
            .get(d.fh, version_of(&d), client, || build(cx, &d))
    });
    let (all, verf) = match listed {
        Ok(v) => v,
        Err(m) => {
            status(
                e,
                match m {
                    Miss::BadCookie => Nfsstat::BAD_COOKIE,
                    Miss::Status(s) => s,
                },
            );
            put_post(e, Some(&d.attr));
            return Ok(());
        }
    };
    let dots = [
        Ent {
            name: ".".into(),
            fileid: d.attr.fileid,
            cookie: 1,
            kind: EntKind::Dot,
        },
        Ent {
            name: "..".into(),
            fileid: d.attr.fileid,
            cookie: 2,
            kind: EntKind::DotDot,
        },
    ];
    // Resume after the cookie: the dots by position, the rest by a binary search.
    let first_dot = (cookie as usize).min(2);
    let from = if cookie < 3 {
        0
    } else {
        all.partition_point(|x| x.cookie <= cookie)
    };
    let todo = dots[first_dot..].iter().chain(all[from..].iter());
    let remaining = (2 - first_dot) + (all.len() - from);
    let start = e.len();
    status(e, Nfsstat::OK);
    put_post(e, Some(&d.attr));
    e.u64(verf);
    let budget = maxcount.min(1 << 20);
    // The reply so far plus the list end and eof words.
    let mut used = e.len() - start + 8;
    let dirfd = if plus {
        d.node().ok().and_then(|n| n.dir_fd().ok())
    } else {
        None
    };
    let mut sent = 0;
    let mut item = Enc::with_capacity(256);
    for ent in todo {
        let name = ent.name.as_bytes();
        item.buf.clear();
        item.bool(true).u64(ent.fileid).opaque(name).u64(ent.cookie);
        if plus {
            match entry_obj(cx, &d, dirfd.as_deref(), ent) {
                Some((fh, attr)) => {
                    put_post(&mut item, Some(&attr));
                    item.bool(true);
                    put_fh(&mut item, &fh);
                }
                None => {
                    put_post(&mut item, None);
                    item.bool(false);
                }
            }
        }
        if used + item.len() > budget {
            break;
        }
        used += item.len();
        e.buf.extend_from_slice(&item.buf);
        sent += 1;
    }
    if sent == 0 && remaining > 0 {
        e.buf.truncate(start);
        status(e, Nfsstat::TOOSMALL);
        put_post(e, Some(&d.attr));
        return Ok(());
    }
    e.bool(false); // no more entries in this reply
    e.bool(sent == remaining); // eof
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(ino: u64) -> Fh {
        Fh::Node {
            tree: TreeKey {
                volume: Uuid::from_u128(7),
                snapshot: None,
            },
            ino,
            gen: 1,
        }
    }

    fn ents(n: usize) -> Vec<Ent> {
        (0..n)
            .map(|i| {
                let name = format!("f{i}");
                Ent {
                    cookie: cookie_of(name.as_bytes()),
                    name: name.into(),
                    fileid: i as u64,
                    kind: EntKind::Real,
                }
            })
            .collect()
    }

    /// Page through a directory of `n` entries `per` at a time as READDIR does; the number of
    /// directory reads and of entries looked at.
    fn page_through(l: &Listings, d: Fh, n: usize, per: usize) -> (u64, usize) {
        let before = l.builds();
        let (mut cookie, mut verf, mut touched, mut got) = (0u64, None, 0, 0);
        loop {
            let (all, v) = l
                .get(d, 1, verf, || Ok(ents(n)))
                .unwrap_or_else(|_| panic!("miss"));
            verf = Some(v);
            let from = all.partition_point(|x| x.cookie <= cookie);
            let page = &all[from..(from + per).min(all.len())];
            touched += page.len();
            got += page.len();
            match page.last() {
                Some(e) => cookie = e.cookie,
                None => break,
            }
        }
        assert_eq!(got, n);
        (l.builds() - before, touched)
    }

    #[test]
    fn a_listing_reads_the_directory_once_whatever_its_size() {
        let l = Listings::default();
        for (i, n) in [1_000, 10_000, 100_000].into_iter().enumerate() {
            let (reads, touched) = page_through(&l, dir(i as u64), n, 100);
            assert_eq!(reads, 1, "{n} entries");
            assert_eq!(touched, n, "{n} entries");
        }
    }

    #[test]
    fn a_change_rereads_and_old_verifiers_stay_honoured_unknown_ones_do_not() {
        let l = Listings::default();
        let d = dir(1);
        let (_, v1) = l.get(d, 1, None, || Ok(ents(10))).ok().unwrap();
        assert_eq!(l.builds(), 1);
        assert!(l.get(d, 1, Some(v1), || Ok(ents(10))).is_ok());
        assert_eq!(l.builds(), 1);
        // The shim changed it: read again, new verifier, the old one still resumes.
        l.changed(&d);
        let (a, v2) = l.get(d, 1, Some(v1), || Ok(ents(11))).ok().unwrap();
        assert_eq!((l.builds(), a.len()), (2, 11));
        assert_ne!(v1, v2);
        // Its times changed: read again.
        assert!(l.get(d, 2, Some(v2), || Ok(ents(12))).is_ok());
        assert_eq!(l.builds(), 3);
        // Unknown verifiers, or a known one for another directory, are refused.
        assert!(matches!(
            l.get(d, 2, Some(12345), || Ok(ents(12))),
            Err(Miss::BadCookie)
        ));
        assert!(matches!(
            l.get(dir(2), 1, Some(v2), || Ok(ents(1))),
            Err(Miss::BadCookie)
        ));
        assert_eq!(l.builds(), 3);
    }

    #[test]
    fn the_cache_stays_bounded() {
        let l = Listings::default();
        for i in 0..(MAX_DIRS as u64 + 50) {
            assert!(l.get(dir(i), 1, None, || Ok(ents(3))).is_ok());
        }
        assert!(l
            .get(dir(10_000), 1, None, || Ok(ents(MAX_ENTRIES - 10)))
            .is_ok());
        let g = l.lock();
        assert!(g.map.len() <= MAX_DIRS);
        assert!(g.entries <= MAX_ENTRIES);
        assert_eq!(
            g.entries,
            g.map.values().map(|x| x.ents.len()).sum::<usize>()
        );
    }
}
