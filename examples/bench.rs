//! The benchmark program: ZAPI throughput and latency against a minimal hyper + rustls server (the
//! ceiling of this stack on this machine), new-connection cycles, scale to many volumes (first
//! page, filtered query, full paged listing), memory per volume, binary size, start-up time, NFS
//! throughput beside nfs-ganesha when it can run (`nfs_bench.rs`, included below) and the wall time of
//! Trident's ontap-nas ZAPI call sequence for a create-snapshot-clone-delete cycle of 50 volumes
//! with the share of it spent inside ontap-sim (`tests/trident`, run with `go test`; skipped when
//! Go is not installed). Prints a table and writes bench/latest.{json,md}.
//!
//! Run: `cargo run --release --example bench -- [--volumes N] [--secs S]` (it builds the
//! simulator's release binary first unless `ONTAP_SIM_BIN` names one).

/// The NFS benchmark example, whose measuring code this program reuses (its `main` is unused here).
#[allow(dead_code)]
#[path = "nfs_bench.rs"]
mod nfs_bench;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::io::BufRead;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PATH: &str = "/servlets/netapp.servlets.admin.XMLrequest_filer";
const AUTH: &str = "Basic YWRtaW46bmV0YXBwMSE="; // admin:netapp1!

struct Proc {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn bin() -> String {
    std::env::var("ONTAP_SIM_BIN").unwrap_or_else(|_| "target/release/ontap-sim".into())
}

/// `cargo run --example` builds the example, not the simulator it starts: build that too, so
/// the figures are never a stale binary's.
fn build_simulator() {
    if std::env::var_os("ONTAP_SIM_BIN").is_some() {
        return;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let ok = Command::new(cargo)
        .args(["build", "--release", "--bin", "ontap-sim"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "cargo build --release --bin ontap-sim failed");
}

/// Start the simulator; returns it and the seconds from launch to `ready`.
fn start(state: &Path) -> (Proc, f64) {
    let t = Instant::now();
    let mut child = Command::new(bin())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--nfs-listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
            "--state-dir",
        ])
        .arg(state)
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run target/release/ontap-sim (cargo build --release first)");
    let mut addr = None;
    for line in std::io::BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(z) = line.trim().strip_prefix("ZAPI") {
            addr = Some(
                z.trim()
                    .trim_start_matches("https://")
                    .trim_end_matches(PATH)
                    .parse()
                    .unwrap(),
            );
        }
        if line == "ready" {
            break;
        }
    }
    let secs = t.elapsed().as_secs_f64();
    (
        Proc {
            child,
            addr: addr.expect("banner"),
        },
        secs,
    )
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .map(|l| l.to_string())
        })
        .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

fn tls_client(ca: &Path) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(&std::fs::read(ca).unwrap()) {
        roots.add(c.unwrap()).unwrap();
    }
    Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth(),
    )
}

async fn connect(addr: SocketAddr, tls: &Arc<rustls::ClientConfig>) -> SendRequest<Full<Bytes>> {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let s = tokio_rustls::TlsConnector::from(tls.clone())
        .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
        .await
        .unwrap();
    let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(s))
        .await
        .unwrap();
    tokio::spawn(conn);
    send
}

async fn post(send: &mut SendRequest<Full<Bytes>>, body: &str, auth: bool) -> (u16, Bytes) {
    send.ready().await.unwrap();
    let mut b = hyper::Request::post(PATH).header("host", "127.0.0.1");
    if auth {
        b = b.header("authorization", AUTH);
    }
    let r = send
        .send_request(b.body(Full::new(Bytes::from(body.to_string()))).unwrap())
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.into_body().collect().await.unwrap().to_bytes())
}

/// One REST call on a keep-alive connection.
async fn rest(
    send: &mut SendRequest<Full<Bytes>>,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, Bytes) {
    send.ready().await.unwrap();
    let b = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "127.0.0.1")
        .header("authorization", AUTH)
        .header("content-type", "application/json");
    let r = send
        .send_request(b.body(Full::new(Bytes::from(body.to_string()))).unwrap())
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.into_body().collect().await.unwrap().to_bytes())
}

