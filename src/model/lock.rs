//! The NLM lock table: byte-range locks and share reservations that NFSv3 clients hold on files,
//! the requests waiting for a lock, and the grace period after a start in which only reclaims are
//! granted.
//!
//! This is state, owned here and nowhere else: the NLM front (`nfs/nlm.rs`) decodes a call and
//! asks; NSM (`nfs/nsm.rs`) reports a client's reboot; the control API lists the table. Like
//! ONTAP's, the table lives in memory: a restart loses every lock, and the grace period lets the
//! clients that held them take them back before anyone else can.
//!
//! Semantics are POSIX's, as NLM carries them: an owner is (client host, process id, owner
//! handle); an owner's own locks never conflict with each other, and a new lock over an owner's
//! range replaces what it covers (splitting and merging ranges); two locks conflict when their
//! ranges overlap, they have different owners, and one of them is exclusive.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// A file as NLM names it: the volume and the NFS file handle's bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct LockFile {
    pub volume: Uuid,
    #[serde(serialize_with = "hex")]
    pub fh: Vec<u8>,
}

/// Who holds a lock: the client's name (`caller_name`), the process (`svid`) and the opaque
/// owner handle (`oh`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct LockOwner {
    pub host: String,
    pub svid: i32,
    #[serde(serialize_with = "hex")]
    pub oh: Vec<u8>,
}

fn hex<S: serde::Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
    let mut out = String::with_capacity(b.len() * 2);
    for x in b {
        out.push_str(&format!("{x:02x}"));
    }
    s.serialize_str(&out)
}

/// A byte range: `end` is exclusive; `u64::MAX` means "to the end of the file, however long".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Range {
    pub start: u64,
    pub end: u64,
}

impl Range {
    /// From NLM's (offset, length); a length of 0 means to the end of the file.
    pub fn from_wire(offset: u64, len: u64) -> Range {
        let end = if len == 0 {
            u64::MAX
        } else {
            offset.saturating_add(len)
        };
        Range { start: offset, end }
    }

    /// Back to (offset, length).
    pub fn to_wire(self) -> (u64, u64) {
        if self.end == u64::MAX {
            (self.start, 0)
        } else {
            (self.start, self.end - self.start)
        }
    }

    pub fn overlaps(&self, o: &Range) -> bool {
        self.start < o.end && o.start < self.end
    }
}

/// A granted byte-range lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lock {
    pub file: LockFile,
    pub owner: LockOwner,
    pub exclusive: bool,
    pub range: Range,
    /// Where the request came from (GRANTED callbacks go to this address's portmapper).
    pub peer: SocketAddr,
}

impl Lock {
    fn conflicts(&self, o: &Lock) -> bool {
        self.file == o.file
            && self.owner != o.owner
            && (self.exclusive || o.exclusive)
            && self.range.overlaps(&o.range)
    }
}

/// A blocking LOCK that could not be granted yet; granted (and called back) when it can be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Waiter {
    pub lock: Lock,
    /// The request's cookie, sent back in the GRANTED callback.
    #[serde(serialize_with = "hex")]
    pub cookie: Vec<u8>,
    /// The NLM version the client spoke (the callback uses it).
    pub version: u32,
}

/// A DOS-style share reservation (NLM SHARE): access wanted and access denied to others, as
/// bit sets (1 read, 2 write).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Share {
    pub file: LockFile,
    pub host: String,
    #[serde(serialize_with = "hex")]
    pub oh: Vec<u8>,
    pub access: u32,
    pub deny: u32,
}

/// A client this server watches for (NSM's "monitored host"): one that was granted a lock. After
/// a restart the server tells it (SM_NOTIFY) so it reclaims its locks in the grace period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NsmClient {
    /// The client's name (`caller_name`).
    pub host: String,
    /// Where its calls came from.
    pub address: IpAddr,
    /// The server address it reached (the name it knows this server by).
    pub server: IpAddr,
}

/// The most locks, waiting requests and shares kept at once; past it, new ones are refused
/// (NLM4_DENIED_NOLOCKS) rather than growing without bound.
pub const MAX_ENTRIES: usize = 100_000;

/// What a LOCK request came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockOutcome {
    Granted,
    /// Refused at once; the lock in the way.
    Denied(Lock),
    /// Queued: the client will be called back.
    Blocked,
    /// Only reclaims are granted now.
    Grace,
    /// The table is full.
    NoLocks,
}

/// What a TEST found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestOutcome {
    Free,
    Held(Lock),
    Grace,
}

