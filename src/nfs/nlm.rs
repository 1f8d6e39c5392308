//! NLM, the Network Lock Manager (program 100021; versions 1 and 3 with 32-bit ranges, 4 with
//! 64-bit ones, as the Open Group's XNFS and RFC 1813 describe them): the protocol NFSv3 clients
//! use for `fcntl`/`flock` locks and DOS share reservations.
//!
//! Synchronous procedures are served: TEST, LOCK, CANCEL, UNLOCK, SHARE, UNSHARE, NM_LOCK and
//! FREE_ALL. A blocking LOCK that cannot be granted is answered BLOCKED and queued in the model's
//! lock table; when the lock becomes free the table grants it and this front calls the client
//! back (NLM GRANTED at the client's lockd, found through the client's portmapper). A client the
//! callback cannot reach still gets its lock: its next LOCK (clients poll) answers GRANTED.
//!
//! The asynchronous `*_MSG`/`*_RES` procedures are not served (PROC_UNAVAIL).

use super::handle::Fh;
use super::nfs3::{self, Nfsstat};
use super::rpc::{self, Accept, Call};
use super::view::Cx;
use super::xdr::{Dec, Enc, Res};
use super::{Conn, Nfs};
use crate::model::lock::{
    Lock, LockFile, LockOutcome, LockOwner, Range, Share, TestOutcome, Waiter,
};
use crate::sim::Sim;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tracing::{debug, info};

pub const PROG_NLM: u32 = 100_021;

/// `LM_MAXSTRLEN` and `MAXNETOBJ_SZ`.
const MAXSTR: usize = 1024;
const MAXNETOBJ: usize = 1024;

/// `nlm4_stats` (versions 1 and 3 have the first five).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stat {
    Granted = 0,
    Denied = 1,
    DeniedNolocks = 2,
    Blocked = 3,
    DeniedGracePeriod = 4,
    Deadlck = 5,
    Rofs = 6,
    StaleFh = 7,
    Fbig = 8,
    Failed = 9,
}

impl Stat {
    /// The number on the wire in `version` (1 and 3 have no codes past 4).
    fn wire(self, version: u32) -> u32 {
        if version < 4 && self as u32 > 4 {
            Stat::DeniedNolocks as u32
        } else {
            self as u32
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Stat::Granted => "granted",
            Stat::Denied => "denied",
            Stat::DeniedNolocks => "denied_nolocks",
            Stat::Blocked => "blocked",
            Stat::DeniedGracePeriod => "denied_grace_period",
            Stat::Deadlck => "deadlck",
            Stat::Rofs => "rofs",
            Stat::StaleFh => "stale_fh",
            Stat::Fbig => "fbig",
            Stat::Failed => "failed",
        }
    }

    /// A fault rule's status name (`denied`, `grace`, `nolocks`, `failed`, `deadlck`, ...).
    pub fn from_name(s: &str) -> Option<Stat> {
        Some(
            match s
                .to_ascii_lowercase()
                .trim_start_matches("nlm4_")
                .trim_start_matches("lck_")
            {
                "denied" => Stat::Denied,
                "denied_nolocks" | "nolocks" => Stat::DeniedNolocks,
                "denied_grace_period" | "grace" | "grace_period" => Stat::DeniedGracePeriod,
                "deadlck" | "deadlock" => Stat::Deadlck,
                "rofs" => Stat::Rofs,
                "stale_fh" | "stale" => Stat::StaleFh,
                "fbig" => Stat::Fbig,
                "failed" => Stat::Failed,
                _ => return None,
            },
        )
    }
}

