//! The NFSv3 front: every volume's data served at its junction path, over ONC RPC on TCP.
//!
//! One listener answers NFS v3 (100003), MOUNT v3 (100005), NLM (100021) and NSM (100024) (and the
//! portmapper, so a client that asks it on the NFS port is answered too); an optional second
//! listener is a portmapper (v2-v4) on its own port (111 for kernel clients). Both ports also take
//! UDP datagrams for everything but NFS itself (MOUNT over UDP, `rpcinfo`, NSM notifications).
//! A call travels:
//!
//! ```text
//! TCP accept (LIF check) -> record (rpc.rs) -> AUTH_NONE/AUTH_SYS -> program/procedure
//!   -> model view + export policy (view.rs, model/nfs_access.rs) -> identity (access.rs)
//!   -> the volume's directory on disk (fs.rs), under the volume's data lock -> reply
//! ```
//!
//! The model owns everything: which SVM a LIF belongs to, which volume is at a path, who may
//! reach it, and how much space is left (`Sim::charge_data`). This front only translates, and
//! keeps nothing between calls except the inode maps that turn handles back into paths.

pub mod access;
pub mod busy_poll;
pub mod fs;
pub mod handle;
pub mod mount;
pub mod nfs3;
pub mod nlm;
pub mod nsm;
pub mod portmap;
pub mod rpc;
pub mod view;
pub mod xdr;

use crate::faults::listener::ManagedListener;
use crate::faults::{Action, Front, Point};
use crate::sim::{off_the_runtime, Sim};
use anyhow::Result;
use rpc::{Accept, Incoming, RecordError};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify, Semaphore};
use tracing::{debug, error, info, info_span, warn, Instrument};

/// Calls of one connection processed at once (a kernel client pipelines many).
const MAX_IN_FLIGHT: usize = 16;
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
const STRIPES: usize = 64;
/// What a connection reads ahead of the record it parses.
const READ_BUFFER: usize = 16 << 10;
/// `--nfs-busy-poll-us`'s default: a client that sends its next call within this of our reply
/// is polled for (it takes 35-40 us on this project's VM).
pub const DEFAULT_BUSY_POLL: Duration = Duration::from_micros(100);

/// The bound sockets, made before the banner is printed.
pub struct Listeners {
    pub nfs: TcpListener,
    pub portmap: Option<TcpListener>,
    /// UDP sockets on the same addresses (those that could be bound).
    pub udp: Vec<tokio::net::UdpSocket>,
    /// The port of a locking client's portmapper, asked where its lockd is for NLM GRANTED
    /// callbacks (111 unless a test runs its client's portmapper elsewhere).
    pub nlm_client_portmap: u16,
    /// The longest a connection polls for a quick client's next call (see [`busy_poll`]).
    pub busy_poll: Duration,
}

impl Listeners {
    pub async fn bind(nfs: SocketAddr, portmap: Option<SocketAddr>) -> Result<Listeners> {
        let n = TcpListener::bind(nfs)
            .await
            .map_err(|e| crate::server::bind_error(e, nfs, "NFS", "--nfs-listen"))?;
        let p = match portmap {
            Some(a) => Some(TcpListener::bind(a).await.map_err(|e| {
                crate::server::bind_error(e, a, "the portmapper", "--portmap-listen")
            })?),
            None => None,
        };
        // UDP beside each TCP listener, on the port it got. A UDP port that cannot be had is
        // logged and skipped: TCP is what NFS needs.
        let mut udp = Vec::new();
        for a in
            std::iter::once(n.local_addr()?).chain(p.as_ref().and_then(|l| l.local_addr().ok()))
        {
            match tokio::net::UdpSocket::bind(a).await {
                Ok(u) => udp.push(u),
                Err(e) => {
                    warn!(addr = %a, error = %e, "no UDP for the portmapper, MOUNT and NLM here")
                }
            }
        }
        Ok(Listeners {
            nfs: n,
            portmap: p,
            udp,
            nlm_client_portmap: 111,
            busy_poll: DEFAULT_BUSY_POLL,
        })
    }

    pub fn nfs_addr(&self) -> Option<SocketAddr> {
        self.nfs.local_addr().ok()
    }

    pub fn portmap_addr(&self) -> Option<SocketAddr> {
        self.portmap.as_ref().and_then(|l| l.local_addr().ok())
    }
}

