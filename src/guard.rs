//! What keeps hostile or broken clients from holding the simulator: timeouts on every listener,
//! caps on open connections (global and per peer), a budget for request bodies in flight across
//! connections, and accept loops that back off when the process runs out of descriptors.
//!
//! Every listener (HTTPS, control API, NFS, portmap) passes its connections through a [`Gate`];
//! HTTP connections run over a [`Watched`] stream that closes them when idle, when headers trickle
//! or when the client stops reading; NFS connections apply the same idea per record. The figures
//! are in [`Limits`] (flags and `ONTAP_SIM_*` variables on `serve`), the counters in the control
//! API's `/metrics`.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tracing::warn;

/// Timeouts, caps and the body budget. `Copy`: a connection takes its own copy at accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A request's headers must arrive within this of their first byte.
    pub header_timeout: Duration,
    /// A request body (and an NFS record, once begun) must arrive within this; a client that
    /// stops reading an answer for this long is cut off.
    pub body_timeout: Duration,
    /// An HTTP keep-alive connection with no request for this long is closed.
    pub idle_timeout: Duration,
    /// An NFS, MOUNT or portmap connection with no call (and none in progress) for this long is
    /// closed.
    pub nfs_idle_timeout: Duration,
    /// Open connections per listener; 0 picks a figure from the descriptor limit.
    pub max_connections: usize,
    /// Open connections per listener from one peer address; 0: half of `max_connections`.
    pub max_connections_per_peer: usize,
    /// Bytes of request bodies and NFS records held at once across all connections.
    pub body_budget: usize,
}

/// Bytes an unauthenticated request may send (and have thrown away) before its 401; more and
/// the connection is closed after the answer.
pub const UNAUTHENTICATED_BODY: usize = 64 << 10;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(90),
            nfs_idle_timeout: Duration::from_secs(300),
            max_connections: 0,
            max_connections_per_peer: 0,
            body_budget: 256 << 20,
        }
    }
}

/// `serve`'s flags for [`Limits`] (each also read from its `ONTAP_SIM_*` variable); a flag not
/// given takes the topology's `[limits]` value, else the default.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct LimitArgs {
    /// Seconds a request's headers may take from their first byte [default: 30]
    #[arg(long, value_name = "SECS", env = "ONTAP_SIM_HEADER_TIMEOUT")]
    pub header_timeout: Option<u64>,
    /// Seconds a request body or an NFS record may take to arrive, and a client may leave an
    /// answer unread, before the connection is closed [default: 60]
    #[arg(long, value_name = "SECS", env = "ONTAP_SIM_BODY_TIMEOUT")]
    pub body_timeout: Option<u64>,
    /// Seconds an HTTP keep-alive connection may sit without a request [default: 90]
    #[arg(long, value_name = "SECS", env = "ONTAP_SIM_IDLE_TIMEOUT")]
    pub idle_timeout: Option<u64>,
    /// Seconds an NFS, MOUNT or portmap connection may sit without a call [default: 300]
    #[arg(long, value_name = "SECS", env = "ONTAP_SIM_NFS_IDLE_TIMEOUT")]
    pub nfs_idle_timeout: Option<u64>,
    /// Open connections per listener [default: a quarter of the descriptor limit left after a
    /// reserve of 256, between 16 and 4096]
    #[arg(long, value_name = "N", env = "ONTAP_SIM_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Open connections per listener from one address [default: half of --max-connections]
    #[arg(long, value_name = "N", env = "ONTAP_SIM_MAX_CONNECTIONS_PER_PEER")]
    pub max_connections_per_peer: Option<usize>,
    /// Bytes of request bodies and NFS records held at once across connections [default: 256 MiB]
    #[arg(long, value_name = "BYTES", env = "ONTAP_SIM_BODY_BUDGET")]
    pub body_budget: Option<usize>,
}