/// The procedure names the journal and fault rules use.
pub fn procedure_name(proc_: u32) -> Option<&'static str> {
    Some(match proc_ {
        0 => "NLM_NULL",
        1 => "NLM_TEST",
        2 => "NLM_LOCK",
        3 => "NLM_CANCEL",
        4 => "NLM_UNLOCK",
        5 => "NLM_GRANTED",
        6 => "NLM_TEST_MSG",
        7 => "NLM_LOCK_MSG",
        8 => "NLM_CANCEL_MSG",
        9 => "NLM_UNLOCK_MSG",
        10 => "NLM_GRANTED_MSG",
        11 => "NLM_TEST_RES",
        12 => "NLM_LOCK_RES",
        13 => "NLM_CANCEL_RES",
        14 => "NLM_UNLOCK_RES",
        15 => "NLM_GRANTED_RES",
        20 => "NLM_SHARE",
        21 => "NLM_UNSHARE",
        22 => "NLM_NM_LOCK",
        23 => "NLM_FREE_ALL",
        _ => return None,
    })
}

/// `nlm4_lock` (or `nlm_lock` in versions 1 and 3).
struct WireLock {
    caller: String,
    fh: Vec<u8>,
    oh: Vec<u8>,
    svid: i32,
    offset: u64,
    len: u64,
}

fn string(d: &mut Dec, max: usize) -> Res<String> {
    Ok(String::from_utf8_lossy(d.opaque(max)?).into_owned())
}

fn range_words(d: &mut Dec, version: u32) -> Res<(u64, u64)> {
    if version >= 4 {
        Ok((d.u64()?, d.u64()?))
    } else {
        Ok((u64::from(d.u32()?), u64::from(d.u32()?)))
    }
}

fn wire_lock(d: &mut Dec, version: u32) -> Res<WireLock> {
    let caller = string(d, MAXSTR)?;
    let fh = d.opaque(MAXNETOBJ)?.to_vec();
    let oh = d.opaque(MAXNETOBJ)?.to_vec();
    let svid = d.u32()? as i32;
    let (offset, len) = range_words(d, version)?;
    Ok(WireLock {
        caller,
        fh,
        oh,
        svid,
        offset,
        len,
    })
}

/// A holder (`nlm4_holder`) after a DENIED TEST.
fn holder(e: &mut Enc, l: &Lock, version: u32) {
    let (offset, len) = l.range.to_wire();
    e.bool(l.exclusive)
        .u32(l.owner.svid as u32)
        .opaque(&l.owner.oh);
    if version >= 4 {
        e.u64(offset).u64(len);
    } else {
        // A range past 32 bits is shown clipped, as 32-bit servers do.
        e.u32(offset.min(u64::from(u32::MAX)) as u32)
            .u32(len.min(u64::from(u32::MAX)) as u32);
    }
}

/// The outcome of one NLM call: the reply bytes and a word for the journal.
pub struct Answer {
    pub reply: Vec<u8>,
    pub result: &'static str,
}

fn garbage(xid: u32) -> Answer {
    Answer {
        reply: rpc::accepted(xid, Accept::GarbageArgs).finish(),
        result: "garbage_args",
    }
}

/// `nlm4_res`: cookie and status.
fn res(xid: u32, cookie: &[u8], stat: Stat, version: u32) -> Answer {
    let mut r = rpc::accepted(xid, Accept::Success);
    r.enc.opaque(cookie).u32(stat.wire(version));
    Answer {
        reply: r.finish(),
        result: stat.name(),
    }
}

/// The file a handle names, checked the way an NFS call's is (it exists, and the export policy
/// lets this client reach it).
fn file_of(cx: &Cx, fh: &[u8]) -> Result<LockFile, Stat> {
    let decoded = Fh::decode(fh).ok_or(Stat::StaleFh)?;
    match nfs3::obtain_fh(cx, decoded) {
        Ok(_) => Ok(LockFile {
            volume: decoded.volume(),
            fh: fh.to_vec(),
        }),
        Err(Nfsstat::STALE | Nfsstat::BADHANDLE | Nfsstat::NOENT) => Err(Stat::StaleFh),
        Err(Nfsstat::ACCES | Nfsstat::PERM) => Err(Stat::Denied),
        Err(_) => Err(Stat::Failed),
    }
}