/// State shared by every connection.
pub struct Nfs {
    pub sim: Arc<Sim>,
    pub trees: fs::Trees,
    /// Directory listings kept for READDIR and READDIRPLUS.
    pub listings: nfs3::readdir::Listings,
    pub policies: access::Policies,
    /// Changes at every start, so clients resend writes a restart may have lost.
    pub write_verifier: [u8; 8],
    pub nfs_port: u16,
    pub portmap_port: Option<u16>,
    /// UDP is served (the portmapper lists the UDP mappings).
    pub udp: bool,
    /// Where NLM GRANTED callbacks ask a client's portmapper (see [`Listeners`]).
    pub nlm_client_portmap: u16,
    /// This server's NSM state number: odd (up), larger at every start.
    pub nsm_state: u32,
    /// The longest a connection polls for its client's next call; 0: never.
    pub busy_poll: Duration,
    /// A connection is polling (one at a time).
    polling: std::sync::atomic::AtomicBool,
    /// Serialise size changes of one file (stat, charge, write must not interleave).
    stripes: Vec<Mutex<()>>,
    next_conn: AtomicU64,
}

impl Nfs {
    pub fn new(sim: Arc<Sim>, nfs_port: u16, portmap_port: Option<u16>) -> Nfs {
        let boot = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
            ^ u64::from(std::process::id()) << 48;
        Nfs {
            sim,
            trees: fs::Trees::default(),
            listings: Default::default(),
            policies: access::Policies::default(),
            write_verifier: boot.to_be_bytes(),
            nfs_port,
            portmap_port,
            udp: false,
            nlm_client_portmap: 111,
            nsm_state: (std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_secs() as u32))
                | 1,
            busy_poll: DEFAULT_BUSY_POLL,
            polling: Default::default(),
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            next_conn: AtomicU64::new(1),
        }
    }

    /// The lock serialising size changes of file `ino` in volume `volume`.
    pub fn stripe(&self, volume: &uuid::Uuid, ino: u64) -> std::sync::MutexGuard<'_, ()> {
        let h = (volume.as_u128() as u64) ^ ino.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.stripes[(h % STRIPES as u64) as usize]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }
}

/// What the connection does after a call.
pub enum Outcome {
    Reply(Vec<u8>),
    /// Nothing to send (an unparseable record).
    Nothing,
    /// The LIF is gone or down: hang up.
    Close,
}

/// Who is on the other end of a connection.
#[derive(Debug, Clone, Copy)]
pub struct Conn {
    pub peer: SocketAddr,
    pub local: SocketAddr,
    /// The call came in a UDP datagram.
    pub udp: bool,
}

/// Serve until `shutdown` resolves; then stop accepting and give calls in progress a moment.
pub async fn serve(listeners: Listeners, sim: Arc<Sim>, shutdown: impl Future<Output = ()>) {
    let nfs_port = listeners.nfs_addr().map_or(0, |a| a.port());
    let pm_port = listeners.portmap_addr().map(|a| a.port());
    let mut nfs = Nfs::new(sim, nfs_port, pm_port);
    nfs.nlm_client_portmap = listeners.nlm_client_portmap;
    nfs.busy_poll = listeners.busy_poll;
    nfs.udp = !listeners.udp.is_empty();
    let nfs = Arc::new(nfs);
    tokio::spawn(nsm::announce_restart(nfs.clone()));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    let Listeners {
        nfs: nfs_l,
        portmap: pm_l,
        udp,
        ..
    } = listeners;
    for sock in udp {
        tasks.spawn(serve_udp(nfs.clone(), Arc::new(sock), stop_rx.clone()));
    }
    // The NFS port follows its fault-injection mode (normal, refuse, blackhole).
    let mut nfs_l = match ManagedListener::new(nfs_l, nfs.sim.faults.listeners.nfs.subscribe()) {
        Ok(l) => l,
        Err(e) => {
            error!(error = %e, "the NFS listener cannot be used");
            return;
        }
    };
    let guards = &nfs.sim.guards;
    let mut backoff = crate::guard::Backoff::default();
    loop {
        let (accepted, gate) = tokio::select! {
            r = nfs_l.accept() => (r, &guards.nfs),
            r = async { match &pm_l { Some(l) => l.accept().await, None => std::future::pending().await } } => (r, &guards.portmap),
            _ = &mut shutdown => break,
        };
        let (tcp, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                // Out of descriptors (EMFILE) or buffers: pause, growing, and log rarely.
                let pause = gate.accept_failed(&e, &mut backoff);
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = &mut shutdown => break,
                }
                continue;
            }
        };
        backoff.reset();
        let Some(pass) = gate.enter(peer.ip()) else {
            drop(tcp);
            continue;
        };
        let Ok(local) = tcp.local_addr() else {
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let id = nfs.next_conn.fetch_add(1, Ordering::Relaxed);
        let span = info_span!("nfs", conn = id, peer = %peer, lif = %local.ip());
        tasks.spawn(
            connection(
                nfs.clone(),
                tcp,
                Conn {
                    peer,
                    local,
                    udp: false,
                },
                stop_rx.clone(),
                pass,
            )
            .instrument(span),
        );
        // Reap finished connections so the set does not grow.
        while tasks.try_join_next().is_some() {}
    }
    drop(nfs_l);
    drop(pm_l);
    let _ = stop_tx.send(true);
    if tokio::time::timeout(SHUTDOWN_GRACE, async {
        while tasks.join_next().await.is_some() {}
    })
    .await
    .is_err()
    {
        warn!("NFS connections still busy after the shutdown grace period; closing them");
        tasks.abort_all();
    }
}

