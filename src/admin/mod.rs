//! The control API: plain HTTP on its own listener (loopback by default), never touched by
//! injected faults. Health, reset, state dump and load, fault rules, the request journal,
//! Prometheus metrics, listener modes and model switches (LIF down/up, SVM stop/start, aggregate
//! size and fill), read-only views (`views`) and the web console at `/` (`console`).

pub mod console;
pub mod views;

use crate::calls::Filter;
use crate::faults::listener::Mode;
use crate::faults::RuleSpec;
use crate::model::{OperStatus, SvmState};
use crate::sim::Sim;
use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;
use tracing::info;

type Body = BoxBody<Bytes, Infallible>;

fn full(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(Full::new(body.into()).boxed());
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        content_type.parse().expect("static content type"),
    );
    r
}

fn json(status: StatusCode, v: &impl serde::Serialize) -> Response<Body> {
    let mut s =
        serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    s.push('\n');
    full(status, "application/json", s)
}

fn error(status: StatusCode, message: impl std::fmt::Display) -> Response<Body> {
    json(status, &serde_json::json!({ "error": message.to_string() }))
}

/// Serve the control API until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    sim: Arc<Sim>,
    token: Option<String>,
    shutdown: impl Future<Output = ()>,
) {
    let token = Arc::new(token);
    tokio::pin!(shutdown);
    let gate = sim.guards.admin.clone();
    let limits = sim.guards.limits();
    let mut backoff = crate::guard::Backoff::default();
    loop {
        let (tcp, addr) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of descriptors (EMFILE) or buffers: pause, growing, and log rarely
                    // (a retry at once would spin a core and flood the log).
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
        let Some(pass) = gate.enter(addr.ip()) else {
            drop(tcp);
            continue;
        };
        let (sim, token) = (sim.clone(), token.clone());
        tokio::spawn(async move {
            let _pass = pass;
            let (tcp, activity) = crate::guard::Watched::new(tcp, sim.guards.admin.clone(), limits);
            let svc = hyper::service::service_fn(move |req| {
                let (sim, token) = (sim.clone(), token.clone());
                let busy = activity.begin();
                async move {
                    let r = route(&sim, token.as_deref(), req, limits).await;
                    Ok::<_, Infallible>(r.map(|b| crate::guard::Held::new(b, busy)))
                }
            });
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(None)
                .serve_connection(TokioIo::new(tcp), svc)
                .await
            {
                // A client that goes away mid-answer (Ctrl-C on `journal --follow`) is normal.
                tracing::debug!(peer = %addr, error = %e, "control connection ended with an error");
            }
        });
    }
}

