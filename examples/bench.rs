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
    let (p, secs, _) = launch(Some(state));
    (p, secs)
}

/// Start the simulator on a state dir, or `--ephemeral` without one; also returns the CA its
/// banner names.
fn launch(state: Option<&Path>) -> (Proc, f64, Option<std::path::PathBuf>) {
    let t = Instant::now();
    let mut cmd = Command::new(bin());
    cmd.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--nfs-listen",
        "127.0.0.1:0",
        "--admin-listen",
        "127.0.0.1:0",
    ]);
    match state {
        Some(dir) => cmd.arg("--state-dir").arg(dir),
        None => cmd.arg("--ephemeral"),
    };
    let mut child = cmd
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run target/release/ontap-sim (cargo build --release first)");
    let (mut addr, mut ca) = (None, None);
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
        // `(in memory with --ephemeral)` when there is no file.
        if let Some(c) = line.trim().strip_prefix("CA").map(str::trim) {
            ca = Some(std::path::PathBuf::from(c)).filter(|p| p.is_file());
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
        ca,
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

/// Accepts any server certificate: an `--ephemeral` simulator keeps its CA in memory only. Used
/// for the create-rate comparison alone, on loopback.
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A client for a simulator whose CA is at `ca`, or any simulator (None).
fn tls_for(ca: Option<&Path>) -> Arc<rustls::ClientConfig> {
    let Some(ca) = ca else {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        return Arc::new(
            rustls::ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .unwrap()
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
                .with_no_client_auth(),
        );
    };
    tls_client(ca)
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
/// Calls per per-object figure (the best of them is shown).
const SAMPLES: usize = 20;

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

/// A request the load repeats: a ZAPI body, or a REST GET of a path.
#[derive(Clone)]
enum Call {
    Zapi(String),
    RestGet(String),
}

impl Call {
    async fn send(&self, s: &mut SendRequest<Full<Bytes>>) -> (u16, Bytes) {
        match self {
            Call::Zapi(body) => post(s, body, true).await,
            Call::RestGet(path) => rest(s, "GET", path, "").await,
        }
    }
}

/// `clients` keep-alive connections sending `call` for `secs`; the latency of every call (us).
async fn keepalive_load(
    addr: SocketAddr,
    tls: &Arc<rustls::ClientConfig>,
    call: &Call,
    clients: usize,
    secs: f64,
) -> Vec<u64> {
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (tls, call) = (tls.clone(), call.clone());
        tasks.push(tokio::spawn(async move {
            let mut s = connect(addr, &tls).await;
            let mut lat = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                let (st, _) = call.send(&mut s).await;
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

/// A REST session that counts its calls and follows jobs to their end, as Trident's REST client.
struct RestSession {
    s: SendRequest<Full<Bytes>>,
    calls: usize,
}

impl RestSession {
    async fn call(
        &mut self,
        method: &str,
        path: &str,
        body: serde_json::Value,
    ) -> serde_json::Value {
        self.calls += 1;
        let body = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        let (status, b) = rest(&mut self.s, method, path, &body).await;
        assert!(
            status < 300,
            "{method} {path}: {status} {}",
            String::from_utf8_lossy(&b)
        );
        let v: serde_json::Value = serde_json::from_slice(&b).unwrap_or_default();
        if status == 202 {
            let job = v["job"]["uuid"]
                .as_str()
                .expect("a 202 names its job")
                .to_string();
            loop {
                self.calls += 1;
                let (_, b) = rest(
                    &mut self.s,
                    "GET",
                    &format!("/api/cluster/jobs/{job}?fields=state,message"),
                    "",
                )
                .await;
                let j: serde_json::Value = serde_json::from_slice(&b).unwrap();
                match j["state"].as_str() {
                    Some("success") => break,
                    Some("failure") => panic!("{method} {path}: job failed: {j}"),
                    _ => tokio::time::sleep(Duration::from_millis(1)).await,
                }
            }
        }
        v
    }

    /// Trident's volume lookup by SVM and name (the "vol-GET" of the spec); the UUID if present.
    async fn vol_get(&mut self, svm_uuid: &str, name: &str, fields: &str) -> Option<String> {
        let v = self
            .call("GET", &format!("/api/storage/volumes?svm.uuid={svm_uuid}&name={name}&style=flexvol&fields={fields}"), serde_json::Value::Null)
            .await;
        v["records"][0]["uuid"].as_str().map(str::to_string)
    }
}

/// Trident's ontap-nas REST call sequence (shared/spec/trident-rest.md §4.2, 4.5, 4.3, 4.8) for
/// `n` volumes: create and mount, snapshot, clone from it, then delete the clone, the snapshot
/// and the volume. Returns the wall time and the number of calls.
async fn rest_trident_cycle(
    addr: SocketAddr,
    tls: &Arc<rustls::ClientConfig>,
    prefix: &str,
    n: usize,
) -> (f64, usize) {
    use serde_json::{json, Value};
    let mut r = RestSession {
        s: connect(addr, tls).await,
        calls: 0,
    };
    let t = Instant::now();
    let svm = r
        .call("GET", "/api/svm/svms?name=svm1&fields=uuid", Value::Null)
        .await;
    let svm_uuid = svm["records"][0]["uuid"].as_str().unwrap().to_string();
    for i in 0..n {
        let (vol, clone, snap) = (
            format!("{prefix}_v{i}"),
            format!("{prefix}_c{i}"),
            format!("{prefix}_s{i}"),
        );
        // Create (4.2).
        assert!(r.vol_get(&svm_uuid, &vol, "uuid").await.is_none());
        r.call("POST", "/api/storage/volumes", json!({"name": vol, "svm": {"name": "svm1"}, "aggregates": [{"name": "aggr1"}], "size": 1u64 << 30, "guarantee": {"type": "none"}, "nas": {"security_style": "unix", "unix_permissions": 777, "export_policy": {"name": "default"}}, "snapshot_policy": {"name": "none"}, "space": {"snapshot": {"reserve_percent": 0}}})).await;
        let uuid = r.vol_get(&svm_uuid, &vol, "uuid").await.expect("created");
        r.call(
            "PATCH",
            &format!("/api/storage/volumes/{uuid}"),
            json!({"snapshot_directory_access_enabled": false}),
        )
        .await;
        r.vol_get(&svm_uuid, &vol, "nas.path").await;
        r.call(
            "PATCH",
            &format!("/api/storage/volumes/{uuid}"),
            json!({"nas": {"path": format!("/{vol}")}}),
        )
        .await;
        r.vol_get(&svm_uuid, &vol, "nas.path,type").await;
        // Snapshot (4.5).
        r.vol_get(&svm_uuid, &vol, "space.logical_space.used").await;
        r.call(
            "POST",
            &format!("/api/storage/volumes/{uuid}/snapshots"),
            json!({"name": snap}),
        )
        .await;
        r.call("GET", &format!("/api/storage/volumes/{uuid}/snapshots?name={snap}&svm.uuid={svm_uuid}&fields=name,create_time"), Value::Null).await;
        // Clone (4.3).
        assert!(r.vol_get(&svm_uuid, &clone, "uuid").await.is_none());
        r.call("POST", "/api/storage/volumes?return_records=true", json!({"name": clone, "svm": {"name": "svm1"}, "clone": {"is_flexclone": true, "parent_volume": {"name": vol}, "parent_snapshot": {"name": snap}}})).await;
        let cuuid = r.vol_get(&svm_uuid, &clone, "state").await.expect("cloned");
        r.call(
            "PATCH",
            &format!("/api/storage/volumes/{cuuid}"),
            json!({"comment": "trident"}),
        )
        .await;
        r.call(
            "PATCH",
            &format!("/api/storage/volumes/{cuuid}"),
            json!({"nas": {"path": format!("/{clone}")}}),
        )
        .await;
        r.call(
            "PATCH",
            &format!("/api/storage/volumes/{cuuid}"),
            json!({"nas": {"export_policy": {"name": "default"}}}),
        )
        .await;
        r.vol_get(&svm_uuid, &clone, "nas.path,type").await;
        // Destroy the clone, then the snapshot and the volume (4.8, 4.5).
        for (name, id) in [(&clone, &cuuid), (&vol, &uuid)] {
            r.vol_get(&svm_uuid, name, "uuid").await;
            r.call("GET", "/api/snapmirror/relationships?list_destinations_only=true&fields=source.path,destination.path", Value::Null).await;
            r.call(
                "GET",
                "/api/snapmirror/relationships?fields=destination.path,source.path",
                Value::Null,
            )
            .await;
            if name == &vol {
                let s = r
                    .call(
                        "GET",
                        &format!("/api/storage/volumes/{uuid}/snapshots?name={snap}&fields=uuid"),
                        Value::Null,
                    )
                    .await;
                let suuid = s["records"][0]["uuid"].as_str().unwrap().to_string();
                r.call(
                    "DELETE",
                    &format!("/api/storage/volumes/{uuid}/snapshots/{suuid}"),
                    Value::Null,
                )
                .await;
            }
            r.call(
                "DELETE",
                &format!("/api/storage/volumes/{id}?force=false"),
                Value::Null,
            )
            .await;
        }
    }
    (t.elapsed().as_secs_f64(), r.calls)
}

/// ZAPI volume-creates per second from `clients` keep-alive clients making `count` in all.
async fn creates_per_sec(
    addr: SocketAddr,
    tls: &Arc<rustls::ClientConfig>,
    clients: usize,
    count: usize,
) -> f64 {
    let t = Instant::now();
    let per = count / clients;
    let mut tasks = Vec::new();
    for c in 0..clients {
        let tls = tls.clone();
        tasks.push(tokio::spawn(async move {
            let mut s = connect(addr, &tls).await;
            for i in 0..per {
                let b = zapi(&format!("<volume-create><volume>rate_{c}_{i:06}</volume><containing-aggr-name>aggr1</containing-aggr-name><size>1g</size><space-reserve>none</space-reserve><junction-path>/rate_{c}_{i:06}</junction-path></volume-create>"));
                let (status, body) = post(&mut s, &b, true).await;
                assert!(status == 200 && body.windows(15).any(|w| w == b"status=\"passed\""), "{}", String::from_utf8_lossy(&body));
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    (per * clients) as f64 / t.elapsed().as_secs_f64()
}

/// Durable creates against ephemeral ones, `clients` clients, fresh simulators, alternated.
async fn durable_vs_ephemeral(dir: &Path, clients: usize) -> (String, String, String, String) {
    let (mut d, mut e, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let fresh = dir.join(format!("rate-{round}"));
        let (p, _, ca) = launch(Some(&fresh));
        let a = creates_per_sec(p.addr, &tls_for(ca.as_deref()), clients, 2000).await;
        drop(p);
        let _ = std::fs::remove_dir_all(&fresh);
        let (p, _, ca) = launch(None);
        let b = creates_per_sec(p.addr, &tls_for(ca.as_deref()), clients, 2000).await;
        drop(p);
        d.push(a);
        e.push(b);
        ratios.push(a / b);
    }
    (
        format!("volume-create /s, durable vs --ephemeral ({clients} clients, 2000 volumes)"),
        format!("{:.0}", median(d)),
        format!("ephemeral {:.0}", median(e)),
        format!("{:.2}", median(ratios)),
    )
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
    // `--only durable` or `--only keepalive`: that part alone, printed, nothing written.
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .cloned();
    if let Some(o) = only
        .as_deref()
        .filter(|o| !["durable", "keepalive"].contains(o))
    {
        eprintln!("--only takes durable or keepalive, not {o}");
        std::process::exit(2);
    }
    if only.as_deref() == Some("durable") {
        let dir = tempfile::tempdir().unwrap();
        let (what, d, e, r) = durable_vs_ephemeral(dir.path(), clients).await;
        println!("{what:<44} {d:>22} {e:>22} {r:>8}");
        return;
    }
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

    // 1. Keep-alive throughput against the ceiling (same bytes back), at 1, 8 and 64 clients.
    let create = zapi("<volume-create><volume>bench_probe</volume><containing-aggr-name>aggr1</containing-aggr-name><size>1g</size><space-reserve>none</space-reserve></volume-create>");
    let mut s = connect(sim.addr, &tls).await;
    post(&mut s, &create, true).await;
    let probe_uuid = {
        let (_, b) = rest(
            &mut s,
            "GET",
            "/api/storage/volumes?name=bench_probe&fields=uuid",
            "",
        )
        .await;
        let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
        v["records"][0]["uuid"].as_str().unwrap().to_string()
    };
    let loads = [
        ("system-get-version", Call::Zapi(zapi("<system-get-version/>")), &[clients][..]),
        ("volume-get-iter, one record", Call::Zapi(zapi("<volume-get-iter><max-records>1</max-records><query><volume-attributes><volume-id-attributes><name>bench_probe</name></volume-id-attributes></volume-attributes></query></volume-get-iter>")), &[1, 8, 64][..]),
        ("REST GET volume by UUID", Call::RestGet(format!("/api/storage/volumes/{probe_uuid}?fields=name,size,nas.path")), &[1, 8, 64][..]),
    ];
    for (name, call, counts) in loads {
        let (_, sample) = call.send(&mut s).await;
        let ceil = ceiling(&state, &sample);
        let ceil_addr = ceil.addr;
        for &n in counts {
            let (mut la, mut lb, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..ROUNDS {
                let a = keepalive_load(sim.addr, &tls, &call, n, secs).await;
                let b = keepalive_load(ceil_addr, &tls, &call, n, secs).await;
                ratios.push(a.len() as f64 / b.len() as f64);
                la.extend(a);
                lb.extend(b);
            }
            let total = secs * ROUNDS as f64;
            let (a, b) = (summary(la, total), summary(lb, total));
            row(
                &format!("{name}: req/s ({n} keep-alive clients)"),
                format!("{:.0}", a.rps),
                format!("{:.0}", b.rps),
                format!("{:.2}", median(ratios)),
            );
            row(
                &format!("{name}: p50 / p99 us ({n} clients)"),
                format!("{:.0} / {:.0}", a.p50_us, a.p99_us),
                format!("{:.0} / {:.0}", b.p50_us, b.p99_us),
                String::new(),
            );
        }
    }

    if only.is_some() {
        return;
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
    let mut rss1 = rss0;
    let mut made = 1usize;
    let page = zapi("<volume-get-iter><max-records>100</max-records></volume-get-iter>");
    let filtered = zapi("<volume-get-iter><max-records>100</max-records><query><volume-attributes><volume-id-attributes><name>trident_pvc_0000042*</name></volume-id-attributes></volume-attributes></query></volume-get-iter>");
    let (mut page_1k, mut listing_1k) = (0.0, 0.0);
    // Per-object REST calls, by UUID (Trident's REST driver addresses volumes so on every step).
    let mut by_uuid_1k: Vec<f64> = Vec::new();
    let (mut delete_1k, mut cycle_1k): (Option<f64>, Option<f64>) = (None, None);
    // Creation time only: the timed reads between the scale points are not part of it.
    let mut creating = Duration::ZERO;
    // The scale points: 1k and 10k where below the asked-for size, then that size.
    let targets = [1_000usize, 10_000]
        .into_iter()
        .filter(|t| *t < volumes)
        .chain([volumes]);
    for target in targets {
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
        // The journal is folded into a snapshot every 20,000 changes, on a thread of its own: the
        // rows below time the calls, not the calls beside a fold still writing.
        let fold = Instant::now();
        while state.join("journal.prev").exists() && fold.elapsed() < Duration::from_secs(120) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Resident size right after the creates, before the timed reads: an `order_by` page
        // renders every record once, and the heap that frees stays resident.
        rss1 = rss_kib(sim.child.id());
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
        // A snapshot of the probe and a job (from a PATCH), to GET by UUID.
        let (snap_uuid, job_uuid) = {
            let mut s = connect(sim.addr, &tls).await;
            let snap = format!("bench_{target}");
            post(&mut s, &zapi(&format!("<snapshot-create><volume>trident_pvc_{:09}</volume><snapshot>{snap}</snapshot></snapshot-create>", target * 10)), true).await;
            let (_, b) = rest(
                &mut s,
                "GET",
                &format!("/api/storage/volumes/{probe}/snapshots?name={snap}&fields=uuid"),
                "",
            )
            .await;
            let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
            let snap_uuid = v["records"][0]["uuid"].as_str().unwrap().to_string();
            let (_, b) = rest(
                &mut s,
                "PATCH",
                &format!("/api/storage/volumes/{probe}"),
                r#"{"comment":"job"}"#,
            )
            .await;
            let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
            (snap_uuid, v["job"]["uuid"].as_str().unwrap().to_string())
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
            (
                "REST GET a snapshot by UUID",
                "GET",
                format!("/api/storage/volumes/{probe}/snapshots/{snap_uuid}"),
                String::new(),
            ),
            (
                "REST GET a job by UUID",
                "GET",
                format!("/api/cluster/jobs/{job_uuid}"),
                String::new(),
            ),
        ];
        for (i, (what, method, path, body)) in calls.iter().enumerate() {
            let mut s = connect(sim.addr, &tls).await;
            let mut best = f64::MAX;
            for _ in 0..SAMPLES {
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
        // DELETE by UUID: volumes made for it, each deleted once (the answer is the job's 202).
        {
            let mut s = connect(sim.addr, &tls).await;
            for i in 0..SAMPLES {
                post(&mut s, &zapi(&format!("<volume-create><volume>bench_del_{target}_{i:03}</volume><containing-aggr-name>aggr1</containing-aggr-name><size>20m</size><space-reserve>none</space-reserve></volume-create>")), true).await;
            }
            let (_, b) = rest(&mut s, "GET", &format!("/api/storage/volumes?name=bench_del_{target}_*&fields=uuid&max_records={SAMPLES}"), "").await;
            let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
            let mut best = f64::MAX;
            for r in v["records"].as_array().unwrap() {
                let path = format!("/api/storage/volumes/{}", r["uuid"].as_str().unwrap());
                let t = Instant::now();
                let (status, _) = rest(&mut s, "DELETE", &path, "").await;
                best = best.min(t.elapsed().as_secs_f64());
                assert!(status < 300, "DELETE {path}: {status}");
            }
            let first = *delete_1k.get_or_insert(best);
            row(
                &format!("REST DELETE volume by UUID at {made} volumes"),
                format!("{:.3} ms", best * 1e3),
                "<= 1.2x the 1k call".into(),
                format!("{:.2}x", best / first),
            );
        }
        // Trident's REST call sequence (shared/spec/trident-rest.md §4) for a few volumes.
        let cycle = rest_trident_cycle(sim.addr, &tls, &format!("tr{target}"), 10).await;
        let first = *cycle_1k.get_or_insert(cycle.0 / cycle.1 as f64);
        row(
            &format!(
                "Trident REST sequence (create, snapshot, clone, delete) x10 at {made} volumes"
            ),
            format!(
                "{:.0} ms, {} calls, {:.0} us a call",
                cycle.0 * 1e3,
                cycle.1,
                cycle.0 / cycle.1 as f64 * 1e6
            ),
            "<= 1.2x the 1k cycle".into(),
            format!("{:.2}x", cycle.0 / cycle.1 as f64 / first),
        );
        // A REST listing page: in the collection's order (it stops after the page) and with
        // `order_by` (every volume keyed and sorted once, then the page): the second's cost
        // against the first at the same scale point.
        let mut page_ms = [0.0f64; 2];
        for (i, (what, path)) in [
            (
                "REST first page (100) of volumes",
                "/api/storage/volumes?max_records=100",
            ),
            (
                "REST first page (100) ordered by size desc, name",
                "/api/storage/volumes?max_records=100&order_by=size%20desc,name",
            ),
        ]
        .iter()
        .enumerate()
        {
            let mut s = connect(sim.addr, &tls).await;
            let mut best = f64::MAX;
            for _ in 0..5 {
                let t = Instant::now();
                let (status, _) = rest(&mut s, "GET", path, "").await;
                best = best.min(t.elapsed().as_secs_f64());
                assert!(status < 300, "GET {path}: {status}");
            }
            page_ms[i] = best * 1e3;
            row(
                &format!("{what} at {made} volumes"),
                format!("{:.2} ms", best * 1e3),
                if i == 1 {
                    "against the natural-order page".into()
                } else {
                    String::new()
                },
                if i == 1 {
                    format!("{:.1}x", page_ms[1] / page_ms[0])
                } else {
                    String::new()
                },
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

    let (what, d, e, r) = durable_vs_ephemeral(dir.path(), clients).await;
    row(&what, d, e, r);

    // 5b. Start with the large state.
    let (big_sim, big) = start(&state);
    row(
        &format!("start to ready with {made} volumes"),
        format!("{big:.2} s"),
        "about 1 s".into(),
        String::new(),
    );
    drop(big_sim);

    // 6. NFS beside nfs-ganesha (the nfs_bench example's work, its default sizes); `--no-nfs`
    // leaves it out (it has its own program, `nfs_bench`).
    let nfs = if args.iter().any(|a| a == "--no-nfs") {
        Err("left out (--no-nfs)".into())
    } else {
        nfs_bench::measure(&nfs_bench::Opts::default()).await
    };
    match nfs {
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