/// What the table looks like, for the control API.
#[derive(Debug, Clone, Serialize)]
pub struct LockTableView {
    /// Seconds of grace period left (0: none).
    pub grace_remaining_secs: f64,
    pub locks: Vec<Lock>,
    pub waiting: Vec<Waiter>,
    pub shares: Vec<Share>,
    /// The clients told of a restart (those granted locks).
    pub monitored: Vec<NsmClient>,
}

#[derive(Debug, Default)]
pub struct LockTable {
    locks: Vec<Lock>,
    waiting: Vec<Waiter>,
    shares: Vec<Share>,
    grace_until: Option<Instant>,
    monitored: BTreeMap<String, NsmClient>,
}

impl LockTable {
    /// Start a grace period of `len` from now (none when `len` is zero).
    pub fn start_grace(&mut self, len: Duration) {
        self.grace_until = (!len.is_zero()).then(|| Instant::now() + len);
    }

    pub fn in_grace(&self) -> bool {
        self.grace_until.is_some_and(|t| Instant::now() < t)
    }

    fn full(&self) -> bool {
        self.locks.len() + self.waiting.len() + self.shares.len() >= MAX_ENTRIES
    }

    /// Remember a client to tell of a restart. True when it is new (the list must be saved).
    pub fn monitor(&mut self, c: NsmClient) -> bool {
        if self.monitored.get(&c.host) == Some(&c) {
            return false;
        }
        self.monitored.insert(c.host.clone(), c);
        true
    }

    /// Forget a client (it rebooted or freed everything). True when it was known.
    pub fn unmonitor(&mut self, host: &str) -> bool {
        self.monitored.remove(host).is_some()
    }

    pub fn monitored(&self) -> Vec<NsmClient> {
        self.monitored.values().cloned().collect()
    }

    fn conflict(&self, want: &Lock) -> Option<&Lock> {
        self.locks.iter().find(|l| l.conflicts(want))
    }

    /// NLM TEST: would `want` be granted?
    pub fn test(&self, want: &Lock) -> TestOutcome {
        if self.in_grace() {
            return TestOutcome::Grace;
        }
        match self.conflict(want) {
            Some(l) => TestOutcome::Held(l.clone()),
            None => TestOutcome::Free,
        }
    }

    /// NLM LOCK. A reclaim is granted only in the grace period; outside it, only new requests.
    pub fn lock(
        &mut self,
        want: Lock,
        block: bool,
        reclaim: bool,
        cookie: &[u8],
        version: u32,
    ) -> LockOutcome {
        if self.in_grace() != reclaim {
            return LockOutcome::Grace;
        }
        if let Some(l) = self.conflict(&want) {
            let holder = l.clone();
            if !block {
                return LockOutcome::Denied(holder);
            }
            if self.full() {
                return LockOutcome::NoLocks;
            }
            // A client polling for a lock it already waits for stays one waiter.
            self.waiting.retain(|w| {
                !(w.lock.file == want.file
                    && w.lock.owner == want.owner
                    && w.lock.range == want.range)
            });
            self.waiting.push(Waiter {
                lock: want,
                cookie: cookie.to_vec(),
                version,
            });
            return LockOutcome::Blocked;
        }
        if self.full() {
            return LockOutcome::NoLocks;
        }
        // Granted: a wait for the same lock, if any, is over.
        self.waiting.retain(|w| {
            !(w.lock.file == want.file && w.lock.owner == want.owner && w.lock.range == want.range)
        });
        self.set(want);
        LockOutcome::Granted
    }

    /// Place a lock that conflicts with nothing, replacing what its owner held in its range and
    /// merging it with the owner's touching locks of the same kind.
    fn set(&mut self, mut want: Lock) {
        self.clear_range(&want.file, &want.owner, want.range);
        loop {
            let touching = self.locks.iter().position(|l| {
                l.file == want.file
                    && l.owner == want.owner
                    && l.exclusive == want.exclusive
                    && l.range.start <= want.range.end
                    && want.range.start <= l.range.end
            });
            let Some(i) = touching else { break };
            let l = self.locks.swap_remove(i);
            want.range = Range {
                start: want.range.start.min(l.range.start),
                end: want.range.end.max(l.range.end),
            };
        }
        self.locks.push(want);
    }

    /// Remove `owner`'s locks on `file` within `range`, splitting those that stick out of it.
    fn clear_range(&mut self, file: &LockFile, owner: &LockOwner, range: Range) {
        let mut kept = Vec::with_capacity(self.locks.len() + 1);
        for l in self.locks.drain(..) {
            if &l.file != file || &l.owner != owner || !l.range.overlaps(&range) {
                kept.push(l);
                continue;
            }
            if l.range.start < range.start {
                let mut left = l.clone();
                left.range.end = range.start;
                kept.push(left);
            }
            if range.end < l.range.end {
                let mut right = l;
                right.range.start = range.end;
                kept.push(right);
            }
        }
        self.locks = kept;
    }