async fn connection(
    nfs: Arc<Nfs>,
    tcp: TcpStream,
    conn: Conn,
    mut stop: watch::Receiver<bool>,
    pass: crate::guard::Pass,
) {
    use crate::guard::TimeoutKind;
    let limits = nfs.sim.guards.limits();
    if let Err(why) = nfs.sim.read().nfs_svm_for_address(conn.local.ip()) {
        info!(reason = %why, "NFS connection refused");
        return;
    }
    debug!("NFS connection");
    let (rd, wr) = tcp.into_split();
    // Small records (a pipelined client's GETATTRs) are taken from the socket several at once,
    // and each in one read instead of a peek, a read of its mark and one of its body; a large
    // one (a WRITE's data) is read past the buffer.
    let mut rd = tokio::io::BufReader::with_capacity(READ_BUFFER, rd);
    // Whoever answers a call writes its reply: this task for a cheap call, the blocking thread
    // that ran it otherwise (a task when the socket cannot take it at once). Each reply is
    // written whole under the lock (replies may go out in any order: the client matches them by
    // XID).
    let wr = Arc::new(tokio::sync::Mutex::new(wr));
    // Notified when a reply cannot be written or a call finds the LIF gone: the reader stops.
    let close = Arc::new(Notify::new());
    let gate = Arc::new(pass);
    let slots = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let mut poll = busy_poll::BusyPoll::new(nfs.busy_poll);
    loop {
        // Wait for the next record without reading it; a connection with nothing in progress
        // for the idle timeout is closed.
        let ready = tokio::select! {
            r = rd.fill_buf() => r.map(|b| b.len()),
            _ = tokio::time::sleep(limits.nfs_idle_timeout) => {
                if slots.available_permits() == MAX_IN_FLIGHT {
                    gate.gate().timed_out(TimeoutKind::Idle);
                    info!(secs = limits.nfs_idle_timeout.as_secs(), "NFS connection idle; closing");
                    break;
                }
                continue;
            }
            _ = stop.changed() => break,
            _ = close.notified() => break,
        };
        if !matches!(ready, Ok(n) if n > 0) {
            break;
        }
        poll.arrived();
        // Once begun, a record must arrive whole within the body timeout; its memory grows as
        // its bytes come and is charged to the budget shared by every connection.
        let mut charge = nfs.sim.guards.budget.charge();
        let rec = tokio::select! {
            r = tokio::time::timeout(
                limits.body_timeout,
                rpc::read_record_within(&mut rd, rpc::MAX_RECORD, Some(&mut charge)),
            ) => match r {
                Ok(r) => r,
                Err(_) => {
                    gate.gate().timed_out(TimeoutKind::Body);
                    info!(secs = limits.body_timeout.as_secs(), "an RPC record did not arrive in time; closing");
                    break;
                }
            },
            _ = stop.changed() => break,
            _ = close.notified() => break,
        };
        let rec = match rec {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(RecordError::Budget) => {
                warn!("the record budget is spent (--body-budget); closing the connection");
                break;
            }
            Err(RecordError::TooLarge(n)) => {
                warn!(
                    bytes = n,
                    limit = rpc::MAX_RECORD,
                    "RPC record too large; closing the connection"
                );
                break;
            }
            Err(RecordError::Io(e)) => {
                debug!(error = %e, "NFS connection ended");
                break;
            }
        };
        // A cheap call (attributes, a name looked up, file system information) is answered
        // here, without handing it to a blocking thread and its reply to the writer: no thread
        // hop at all. One that turns out to need blocking work (a scan of the tree after a
        // restart, a DNS query for the export policy) is given up and run on the pool below.
        // Any other call, with nothing else in flight and nothing more read ahead (a client
        // with one call out at a time: nfs-cp, nfs-cat, a single-threaded program), also runs
        // here, this worker's other tasks handed to another thread while it does
        // (`block_in_place`): waking a pool thread for it would put a thread switch in every
        // call's latency. Not while fault rules exist (a delay sleeps, and the reader must
        // still see a stop), nor for a READ of more than 64 KiB: a pipelining client's READs
        // arrive in bursts after it takes its replies, and the first of a burst run here would
        // hold the others back while it copies its megabyte (8 READs of 1 MiB in flight
        // measured 0.98x ganesha this way, 1.1x from the pool).
        let here = if cheap(&nfs, &rec) {
            inline::run(|| dispatch(&nfs, &conn, &rec))
        } else if slots.available_permits() == MAX_IN_FLIGHT
            && rd.buffer().is_empty()
            && nfs.sim.faults.is_empty()
            && !large_read(&rec)
        {
            Some(off_the_runtime(|| dispatch(&nfs, &conn, &rec)))
        } else {
            None
        };
        if let Some(out) = here {
            drop((rec, charge));
            match out {
                Outcome::Reply(b) => {
                    if !send_reply(&wr, &b, limits.body_timeout, &gate).await {
                        break;
                    }
                    // Nothing in flight and nothing read ahead: a client with one call out at
                    // a time is about to send its next one.
                    if rd.buffer().is_empty() && slots.available_permits() == MAX_IN_FLIGHT {
                        poll.after_reply(rd.get_ref().as_ref(), &nfs.polling);
                    }
                }
                Outcome::Nothing => {}
                Outcome::Close => break,
            }
            continue;
        }
        let Ok(permit) = slots.clone().acquire_owned().await else {
            break;
        };
        let (nfs, wr, close, gate) = (nfs.clone(), wr.clone(), close.clone(), gate.clone());
        let span = tracing::Span::current();
        let runtime = tokio::runtime::Handle::current();
        let limit = limits.body_timeout;
        // The call runs on a blocking thread, which writes its reply itself when the socket
        // takes it at once (no other thread to wake); else a task finishes it.
        tokio::task::spawn_blocking(move || {
            // dispatch answers a call that panicked with SYSTEM_ERR itself.
            let out = span.in_scope(|| dispatch(&nfs, &conn, &rec));
            drop((rec, charge));
            match out {
                Outcome::Reply(b) => reply_from_pool(&runtime, wr, b, limit, gate, close),
                Outcome::Nothing => {}
                Outcome::Close => close.notify_one(),
            }
            drop(permit);
        });
    }
    // Let calls in progress finish and their replies go out.
    let _ = slots.acquire_many(MAX_IN_FLIGHT as u32).await;
    let _ = wr.lock().await.shutdown().await;
}

