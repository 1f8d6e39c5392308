//! The HTTPS management listener: TLS, HTTP/1.1 keep-alive, authentication and routing by path,
//! with the fault points a request passes (TCP accept, TLS handshake, ZAPI call) and the request
//! journal.
//!
//! Two fronts share it: the ZAPI servlet path and the REST API under `/api` (see `rest`); every
//! other path is 404.

pub mod auth;

use crate::calls::Record;
use crate::faults::listener::ManagedListener;
use crate::faults::{Action, Front, Point};
use crate::rest;
use crate::sim::Sim;
use crate::zapi;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, CONNECTION, CONTENT_TYPE, WWW_AUTHENTICATE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tracing::{info, info_span, warn, Instrument};

pub const ZAPI_PATH: &str = "/servlets/netapp.servlets.admin.XMLrequest_filer";
/// Bodies above this are refused with 413; the largest real ZAPI requests are a few KiB.
pub const MAX_BODY: usize = 8 << 20;
/// How much of an oversized body is read and thrown away before the connection is cut.
const DRAIN_LIMIT: usize = 64 << 20;
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
pub const REALM: &str = "ontap-sim";

struct Shared {
    sim: Arc<Sim>,
    next_id: AtomicU64,
}

/// What the connection knows about its peer.
#[derive(Clone)]
struct Peer {
    addr: SocketAddr,
    /// CN of a client certificate the TLS layer verified.
    cert_cn: Option<String>,
    /// The socket, for a reset fault (valid while the connection is served).
    fd: RawFd,
}

/// A fault that ends the connection without an answer.
#[derive(Debug)]
struct Cut;

impl std::fmt::Display for Cut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection cut by a fault rule")
    }
}

impl std::error::Error for Cut {}

/// Make the next close of this socket a TCP reset.
fn arm_reset(fd: RawFd) {
    // SAFETY: the fd belongs to a connection that is still being served, so it is open; the
    // borrow does not outlive this call and does not close it.
    let sock = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    let _ = socket2::SockRef::from(&sock).set_linger(Some(Duration::ZERO));
}

/// A fatal TLS alert (handshake_failure) in a TLS 1.2 record: what a server that cannot agree on
/// the handshake sends.
const TLS_HANDSHAKE_FAILURE_ALERT: [u8; 7] = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28];

/// Apply a connection-level fault at accept or before the TLS handshake. Returns the stream when
/// the connection should go on.
async fn connection_fault(
    shared: &Shared,
    mut tcp: TcpStream,
    addr: SocketAddr,
    front: Front,
) -> Option<TcpStream> {
    let Some((id, action)) = shared.sim.faults.check(&Point::new(front, addr.ip())) else {
        return Some(tcp);
    };
    let started = Instant::now();
    let journal = |what: &str| {
        shared.sim.calls.record(Record {
            peer: addr,
            user: None,
            svm: None,
            front: if front == Front::Tcp { "tcp" } else { "tls" },
            api: what,
            result: "fault",
            errno: None,
            fault: Some(id),
            latency: started.elapsed(),
        })
    };
    match action {
        Action::Delay { .. } => {
            if let Some(d) = shared.sim.faults.delay_of(&action) {
                tokio::time::sleep(d).await;
            }
            journal("delay");
            Some(tcp)
        }
        Action::Hang => {
            journal("hang");
            // Hold the socket open and never read or answer, until the client gives up.
            let mut buf = [0u8; 1];
            let _ = tokio::time::timeout(Duration::from_secs(3600), async {
                loop {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    if tcp.try_read(&mut buf).is_ok_and(|n| n == 0) {
                        break;
                    }
                }
            })
            .await;
            None
        }
        Action::Close => {
            journal("close");
            // Send FIN and read what the client already sent: closing with unread data would
            // make the kernel answer with a reset instead of the EOF the rule promises.
            let _ = tcp.shutdown().await;
            let mut buf = [0u8; 4096];
            let _ = tokio::time::timeout(Duration::from_secs(2), async {
                while matches!(tcp.read(&mut buf).await, Ok(n) if n > 0) {}
            })
            .await;
            None
        }
        Action::Reset => {
            journal("reset");
            arm_reset(tcp.as_raw_fd());
            None
        }
        Action::TlsFail => {
            journal("tls_fail");
            let mut buf = [0u8; 4096];
            let _ = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf)).await;
            let _ = tcp.write_all(&TLS_HANDSHAKE_FAILURE_ALERT).await;
            let _ = tcp.shutdown().await;
            None
        }
        _ => Some(tcp),
    }
}