fn zapi(api: &str) -> String {
    format!("<netapp xmlns=\"http://www.netapp.com/filer/admin\" version=\"1.21\" vfiler=\"svm1\">{api}</netapp>")
}

struct Load {
    rps: f64,
    p50_us: f64,
    p99_us: f64,
}

/// Rounds in which the simulator and the ceiling are measured alternately, so a change in the
/// machine's load during the run hits both; a ratio is the median of the rounds' ratios.
const ROUNDS: usize = 3;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Throughput and latency percentiles of the latencies (us) collected over `secs`.
fn summary(mut lat: Vec<u64>, secs: f64) -> Load {
    lat.sort_unstable();
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)] as f64;
    Load {
        rps: lat.len() as f64 / secs,
        p50_us: pct(0.5),
        p99_us: pct(0.99),
    }
}

/// `clients` keep-alive connections sending `body` for `secs`; the latency of every call (us).
async fn keepalive_load(
    addr: SocketAddr,
    tls: &Arc<rustls::ClientConfig>,
    body: &str,
    clients: usize,
    secs: f64,
) -> Vec<u64> {
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (tls, body) = (tls.clone(), body.to_string());
        tasks.push(tokio::spawn(async move {
            let mut s = connect(addr, &tls).await;
            let mut lat = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                let (st, _) = post(&mut s, &body, true).await;
                assert_eq!(st, 200);
                lat.push(t.elapsed().as_micros() as u64);
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all
}

/// Full cycles as netapp-lib makes them: new TLS connection, 401 challenge, authorised call.
async fn new_connection_cycles(
    addr: SocketAddr,
    tls: &Arc<rustls::ClientConfig>,
    clients: usize,
    secs: f64,
) -> f64 {
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let tls = tls.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            let body = zapi("<system-get-version/>");
            while Instant::now() < deadline {
                let mut s = connect(addr, &tls).await;
                assert_eq!(post(&mut s, &body, false).await.0, 401);
                assert_eq!(post(&mut s, &body, true).await.0, 200);
                n += 1;
            }
            n
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    total as f64 / secs
}

/// The ceiling: hyper + rustls with the simulator's certificate, answering 401 without credentials
/// and a fixed body with them. It runs in a process of its own, as the simulator does, so both
/// sides of a ratio share the machine alike (inside this program it would share the clients'
/// worker threads).
fn ceiling(state: &Path, body: &[u8]) -> Proc {
    let body_file = state.join("ceiling-body");
    std::fs::write(&body_file, body).unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .arg("--serve-ceiling")
        .arg(state)
        .arg(&body_file)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line.trim().parse().expect("the ceiling prints its address");
    Proc { child, addr }
}

/// The ceiling process: serve until killed.
async fn serve_ceiling(state: &Path, body: Bytes) {
    let certs = state.join("certs");
    let cfg = ontap_sim::tls::server_config(
        &std::fs::read_to_string(certs.join("server.pem")).unwrap(),
        &std::fs::read_to_string(certs.join("server-key.pem")).unwrap(),
        None,
    )
    .unwrap();
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("{}", l.local_addr().unwrap());
    let acceptor = tokio_rustls::TlsAcceptor::from(cfg);
    loop {
        let (tcp, _) = l.accept().await.unwrap();
        let _ = tcp.set_nodelay(true);
        let (acceptor, body) = (acceptor.clone(), body.clone());
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let svc =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let body = body.clone();
                    async move {
                        let authed = req.headers().contains_key("authorization");
                        let _ = req.into_body().collect().await;
                        let mut r = hyper::Response::new(Full::new(if authed {
                            body
                        } else {
                            Bytes::from_static(b"401\n")
                        }));
                        if !authed {
                            *r.status_mut() = hyper::StatusCode::UNAUTHORIZED;
                        }
                        Ok::<_, std::convert::Infallible>(r)
                    }
                });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tls), svc)
                .await;
        });
    }
}

