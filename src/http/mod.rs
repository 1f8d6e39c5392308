//! The HTTPS management listener: TLS, HTTP/1.1 keep-alive, authentication and routing by path.
//!
//! Only the ZAPI servlet path is served here; every other path is 404, so REST-first clients such as
//! Trident fall back to ZAPI exactly as they do against a filer without the REST API.

pub mod auth;

use crate::sim::Sim;
use crate::zapi;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, CONNECTION, CONTENT_TYPE, WWW_AUTHENTICATE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
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
}

/// Serve until `shutdown` resolves, then let in-flight requests finish (bounded by a grace period).
pub async fn serve(
    listener: TcpListener,
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
    loop {
        let (tcp, addr) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let shared = shared.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
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
            let cert_cn = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .and_then(crate::tls::common_name);
            let peer = Peer { addr, cert_cn };
            let svc = hyper::service::service_fn(move |req| {
                let shared = shared.clone();
                let peer = peer.clone();
                async move { Ok::<_, Infallible>(route(&shared, &peer, req).await) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(30))
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

async fn route(shared: &Shared, peer: &Peer, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    let span = info_span!("request", id, peer = %peer.addr, user = tracing::field::Empty,
        svm = tracing::field::Empty, api = tracing::field::Empty);
    async move {
        let started = Instant::now();
        // Refusals still read the (bounded) body first, so the connection stays usable for
        // keep-alive clients that answer the challenge on it.
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
            Some(r) => Err(r),
            None => {
                let cluster = shared.sim.read();
                match auth::authenticate(&cluster, peer.cert_cn.as_deref(), req.headers()) {
                    auth::Outcome::User(u) => Ok(u),
                    auth::Outcome::NoCredentials => {
                        info!(status = 401, "no credentials; sending the Basic challenge");
                        Err(unauthorized())
                    }
                    auth::Outcome::Rejected(who) => {
                        warn!(status = 401, user = %who, "authentication failed");
                        Err(unauthorized())
                    }
                }
            }
        };
        let user = match user {
            Ok(u) => u,
            Err(r) => {
                return match read_body(req.into_body()).await {
                    Ok(_) => r,
                    Err(_) => too_large(),
                };
            }
        };
        tracing::Span::current().record("user", user.name.as_str());
        let body = match read_body(req.into_body()).await {
            Ok(b) => b,
            Err(BodyError::TooLarge) => {
                info!(status = 413, "body too large");
                return too_large();
            }
            Err(BodyError::Broken(e)) => {
                info!(error = %e, "reading the body failed");
                return plain(StatusCode::BAD_REQUEST, "400 Bad Request: unreadable body");
            }
        };
        tracing::debug!(body = %String::from_utf8_lossy(&body[..body.len().min(8192)]), "request body");
        let outcome = zapi::handle(&shared.sim, &user, &body);
        tracing::debug!(body = %&outcome.body[..outcome.body.len().min(8192)], "response body");
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
        let mut r = Response::new(Full::new(Bytes::from(outcome.body)));
        r.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/xml; charset=utf-8"),
        );
        r
    }
    .instrument(span)
    .await
}

enum BodyError {
    TooLarge,
    Broken(hyper::Error),
}

/// Collect a body of at most [`MAX_BODY`] bytes. An oversized body is still read (up to
/// [`DRAIN_LIMIT`]) and discarded, so a client that writes its whole request before reading, as
/// most do, sees the 413 instead of a broken pipe.
async fn read_body(mut body: Incoming) -> Result<Bytes, BodyError> {
    let mut buf = Vec::new();
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(BodyError::Broken)?;
        if let Some(data) = frame.data_ref() {
            total += data.len();
            if total <= MAX_BODY {
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