fn query(req: &Request<Incoming>) -> Vec<(String, String)> {
    req.uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// Percent-decoding for query values and path segments.
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push(h * 16 + l);
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A body of at most 256 MiB (a state document), within the body timeout.
async fn body_bytes(
    req: Request<Incoming>,
    limits: crate::guard::Limits,
) -> Result<Bytes, Response<Body>> {
    let read = http_body_util::Limited::new(req.into_body(), 256 << 20).collect();
    match tokio::time::timeout(limits.body_timeout, read).await {
        Ok(r) => r
            .map(|b| b.to_bytes())
            .map_err(|e| error(StatusCode::BAD_REQUEST, format!("unreadable body: {e}"))),
        Err(_) => {
            let mut r = error(
                StatusCode::REQUEST_TIMEOUT,
                "the body did not arrive in time (--body-timeout)",
            );
            r.headers_mut().insert(
                hyper::header::CONNECTION,
                hyper::header::HeaderValue::from_static("close"),
            );
            Err(r)
        }
    }
}

async fn route(
    sim: &Sim,
    token: Option<&str>,
    req: Request<Incoming>,
    limits: crate::guard::Limits,
) -> Response<Body> {
    // The console's page and assets hold no state and no secret: they load without the token,
    // then ask for it and send it on every data call.
    if let Some(r) = console::serve(req.method(), req.uri().path()) {
        return r;
    }
    if let Some(t) = token {
        let ok = req
            .headers()
            .get(hyper::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|v| v == t);
        if !ok {
            return error(
                StatusCode::UNAUTHORIZED,
                "this control API needs its bearer token: `Authorization: Bearer TOKEN` (the ontap-sim CLI: --token or ONTAP_SIM_ADMIN_TOKEN; the token is the one `serve` got with --admin-token)",
            );
        }
    }
    let path: Vec<String> = req
        .uri()
        .path()
        .trim_matches('/')
        .split('/')
        .map(decode)
        .collect();
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    let method = req.method().clone();
    match (&method, path.as_slice()) {
        (&Method::GET, ["healthz"]) => full(StatusCode::OK, "text/plain", "ok\n"),
        (&Method::GET, ["readyz"]) => full(StatusCode::OK, "text/plain", "ready\n"),
        (&Method::POST, ["reset"]) => match sim.reset() {
            Ok(()) => {
                info!("control: reset to the seed topology");
                json(StatusCode::OK, &serde_json::json!({"reset": true}))
            }
            Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}")),
        },
        (&Method::GET, ["state"]) => json(StatusCode::OK, &sim.state()),
        (&Method::PUT, ["state"]) => {
            let b = match body_bytes(req, limits).await {
                Ok(b) => b,
                Err(r) => return r,
            };
            let doc: crate::store::StateDoc = match serde_json::from_slice(&b) {
                Ok(d) => d,
                Err(e) => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        format!("not a state document: {e}"),
                    )
                }
            };
            if let Err(e) = doc.check() {
                return error(StatusCode::BAD_REQUEST, format!("{e:#}"));
            }
            match sim.load_state(doc) {
                Ok(()) => {
                    info!(volumes = sim.read().volumes.len(), "control: state loaded");
                    json(StatusCode::OK, &serde_json::json!({"loaded": true}))
                }
                Err(e) => error(StatusCode::BAD_REQUEST, format!("{e:#}")),
            }
        }
        (&Method::GET, ["faults"]) => json(StatusCode::OK, &sim.faults.list()),
        (&Method::POST, ["faults"]) => {
            let b = match body_bytes(req, limits).await {
                Ok(b) => b,
                Err(r) => return r,
            };
            // One rule, or a list of rules (a scenario); the first character says which, so a
            // bad rule's error names its bad key rather than the other shape's mismatch.
            let list = b.iter().find(|c| !c.is_ascii_whitespace()) == Some(&b'[');
            let parsed = if list {
                serde_json::from_slice::<Vec<RuleSpec>>(&b)
                    .map_err(|e| format!("not a list of fault rules: {e}"))
            } else {
                serde_json::from_slice::<RuleSpec>(&b)
                    .map(|s| vec![s])
                    .map_err(|e| format!("not a fault rule: {e}"))
            };
            let specs = match parsed {
                Ok(v) => v,
                Err(e) => return error(StatusCode::BAD_REQUEST, e),
            };
            for (i, s) in specs.iter().enumerate() {
                if let Err(e) = s.validate() {
                    return error(StatusCode::BAD_REQUEST, format!("rule {i}: {e}"));
                }
            }
            let added: Vec<_> = specs
                .into_iter()
                .filter_map(|s| sim.faults.add(s).ok())
                .collect();
            for r in &added {
                info!(
                    id = r.id,
                    rule = %serde_json::to_string(&r.spec).unwrap_or_default(),
                    "control: fault rule added"
                );
            }
            json(StatusCode::CREATED, &added)
        }
        (&Method::DELETE, ["faults"]) => {
            sim.faults.clear();
            info!("control: fault rules cleared");
            json(StatusCode::OK, &serde_json::json!({"cleared": true}))
        }
        (&Method::DELETE, ["faults", id]) => match id.parse::<u64>() {
            Ok(id) if sim.faults.remove(id) => {
                info!(id, "control: fault rule removed");
                json(StatusCode::OK, &serde_json::json!({"removed": id}))
            }
            Ok(id) => error(StatusCode::NOT_FOUND, format!("no fault rule {id}")),
            Err(_) => error(
                StatusCode::BAD_REQUEST,
                format!("\"{id}\" is not a rule id"),
            ),
        },
        (&Method::GET, ["journal"]) => journal(sim, &req),
        (&Method::GET, ["locks"]) => json(StatusCode::OK, &sim.lock_table().view()),
        (&Method::GET, ["cluster" | "volumes", ..]) => views::route(sim, &path, &query(&req)),
        (&Method::GET, ["metrics"]) => {
            full(StatusCode::OK, "text/plain; version=0.0.4", metrics(sim))
        }
        (&Method::GET, ["listeners"]) => json(
            StatusCode::OK,
            &serde_json::json!({
                "management": sim.faults.listeners.management.current(),
                "nfs": sim.faults.listeners.nfs.current(),
            }),
        ),
        (&Method::PUT, ["listeners", which]) => {
            let Some(tx) = sim.faults.listeners.get(which) else {
                return error(
                    StatusCode::NOT_FOUND,
                    format!("no listener \"{which}\" (management, nfs)"),
                );
            };
            let b = match body_bytes(req, limits).await {
                Ok(b) => b,
                Err(r) => return r,
            };
            let text = String::from_utf8_lossy(&b);
            let word = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v.get("mode").and_then(|m| m.as_str()).map(str::to_string))
                .unwrap_or_else(|| text.trim().trim_matches('"').to_string());
            match word.parse::<Mode>() {
                Ok(m) => {
                    let applied = tx.set(m).await;
                    info!(listener = %which, mode = %word, applied, "control: listener switched");
                    json(
                        StatusCode::OK,
                        &serde_json::json!({ "listener": which, "mode": m, "applied": applied }),
                    )
                }
                Err(e) => error(StatusCode::BAD_REQUEST, e),
            }
        }
        (&Method::POST, ["lif", name, action]) => {
            let status = match *action {
                "down" => OperStatus::Down,
                "up" => OperStatus::Up,
                _ => return error(StatusCode::NOT_FOUND, "use /lif/NAME/down or /lif/NAME/up"),
            };
            switch(sim, format!("LIF {name} {action}"), |c| {
                c.set_lif_status(name, status)
            })
        }
        (&Method::POST, ["svm", name, action]) => {
            let state = match *action {
                "stop" => SvmState::Stopped,
                "start" => SvmState::Running,
                _ => {
                    return error(
                        StatusCode::NOT_FOUND,
                        "use /svm/NAME/stop or /svm/NAME/start",
                    )
                }
            };
            switch(sim, format!("SVM {name} {action}"), |c| {
                c.set_svm_state(name, state)
            })
        }
        (&Method::POST, ["aggregate", name]) => {
            let b = match body_bytes(req, limits).await {
                Ok(b) => b,
                Err(r) => return r,
            };
            #[derive(serde::Deserialize)]
            #[serde(deny_unknown_fields)]
            struct AggrChange {
                size: Option<String>,
                fill_percent: Option<u64>,
            }
            let ch: AggrChange = match serde_json::from_slice(&b) {
                Ok(c) => c,
                Err(e) => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        format!(
                            "expected {{\"size\": \"20TiB\"}} or {{\"fill_percent\": 100}}: {e}"
                        ),
                    )
                }
            };
            if ch.size.is_none() && ch.fill_percent.is_none() {
                return error(
                    StatusCode::BAD_REQUEST,
                    "nothing to change: give {\"size\": \"20TiB\"} and/or {\"fill_percent\": 100}",
                );
            }
            let size = match ch
                .size
                .as_deref()
                .map(crate::config::parse_size)
                .transpose()
            {
                Ok(s) => s,
                Err(e) => return error(StatusCode::BAD_REQUEST, e),
            };
            let mut what = format!("aggregate {name}");
            if let Some(s) = &ch.size {
                what.push_str(&format!(" size {s}"));
            }
            if let Some(p) = ch.fill_percent {
                what.push_str(&format!(" filled to {p}%"));
            }
            switch(sim, what, |c| {
                if let Some(s) = size {
                    c.resize_aggregate(name, s)?;
                }
                if let Some(p) = ch.fill_percent {
                    c.fill_aggregate(name, p)?;
                }
                Ok(())
            })
        }
        _ => error(
            StatusCode::NOT_FOUND,
            format!("no such control endpoint: {} {}", method, req.uri().path()),
        ),
    }
}