/// The text of the last `<name>` element of a ZAPI answer (kept escaped, as it can be sent back).
fn element<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let start = xml.rfind(&format!("<{name}>"))? + name.len() + 2;
    let end = start + xml[start..].find(&format!("</{name}>"))?;
    Some(&xml[start..end])
}

/// A full paged listing as a client makes it: volume-get-iter with 100 records a page, following
/// `next-tag` to the end. Returns the seconds taken and the records listed.
async fn full_listing(addr: SocketAddr, tls: &Arc<rustls::ClientConfig>) -> (f64, usize) {
    let mut s = connect(addr, tls).await;
    let t = Instant::now();
    let (mut tag, mut listed) = (String::new(), 0);
    loop {
        let body = zapi(&format!(
            "<volume-get-iter><max-records>100</max-records>{tag}</volume-get-iter>"
        ));
        let (status, answer) = post(&mut s, &body, true).await;
        let xml = std::str::from_utf8(&answer).unwrap();
        assert!(status == 200 && xml.contains("status=\"passed\""), "{xml}");
        listed += element(xml, "num-records").map_or(0, |n| n.parse().unwrap());
        match element(xml, "next-tag") {
            Some(next) if !next.is_empty() => tag = format!("<tag>{next}</tag>"),
            _ => break,
        }
    }
    (t.elapsed().as_secs_f64(), listed)
}

/// Trident's ontap-nas ZAPI call sequence for 50 volumes, driven by Go's net/http
/// (`tests/trident/cycle_bench_test.go`). Its figures as JSON, or why there are none.
fn trident_cycle() -> Result<serde_json::Value, String> {
    let sim = std::fs::canonicalize(bin()).map_err(|e| format!("skipped ({}: {e})", bin()))?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let out = dir.path().join("cycle.json");
    let run = Command::new("go")
        .args(["test", "-count=1", "-run", "^TestTridentCycleBench$", "."])
        .current_dir("tests/trident")
        .env("ONTAP_SIM_BIN", sim)
        .env("ONTAP_SIM_CYCLE_JSON", &out)
        .output();
    match run {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err("skipped (go not found)".into()),
        Err(e) => Err(format!("skipped (go: {e})")),
        Ok(o) if !o.status.success() => {
            eprintln!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
            Err("failed (go test output above)".into())
        }
        Ok(_) => std::fs::read(&out)
            .map_err(|e| format!("failed (no figures written: {e})"))
            .and_then(|b| serde_json::from_slice(&b).map_err(|e| format!("failed ({e})"))),
    }
}