fn lock_of(w: WireLock, file: LockFile, exclusive: bool, peer: SocketAddr) -> Lock {
    Lock {
        file,
        owner: LockOwner {
            host: w.caller,
            svid: w.svid,
            oh: w.oh,
        },
        exclusive,
        range: Range::from_wire(w.offset, w.len),
        peer,
    }
}

pub fn handle(nfs: &Nfs, conn: &Conn, svm: &str, call: &mut Call) -> Answer {
    let xid = call.xid;
    let version = call.vers;
    let cx = Cx {
        nfs,
        peer: conn.peer.ip(),
        svm: svm.to_string(),
        cred: &call.cred,
    };
    let a = &mut call.args;
    match call.proc_ {
        0 => Answer {
            reply: rpc::accepted(xid, Accept::Success).finish(),
            result: "answered",
        },
        // TEST
        1 => {
            let Ok((cookie, exclusive, w)) = (|| -> Res<_> {
                Ok((
                    a.opaque(MAXNETOBJ)?.to_vec(),
                    a.bool()?,
                    wire_lock(a, version)?,
                ))
            })() else {
                return garbage(xid);
            };
            let file = match file_of(&cx, &w.fh) {
                Ok(f) => f,
                Err(s) => return res(xid, &cookie, s, version),
            };
            let want = lock_of(w, file, exclusive, conn.peer);
            let found = nfs.sim.lock_table().test(&want);
            let mut r = rpc::accepted(xid, Accept::Success);
            r.enc.opaque(&cookie);
            let stat = match found {
                TestOutcome::Free => {
                    r.enc.u32(Stat::Granted.wire(version));
                    Stat::Granted
                }
                TestOutcome::Grace => {
                    r.enc.u32(Stat::DeniedGracePeriod.wire(version));
                    Stat::DeniedGracePeriod
                }
                TestOutcome::Held(l) => {
                    r.enc.u32(Stat::Denied.wire(version));
                    holder(&mut r.enc, &l, version);
                    Stat::Denied
                }
            };
            Answer {
                reply: r.finish(),
                result: stat.name(),
            }
        }
        // LOCK, NM_LOCK
        2 | 22 => {
            let Ok((cookie, block, exclusive, w, reclaim, _state)) = (|| -> Res<_> {
                Ok((
                    a.opaque(MAXNETOBJ)?.to_vec(),
                    a.bool()?,
                    a.bool()?,
                    wire_lock(a, version)?,
                    a.bool()?,
                    a.u32()?,
                ))
            })() else {
                return garbage(xid);
            };
            let file = match file_of(&cx, &w.fh) {
                Ok(f) => f,
                Err(s) => return res(xid, &cookie, s, version),
            };
            let want = lock_of(w, file, exclusive, conn.peer);
            let host = want.owner.host.clone();
            let outcome = nfs
                .sim
                .lock_table()
                .lock(want, block, reclaim, &cookie, version);
            let stat = match outcome {
                LockOutcome::Granted => Stat::Granted,
                LockOutcome::Denied(_) => Stat::Denied,
                LockOutcome::Blocked => Stat::Blocked,
                LockOutcome::Grace => Stat::DeniedGracePeriod,
                LockOutcome::NoLocks => Stat::DeniedNolocks,
            };
            // NM_LOCK is the unmonitored lock: its holder is not told of a restart.
            if matches!(stat, Stat::Granted | Stat::Blocked) && call.proc_ == 2 {
                monitor(nfs, conn, host);
            }
            res(xid, &cookie, stat, version)
        }
        // CANCEL
        3 => {
            let Ok((cookie, _block, exclusive, w)) = (|| -> Res<_> {
                Ok((
                    a.opaque(MAXNETOBJ)?.to_vec(),
                    a.bool()?,
                    a.bool()?,
                    wire_lock(a, version)?,
                ))
            })() else {
                return garbage(xid);
            };
            let file = match file_of(&cx, &w.fh) {
                Ok(f) => f,
                Err(s) => return res(xid, &cookie, s, version),
            };
            let want = lock_of(w, file, exclusive, conn.peer);
            let stat = if nfs.sim.lock_table().cancel(&want) {
                Stat::Granted
            } else {
                Stat::Denied
            };
            res(xid, &cookie, stat, version)
        }
        // UNLOCK
        4 => {
            let Ok((cookie, w)) =
                (|| -> Res<_> { Ok((a.opaque(MAXNETOBJ)?.to_vec(), wire_lock(a, version)?)) })()
            else {
                return garbage(xid);
            };
            // A file that is gone has no locks left to release: the unlock succeeds.
            let file = match Fh::decode(&w.fh) {
                Some(fh) => LockFile {
                    volume: fh.volume(),
                    fh: w.fh.clone(),
                },
                None => return res(xid, &cookie, Stat::StaleFh, version),
            };
            let l = lock_of(w, file, false, conn.peer);
            let woke = nfs.sim.lock_table().unlock(&l.file, &l.owner, l.range);
            call_back(nfs, woke);
            res(xid, &cookie, Stat::Granted, version)
        }
        // GRANTED is the server's call to a client; a client sending it to us has nothing to
        // be granted.
        5 => {
            let Ok(cookie) = a.opaque(MAXNETOBJ) else {
                return garbage(xid);
            };
            res(xid, cookie, Stat::Denied, version)
        }
        // SHARE, UNSHARE
        20 | 21 => {
            let Ok((cookie, caller, fh, oh, mode, access, reclaim)) = (|| -> Res<_> {
                Ok((
                    a.opaque(MAXNETOBJ)?.to_vec(),
                    string(a, MAXSTR)?,
                    a.opaque(MAXNETOBJ)?.to_vec(),
                    a.opaque(MAXNETOBJ)?.to_vec(),
                    a.u32()?,
                    a.u32()?,
                    a.bool()?,
                ))
            })() else {
                return garbage(xid);
            };
            let share_res = |stat: Stat| {
                let mut r = rpc::accepted(xid, Accept::Success);
                r.enc.opaque(&cookie).u32(stat.wire(version)).u32(0);
                Answer {
                    reply: r.finish(),
                    result: stat.name(),
                }
            };
            if mode > 3 || access > 3 {
                return garbage(xid);
            }
            let file = match file_of(&cx, &fh) {
                Ok(f) => f,
                Err(s) => return share_res(s),
            };
            if call.proc_ == 21 {
                nfs.sim.lock_table().unshare(&file, &caller, &oh);
                return share_res(Stat::Granted);
            }
            let want = Share {
                file,
                host: caller.clone(),
                oh,
                access,
                deny: mode,
            };
            let stat = match nfs.sim.lock_table().share(want, reclaim) {
                Ok(()) => Stat::Granted,
                Err(true) => Stat::DeniedGracePeriod,
                Err(false) => Stat::Denied,
            };
            if stat == Stat::Granted {
                monitor(nfs, conn, caller);
            }
            share_res(stat)
        }
        // FREE_ALL: the client's name and state; no results.
        23 => {
            let Ok((name, _state)) = (|| -> Res<_> { Ok((string(a, MAXSTR)?, a.u32()?)) })() else {
                return garbage(xid);
            };
            free_host(nfs, &name);
            Answer {
                reply: rpc::accepted(xid, Accept::Success).finish(),
                result: "answered",
            }
        }
        _ => Answer {
            reply: rpc::accepted(xid, Accept::ProcUnavail).finish(),
            result: "proc_unavail",
        },
    }
}