/// Write one reply whole; false when the connection is to be closed (the client went away or
/// leaves its replies unread).
async fn send_reply(
    wr: &tokio::sync::Mutex<tokio::net::tcp::OwnedWriteHalf>,
    b: &[u8],
    limit: Duration,
    gate: &crate::guard::Pass,
) -> bool {
    let mut w = wr.lock().await;
    match tokio::time::timeout(limit, w.write_all(b)).await {
        Ok(Ok(())) => true,
        Ok(Err(_)) => false,
        Err(_) => {
            gate.gate().timed_out(crate::guard::TimeoutKind::Write);
            info!("the client did not read its replies in time; closing");
            false
        }
    }
}

/// Write a reply from a blocking-pool thread: at once when the write half is free and the socket
/// takes the whole reply; otherwise a task on the runtime writes it (or the rest of it, keeping
/// the lock so no other reply comes between its bytes). `close` is notified when it cannot be
/// written.
fn reply_from_pool(
    runtime: &tokio::runtime::Handle,
    wr: Arc<tokio::sync::Mutex<tokio::net::tcp::OwnedWriteHalf>>,
    b: Vec<u8>,
    limit: Duration,
    gate: Arc<crate::guard::Pass>,
    close: Arc<Notify>,
) {
    let Ok(mut held) = wr.clone().try_lock_owned() else {
        runtime.spawn(async move {
            if !send_reply(&wr, &b, limit, &gate).await {
                close.notify_one();
            }
        });
        return;
    };
    let mut done = 0;
    while done < b.len() {
        match held.try_write(&b[done..]) {
            Ok(0) => {
                close.notify_one();
                return;
            }
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(_) => {
                close.notify_one();
                return;
            }
        }
    }
    if done == b.len() {
        return;
    }
    runtime.spawn(async move {
        match tokio::time::timeout(limit, held.write_all(&b[done..])).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => close.notify_one(),
            Err(_) => {
                gate.gate().timed_out(crate::guard::TimeoutKind::Write);
                info!("the client did not read its replies in time; closing");
                close.notify_one();
            }
        }
    });
}