/// The part of a fault action matched on a call that every HTTP front carries out the same way:
/// `delay` waits, then the call goes on (true); `hang` never returns; `close` and `reset` end the
/// connection. `bitten` journals the fault first. Any other action is the front's to carry out
/// (false), in the shape its clients expect (a ZAPI errno, a REST error body, a failed job).
async fn call_action(
    sim: &Sim,
    peer: &Peer,
    action: &Action,
    bitten: impl FnOnce(),
) -> Result<bool, Cut> {
    match action {
        Action::Delay { .. } => {
            if let Some(d) = sim.faults.delay_of(action) {
                tokio::time::sleep(d).await;
            }
            Ok(true)
        }
        Action::Hang => {
            bitten();
            std::future::pending::<()>().await;
            unreachable!("a hung request never resumes");
        }
        Action::Close => {
            bitten();
            Err(Cut)
        }
        Action::Reset => {
            bitten();
            arm_reset(peer.fd);
            Err(Cut)
        }
        _ => Ok(false),
    }
}

/// Serve until `shutdown` resolves, then let in-flight requests finish (bounded by a grace period).
pub async fn serve(
    mut listener: ManagedListener,
    tls: Arc<rustls::ServerConfig>,
    sim: Arc<Sim>,
    shutdown: impl Future<Output = ()>,
) {
    let shared = Arc::new(Shared {
        sim,
        next_id: AtomicU64::new(1),
    });
    let acceptor = TlsAcceptor::from(tls);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    let gate = shared.sim.guards.https.clone();
    let limits = shared.sim.guards.limits();
    let mut backoff = crate::guard::Backoff::default();
    loop {
        let (tcp, addr) = tokio::select! {
            r = listener.accept() => match r {
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
            },
            _ = &mut shutdown => break,
        };
        backoff.reset();
        // Over a cap: closed at once, before TLS costs anything.
        let Some(pass) = gate.enter(addr.ip()) else {
            drop(tcp);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let shared = shared.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _pass = pass;
            let Some(tcp) = connection_fault(&shared, tcp, addr, Front::Tcp).await else {
                return;
            };
            let Some(tcp) = connection_fault(&shared, tcp, addr, Front::Tls).await else {
                return;
            };
            let fd = tcp.as_raw_fd();
            let (tcp, activity) =
                crate::guard::Watched::new(tcp, shared.sim.guards.https.clone(), limits);
            let tls = match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await
            {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    info!(peer = %addr, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    info!(peer = %addr, "TLS handshake timed out");
                    return;
                }
            };
            activity.rest();
            let cert_cn = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .and_then(crate::tls::common_name);
            let peer = Peer { addr, cert_cn, fd };
            let svc = hyper::service::service_fn(move |req| {
                let shared = shared.clone();
                let peer = peer.clone();
                let busy = activity.begin();
                async move {
                    let r = route(&shared, &peer, req, limits).await;
                    r.map(|r| r.map(|b| crate::guard::Held::new(b, busy)))
                }
            });
            // Header, idle and write deadlines are the Watched stream's; the body's is read_body's.
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(None)
                .keep_alive(true)
                .serve_connection(TokioIo::new(tls), svc);
            if let Err(e) = watcher.watch(conn).await {
                info!(peer = %addr, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        warn!("connections still open after the shutdown grace period; closing them");
    }
}

fn plain(status: StatusCode, text: &str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(format!("{text}\n"))));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn unauthorized() -> Response<Full<Bytes>> {
    let mut r = plain(StatusCode::UNAUTHORIZED, "401 Unauthorized");
    r.headers_mut().insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_str(&format!("Basic realm=\"{REALM}\"")).expect("static header"),
    );
    r
}

type Answer = Result<Response<Full<Bytes>>, Cut>;

async fn route(
    shared: &Shared,
    peer: &Peer,
    req: Request<Incoming>,
    limits: crate::guard::Limits,
) -> Answer {
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    let span = info_span!("request", id, peer = %peer.addr, user = tracing::field::Empty,
        svm = tracing::field::Empty, api = tracing::field::Empty);
    async move {
        let started = Instant::now();
        // The request line names a call that never reached an API (a refusal).
        let line = || format!("{} {}", req.method(), req.uri().path());
        let journal =
            |user: Option<&str>, svm: Option<&str>, api: &str, result: &str, errno, fault| {
                shared.sim.calls.record(Record {
                    peer: peer.addr,
                    user,
                    svm,
                    front: "zapi",
                    api,
                    result,
                    errno,
                    fault,
                    latency: started.elapsed(),
                })
            };
        let path = req.uri().path();
        if path == "/api" || path.starts_with("/api/") {
            return rest(shared, peer, req, started, limits).await;
        }
        // Refusals still read a small body first (and throw it away), so the connection stays
        // usable for keep-alive clients that answer the challenge on it; a larger one closes it.
        let refusal = if req.uri().path() != ZAPI_PATH {
            info!(method = %req.method(), path = req.uri().path(), status = 404, "not found");
            Some(plain(StatusCode::NOT_FOUND, "404 Not Found"))
        } else if req.method() != Method::POST {
            let mut r = plain(
                StatusCode::METHOD_NOT_ALLOWED,
                "405 Method Not Allowed: use POST",
            );
            r.headers_mut()
                .insert(ALLOW, HeaderValue::from_static("POST"));
            info!(method = %req.method(), status = 405, "method not allowed");
            Some(r)
        } else {
            None
        };
        let user = match refusal {
            Some(r) => Err((r, None)),
            None => {
                let cluster = shared.sim.read();
                match auth::authenticate(
                    &cluster,
                    crate::model::user::ZAPI_APPLICATION,
                    peer.cert_cn.as_deref(),
                    req.headers(),
                ) {
                    auth::Outcome::User(u) => Ok(u),
                    auth::Outcome::NoCredentials => {
                        info!(status = 401, "no credentials; sending the Basic challenge");
                        Err((unauthorized(), None))
                    }
                    auth::Outcome::Rejected(who) => {
                        warn!(status = 401, user = %who, "authentication failed");
                        Err((unauthorized(), Some(who)))
                    }
                }
            }
        };
        let user = match user {
            Ok(u) => u,
            Err((r, who)) => {
                let line = line();
                let r = if discard_body(shared, limits, req.into_body()).await {
                    r
                } else {
                    closing(r)
                };
                // A failed login names the user it tried, as ONTAP's security.invalid.login does.
                let status = format!("http_{}", r.status().as_u16());
                journal(who.as_deref(), None, &line, &status, None, None);
                return Ok(r);
            }
        };
        tracing::Span::current().record("user", user.name.as_str());
        let (body, _charge) = match read_body(shared, limits, req.into_body()).await {
            Ok(b) => b,
            Err(BodyError::TimedOut) => {
                info!(status = 408, "the body did not arrive in time");
                return Ok(body_timed_out());
            }
            Err(BodyError::Busy) => {
                warn!(
                    status = 503,
                    "the body budget is spent (--body-budget); request refused"
                );
                return Ok(busy());
            }
            Err(BodyError::TooLarge) => {
                info!(status = 413, "body too large");
                journal(
                    Some(&user.name),
                    None,
                    concat!("POST ", "/servlets/netapp.servlets.admin.XMLrequest_filer"),
                    "http_413",
                    None,
                    None,
                );
                return Ok(too_large());
            }
            Err(BodyError::Broken(e)) => {
                info!(error = %e, "reading the body failed");
                return Ok(plain(
                    StatusCode::BAD_REQUEST,
                    "400 Bad Request: unreadable body",
                ));
            }
        };
        tracing::debug!(
            body = %redact_passwords(&String::from_utf8_lossy(&body[..body.len().min(8192)])),
            "request body"
        );
        let outcome = match zapi::prepare(&shared.sim, &user, &body) {
            Err(o) => o,
            Ok(call) => {
                let point = Point {
                    api: Some(call.api()),
                    svm: call.svm(),
                    volume: call.volume(),
                    user: Some(&user.name),
                    ..Point::new(Front::Zapi, peer.addr.ip())
                };
                let fault = shared.sim.faults.check(&point);
                if let Some((fid, action)) = fault {
                    let (api, svm) = (call.api().to_string(), call.svm().map(str::to_string));
                    tracing::Span::current().record("api", api.as_str());
                    let bitten = || {
                        journal(
                            Some(&user.name),
                            svm.as_deref(),
                            &api,
                            "fault",
                            None,
                            Some(fid),
                        )
                    };
                    if call_action(&shared.sim, peer, &action, bitten).await? {
                        zapi::run(&shared.sim, &user, call)
                    } else {
                        match action {
                            Action::HttpStatus { status } => {
                                journal(
                                    Some(&user.name),
                                    svm.as_deref(),
                                    &api,
                                    "fault",
                                    None,
                                    Some(fid),
                                );
                                let code = StatusCode::from_u16(status)
                                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                                let mut r = plain(
                                    code,
                                    &format!(
                                        "{} {}",
                                        code.as_u16(),
                                        code.canonical_reason().unwrap_or("")
                                    ),
                                );
                                if status == 401 {
                                    r = unauthorized();
                                }
                                return Ok(r);
                            }
                            Action::Zapi { errno, reason } => {
                                let o = zapi::failure(
                                    &shared.sim,
                                    Some(&api),
                                    svm.as_deref(),
                                    &zapi::errno::ZapiError::new(errno, reason),
                                );
                                journal(
                                    Some(&user.name),
                                    svm.as_deref(),
                                    &api,
                                    "fault",
                                    Some(errno),
                                    Some(fid),
                                );
                                return Ok(xml_response(o.body));
                            }
                            _ => zapi::run(&shared.sim, &user, call),
                        }
                    }
                } else {
                    zapi::run(&shared.sim, &user, call)
                }
            }
        };
        let span = tracing::Span::current();
        if let Some(api) = &outcome.api {
            span.record("api", api.as_str());
        }
        if let Some(svm) = &outcome.svm {
            span.record("svm", svm.as_str());
        }
        let micros = started.elapsed().as_micros() as u64;
        match outcome.errno {
            None => info!(result = "passed", micros, "zapi"),
            Some(errno) => info!(result = "failed", errno, micros, "zapi"),
        }
        journal(
            Some(&user.name),
            outcome.svm.as_deref(),
            outcome.api.as_deref().unwrap_or("(undecodable)"),
            if outcome.errno.is_none() {
                "passed"
            } else {
                "failed"
            },
            outcome.errno,
            None,
        );
        tracing::debug!(body = %&outcome.body[..outcome.body.len().min(8192)], "response body");
        Ok(xml_response(outcome.body))
    }
    .instrument(span)
    .await
}

fn json_response(status: u16, body: &serde_json::Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/hal+json"),
    );
    r
}