/// Release everything `host` holds (FREE_ALL, or its NSM announcing a reboot).
pub fn free_host(nfs: &Nfs, host: &str) {
    let (freed, woke, known) = {
        let mut t = nfs.sim.lock_table();
        let (freed, woke) = t.free_host(host);
        (freed, woke, t.unmonitor(host))
    };
    info!(host, freed, "released the locks of a client");
    if known {
        nfs.sim.save_nlm_clients();
    }
    call_back(nfs, woke);
}

/// Watch a client that holds (or waits for) a lock, so a restart of the server is announced to
/// it; saved when it is new.
fn monitor(nfs: &Nfs, conn: &Conn, host: String) {
    let c = crate::model::lock::NsmClient {
        host,
        address: conn.peer.ip(),
        server: conn.local.ip(),
    };
    if nfs.sim.lock_table().monitor(c) {
        nfs.sim.save_nlm_clients();
    }
}

/// The answer an NLM fault rule gives instead of the real one.
pub fn fault_reply(call: &Call, stat: Stat) -> Option<Vec<u8>> {
    let cookie = call.args.peek_opaque(MAXNETOBJ)?;
    let v = call.vers;
    let mut r = rpc::accepted(call.xid, Accept::Success);
    match call.proc_ {
        1 => {
            r.enc.opaque(cookie).u32(stat.wire(v));
            if stat == Stat::Denied {
                // A holder has to be named; the fault's is anonymous and covers the file.
                r.enc.bool(true).u32(0).opaque(&[]);
                if v >= 4 {
                    r.enc.u64(0).u64(0);
                } else {
                    r.enc.u32(0).u32(0);
                }
            }
        }
        2..=4 | 22 => {
            r.enc.opaque(cookie).u32(stat.wire(v));
        }
        20 | 21 => {
            r.enc.opaque(cookie).u32(stat.wire(v)).u32(0);
        }
        _ => return None,
    }
    Some(r.finish())
}