/// Apply a model switch; `what` says what it did, for the log.
fn switch(
    sim: &Sim,
    what: String,
    f: impl FnOnce(&mut crate::model::Cluster) -> Result<(), crate::model::ModelError>,
) -> Response<Body> {
    match sim.switch(f) {
        Ok(()) => {
            info!("control: {what}");
            json(StatusCode::OK, &serde_json::json!({"ok": true}))
        }
        Err(e @ crate::model::ModelError::NotFound { .. }) => error(StatusCode::NOT_FOUND, e),
        Err(e) => error(StatusCode::BAD_REQUEST, e),
    }
}

fn journal(sim: &Sim, req: &Request<Incoming>) -> Response<Body> {
    let mut filter = Filter::default();
    let mut limit = 1000usize;
    let mut follow = false;
    for (k, v) in query(req) {
        match k.as_str() {
            "api" => filter.api = Some(v),
            "svm" => filter.svm = Some(v),
            "result" => filter.result = Some(v),
            "front" => filter.front = Some(v),
            "limit" => limit = v.parse().unwrap_or(limit),
            "follow" => follow = v != "0" && v != "false",
            _ => {}
        }
    }
    if !follow {
        return json(StatusCode::OK, &sim.calls.recent(&filter, limit));
    }
    // JSON lines: the recent entries, then each new one as it happens.
    let backlog = sim.calls.recent(&filter, limit);
    let rx = sim.calls.subscribe();
    let head = futures_util::stream::iter(
        backlog
            .into_iter()
            .map(|e| Ok::<_, Infallible>(Frame::data(line(&e)))),
    );
    let live = tokio_stream::wrappers::BroadcastStream::new(rx).filter_map(move |r| {
        let out = match r {
            Ok(e) if filter.accepts(&e) => Some(Ok(Frame::data(line(&e)))),
            _ => None,
        };
        std::future::ready(out)
    });
    let mut r = Response::new(BodyExt::boxed(StreamBody::new(head.chain(live))));
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        "application/x-ndjson".parse().expect("static content type"),
    );
    r
}