/// NFSv3 procedures answered on the connection's own task: they read attributes and names
/// through kept descriptors and the model, and change nothing (NULL, GETATTR, LOOKUP, ACCESS,
/// FSSTAT, FSINFO, PATHCONF). Not while fault rules exist (a delay sleeps).
fn cheap(nfs: &Nfs, record: &[u8]) -> bool {
    let word = |i: usize| {
        record
            .get(i..i + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    // xid, CALL, rpcvers 2, program, version, procedure.
    word(4) == Some(0)
        && word(8) == Some(2)
        && word(12) == Some(rpc::PROG_NFS)
        && word(16) == Some(3)
        && matches!(word(20), Some(0 | 1 | 3 | 4 | 18 | 19 | 20))
        && nfs.sim.faults.is_empty()
}

/// An NFSv3 READ asking more than 64 KiB.
fn large_read(record: &[u8]) -> bool {
    const LARGE: u32 = 64 << 10;
    let mut d = xdr::Dec::new(record);
    let mut count = || -> xdr::Res<Option<u32>> {
        let (_xid, _call, _rpcvers) = (d.u32()?, d.u32()?, d.u32()?);
        if (d.u32()?, d.u32()?, d.u32()?) != (rpc::PROG_NFS, 3, 6) {
            return Ok(None);
        }
        // Credential and verifier, then the handle and the offset.
        for _ in 0..2 {
            d.u32()?;
            d.opaque(400)?;
        }
        d.opaque(handle::FHSIZE3)?;
        d.u64()?;
        Ok(Some(d.u32()?))
    };
    matches!(count(), Ok(Some(n)) if n > LARGE)
}

/// Calls answered on an async task must not block it for long: work that may (a scan of a
/// whole tree, a DNS query) asks [`inline::may_block`] first, and when the answer is no, the
/// call is given up and run again on the blocking pool.
pub mod inline {
    use std::cell::Cell;

    #[derive(Clone, Copy, PartialEq, Eq)]
    enum State {
        Pool,
        Inline,
        GaveUp,
    }

    thread_local! {
        static STATE: Cell<State> = const { Cell::new(State::Pool) };
    }

    /// Run `f` as an inline call: None when it asked to block (its result is then discarded).
    pub fn run<T>(f: impl FnOnce() -> T) -> Option<T> {
        STATE.with(|s| s.set(State::Inline));
        let out = f();
        let gave_up = STATE.with(|s| s.replace(State::Pool)) == State::GaveUp;
        (!gave_up).then_some(out)
    }

    /// May this thread block now? Always on the blocking pool; on an async task, no (and the
    /// call is given up).
    pub fn may_block() -> bool {
        STATE.with(|s| match s.get() {
            State::Pool => true,
            _ => {
                s.set(State::GaveUp);
                false
            }
        })
    }

    /// The call in progress on this thread was given up (nothing it did is to be reported).
    pub fn gave_up() -> bool {
        STATE.with(|s| s.get() == State::GaveUp)
    }
}

/// The largest datagram taken (a MOUNT, NLM or portmapper call is far smaller).
const MAX_DATAGRAM: usize = 64 << 10;

/// Serve RPC over one UDP socket until shutdown: each datagram is one call, answered from the
/// address it reached. NFS itself is not served over UDP (PROG_UNAVAIL), as on an ONTAP SVM with
/// NFS over UDP disabled.
async fn serve_udp(
    nfs: Arc<Nfs>,
    sock: Arc<tokio::net::UdpSocket>,
    mut stop: watch::Receiver<bool>,
) {
    let Ok(bound) = sock.local_addr() else {
        return;
    };
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let (n, peer) = tokio::select! {
            r = sock.recv_from(&mut buf) => match r {
                Ok(x) => x,
                Err(e) => {
                    debug!(error = %e, "UDP receive failed");
                    continue;
                }
            },
            _ = stop.changed() => return,
        };
        let dgram = buf[..n].to_vec();
        // A socket bound to every address answers from the one the client used: the one the
        // route back to the client leaves from.
        let local = if bound.ip().is_unspecified() {
            match local_towards(peer) {
                Some(ip) => SocketAddr::new(ip, bound.port()),
                None => continue,
            }
        } else {
            bound
        };
        let conn = Conn {
            peer,
            local,
            udp: true,
        };
        let (nfs, sock) = (nfs.clone(), sock.clone());
        tokio::spawn(async move {
            let prog = dgram
                .get(12..16)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
            let out = if prog == Some(rpc::PROG_NFS) {
                match rpc::parse(&dgram) {
                    Incoming::Call(c) => {
                        Outcome::Reply(rpc::accepted(c.xid, Accept::ProgUnavail).finish())
                    }
                    _ => Outcome::Nothing,
                }
            } else {
                match tokio::task::spawn_blocking(move || dispatch(&nfs, &conn, &dgram)).await {
                    Ok(o) => o,
                    Err(_) => Outcome::Nothing,
                }
            };
            if let Outcome::Reply(b) = out {
                // A datagram carries no record mark.
                if b.len() > 4 {
                    let _ = sock.send_to(&b[4..], peer).await;
                }
            }
        });
    }
}

/// The local address packets to `peer` leave from.
fn local_towards(peer: SocketAddr) -> Option<std::net::IpAddr> {
    let any: SocketAddr = if peer.is_ipv4() {
        "0.0.0.0:0".parse().ok()?
    } else {
        "[::]:0".parse().ok()?
    };
    let s = std::net::UdpSocket::bind(any).ok()?;
    s.connect(peer).ok()?;
    s.local_addr().ok().map(|a| a.ip())
}

/// Answer one record.
pub fn dispatch(nfs: &Nfs, conn: &Conn, record: &[u8]) -> Outcome {
    let call = match rpc::parse(record) {
        Incoming::Drop => return Outcome::Nothing,
        Incoming::Answer(b) => return Outcome::Reply(b),
        Incoming::Call(c) => c,
    };
    let xid = call.xid;
    let svm = match nfs.sim.read().nfs_svm_for_address(conn.local.ip()) {
        Ok(s) => s.name.clone(),
        Err(why) => {
            info!(reason = %why, "the LIF no longer serves NFS; closing the connection");
            return Outcome::Close;
        }
    };
    let started = std::time::Instant::now();
    let proc_name = procedure_name(&call);
    let (call_prog, call_vers, call_proc) = (call.prog, call.vers, call.proc_);
    let journal = |result: &str| {
        let api = match (&proc_name, call_prog) {
            (Some(p), _) => p.clone(),
            (None, prog) => format!("program {prog} v{call_vers} procedure {call_proc}"),
        };
        nfs.sim.calls.record(crate::calls::Record {
            peer: conn.peer,
            user: None,
            svm: Some(&svm),
            front: "nfs",
            api: &api,
            result,
            errno: None,
            fault: None,
            latency: started.elapsed(),
        })
    };
    if let Some(out) = fault(nfs, conn, &svm, &call) {
        journal("fault");
        return out;
    }
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut call = call;
        let answered = |b: Vec<u8>| (b, "answered");
        let nlm = |a: nlm::Answer| (a.reply, a.result);
        match call.prog {
            nlm::PROG_NLM if matches!(call.vers, 1 | 3 | 4) => {
                nlm(nlm::handle(nfs, conn, &svm, &mut call))
            }
            nlm::PROG_NLM => answered(rpc::prog_mismatch(xid, 1, 4)),
            nsm::PROG_NSM if call.vers == 1 => nlm(nsm::handle(nfs, &mut call)),
            nsm::PROG_NSM => answered(rpc::prog_mismatch(xid, 1, 1)),
            _ => answered(dispatch_nfs(nfs, conn, &svm, xid, call)),
        }
    }));
    if inline::gave_up() {
        // Run again on the blocking pool, which reports it.
        return Outcome::Nothing;
    }
    match out {
        Ok((b, result)) => {
            journal(result);
            Outcome::Reply(b)
        }
        Err(_) => {
            error!(xid, "an NFS call panicked; answered SYSTEM_ERR");
            journal("system_err");
            Outcome::Reply(rpc::accepted(xid, Accept::SystemErr).finish())
        }
    }
}