fn arg(name: &str, default: f64) -> f64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, state, body] = args.as_slice() {
        if flag == "--serve-ceiling" {
            let body = Bytes::from(std::fs::read(body).unwrap());
            return serve_ceiling(Path::new(state), body).await;
        }
    }
    let run_started = Instant::now();
    build_simulator();
    let volumes = arg("--volumes", 100_000.0) as usize;
    let secs = arg("--secs", 3.0);
    let clients = 8;
    let mut rows: Vec<(String, String, String, String)> = Vec::new();
    let mut row = |what: &str, sim: String, ceiling: String, ratio: String| {
        println!("{what:<44} {sim:>22} {ceiling:>22} {ratio:>8}");
        rows.push((what.into(), sim, ceiling, ratio));
    };
    println!(
        "{:<44} {:>22} {:>22} {:>8}",
        "measure", "ontap-sim", "ceiling / target", "ratio"
    );
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");

    // 5a. Start with the default topology (a fresh state dir, then an existing one).
    let (p, first) = start(&state);
    drop(p);
    let (sim, again) = start(&state);
    row(
        "start to ready, default topology (first)",
        format!("{:.0} ms", first * 1e3),
        "< 100 ms".into(),
        String::new(),
    );
    row(
        "start to ready, default topology (again)",
        format!("{:.0} ms", again * 1e3),
        "< 100 ms".into(),
        String::new(),
    );
    let tls = tls_client(&state.join("certs/ca.pem"));

    // 1. Keep-alive throughput against the ceiling, for two APIs.
    let create = zapi("<volume-create><volume>bench_probe</volume><containing-aggr-name>aggr1</containing-aggr-name><size>1g</size><space-reserve>none</space-reserve></volume-create>");
    let mut s = connect(sim.addr, &tls).await;
    post(&mut s, &create, true).await;
    for (name, api) in [
        ("system-get-version", "<system-get-version/>"),
        ("volume-get-iter, one record", "<volume-get-iter><max-records>1</max-records><query><volume-attributes><volume-id-attributes><name>bench_probe</name></volume-id-attributes></volume-attributes></query></volume-get-iter>"),
    ] {
        let body = zapi(api);
        let (_, sample) = post(&mut s, &body, true).await;
        let ceil = ceiling(&state, &sample);
        let ceil_addr = ceil.addr;
        let (mut la, mut lb, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            let a = keepalive_load(sim.addr, &tls, &body, clients, secs).await;
            let b = keepalive_load(ceil_addr, &tls, &body, clients, secs).await;
            ratios.push(a.len() as f64 / b.len() as f64);
            la.extend(a);
            lb.extend(b);
        }
        let total = secs * ROUNDS as f64;
        let (a, b) = (summary(la, total), summary(lb, total));
        row(&format!("{name}: req/s ({clients} keep-alive clients)"), format!("{:.0}", a.rps), format!("{:.0}", b.rps), format!("{:.2}", median(ratios)));
        row(&format!("{name}: p50 / p99 us"), format!("{:.0} / {:.0}", a.p50_us, a.p99_us), format!("{:.0} / {:.0}", b.p50_us, b.p99_us), String::new());
    }

    // 2. New TLS connection + 401 challenge + call, as netapp-lib does every call.
    let ceil = ceiling(&state, b"ok");
    let ceil_addr = ceil.addr;
    let (mut a, mut b, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        a.push(new_connection_cycles(sim.addr, &tls, 2, secs).await);
        b.push(new_connection_cycles(ceil_addr, &tls, 2, secs).await);
        ratios.push(a[a.len() - 1] / b[b.len() - 1]);
    }
    row(
        "handshake + 401 + call cycles/s",
        format!("{:.0}", median(a)),
        format!("{:.0}", median(b)),
        format!("{:.2}", median(ratios)),
    );
    drop(ceil);

    // 3 and 4. Scale: create volumes through ZAPI, timing pages at 1k, 10k and N volumes.
    let rss0 = rss_kib(sim.child.id());
    let mut made = 1usize;
    let page = zapi("<volume-get-iter><max-records>100</max-records></volume-get-iter>");
    let filtered = zapi("<volume-get-iter><max-records>100</max-records><query><volume-attributes><volume-id-attributes><name>trident_pvc_0000042*</name></volume-id-attributes></volume-attributes></query></volume-get-iter>");
    let (mut page_1k, mut listing_1k) = (0.0, 0.0);
    // Per-object REST calls, by UUID (Trident's REST driver addresses volumes so on every step).
    let mut by_uuid_1k: Vec<f64> = Vec::new();
    // Creation time only: the timed reads between the scale points are not part of it.
    let mut creating = Duration::ZERO;
    for target in [1_000usize, 10_000, volumes] {
        if target < made {
            continue;
        }
        let t_create = Instant::now();
        let per = (target - made) / clients + 1;
        let mut tasks = Vec::new();
        for c in 0..clients {
            let tls = tls.clone();
            let addr = sim.addr;
            tasks.push(tokio::spawn(async move {
                let mut s = connect(addr, &tls).await;
                for i in 0..per {
                    let n = target * 10 + c * per + i;
                    let b = zapi(&format!("<volume-create><volume>trident_pvc_{n:09}</volume><containing-aggr-name>aggr1</containing-aggr-name><size>1g</size><space-reserve>none</space-reserve><junction-path>/trident_pvc_{n:09}</junction-path></volume-create>"));
                    post(&mut s, &b, true).await;
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        made += per * clients;
        creating += t_create.elapsed();
        let time = |body: String| {
            let tls = tls.clone();
            async move {
                let mut s = connect(sim.addr, &tls).await;
                let mut best = f64::MAX;
                for _ in 0..5 {
                    let t = Instant::now();
                    post(&mut s, &body, true).await;
                    best = best.min(t.elapsed().as_secs_f64());
                }
                best
            }
        };
        let p = time(page.clone()).await;
        let f = time(filtered.clone()).await;
        if page_1k == 0.0 {
            page_1k = p;
        }
        row(
            &format!("first page (100) at {made} volumes"),
            format!("{:.2} ms", p * 1e3),
            "<= 1.5x the 1k page".into(),
            format!("{:.2}x", p / page_1k),
        );
        row(
            &format!("filtered query at {made} volumes"),
            format!("{:.2} ms", f * 1e3),
            String::new(),
            String::new(),
        );
        // A volume made at this scale point, found by name; then GET, PATCH (comment; a job
        // that ends at once) and its snapshots, by UUID.
        let probe = {
            let mut s = connect(sim.addr, &tls).await;
            let n = target * 10;
            let (_, b) = rest(
                &mut s,
                "GET",
                &format!("/api/storage/volumes?name=trident_pvc_{n:09}&fields=uuid"),
                "",
            )
            .await;
            let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
            v["records"][0]["uuid"].as_str().unwrap().to_string()
        };
        let calls = [
            (
                "REST GET volume by UUID",
                "GET",
                format!("/api/storage/volumes/{probe}?fields=name,size"),
                String::new(),
            ),
            (
                "REST PATCH volume by UUID",
                "PATCH",
                format!("/api/storage/volumes/{probe}"),
                r#"{"comment":"bench"}"#.to_string(),
            ),
            (
                "REST GET a volume's snapshots",
                "GET",
                format!("/api/storage/volumes/{probe}/snapshots"),
                String::new(),
            ),
        ];
        for (i, (what, method, path, body)) in calls.iter().enumerate() {
            let mut s = connect(sim.addr, &tls).await;
            let mut best = f64::MAX;
            for _ in 0..20 {
                let t = Instant::now();
                let (status, _) = rest(&mut s, method, path, body).await;
                best = best.min(t.elapsed().as_secs_f64());
                assert!(status < 300, "{method} {path}: {status}");
            }
            if by_uuid_1k.len() <= i {
                by_uuid_1k.push(best);
            }
            row(
                &format!("{what} at {made} volumes"),
                format!("{:.3} ms", best * 1e3),
                "<= 1.2x the 1k call".into(),
                format!("{:.2}x", best / by_uuid_1k[i]),
            );
        }
        // Best of up to 3 full listings, within about 5 s.
        let (mut best, mut listed, spent) = (f64::MAX, 0, Instant::now());
        for _ in 0..3 {
            let (t, n) = full_listing(sim.addr, &tls).await;
            (best, listed) = (best.min(t), n);
            if spent.elapsed().as_secs_f64() > 5.0 {
                break;
            }
        }
        let per_volume = best / listed as f64;
        if listing_1k == 0.0 {
            listing_1k = per_volume;
        }
        row(
            &format!("full paged listing (100 a page) of {listed} volumes"),
            format!("{:.0} ms, {:.2} us/volume", best * 1e3, per_volume * 1e6),
            "linear: us/volume ~ 1k's".into(),
            format!("{:.2}x", per_volume / listing_1k),
        );
    }
    let create_rate = (made - 1) as f64 / creating.as_secs_f64();
    row(
        "volume-create through ZAPI (durable), /s",
        format!("{create_rate:.0}"),
        String::new(),
        String::new(),
    );
    let rss1 = rss_kib(sim.child.id());
    let per_volume = (rss1.saturating_sub(rss0)) as f64 * 1024.0 / made as f64;
    row(
        &format!("resident memory per volume at {made}"),
        format!("{per_volume:.0} B"),
        "<= 2048 B".into(),
        String::new(),
    );
    let size = std::fs::metadata(bin()).map(|m| m.len()).unwrap_or(0);
    row(
        "binary size",
        format!("{:.1} MiB", size as f64 / (1 << 20) as f64),
        String::new(),
        String::new(),
    );
    drop(sim);

    // 5b. Start with the large state.
    let (big_sim, big) = start(&state);
    row(
        &format!("start to ready with {made} volumes"),
        format!("{big:.2} s"),
        "about 1 s".into(),
        String::new(),
    );
    drop(big_sim);

    // 6. NFS beside nfs-ganesha (the nfs_bench example's work, its default sizes).
    match nfs_bench::measure(&nfs_bench::Opts::default()).await {
        Ok(nfs) => {
            for r in nfs {
                let (peer, ratio) = match r.peer {
                    Some((p, _)) => (
                        format!("ganesha {:.1} {}", p, r.unit),
                        format!("{:.2}", r.nfs / p),
                    ),
                    None => (String::new(), String::new()),
                };
                row(
                    &format!("NFS {}", r.work),
                    format!("{:.1} {}", r.nfs, r.unit),
                    peer,
                    ratio,
                );
            }
        }
        Err(e) => row("NFS", format!("failed ({e})"), String::new(), String::new()),
    }

    // 7. Trident's ZAPI call sequence (not the Trident binary) for 50 volumes, over Go net/http.
    let cycle = "Trident cycle, 50 volumes (create, snapshot, clone, delete), Trident's ZAPI call \
                 sequence sent by Go net/http, not the Trident binary";
    match trident_cycle() {
        Ok(c) => {
            let f = |k: &str| c[k].as_f64().unwrap_or(f64::NAN);
            let (wall, in_sim, calls) = (f("wall_s"), f("in_sim_s"), f("calls"));
            row(
                &format!("{cycle}: wall time"),
                format!("{wall:.2} s"),
                String::new(),
                String::new(),
            );
            row(
                "Trident cycle: ZAPI calls made",
                format!("{calls:.0}"),
                format!("{:.0} us a call", wall / calls * 1e6),
                String::new(),
            );
            row(
                "Trident cycle: share inside ontap-sim (journal latency_us)",
                format!("{:.0} %", in_sim / wall * 1e2),
                format!("{in_sim:.2} s of {wall:.2} s"),
                String::new(),
            );
        }
        Err(why) => row(cycle, why, String::new(), String::new()),
    }

    let host = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    std::fs::create_dir_all("bench").unwrap();
    let json: Vec<_> = rows.iter().map(|(w, a, b, r)| serde_json::json!({"measure": w, "ontap_sim": a, "ceiling_or_target": b, "ratio": r})).collect();
    std::fs::write(
        "bench/latest.json",
        serde_json::to_string_pretty(
            &serde_json::json!({"machine": format!("{host}, {cores} cores"), "rows": json}),
        )
        .unwrap(),
    )
    .unwrap();
    let mut md = format!("Machine: {host}, {cores} cores.\n\n| measure | ontap-sim | ceiling / target | ratio |\n|---|---|---|---|\n");
    for (w, a, b, r) in &rows {
        md.push_str(&format!("| {w} | {a} | {b} | {r} |\n"));
    }
    std::fs::write("bench/latest.md", md).unwrap();
    // The scale test's state dir holds a directory per volume: removing it takes a while.
    let removing = Instant::now();
    drop(dir);
    println!(
        "\nwritten: bench/latest.json, bench/latest.md ({:.0} s in all, {:.0} s of it removing \
         the {made}-volume state dir)",
        run_started.elapsed().as_secs_f64(),
        removing.elapsed().as_secs_f64()
    );
}