/// Tell each client whose wait ended that it has its lock.
fn call_back(nfs: &Nfs, woke: Vec<Waiter>) {
    if woke.is_empty() {
        return;
    }
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        debug!("no runtime for GRANTED callbacks; clients will poll");
        return;
    };
    for w in woke {
        spawn_granted(&rt, nfs.sim.clone(), w, nfs.nlm_client_portmap);
    }
}

fn spawn_granted(rt: &tokio::runtime::Handle, sim: Arc<Sim>, w: Waiter, portmap_port: u16) {
    rt.spawn(granted(sim, w, portmap_port));
}

const CALLBACK_TIMEOUT: Duration = Duration::from_secs(5);

/// NLM GRANTED to the client's lockd. If the client answers that it no longer wants the lock,
/// it is released again.
async fn granted(sim: Arc<Sim>, w: Waiter, portmap_port: u16) {
    let started = std::time::Instant::now();
    let peer = w.lock.peer;
    let outcome = tokio::time::timeout(CALLBACK_TIMEOUT * 3, send_granted(&w, portmap_port)).await;
    let result = match outcome {
        Ok(Ok(0)) => "granted",
        Ok(Ok(_)) => {
            // The client refused the grant (its process gave up): release the lock.
            let woke = {
                let mut t = sim.lock_table();
                t.unlock(&w.lock.file, &w.lock.owner, w.lock.range)
            };
            let rt = tokio::runtime::Handle::current();
            for x in woke {
                spawn_granted(&rt, sim.clone(), x, portmap_port);
            }
            "refused"
        }
        Ok(Err(e)) => {
            info!(client = %peer, error = %e, "NLM GRANTED callback failed; the client will poll");
            "unreachable"
        }
        Err(_) => {
            info!(client = %peer, "NLM GRANTED callback timed out; the client will poll");
            "timeout"
        }
    };
    sim.calls.record(crate::calls::Record {
        peer,
        user: None,
        svm: None,
        front: "nfs",
        api: "NLM_GRANTED_CALLBACK",
        result,
        errno: None,
        fault: None,
        latency: started.elapsed(),
    });
}