/// NFS, MOUNT and the portmapper.
fn dispatch_nfs(nfs: &Nfs, conn: &Conn, svm: &str, xid: u32, mut call: rpc::Call) -> Vec<u8> {
    {
        match call.prog {
            rpc::PROG_NFS if call.vers == 3 => nfs3::handle(nfs, conn, svm, &mut call),
            rpc::PROG_NFS => rpc::prog_mismatch(xid, 3, 3),
            rpc::PROG_MOUNT if (1..=3).contains(&call.vers) => {
                mount::handle(nfs, conn, svm, &mut call)
            }
            rpc::PROG_MOUNT => rpc::prog_mismatch(xid, 1, 3),
            rpc::PROG_PORTMAP if (2..=4).contains(&call.vers) => {
                portmap::handle(nfs, conn, &mut call)
            }
            rpc::PROG_PORTMAP => rpc::prog_mismatch(xid, 2, 4),
            _ => rpc::accepted(xid, Accept::ProgUnavail).finish(),
        }
    }
}

/// `NFS3 WRITE`, `MOUNT MNT`, ...: what the journal and fault rules call a procedure.
fn procedure_name(call: &rpc::Call) -> Option<String> {
    let proc_ = call.proc_ as usize;
    match call.prog {
        rpc::PROG_NFS => NFS_PROCS.get(proc_).map(|p| p.to_string()),
        rpc::PROG_MOUNT => MOUNT_PROCS.get(proc_).map(|p| p.to_string()),
        rpc::PROG_PORTMAP if call.vers == 2 => Some(format!("PORTMAP {proc_}")),
        rpc::PROG_PORTMAP => Some(format!("RPCBIND v{} {proc_}", call.vers)),
        nlm::PROG_NLM => nlm::procedure_name(call.proc_).map(str::to_string),
        nsm::PROG_NSM => nsm::procedure_name(call.proc_).map(str::to_string),
        _ => None,
    }
}