fn rest_error(e: &rest::error::RestError) -> Response<Full<Bytes>> {
    let mut r = json_response(e.status, &e.body());
    if e.status == 401 {
        r.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_str(&format!("Basic realm=\"{REALM}\"")).expect("static header"),
        );
    }
    r
}

/// The volume a REST call names, for fault rules: the body's `name` on a volume create, else the
/// volume of a `/storage/volumes/{uuid}` path.
fn rest_volume(sim: &Sim, path: &str, body: &[u8]) -> Option<String> {
    let rest = path.strip_prefix("/api/storage/volumes")?;
    match rest
        .trim_start_matches('/')
        .split('/')
        .next()
        .filter(|s| !s.is_empty())
    {
        Some(uuid) => {
            let uuid = uuid::Uuid::parse_str(uuid).ok()?;
            sim.read().volume_by_uuid(&uuid).map(|v| v.name.clone())
        }
        None => serde_json::from_slice::<serde_json::Value>(body)
            .ok()?
            .get("name")?
            .as_str()
            .map(str::to_string),
    }
}

/// A REST call: authenticate, route, apply fault rules, run the handler, wait for its job when the
/// caller set `return_timeout`, answer JSON.
async fn rest(
    shared: &Shared,
    peer: &Peer,
    req: Request<Incoming>,
    started: Instant,
    limits: crate::guard::Limits,
) -> Answer {
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let raw_query = req.uri().query().map(str::to_string);
    let mut api = format!("{method} {path}");
    let journal = |user: Option<&str>, svm: Option<&str>, api: &str, result: &str, errno, fault| {
        shared.sim.calls.record(Record {
            peer: peer.addr,
            user,
            svm,
            front: "rest",
            api,
            result,
            errno,
            fault,
            latency: started.elapsed(),
        })
    };
    let user = {
        let cluster = shared.sim.read();
        match auth::authenticate(
            &cluster,
            crate::model::user::REST_APPLICATION,
            peer.cert_cn.as_deref(),
            req.headers(),
        ) {
            auth::Outcome::User(u) => Ok(u),
            auth::Outcome::NoCredentials => Err(None),
            auth::Outcome::Rejected(who) => Err(Some(who)),
        }
    };
    // Credentials are decided before the body is read: without them at most a small body is
    // read, and thrown away.
    let user = match user {
        Ok(u) => u,
        Err(who) => {
            warn!(
                status = 401,
                path,
                user = who.as_deref().unwrap_or(""),
                "REST call without valid credentials"
            );
            journal(who.as_deref(), None, &api, "http_401", None, None);
            let r = rest_error(&rest::error::RestError::new(
                401,
                rest::error::NOT_AUTHORIZED,
                "not authorized for that command",
            ));
            return Ok(if discard_body(shared, limits, req.into_body()).await {
                r
            } else {
                closing(r)
            });
        }
    };
    let body = read_body(shared, limits, req.into_body()).await;
    tracing::Span::current().record("user", user.name.as_str());
    // REST clients parse every error as ONTAP's JSON error body, these two included.
    let (body, _charge) = match body {
        Ok(b) => b,
        Err(BodyError::TimedOut) => {
            journal(Some(&user.name), None, &api, "http_408", None, None);
            return Ok(closing(rest_error(&rest::error::RestError::new(
                408,
                rest::error::GENERIC,
                "The request body did not arrive in time.",
            ))));
        }
        Err(BodyError::Busy) => {
            warn!(
                status = 503,
                "the body budget is spent (--body-budget); request refused"
            );
            journal(Some(&user.name), None, &api, "http_503", None, None);
            let mut r = closing(rest_error(&rest::error::RestError::new(
                503,
                rest::error::GENERIC,
                "Too many request bodies in flight; retry.",
            )));
            r.headers_mut()
                .insert(hyper::header::RETRY_AFTER, HeaderValue::from_static("1"));
            return Ok(r);
        }
        Err(BodyError::TooLarge) => {
            journal(Some(&user.name), None, &api, "http_413", None, None);
            let mut r = rest_error(&rest::error::RestError::new(
                413,
                rest::error::GENERIC,
                format!("The request body is too large: the limit is {MAX_BODY} bytes."),
            ));
            r.headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
            return Ok(r);
        }
        Err(BodyError::Broken(e)) => {
            info!(error = %e, "reading the body failed");
            return Ok(rest_error(&rest::error::RestError::new(
                400,
                rest::error::INVALID_JSON,
                "The request body could not be read.",
            )));
        }
    };
    let api_path = path
        .trim_end_matches('/')
        .strip_prefix("/api")
        .unwrap_or("");
    let (route, vars) = match rest::find(&method, api_path) {
        Ok(x) => x,
        Err(e) => {
            info!(method, path, status = e.status, "REST path not served");
            journal(Some(&user.name), None, &api, "failed", Some(e.code), None);
            let mut r = rest_error(&e);
            if e.status == 405 {
                let allow = rest::allowed(api_path).join(", ");
                if let Ok(v) = HeaderValue::from_str(&allow) {
                    r.headers_mut().insert(ALLOW, v);
                }
            }
            return Ok(r);
        }
    };
    api = format!("{method} /api{}", route.path);
    tracing::Span::current().record("api", api.as_str());
    // Only a rule that names a volume needs the call's volume (a lookup, and for a create a parse
    // of the body the handler parses again).
    let volume = if shared.sim.faults.names_volumes() {
        rest_volume(&shared.sim, &path, &body)
    } else {
        None
    };
    let point = Point {
        api: Some(&path),
        method: Some(&method),
        volume: volume.as_deref(),
        user: Some(&user.name),
        ..Point::new(Front::Rest, peer.addr.ip())
    };
    let mut fail_job = None;
    let mut job_fault = None;
    if let Some((fid, action)) = shared.sim.faults.check(&point) {
        let fault = |result| journal(Some(&user.name), None, &api, result, None, Some(fid));
        let handled = call_action(&shared.sim, peer, &action, || fault("fault")).await?;
        match action {
            _ if handled => {}
            Action::HttpStatus { status } => {
                fault("fault");
                let code =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let e = rest::error::RestError::new(
                    status,
                    rest::error::GENERIC,
                    code.canonical_reason().unwrap_or("injected failure"),
                );
                return Ok(rest_error(&e));
            }
            Action::RestError {
                status,
                code,
                message,
            } => {
                journal(Some(&user.name), None, &api, "fault", Some(code), Some(fid));
                return Ok(rest_error(&rest::error::RestError::new(
                    status, code, message,
                )));
            }
            Action::JobFailure { code, message } => {
                fail_job = Some((code, message));
                job_fault = Some(fid);
            }
            _ => {}
        }
    }
    let sim = shared.sim.clone();
    let fail_job_code = fail_job.as_ref().map(|(c, _)| *c);
    let full_path = format!("/api{api_path}");
    let outcome = rest::handle(
        &sim,
        &user,
        rest::Request {
            route,
            vars,
            path: &full_path,
            query: raw_query.as_deref(),
            body: &body,
            fail_job,
        },
    );
    let outcome = match outcome {
        Ok(reply) => match reply.job.as_ref() {
            None => Ok(reply),
            Some(p) => {
                // The caller set `return_timeout`: answer when the job ends, if it ends in time.
                let deadline = Instant::now() + p.timeout;
                loop {
                    match rest::job::outcome(&sim, p.id) {
                        Some(Ok(())) => {
                            break Ok(rest::Reply {
                                status: p.done_status,
                                ..reply
                            })
                        }
                        Some(Err(e)) => break Err(e),
                        None if Instant::now() >= deadline => break Ok(reply),
                        None => tokio::time::sleep(Duration::from_millis(10)).await,
                    }
                }
            }
        },
        Err(e) => Err(e),
    };
    let micros = started.elapsed().as_micros() as u64;
    match outcome {
        Ok(reply) => {
            info!(status = reply.status, micros, "rest");
            // A job a rule makes fail is accepted (202) but is the rule's doing.
            let result = if job_fault.is_some() {
                "fault"
            } else {
                "passed"
            };
            let code = fail_job_code.filter(|_| job_fault.is_some());
            journal(
                Some(&user.name),
                reply.svm.as_deref(),
                &api,
                result,
                code,
                job_fault,
            );
            let mut r = json_response(reply.status, &reply.body);
            if let Some(l) = reply.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
                r.headers_mut().insert(hyper::header::LOCATION, l);
            }
            Ok(r)
        }
        Err(e) => {
            info!(status = e.status, code = e.code, micros, "rest");
            journal(Some(&user.name), None, &api, "failed", Some(e.code), None);
            Ok(rest_error(&e))
        }
    }
}