    /// NLM UNLOCK: release `owner`'s locks in `range`. Returns the waiters granted as a result
    /// (the front calls them back).
    pub fn unlock(&mut self, file: &LockFile, owner: &LockOwner, range: Range) -> Vec<Waiter> {
        self.clear_range(file, owner, range);
        self.wake()
    }

    /// NLM CANCEL: stop waiting for a lock. True if such a wait was queued.
    pub fn cancel(&mut self, want: &Lock) -> bool {
        let before = self.waiting.len();
        self.waiting.retain(|w| {
            !(w.lock.file == want.file
                && w.lock.owner == want.owner
                && w.lock.range == want.range
                && w.lock.exclusive == want.exclusive)
        });
        self.waiting.len() != before
    }

    /// Everything `host` holds or waits for goes (NLM FREE_ALL, or its NSM reporting a reboot).
    /// Returns the number of locks and shares released and the waiters granted as a result.
    pub fn free_host(&mut self, host: &str) -> (usize, Vec<Waiter>) {
        let before = self.locks.len() + self.shares.len();
        self.locks.retain(|l| l.owner.host != host);
        self.shares.retain(|s| s.host != host);
        self.waiting.retain(|w| w.lock.owner.host != host);
        let freed = before - self.locks.len() - self.shares.len();
        (freed, self.wake())
    }

    /// Grant every waiter that no longer conflicts, in the order they came.
    fn wake(&mut self) -> Vec<Waiter> {
        let mut granted = Vec::new();
        let mut i = 0;
        while i < self.waiting.len() {
            if self.conflict(&self.waiting[i].lock).is_none() {
                let w = self.waiting.remove(i);
                self.set(w.lock.clone());
                granted.push(w);
            } else {
                i += 1;
            }
        }
        granted
    }

    /// NLM SHARE. `Err(true)` in the grace period (or a late reclaim), `Err(false)` on conflict.
    pub fn share(&mut self, want: Share, reclaim: bool) -> Result<(), bool> {
        if self.in_grace() != reclaim {
            return Err(true);
        }
        let clash = self.shares.iter().any(|s| {
            s.file == want.file
                && !(s.host == want.host && s.oh == want.oh)
                && (s.access & want.deny != 0 || s.deny & want.access != 0)
        });
        if clash || self.full() {
            return Err(false);
        }
        self.shares
            .retain(|s| !(s.file == want.file && s.host == want.host && s.oh == want.oh));
        self.shares.push(want);
        Ok(())
    }

    /// NLM UNSHARE.
    pub fn unshare(&mut self, file: &LockFile, host: &str, oh: &[u8]) {
        self.shares
            .retain(|s| !(&s.file == file && s.host == host && s.oh == oh));
    }

    /// Forget every lock (a reset of the simulator); the grace period ends too. Clients stay
    /// monitored.
    pub fn clear(&mut self) {
        let monitored = std::mem::take(&mut self.monitored);
        *self = LockTable {
            monitored,
            ..LockTable::default()
        };
    }