impl LimitArgs {
    /// The limits: each flag, else the topology's `[limits]`, else the default (caps of 0 are
    /// resolved later, from the descriptor limit).
    pub fn limits(&self, cfg: &crate::config::LimitsConfig) -> anyhow::Result<Limits> {
        let d = Limits::default();
        let secs = |flag: Option<u64>, cfg: Option<u64>, default: Duration, name: &str| match flag
            .or(cfg)
        {
            None => Ok(default),
            Some(0) => anyhow::bail!("{name} must be at least 1 second"),
            Some(n) => Ok(Duration::from_secs(n)),
        };
        let body_budget = self
            .body_budget
            .or(cfg.body_budget.map(|s| s.0 as usize))
            .unwrap_or(d.body_budget);
        if body_budget < crate::http::MAX_BODY {
            anyhow::bail!(
                "the body budget must be at least the largest body, {} bytes",
                crate::http::MAX_BODY
            );
        }
        Ok(Limits {
            header_timeout: secs(
                self.header_timeout,
                cfg.header_timeout,
                d.header_timeout,
                "header-timeout",
            )?,
            body_timeout: secs(
                self.body_timeout,
                cfg.body_timeout,
                d.body_timeout,
                "body-timeout",
            )?,
            idle_timeout: secs(
                self.idle_timeout,
                cfg.idle_timeout,
                d.idle_timeout,
                "idle-timeout",
            )?,
            nfs_idle_timeout: secs(
                self.nfs_idle_timeout,
                cfg.nfs_idle_timeout,
                d.nfs_idle_timeout,
                "nfs-idle-timeout",
            )?,
            max_connections: self.max_connections.or(cfg.max_connections).unwrap_or(0),
            max_connections_per_peer: self
                .max_connections_per_peer
                .or(cfg.max_connections_per_peer)
                .unwrap_or(0),
            body_budget,
        })
    }
}

/// Descriptors kept back from the connection caps for files, the journal and the listeners.
const FD_RESERVE: u64 = 256;

/// Raise the soft descriptor limit to the hard one (as servers do) and return it.
pub fn raise_fd_limit() -> u64 {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut l = getrlimit(Resource::Nofile);
    if let (Some(cur), Some(max)) = (l.current, l.maximum) {
        if cur < max {
            l.current = Some(max);
            if setrlimit(Resource::Nofile, l).is_ok() {
                return max;
            }
            return cur;
        }
    }
    l.current.unwrap_or(1 << 20)
}

impl Limits {
    /// Fill in the caps left at 0 from the descriptor limit: four listeners share what the
    /// reserve leaves.
    pub fn resolved(mut self, fd_limit: u64) -> Limits {
        if self.max_connections == 0 {
            let share = fd_limit.saturating_sub(FD_RESERVE) / 4;
            self.max_connections = share.clamp(16, 4096) as usize;
        }
        if self.max_connections_per_peer == 0 {
            self.max_connections_per_peer = (self.max_connections / 2).max(1);
        }
        self
    }
}

/// Log a recurring condition at most once per interval, with how often it happened meanwhile.
pub struct RateLog {
    interval: Duration,
    state: Mutex<(Option<Instant>, u64)>,
}

impl RateLog {
    pub fn new(interval: Duration) -> Self {
        RateLog {
            interval,
            state: Mutex::new((None, 0)),
        }
    }

    /// Count one occurrence; `Some(n)` (occurrences since the last line, this one included) when
    /// a line is due now.
    pub fn due(&self) -> Option<u64> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.1 += 1;
        let now = Instant::now();
        if s.0.is_none_or(|t| now.duration_since(t) >= self.interval) {
            s.0 = Some(now);
            return Some(std::mem::take(&mut s.1));
        }
        None
    }
}

/// Why a connection was timed out, for the metrics.
#[derive(Debug, Clone, Copy)]
pub enum TimeoutKind {
    Idle,
    Header,
    Body,
    Write,
}

/// One listener's connection accounting: the caps, who is connected, and the counters.
pub struct Gate {
    pub name: &'static str,
    max: AtomicUsize,
    per_peer: AtomicUsize,
    peers: Mutex<HashMap<IpAddr, usize>>,
    open: AtomicUsize,
    refused_global: AtomicU64,
    refused_peer: AtomicU64,
    accept_errors: AtomicU64,
    timeouts: [AtomicU64; 4],
    refusal_log: RateLog,
    accept_log: RateLog,
}

/// An admitted connection; leaving frees its place.
pub struct Pass {
    gate: Arc<Gate>,
    ip: IpAddr,
}

impl Drop for Pass {
    fn drop(&mut self) {
        self.gate.open.fetch_sub(1, Ordering::AcqRel);
        let mut peers = self.gate.peers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = peers.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                peers.remove(&self.ip);
            }
        }
    }
}

impl Pass {
    pub fn gate(&self) -> &Gate {
        &self.gate
    }
}