fn line(e: &crate::calls::Entry) -> Bytes {
    let mut s = serde_json::to_string(e).unwrap_or_default();
    s.push('\n');
    Bytes::from(s)
}

fn metrics(sim: &Sim) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    sim.calls.render_metrics(&mut out);
    sim.guards.render_metrics(&mut out);
    let c = sim.read();
    let l = crate::calls::label;
    let _ = writeln!(
        out,
        "# HELP ontap_sim_volumes Volumes per SVM.\n# TYPE ontap_sim_volumes gauge"
    );
    let mut per_svm: std::collections::BTreeMap<&str, (u64, u64)> =
        std::collections::BTreeMap::new();
    for v in c.volumes.values() {
        let e = per_svm.entry(v.svm.as_str()).or_default();
        e.0 += 1;
        e.1 += v.snapshots.len() as u64;
    }
    for (svm, (n, _)) in &per_svm {
        let _ = writeln!(out, "ontap_sim_volumes{{svm=\"{}\"}} {n}", l(svm));
    }
    let _ = writeln!(
        out,
        "# HELP ontap_sim_snapshots Snapshots per SVM.\n# TYPE ontap_sim_snapshots gauge"
    );
    for (svm, (_, s)) in &per_svm {
        let _ = writeln!(out, "ontap_sim_snapshots{{svm=\"{}\"}} {s}", l(svm));
    }
    let _ = writeln!(out, "# HELP ontap_sim_aggregate_used_bytes Bytes used per aggregate.\n# TYPE ontap_sim_aggregate_used_bytes gauge");
    for a in c.aggregates.values() {
        let _ = writeln!(
            out,
            "ontap_sim_aggregate_used_bytes{{aggregate=\"{}\"}} {}",
            l(&a.name),
            a.used_total()
        );
    }
    let _ = writeln!(out, "# HELP ontap_sim_aggregate_size_bytes Size per aggregate.\n# TYPE ontap_sim_aggregate_size_bytes gauge");
    for a in c.aggregates.values() {
        let _ = writeln!(
            out,
            "ontap_sim_aggregate_size_bytes{{aggregate=\"{}\"}} {}",
            l(&a.name),
            a.size
        );
    }
    let _ = writeln!(
        out,
        "# HELP ontap_sim_faults_fired_total Fault rules fired.\n# TYPE ontap_sim_faults_fired_total counter\nontap_sim_faults_fired_total {}",
        sim.faults.fired_total()
    );
    out
}