fn xml_response(body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/xml; charset=utf-8"),
    );
    r
}

enum BodyError {
    TooLarge,
    Broken(hyper::Error),
    /// The body did not arrive within the body timeout.
    TimedOut,
    /// The budget for bodies in flight across connections is spent.
    Busy,
}

/// Collect a body of at most [`MAX_BODY`] bytes within the body timeout, its bytes charged to
/// the budget shared by every connection (held until the returned charge is dropped). An
/// oversized body is still read (up to [`DRAIN_LIMIT`]) and discarded, so a client that writes
/// its whole request before reading, as most do, sees the 413 instead of a broken pipe.
async fn read_body(
    shared: &Shared,
    limits: crate::guard::Limits,
    mut body: Incoming,
) -> Result<(Bytes, crate::guard::Charge), BodyError> {
    let mut charge = shared.sim.guards.budget.charge();
    let read = async {
        let mut buf = Vec::new();
        let mut total = 0usize;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(BodyError::Broken)?;
            if let Some(data) = frame.data_ref() {
                total += data.len();
                if total <= MAX_BODY {
                    if !charge.grow(data.len()) {
                        return Err(BodyError::Busy);
                    }
                    buf.extend_from_slice(data);
                } else if total > DRAIN_LIMIT {
                    break;
                }
            }
        }
        if total > MAX_BODY {
            return Err(BodyError::TooLarge);
        }
        Ok(Bytes::from(buf))
    };
    match tokio::time::timeout(limits.body_timeout, read).await {
        Ok(Ok(b)) => Ok((b, charge)),
        Ok(Err(e)) => Err(e),
        Err(_) => {
            shared
                .sim
                .guards
                .https
                .timed_out(crate::guard::TimeoutKind::Body);
            Err(BodyError::TimedOut)
        }
    }
}