impl Gate {
    pub fn new(name: &'static str) -> Gate {
        let l = Limits::default().resolved(1024);
        Gate {
            name,
            max: AtomicUsize::new(l.max_connections),
            per_peer: AtomicUsize::new(l.max_connections_per_peer),
            peers: Mutex::new(HashMap::new()),
            open: AtomicUsize::new(0),
            refused_global: AtomicU64::new(0),
            refused_peer: AtomicU64::new(0),
            accept_errors: AtomicU64::new(0),
            timeouts: Default::default(),
            refusal_log: RateLog::new(Duration::from_secs(10)),
            accept_log: RateLog::new(Duration::from_secs(10)),
        }
    }

    pub fn set_caps(&self, max: usize, per_peer: usize) {
        self.max.store(max, Ordering::Relaxed);
        self.per_peer.store(per_peer, Ordering::Relaxed);
    }

    /// Admit a connection from `ip`, or refuse it (logged at most once per interval, counted).
    pub fn enter(self: &Arc<Self>, ip: IpAddr) -> Option<Pass> {
        let max = self.max.load(Ordering::Relaxed);
        let per_peer = self.per_peer.load(Ordering::Relaxed);
        let mut peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
        let open = self.open.load(Ordering::Acquire);
        let mine = peers.get(&ip).copied().unwrap_or(0);
        let refusal = if open >= max {
            self.refused_global.fetch_add(1, Ordering::Relaxed);
            Some("the listener's connection cap")
        } else if mine >= per_peer {
            self.refused_peer.fetch_add(1, Ordering::Relaxed);
            Some("the per-peer connection cap")
        } else {
            None
        };
        if let Some(why) = refusal {
            drop(peers);
            if let Some(n) = self.refusal_log.due() {
                warn!(
                    listener = self.name,
                    peer = %ip,
                    open,
                    max,
                    per_peer,
                    refused = n,
                    "connection refused: {why} is reached (--max-connections, --max-connections-per-peer)"
                );
            }
            return None;
        }
        *peers.entry(ip).or_insert(0) += 1;
        self.open.fetch_add(1, Ordering::AcqRel);
        Some(Pass {
            gate: self.clone(),
            ip,
        })
    }

    pub fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    pub fn refused(&self) -> (u64, u64) {
        (
            self.refused_global.load(Ordering::Relaxed),
            self.refused_peer.load(Ordering::Relaxed),
        )
    }

    pub fn accept_errors(&self) -> u64 {
        self.accept_errors.load(Ordering::Relaxed)
    }

    pub fn timed_out(&self, kind: TimeoutKind) {
        self.timeouts[kind as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn timeouts(&self, kind: TimeoutKind) -> u64 {
        self.timeouts[kind as usize].load(Ordering::Relaxed)
    }

    /// An accept failed: count it, log at most once per interval, and say how long to pause.
    pub fn accept_failed(&self, e: &std::io::Error, backoff: &mut Backoff) -> Duration {
        self.accept_errors.fetch_add(1, Ordering::Relaxed);
        let pause = backoff.pause();
        if let Some(n) = self.accept_log.due() {
            warn!(
                listener = self.name,
                error = %e,
                errors = n,
                pause_ms = pause.as_millis() as u64,
                "accept failed; pausing before the next accept (out of descriptors or buffers?)"
            );
        }
        pause
    }
}

/// The pause after accept errors: 100 ms, doubling to 1 s while they go on, back to the start
/// after an accept succeeds.
#[derive(Default)]
pub struct Backoff {
    failures: u32,
}

impl Backoff {
    pub const FIRST: Duration = Duration::from_millis(100);
    pub const MAX: Duration = Duration::from_secs(1);

    pub fn pause(&mut self) -> Duration {
        let d = Self::FIRST.saturating_mul(1 << self.failures.min(4));
        self.failures = self.failures.saturating_add(1);
        d.min(Self::MAX)
    }

    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

/// The bytes of request bodies and NFS records held across connections.
pub struct Budget {
    limit: AtomicUsize,
    used: AtomicUsize,
    refused: AtomicU64,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            limit: AtomicUsize::new(Limits::default().body_budget),
            used: AtomicUsize::new(0),
            refused: AtomicU64::new(0),
        }
    }
}

impl Budget {
    pub fn set_limit(&self, n: usize) {
        self.limit.store(n, Ordering::Relaxed);
    }

    pub fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }

    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// A holder of no bytes yet; it grows with [`Charge::grow`] and gives back on drop.
    pub fn charge(self: &Arc<Self>) -> Charge {
        Charge {
            budget: self.clone(),
            held: 0,
        }
    }
}