const NFS_PROCS: [&str; 22] = [
    "NULL",
    "GETATTR",
    "SETATTR",
    "LOOKUP",
    "ACCESS",
    "READLINK",
    "READ",
    "WRITE",
    "CREATE",
    "MKDIR",
    "SYMLINK",
    "MKNOD",
    "REMOVE",
    "RMDIR",
    "RENAME",
    "LINK",
    "READDIR",
    "READDIRPLUS",
    "FSSTAT",
    "FSINFO",
    "PATHCONF",
    "COMMIT",
];
const MOUNT_PROCS: [&str; 6] = ["NULL", "MNT", "DUMP", "UMNT", "UMNTALL", "EXPORT"];

/// Words of attributes (all "absent") in each NFSv3 procedure's failure body.
const NFS_FAIL_WORDS: [usize; 22] = [
    0, 0, 2, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 4, 3, 1, 1, 1, 1, 1, 2,
];

/// Injected faults for this call (rules from the control API or the topology), if one fires.
fn fault(nfs: &Nfs, conn: &Conn, svm: &str, call: &rpc::Call) -> Option<Outcome> {
    let faults = &nfs.sim.faults;
    if faults.is_empty() {
        return None;
    }
    let proc_ = call.proc_ as usize;
    let name = match call.prog {
        rpc::PROG_NFS => NFS_PROCS.get(proc_).copied(),
        rpc::PROG_MOUNT => MOUNT_PROCS.get(proc_).copied(),
        nlm::PROG_NLM => nlm::procedure_name(call.proc_),
        nsm::PROG_NSM => nsm::procedure_name(call.proc_),
        _ => None,
    }?;
    // The volume the call is about: the first handle of an NFS call, the path of a MNT.
    let volume: Option<String> = {
        let c = nfs.sim.read();
        match (call.prog, proc_) {
            (rpc::PROG_NFS, p) if p > 0 => call
                .args
                .peek_opaque(handle::FHSIZE3)
                .and_then(handle::Fh::decode)
                .and_then(|fh| {
                    c.nfs_volume_by_uuid(svm, &fh.volume())
                        .map(|v| v.name.clone())
                }),
            (rpc::PROG_MOUNT, 1) => call
                .args
                .peek_opaque(1024)
                .and_then(|p| std::str::from_utf8(p).ok())
                .and_then(|p| c.nfs_volume_at(svm, p).map(|(v, _)| v.name.clone())),
            _ => None,
        }
    };
    let point = Point {
        api: Some(name),
        svm: Some(svm),
        volume: volume.as_deref(),
        ..Point::new(Front::Nfs, conn.peer.ip())
    };
    let (_, action) = faults.check(&point)?;
    match action {
        Action::Delay { .. } => {
            if let Some(d) = faults.delay_of(&action) {
                std::thread::sleep(d);
            }
            None
        }
        Action::Hang => Some(Outcome::Nothing),
        Action::Nlm { status } if call.prog == nlm::PROG_NLM => {
            let stat = nlm::Stat::from_name(&status)?;
            nlm::fault_reply(call, stat).map(Outcome::Reply)
        }
        Action::Close | Action::Reset => Some(Outcome::Close),
        Action::NfsError { status } => {
            let code = crate::faults::nfs_status(&status)?;
            let mut r = rpc::accepted(call.xid, rpc::Accept::Success);
            match call.prog {
                rpc::PROG_NFS if proc_ > 0 => {
                    r.enc.u32(code);
                    for _ in 0..NFS_FAIL_WORDS[proc_] {
                        r.enc.bool(false);
                    }
                }
                // MNT answers a mount status; ACCES and NOENT keep their numbers.
                rpc::PROG_MOUNT if proc_ == 1 => {
                    r.enc.u32(code);
                }
                _ => return None,
            }
            Some(Outcome::Reply(r.finish()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_inline_call_that_would_block_is_given_up_and_the_thread_is_the_pool_again() {
        assert!(
            inline::may_block(),
            "off an async task, blocking is allowed"
        );
        assert_eq!(inline::run(|| 5), Some(5));
        assert_eq!(inline::run(inline::may_block), None);
        assert!(!inline::gave_up());
        assert!(inline::may_block());
    }

    #[test]
    fn only_reading_nfs_calls_are_cheap() {
        let topology = crate::config::Topology::builtin_default();
        let listeners = crate::model::Listeners {
            management: "127.0.0.1:8443".parse().expect("address"),
            nfs: "127.0.0.1:2049".parse().expect("address"),
        };
        let cluster = crate::model::Cluster::from_topology(&topology, &listeners);
        let sim = Arc::new(Sim::ephemeral(cluster, (topology, listeners)).expect("a simulator"));
        let nfs = Nfs::new(sim, 0, None);
        let call = |prog: u32, vers: u32, proc_: u32| {
            let mut b = Vec::new();
            for w in [7, 0, 2, prog, vers, proc_] {
                b.extend_from_slice(&u32::to_be_bytes(w));
            }
            b
        };
        for p in [0, 1, 3, 4, 18, 19, 20] {
            assert!(cheap(&nfs, &call(rpc::PROG_NFS, 3, p)), "procedure {p}");
        }
        for p in [2, 5, 6, 7, 8, 12, 14, 16, 17, 21, 22] {
            assert!(!cheap(&nfs, &call(rpc::PROG_NFS, 3, p)), "procedure {p}");
        }
        assert!(!cheap(&nfs, &call(rpc::PROG_MOUNT, 3, 1)));
        assert!(!cheap(&nfs, &call(rpc::PROG_NFS, 4, 1)));
        assert!(!cheap(&nfs, &call(rpc::PROG_NFS, 3, 1)[..20]));
    }

    #[test]
    fn only_a_read_of_more_than_64_kib_is_large() {
        // xid, CALL, rpcvers, program, version, procedure; AUTH_SYS with a body, an empty
        // verifier; a 3-byte handle (padded), the offset and the count.
        let read = |prog: u32, proc_: u32, count: u32| {
            let mut e = xdr::Enc::default();
            e.u32(9).u32(0).u32(2).u32(prog).u32(3).u32(proc_);
            e.u32(1).opaque(&[0u8; 20]).u32(0).u32(0);
            e.opaque(&[1, 2, 3]).u64(1 << 40).u32(count);
            e.buf
        };
        assert!(large_read(&read(rpc::PROG_NFS, 6, (64 << 10) + 1)));
        assert!(!large_read(&read(rpc::PROG_NFS, 6, 64 << 10)));
        assert!(!large_read(&read(rpc::PROG_NFS, 7, 1 << 20)));
        assert!(!large_read(&read(rpc::PROG_MOUNT, 6, 1 << 20)));
        let cut = read(rpc::PROG_NFS, 6, 1 << 20);
        assert!(!large_read(&cut[..cut.len() - 4]));
    }
}