    pub fn view(&self) -> LockTableView {
        let grace = self.grace_until.map_or(0.0, |t| {
            t.saturating_duration_since(Instant::now()).as_secs_f64()
        });
        let mut locks = self.locks.clone();
        locks.sort_by(|a, b| (&a.file, a.range.start).cmp(&(&b.file, b.range.start)));
        LockTableView {
            grace_remaining_secs: grace,
            locks,
            waiting: self.waiting.clone(),
            shares: self.shares.clone(),
            monitored: self.monitored(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> LockFile {
        LockFile {
            volume: Uuid::nil(),
            fh: vec![1, 2, 3],
        }
    }

    fn owner(host: &str, svid: i32) -> LockOwner {
        LockOwner {
            host: host.into(),
            svid,
            oh: vec![svid as u8],
        }
    }

    fn lock(host: &str, svid: i32, excl: bool, off: u64, len: u64) -> Lock {
        Lock {
            file: file(),
            owner: owner(host, svid),
            exclusive: excl,
            range: Range::from_wire(off, len),
            peer: "127.0.0.1:1".parse().unwrap(),
        }
    }

    #[test]
    fn conflicts_need_overlap_another_owner_and_an_exclusive_lock() {
        let mut t = LockTable::default();
        assert_eq!(
            t.lock(lock("a", 1, false, 0, 10), false, false, b"", 4),
            LockOutcome::Granted
        );
        // Shared locks share.
        assert_eq!(
            t.lock(lock("b", 1, false, 5, 10), false, false, b"", 4),
            LockOutcome::Granted
        );
        // An exclusive lock over them is refused, naming a holder.
        assert!(matches!(
            t.lock(lock("c", 1, true, 8, 1), false, false, b"", 4),
            LockOutcome::Denied(_)
        ));
        // Not overlapping: fine.
        assert_eq!(
            t.lock(lock("c", 1, true, 15, 0), false, false, b"", 4),
            LockOutcome::Granted
        );
        // The same owner upgrades its own range.
        assert!(matches!(
            t.lock(lock("a", 1, true, 0, 10), false, false, b"", 4),
            LockOutcome::Denied(_)
        ));
        assert_eq!(
            t.lock(lock("a", 1, true, 0, 5), false, false, b"", 4),
            LockOutcome::Granted
        );
        assert_eq!(
            t.test(&lock("b", 2, false, 0, 1)),
            TestOutcome::Held(lock("a", 1, true, 0, 5))
        );
    }

    #[test]
    fn unlock_splits_and_wakes_waiters_in_order() {
        let mut t = LockTable::default();
        t.lock(lock("a", 1, true, 0, 100), false, false, b"", 4);
        assert_eq!(
            t.lock(lock("b", 1, true, 10, 10), true, false, b"k1", 4),
            LockOutcome::Blocked
        );
        assert_eq!(
            t.lock(lock("c", 1, true, 50, 10), true, false, b"k2", 4),
            LockOutcome::Blocked
        );
        // Polling again does not queue twice.
        assert_eq!(
            t.lock(lock("b", 1, true, 10, 10), true, false, b"k1", 4),
            LockOutcome::Blocked
        );
        assert_eq!(t.view().waiting.len(), 2);
        // Unlocking the middle frees b's range only.
        let woke = t.unlock(&file(), &owner("a", 1), Range::from_wire(5, 20));
        assert_eq!(woke.len(), 1);
        assert_eq!(woke[0].cookie, b"k1");
        let v = t.view();
        let a: Vec<_> = v
            .locks
            .iter()
            .filter(|l| l.owner.host == "a")
            .map(|l| l.range.to_wire())
            .collect();
        assert_eq!(a, vec![(0, 5), (25, 75)]);
        // c is still waiting, then cancels.
        assert!(t.cancel(&lock("c", 1, true, 50, 10)));
        assert!(!t.cancel(&lock("c", 1, true, 50, 10)));
    }

    #[test]
    fn free_host_releases_everything_and_grants_waiters() {
        let mut t = LockTable::default();
        t.lock(lock("a", 1, true, 0, 0), false, false, b"", 4);
        t.lock(lock("b", 1, false, 0, 1), true, false, b"w", 4);
        let (freed, woke) = t.free_host("a");
        assert_eq!(freed, 1);
        assert_eq!(woke.len(), 1);
        assert_eq!(t.view().locks.len(), 1);
    }

    #[test]
    fn the_grace_period_grants_only_reclaims() {
        let mut t = LockTable::default();
        t.start_grace(Duration::from_secs(60));
        assert_eq!(
            t.lock(lock("a", 1, true, 0, 1), false, false, b"", 4),
            LockOutcome::Grace
        );
        assert_eq!(t.test(&lock("a", 1, true, 0, 1)), TestOutcome::Grace);
        assert_eq!(
            t.lock(lock("a", 1, true, 0, 1), false, true, b"", 4),
            LockOutcome::Granted
        );
        t.start_grace(Duration::ZERO);
        assert_eq!(
            t.lock(lock("b", 1, true, 5, 1), false, true, b"", 4),
            LockOutcome::Grace
        );
        assert_eq!(
            t.lock(lock("b", 1, true, 5, 1), false, false, b"", 4),
            LockOutcome::Granted
        );
    }

    #[test]
    fn shares_refuse_what_others_deny() {
        let mut t = LockTable::default();
        let s = |host: &str, access, deny| Share {
            file: file(),
            host: host.into(),
            oh: vec![1],
            access,
            deny,
        };
        assert_eq!(t.share(s("a", 1, 2), false), Ok(()));
        assert_eq!(t.share(s("b", 2, 0), false), Err(false));
        assert_eq!(t.share(s("b", 1, 0), false), Ok(()));
        assert_eq!(t.share(s("c", 1, 1), false), Err(false));
        t.unshare(&file(), "b", &[1]);
        t.unshare(&file(), "a", &[1]);
        assert_eq!(t.share(s("c", 3, 3), false), Ok(()));
    }
}