/// Bytes taken from the [`Budget`] by one body or record.
pub struct Charge {
    budget: Arc<Budget>,
    held: usize,
}

impl Charge {
    /// Take `n` more bytes; false (nothing taken) when the budget cannot spare them.
    pub fn grow(&mut self, n: usize) -> bool {
        let limit = self.budget.limit.load(Ordering::Relaxed);
        let mut cur = self.budget.used.load(Ordering::Acquire);
        loop {
            if cur + n > limit {
                self.budget.refused.fetch_add(1, Ordering::Relaxed);
                return false;
            }
            match self.budget.used.compare_exchange_weak(
                cur,
                cur + n,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    self.held += n;
                    return true;
                }
                Err(now) => cur = now,
            }
        }
    }

    pub fn held(&self) -> usize {
        self.held
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.held, Ordering::AcqRel);
    }
}

/// The guards of every listener, kept with the simulator so `/metrics` can show them.
pub struct Guards {
    limits: Mutex<Limits>,
    pub https: Arc<Gate>,
    pub admin: Arc<Gate>,
    pub nfs: Arc<Gate>,
    pub portmap: Arc<Gate>,
    pub budget: Arc<Budget>,
}

impl Default for Guards {
    fn default() -> Self {
        Guards {
            limits: Mutex::new(Limits::default().resolved(1024)),
            https: Arc::new(Gate::new("https")),
            admin: Arc::new(Gate::new("admin")),
            nfs: Arc::new(Gate::new("nfs")),
            portmap: Arc::new(Gate::new("portmap")),
            budget: Arc::default(),
        }
    }
}

impl Guards {
    /// Put limits in force (caps already resolved).
    pub fn configure(&self, l: Limits) {
        for g in self.gates() {
            g.set_caps(l.max_connections, l.max_connections_per_peer);
        }
        self.budget.set_limit(l.body_budget);
        *self.limits.lock().unwrap_or_else(|e| e.into_inner()) = l;
    }

    pub fn limits(&self) -> Limits {
        *self.limits.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn gates(&self) -> [&Arc<Gate>; 4] {
        [&self.https, &self.admin, &self.nfs, &self.portmap]
    }

    /// Prometheus text for `/metrics`.
    pub fn render_metrics(&self, out: &mut String) {
        use std::fmt::Write;
        let gates = self.gates();
        let _ = writeln!(out, "# HELP ontap_sim_connections_open Open connections per listener.\n# TYPE ontap_sim_connections_open gauge");
        for g in gates {
            let _ = writeln!(
                out,
                "ontap_sim_connections_open{{listener=\"{}\"}} {}",
                g.name,
                g.open()
            );
        }
        let _ = writeln!(out, "# HELP ontap_sim_connections_refused_total Connections refused at a cap (global: the listener's, peer: one address's).\n# TYPE ontap_sim_connections_refused_total counter");
        for g in gates {
            let (global, peer) = g.refused();
            let _ = writeln!(
                out,
                "ontap_sim_connections_refused_total{{listener=\"{}\",cap=\"global\"}} {global}",
                g.name
            );
            let _ = writeln!(
                out,
                "ontap_sim_connections_refused_total{{listener=\"{}\",cap=\"peer\"}} {peer}",
                g.name
            );
        }
        let _ = writeln!(out, "# HELP ontap_sim_accept_errors_total Failed accepts (out of descriptors or buffers).\n# TYPE ontap_sim_accept_errors_total counter");
        for g in gates {
            let _ = writeln!(
                out,
                "ontap_sim_accept_errors_total{{listener=\"{}\"}} {}",
                g.name,
                g.accept_errors()
            );
        }
        let _ = writeln!(out, "# HELP ontap_sim_connection_timeouts_total Connections closed by a timeout.\n# TYPE ontap_sim_connection_timeouts_total counter");
        for g in gates {
            for (kind, name) in [
                (TimeoutKind::Idle, "idle"),
                (TimeoutKind::Header, "header"),
                (TimeoutKind::Body, "body"),
                (TimeoutKind::Write, "write"),
            ] {
                let _ = writeln!(
                    out,
                    "ontap_sim_connection_timeouts_total{{listener=\"{}\",kind=\"{name}\"}} {}",
                    g.name,
                    g.timeouts(kind)
                );
            }
        }
        let _ = writeln!(out, "# HELP ontap_sim_body_budget_bytes Bytes of request bodies and NFS records held now.\n# TYPE ontap_sim_body_budget_bytes gauge\nontap_sim_body_budget_bytes {}", self.budget.used());
        let _ = writeln!(out, "# HELP ontap_sim_body_budget_refused_total Bodies or records refused because the budget was spent.\n# TYPE ontap_sim_body_budget_refused_total counter\nontap_sim_body_budget_refused_total {}", self.budget.refused());
    }
}

/// What an HTTP connection's service tells its [`Watched`] stream: requests in progress (no
/// idle or header deadline while one is) and how many have ended (each end starts an idle wait).
#[derive(Default)]
pub struct Activity {
    busy: AtomicUsize,
    ended: AtomicU64,
}

/// Held while a request is served.
pub struct Busy(Arc<Activity>);

impl Activity {
    /// Start the idle wait now (after a TLS handshake: its bytes were not a request's).
    pub fn rest(&self) {
        self.ended.fetch_add(1, Ordering::AcqRel);
    }