/// Ask the client's portmapper for its lockd, then call GRANTED there; the NLM status it answers.
async fn send_granted(w: &Waiter, portmap_port: u16) -> std::io::Result<u32> {
    let ip = w.lock.peer.ip();
    let mut args = Enc::default();
    args.u32(PROG_NLM)
        .u32(w.version)
        .u32(6 /* IPPROTO_TCP */)
        .u32(0);
    let port = call(
        SocketAddr::new(ip, portmap_port),
        rpc::PROG_PORTMAP,
        2,
        3,
        &args.buf,
    )
    .await?;
    let port = Dec::new(&port)
        .u32()
        .map_err(|_| std::io::Error::other("short portmapper reply"))?;
    if port == 0 || port > u32::from(u16::MAX) {
        return Err(std::io::Error::other(
            "the client's lockd is not registered",
        ));
    }
    let mut a = Enc::default();
    let (offset, len) = w.lock.range.to_wire();
    a.opaque(&w.cookie).bool(w.lock.exclusive);
    a.opaque(b"ontap-sim")
        .opaque(&w.lock.file.fh)
        .opaque(&w.lock.owner.oh)
        .u32(w.lock.owner.svid as u32);
    if w.version >= 4 {
        a.u64(offset).u64(len);
    } else {
        a.u32(offset as u32).u32(len as u32);
    }
    let body = call(
        SocketAddr::new(ip, port as u16),
        PROG_NLM,
        w.version,
        5,
        &a.buf,
    )
    .await?;
    let mut d = Dec::new(&body);
    d.opaque(MAXNETOBJ)
        .and_then(|_| d.u32())
        .map_err(|_| std::io::Error::other("short GRANTED reply"))
}

static NEXT_XID: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0x4e4c_0000);

/// One RPC call over a new TCP connection (AUTH_SYS as root); the results of a SUCCESS reply.
pub async fn call(
    to: SocketAddr,
    prog: u32,
    vers: u32,
    proc_: u32,
    args: &[u8],
) -> std::io::Result<Vec<u8>> {
    let xid = NEXT_XID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut e = Enc::default();
    e.u32(0)
        .u32(xid)
        .u32(0)
        .u32(2)
        .u32(prog)
        .u32(vers)
        .u32(proc_);
    let mut cred = Enc::default();
    cred.u32(0).opaque(b"ontap-sim").u32(0).u32(0).u32(0);
    e.u32(rpc::AUTH_SYS).opaque(&cred.buf).u32(0).u32(0);
    e.buf.extend_from_slice(args);
    let len = (e.len() - 4) as u32;
    e.patch_u32(0, 0x8000_0000 | len);
    let mut tcp = tokio::time::timeout(CALLBACK_TIMEOUT, TcpStream::connect(to))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
    tcp.write_all(&e.buf).await?;
    let rec = tokio::time::timeout(CALLBACK_TIMEOUT, rpc::read_record(&mut tcp, 64 << 10))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))?
        .map_err(|e| match e {
            rpc::RecordError::Io(e) => e,
            rpc::RecordError::TooLarge(_) => std::io::Error::other("reply too large"),
            rpc::RecordError::Budget => std::io::Error::other("no memory budget for the reply"),
        })?
        .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::UnexpectedEof))?;
    let mut d = Dec::new(&rec);
    let head = (|| -> Res<(u32, u32, u32)> {
        let x = d.u32()?;
        let mtype = d.u32()?;
        let stat = d.u32()?;
        Ok((x, mtype, stat))
    })();
    match head {
        Ok((x, 1, 0)) if x == xid => {}
        _ => return Err(std::io::Error::other("the call was not accepted")),
    }
    let accept = (|| -> Res<u32> {
        d.u32()?;
        d.opaque(400)?;
        d.u32()
    })();
    if accept != Ok(0) {
        return Err(std::io::Error::other(format!(
            "the call failed (accept_stat {accept:?})"
        )));
    }
    Ok(rec[d.position()..].to_vec())
}