/// Read and throw away the body of a request that is refused before it is served (no valid
/// credentials, unknown path): at most [`crate::guard::UNAUTHENTICATED_BODY`] bytes, nothing
/// kept. False when the body was larger or slower than that allows: the answer then closes the
/// connection.
async fn discard_body(shared: &Shared, limits: crate::guard::Limits, mut body: Incoming) -> bool {
    let read = async {
        let mut total = 0usize;
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else { return false };
            if let Some(data) = frame.data_ref() {
                total += data.len();
                if total > crate::guard::UNAUTHENTICATED_BODY {
                    return false;
                }
            }
        }
        true
    };
    match tokio::time::timeout(limits.body_timeout, read).await {
        Ok(done) => done,
        Err(_) => {
            shared
                .sim
                .guards
                .https
                .timed_out(crate::guard::TimeoutKind::Body);
            false
        }
    }
}

fn closing(mut r: Response<Full<Bytes>>) -> Response<Full<Bytes>> {
    r.headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    r
}

fn body_timed_out() -> Response<Full<Bytes>> {
    closing(plain(
        StatusCode::REQUEST_TIMEOUT,
        "408 Request Timeout: the body did not arrive in time",
    ))
}

fn busy() -> Response<Full<Bytes>> {
    let mut r = closing(plain(
        StatusCode::SERVICE_UNAVAILABLE,
        "503 Service Unavailable: too many request bodies in flight; retry",
    ));
    r.headers_mut()
        .insert(hyper::header::RETRY_AFTER, HeaderValue::from_static("1"));
    r
}