    pub fn begin(self: &Arc<Self>) -> Busy {
        self.busy.fetch_add(1, Ordering::AcqRel);
        Busy(self.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.ended.fetch_add(1, Ordering::AcqRel);
        self.0.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that keeps its request counted as in progress until it is sent whole (a
/// streamed answer such as `journal?follow` is not an idle connection).
pub struct Held<B> {
    inner: B,
    _busy: Busy,
}

impl<B> Held<B> {
    pub fn new(inner: B, busy: Busy) -> Self {
        Held { inner, _busy: busy }
    }
}

impl<B: hyper::body::Body + Unpin> hyper::body::Body for Held<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// A stream that ends itself (with `TimedOut`) when the peer is idle too long between requests,
/// trickles a request's headers, or leaves written data unread. Time spent serving a request is
/// not counted (bodies have their own deadline where they are read).
pub struct Watched<T> {
    io: T,
    activity: Arc<Activity>,
    gate: Arc<Gate>,
    limits: Limits,
    seen_ended: u64,
    idle_since: Instant,
    header_from: Option<Instant>,
    read_timer: Pin<Box<tokio::time::Sleep>>,
    write_blocked: Option<Instant>,
    write_timer: Pin<Box<tokio::time::Sleep>>,
}

impl<T> Watched<T> {
    pub fn new(io: T, gate: Arc<Gate>, limits: Limits) -> (Self, Arc<Activity>) {
        let activity = Arc::new(Activity::default());
        let now = tokio::time::Instant::now();
        (
            Watched {
                io,
                activity: activity.clone(),
                gate,
                limits,
                seen_ended: 0,
                idle_since: Instant::now(),
                header_from: None,
                read_timer: Box::pin(tokio::time::sleep_until(now)),
                write_blocked: None,
                write_timer: Box::pin(tokio::time::sleep_until(now)),
            },
            activity,
        )
    }

    pub fn get_ref(&self) -> &T {
        &self.io
    }
}

fn timed_out(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::TimedOut, what.to_string())
}

/// Arm `timer` for `deadline`; true when it has passed.
fn expired(
    timer: &mut Pin<Box<tokio::time::Sleep>>,
    deadline: Instant,
    cx: &mut Context<'_>,
) -> bool {
    let now = Instant::now();
    if now >= deadline {
        return true;
    }
    let at = tokio::time::Instant::now() + (deadline - now);
    if timer.deadline() != at {
        timer.as_mut().reset(at);
    }
    timer.as_mut().poll(cx).is_ready()
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let me = &mut *self;
        let ended = me.activity.ended.load(Ordering::Acquire);
        if ended != me.seen_ended {
            me.seen_ended = ended;
            me.idle_since = Instant::now();
            me.header_from = None;
        }
        let busy = me.activity.busy.load(Ordering::Acquire) > 0;
        let before = buf.filled().len();
        match Pin::new(&mut me.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if !busy && me.header_from.is_none() && buf.filled().len() > before {
                    me.header_from = Some(Instant::now());
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending if busy => Poll::Pending,
            Poll::Pending => {
                let (deadline, kind) = match me.header_from {
                    Some(t) => (t + me.limits.header_timeout, TimeoutKind::Header),
                    None => (me.idle_since + me.limits.idle_timeout, TimeoutKind::Idle),
                };
                if expired(&mut me.read_timer, deadline, cx) {
                    me.gate.timed_out(kind);
                    return Poll::Ready(Err(timed_out(match kind {
                        TimeoutKind::Header => "the request headers did not arrive in time",
                        _ => "the connection was idle too long",
                    })));
                }
                Poll::Pending
            }
        }
    }
}

impl<T: AsyncWrite + Unpin> Watched<T> {
    fn write_pending(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let since = *self.write_blocked.get_or_insert_with(Instant::now);
        if expired(&mut self.write_timer, since + self.limits.body_timeout, cx) {
            self.gate.timed_out(TimeoutKind::Write);
            return Poll::Ready(Err(timed_out("the client did not read the answer in time")));
        }
        Poll::Pending
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let me = &mut *self;
        match Pin::new(&mut me.io).poll_write(cx, buf) {
            Poll::Pending => me.write_pending(cx).map(|r| r.map(|_| 0)),
            other => {
                me.write_blocked = None;
                other
            }
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let me = &mut *self;
        match Pin::new(&mut me.io).poll_flush(cx) {
            Poll::Pending => me.write_pending(cx),
            other => {
                me.write_blocked = None;
                other
            }
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let me = &mut *self;
        match Pin::new(&mut me.io).poll_shutdown(cx) {
            Poll::Pending => me.write_pending(cx),
            other => other,
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let me = &mut *self;
        match Pin::new(&mut me.io).poll_write_vectored(cx, bufs) {
            Poll::Pending => me.write_pending(cx).map(|r| r.map(|_| 0)),
            other => {
                me.write_blocked = None;
                other
            }
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_admit_up_to_the_limits_and_free_on_drop() {
        let g = Arc::new(Gate::new("t"));
        g.set_caps(3, 2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let p1 = g.enter(a).unwrap();
        let _p2 = g.enter(a).unwrap();
        assert!(g.enter(a).is_none(), "per-peer cap");
        let _p3 = g.enter(b).unwrap();
        assert!(g.enter(b).is_none(), "global cap");
        assert_eq!(g.refused(), (1, 1));
        drop(p1);
        assert_eq!(g.open(), 2);
        assert!(g.enter(b).is_some());
    }

    #[test]
    fn backoff_doubles_to_a_second_and_resets() {
        let mut b = Backoff::default();
        let seq: Vec<u64> = (0..7).map(|_| b.pause().as_millis() as u64).collect();
        assert_eq!(seq, [100, 200, 400, 800, 1000, 1000, 1000]);
        b.reset();
        assert_eq!(b.pause(), Backoff::FIRST);
    }

    #[test]
    fn budget_refuses_past_its_limit_and_frees_on_drop() {
        let budget = Arc::new(Budget::default());
        budget.set_limit(100);
        let mut a = budget.charge();
        assert!(a.grow(60));
        let mut b = budget.charge();
        assert!(!b.grow(50));
        assert!(b.grow(40));
        assert_eq!(budget.used(), 100);
        drop(a);
        assert_eq!(budget.used(), 40);
        assert_eq!(budget.refused(), 1);
    }

    #[test]
    fn rate_log_speaks_once_per_interval() {
        let l = RateLog::new(Duration::from_secs(3600));
        assert_eq!(l.due(), Some(1));
        for _ in 0..1000 {
            assert_eq!(l.due(), None);
        }
    }

    #[test]
    fn flags_override_the_config_which_overrides_the_defaults() {
        let cfg: crate::config::LimitsConfig =
            toml::from_str("body_timeout = 7\nidle_timeout = 8\nbody_budget = \"1GiB\"").unwrap();
        let args = LimitArgs {
            idle_timeout: Some(9),
            ..Default::default()
        };
        let l = args.limits(&cfg).unwrap();
        assert_eq!(l.header_timeout, Duration::from_secs(30));
        assert_eq!(l.body_timeout, Duration::from_secs(7));
        assert_eq!(l.idle_timeout, Duration::from_secs(9));
        assert_eq!(l.body_budget, 1 << 30);
        let zero = LimitArgs {
            body_timeout: Some(0),
            ..Default::default()
        };
        assert!(zero.limits(&cfg).is_err());
    }

    #[test]
    fn caps_follow_the_descriptor_limit() {
        let l = Limits::default().resolved(1024);
        assert_eq!((l.max_connections, l.max_connections_per_peer), (192, 96));
        let l = Limits::default().resolved(1 << 20);
        assert_eq!(l.max_connections, 4096);
        let l = Limits {
            max_connections: 10,
            ..Limits::default()
        }
        .resolved(1024);
        assert_eq!(l.max_connections_per_peer, 5);
    }
}