fn too_large() -> Response<Full<Bytes>> {
    let mut r = plain(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("413 Payload Too Large: the limit is {MAX_BODY} bytes"),
    );
    r.headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    r
}

/// A ZAPI body for the debug log with the text of `<password>` and `<new-password>` (the
/// `security-login-*` inputs) replaced: the log never holds a secret.
fn redact_passwords(body: &str) -> String {
    let mut out = body.to_string();
    for tag in ["password", "new-password"] {
        let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
        let mut from = 0;
        while let Some(i) = out[from..].find(&open).map(|i| i + from + open.len()) {
            let Some(j) = out[i..].find(&close).map(|j| j + i) else {
                out.truncate(i);
                out.push_str("[redacted]");
                break;
            };
            out.replace_range(i..j, "[redacted]");
            from = i + "[redacted]".len();
        }
    }
    out
}

#[cfg(test)]
mod redact_tests {
    #[test]
    fn passwords_never_reach_the_log() {
        let b = "<security-login-create><user-name>u</user-name><password>s3cret1</password></security-login-create><new-password>x2</new-password><password>cut";
        let r = super::redact_passwords(b);
        assert!(
            !r.contains("s3cret1") && !r.contains("x2") && !r.contains("cut"),
            "{r}"
        );
        assert!(r.contains("<user-name>u</user-name>"), "{r}");
    }
}
