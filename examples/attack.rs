//! The attack run of issue 18, bounded and on loopback only: stalled and trickled requests,
//! unauthenticated bodies, connection floods, descriptor exhaustion, a quadratic-cost ZAPI body,
//! control characters, NFS records that claim memory, and an open control API. Prints one figure
//! per item, so a build can be compared with an older one (`ONTAP_SIM_BIN=/path/to/old/ontap-sim`).
//! The behaviour itself is asserted by `tests/hostile_clients.rs` and `tests/hostile_text.rs`.
//!
//! Run: `cargo run --release --example attack` (builds the release simulator unless
//! `ONTAP_SIM_BIN` names a binary). The timeouts are set to 5 s through `ONTAP_SIM_*_TIMEOUT`
//! (ignored by builds without them), so the run takes about two minutes.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::io::BufRead;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const PATH: &str = "/servlets/netapp.servlets.admin.XMLrequest_filer";
const AUTH: &str = "YWRtaW46bmV0YXBwMSE="; // admin:netapp1!
const VSADMIN: &str = "dnNhZG1pbjpuZXRhcHAxIQ=="; // vsadmin:netapp1!

struct Sim {
    child: Child,
    https: SocketAddr,
    nfs: Option<SocketAddr>,
    admin: SocketAddr,
    ca: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn bin() -> String {
    std::env::var("ONTAP_SIM_BIN").unwrap_or_else(|_| "target/release/ontap-sim".into())
}

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

/// Start the simulator, optionally under a descriptor limit, with stderr to `log`.
fn start(fd_limit: Option<u32>, extra: &[&str], log: Option<&std::path::Path>) -> Sim {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let mut args: Vec<String> = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--nfs-listen",
        "127.0.0.1:0",
        "--admin-listen",
        "127.0.0.1:0",
        "--state-dir",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(state.display().to_string());
    args.extend(extra.iter().map(|s| s.to_string()));
    let mut cmd = match fd_limit {
        Some(n) => {
            let mut c = Command::new("sh");
            c.arg("-c")
                .arg(format!("ulimit -n {n} && exec \"$0\" \"$@\""))
                .arg(bin())
                .args(&args);
            c
        }
        None => {
            let mut c = Command::new(bin());
            c.args(&args);
            c
        }
    };
    for (k, v) in [
        ("ONTAP_SIM_HEADER_TIMEOUT", "5"),
        ("ONTAP_SIM_BODY_TIMEOUT", "5"),
        ("ONTAP_SIM_IDLE_TIMEOUT", "5"),
        ("ONTAP_SIM_NFS_IDLE_TIMEOUT", "5"),
    ] {
        cmd.env(k, v);
    }
    cmd.env("RUST_LOG", "warn")
        .env_remove("ONTAP_SIM_PASSWORD")
        .stdout(Stdio::piped())
        .stderr(match log {
            Some(p) => Stdio::from(std::fs::File::create(p).unwrap()),
            None => Stdio::null(),
        });
    let mut child = cmd.spawn().expect("spawn the simulator");
    let out = child.stdout.take().unwrap();
    let mut lines = Vec::new();
    for l in std::io::BufReader::new(out).lines() {
        let Ok(l) = l else { break };
        let done = l == "ready";
        lines.push(l);
        if done {
            break;
        }
    }
    let field = |p: &str| {
        lines
            .iter()
            .find_map(|l| l.trim().strip_prefix(p).map(|r| r.trim().to_string()))
    };
    let https = field("ZAPI")
        .expect("banner")
        .trim_start_matches("https://")
        .trim_end_matches(PATH)
        .parse()
        .unwrap();
    let nfs = field("NFS").and_then(|l| l.split_whitespace().next()?.parse().ok());
    let admin = field("admin")
        .unwrap()
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    Sim {
        child,
        https,
        nfs,
        admin,
        ca: state.join("certs/ca.pem"),
        _dir: dir,
    }
}

fn tls_cfg(ca: &std::path::Path) -> Arc<rustls::ClientConfig> {
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

type Tls = tokio_rustls::client::TlsStream<TcpStream>;

async fn tls_from(sim: &Sim, from: &str) -> std::io::Result<Tls> {
    let s = TcpSocket::new_v4()?;
    s.bind(format!("{from}:0").parse().unwrap())?;
    let tcp = tokio::time::timeout(Duration::from_secs(5), s.connect(sim.https))
        .await
        .map_err(|_| std::io::Error::other("connect timed out"))??;
    let name = ServerName::try_from(sim.https.ip().to_string()).unwrap();
    tokio::time::timeout(
        Duration::from_secs(5),
        tokio_rustls::TlsConnector::from(tls_cfg(&sim.ca)).connect(name, tcp),
    )
    .await
    .map_err(|_| std::io::Error::other("TLS timed out"))?
}

/// One request on a new connection from `from`; the answer's text.
async fn request(sim: &Sim, from: &str, head: &str, body: &[u8]) -> std::io::Result<String> {
    let mut s = tls_from(sim, from).await?;
    s.write_all(head.as_bytes()).await?;
    s.write_all(body).await?;
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), s.read_to_end(&mut out))
        .await
        .map_err(|_| std::io::Error::other("no answer"))??;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

fn zapi_head(len: usize, auth: &str) -> String {
    format!("POST {PATH} HTTP/1.1\r\nhost: x\r\nauthorization: Basic {auth}\r\nconnection: close\r\ncontent-length: {len}\r\n\r\n")
}

/// A probe client: `system-get-version` from 127.0.0.9; its latency, or the error.
async fn probe(sim: &Sim) -> Result<Duration, String> {
    let body = br#"<netapp version="1.21"><system-get-version/></netapp>"#;
    let t = Instant::now();
    match tokio::time::timeout(
        Duration::from_secs(10),
        request(sim, "127.0.0.9", &zapi_head(body.len(), AUTH), body),
    )
    .await
    {
        Ok(Ok(r)) if r.contains("status=\"passed\"") => Ok(t.elapsed()),
        Ok(Ok(r)) => Err(r.lines().next().unwrap_or("").to_string()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("no answer in 10 s".into()),
    }
}

fn show(p: &Result<Duration, String>) -> String {
    match p {
        Ok(d) => format!("{:.0} ms", d.as_secs_f64() * 1000.0),
        Err(e) => format!("FAILED ({e})"),
    }
}

fn rss_mb(pid: u32) -> f64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

fn cpu_secs(pid: u32) -> f64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let f: Vec<&str> = s
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}

/// Whether the server has closed the connection.
async fn closed<S: tokio::io::AsyncRead + Unpin>(s: &mut S) -> bool {
    let mut b = [0u8; 512];
    loop {
        match tokio::time::timeout(Duration::from_millis(20), s.read(&mut b)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

#[tokio::main]
async fn main() {
    build_simulator();
    println!("ontap-sim attack run against {}", bin());

    // 1. Stalled bodies (unauthenticated), a chunked body that never ends, trickled headers.
    {
        let sim = start(None, &[], None);
        let mut held = Vec::new();
        for i in 0..200 {
            if let Ok(mut s) = tls_from(&sim, "127.0.0.1").await {
                let head = if i % 2 == 0 {
                    format!(
                        "POST {PATH} HTTP/1.1\r\nhost: x\r\ncontent-length: 100000\r\n\r\n<netapp>"
                    )
                } else {
                    format!("POST /api/storage/volumes HTTP/1.1\r\nhost: x\r\nauthorization: Basic {AUTH}\r\ntransfer-encoding: chunked\r\n\r\n5\r\n{{\"a\":\r\n")
                };
                let _ = s.write_all(head.as_bytes()).await;
                held.push(s);
            }
        }
        let p = probe(&sim).await;
        tokio::time::sleep(Duration::from_secs(15)).await;
        let mut open = 0;
        for s in &mut held {
            if !closed(s).await {
                open += 1;
            }
        }
        println!(
            "1. stalled bodies: {open}/{} still open after 15 s (timeouts set to 5 s); probe during the attack {}",
            held.len(),
            show(&p)
        );
    }

    // 2. Unauthenticated bodies: 100 connections each sending an 8 MiB body without credentials.
    {
        let sim = start(None, &[], None);
        let _ = probe(&sim).await;
        let pid = sim.child.id();
        let before = rss_mb(pid);
        let mut tasks = Vec::new();
        let peak = Arc::new(std::sync::Mutex::new(before));
        for i in 0..100 {
            let Ok(mut s) = tls_from(&sim, "127.0.0.1").await else {
                continue;
            };
            let path = if i % 2 == 0 {
                PATH
            } else {
                "/api/storage/volumes"
            };
            tasks.push(tokio::spawn(async move {
                let head = format!(
                    "POST {path} HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\n\r\n",
                    8 << 20
                );
                let _ = s.write_all(head.as_bytes()).await;
                let chunk = vec![b'x'; 256 << 10];
                let _ = tokio::time::timeout(Duration::from_secs(20), async {
                    for _ in 0..32 {
                        if s.write_all(&chunk).await.is_err() {
                            break;
                        }
                    }
                })
                .await;
                s
            }));
        }
        let watch = {
            let peak = peak.clone();
            tokio::spawn(async move {
                loop {
                    let r = rss_mb(pid);
                    {
                        let mut p = peak.lock().unwrap();
                        *p = p.max(r);
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            })
        };
        let mut conns = Vec::new();
        for t in tasks {
            conns.push(t.await.unwrap());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        watch.abort();
        let peak = *peak.lock().unwrap();
        println!("2. unauthenticated 8 MiB bodies x100: RSS {before:.1} MB -> peak {peak:.1} MB");
    }

    // 3. Connection floods under a 1024-descriptor limit: 1100 idle NFS connections, then 1100
    //    stalled HTTPS requests; is the management API still reachable?
    {
        let sim = start(Some(1024), &[], None);
        let mut held = Vec::new();
        if let Some(nfs) = sim.nfs {
            for _ in 0..1100 {
                match tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(nfs)).await {
                    Ok(Ok(s)) => held.push(s),
                    _ => break,
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let p = probe(&sim).await;
        let admin = tokio::time::timeout(Duration::from_secs(10), async {
            let mut s = TcpStream::connect(sim.admin).await?;
            s.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
                .await?;
            let mut out = String::new();
            s.read_to_string(&mut out).await?;
            Ok::<_, std::io::Error>(out.starts_with("HTTP/1.1 200"))
        })
        .await;
        println!(
            "3a. 1100 idle NFS connections (1024 fds): probe {}, control API {}",
            show(&p),
            match admin {
                Ok(Ok(true)) => "answers",
                _ => "UNREACHABLE",
            }
        );
        drop(held);
        drop(sim);
        let sim = Arc::new(start(Some(1024), &[], None));
        let mut held = Vec::new();
        // In batches of 100 at once; stop when a whole batch fails (the server is saturated).
        for _ in 0..11 {
            let batch: Vec<_> = (0..100)
                .map(|_| {
                    let sim = sim.clone();
                    tokio::spawn(async move {
                        let mut s = tls_from(&sim, "127.0.0.1").await.ok()?;
                        let head = format!(
                            "POST {PATH} HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n"
                        );
                        s.write_all(head.as_bytes()).await.ok()?;
                        Some(s)
                    })
                })
                .collect();
            let mut got = 0;
            for t in batch {
                if let Ok(Some(s)) = t.await {
                    held.push(s);
                    got += 1;
                }
            }
            if got == 0 {
                break;
            }
        }
        let p = probe(&sim).await;
        println!(
            "3b. 1100 stalled HTTPS requests (1024 fds): {} admitted by TLS, probe from another address {}",
            held.len(),
            show(&p)
        );
    }

    // 4. Accept errors: 150 connections to the control API under a 96-descriptor limit.
    {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("stderr");
        let sim = start(Some(96), &[], Some(&log));
        let pid = sim.child.id();
        let mut held = Vec::new();
        for _ in 0..150 {
            match tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(sim.admin)).await
            {
                Ok(Ok(s)) => held.push(s),
                _ => break,
            }
        }
        let cpu0 = cpu_secs(pid);
        tokio::time::sleep(Duration::from_secs(5)).await;
        let cpu = cpu_secs(pid) - cpu0;
        let bytes = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
        println!(
            "4. descriptors exhausted for 5 s: {:.2} of a core, {:.1} KB of log",
            cpu / 5.0,
            bytes as f64 / 1024.0
        );
        drop(held);
    }

    // 5. A ZAPI body of 25,000 attributes (1.1 MB class), as any valid login can send.
    {
        let sim = start(None, &[], None);
        for n in [25_000usize, 100_000] {
            let attrs: String = (0..n).map(|i| format!(" a{i}=\"1\"")).collect();
            let body = format!("<netapp version=\"1.21\"{attrs}><system-get-version/></netapp>");
            let t = Instant::now();
            let r = request(
                &sim,
                "127.0.0.1",
                &zapi_head(body.len(), AUTH),
                body.as_bytes(),
            )
            .await;
            println!(
                "5. {n} attributes ({:.1} MB): answered in {:.2} s ({})",
                body.len() as f64 / 1e6,
                t.elapsed().as_secs_f64(),
                match r {
                    Ok(r) => r.lines().next().unwrap_or("").to_string(),
                    Err(e) => e.to_string(),
                }
            );
        }
    }

    // 6. Control characters written by the SVM-scoped vsadmin, then a cluster-wide listing.
    {
        let sim = start(None, &[], None);
        let create = b"<netapp version=\"1.21\"><volume-create><volume>poison</volume><containing-aggr-name>aggr1</containing-aggr-name><size>1g</size><junction-path>/p\x01q</junction-path><volume-comment>a\x1bb</volume-comment></volume-create></netapp>";
        let z = request(&sim, "127.0.0.1", &zapi_head(create.len(), VSADMIN), create)
            .await
            .unwrap_or_default();
        let zapi_ok = z.contains("status=\"passed\"");
        let patch = "{\"comment\":\"a\\u0002b\"}";
        let list = br#"<netapp version="1.21"><volume-get-iter><max-records>100</max-records></volume-get-iter></netapp>"#;
        let l = request(&sim, "127.0.0.1", &zapi_head(list.len(), AUTH), list)
            .await
            .unwrap_or_default();
        let uuid = l
            .split("<uuid>")
            .nth(1)
            .and_then(|r| r.split("</uuid>").next())
            .unwrap_or("")
            .to_string();
        let head = format!("PATCH /api/storage/volumes/{uuid}?return_timeout=10 HTTP/1.1\r\nhost: x\r\nauthorization: Basic {VSADMIN}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n", patch.len());
        let r = request(&sim, "127.0.0.1", &head, patch.as_bytes())
            .await
            .unwrap_or_default();
        let l = request(&sim, "127.0.0.1", &zapi_head(list.len(), AUTH), list)
            .await
            .unwrap_or_default();
        let xml = l.split("\r\n\r\n").nth(1).unwrap_or("");
        let bad = xml
            .chars()
            .filter(|c| matches!(*c, '\0'..='\x08' | '\x0b' | '\x0c' | '\x0e'..='\x1f'))
            .count();
        println!(
            "6. control characters: ZAPI write {}, REST write {}, cluster-wide volume-get-iter holds {bad} characters XML cannot carry",
            if zapi_ok { "ACCEPTED" } else { "refused" },
            r.lines().next().unwrap_or(""),
        );
    }

    // 7. NFS: 500 connections each claiming a 1 MiB record and sending ten bytes; idle ones.
    {
        let sim = start(None, &[], None);
        let pid = sim.child.id();
        let before = rss_mb(pid);
        let mut held = Vec::new();
        if let Some(nfs) = sim.nfs {
            for _ in 0..500 {
                if let Ok(mut s) = TcpStream::connect(nfs).await {
                    let _ = s
                        .write_all(&(0x8000_0000u32 | (1 << 20)).to_be_bytes())
                        .await;
                    let _ = s.write_all(&[0u8; 10]).await;
                    held.push(s);
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        let after = rss_mb(pid);
        let p = probe(&sim).await;
        tokio::time::sleep(Duration::from_secs(14)).await;
        let mut open = 0;
        for s in &mut held {
            if !closed(s).await {
                open += 1;
            }
        }
        println!(
            "7. NFS 1 MiB record markers x500: RSS {before:.1} MB -> {after:.1} MB; {open}/{} open after 15 s; probe {}",
            held.len(),
            show(&p)
        );
    }

    // 8. The control API on 0.0.0.0 without a token.
    {
        let mut cmd = Command::new(bin());
        cmd.args([
            "serve",
            "--ephemeral",
            "--listen",
            "127.0.0.1:0",
            "--nfs-listen",
            "127.0.0.1:0",
            "--admin-listen",
            "0.0.0.0:0",
        ])
        .env_remove("ONTAP_SIM_ADMIN_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let out = child.stdout.take().unwrap();
        let ready = std::io::BufReader::new(out)
            .lines()
            .any(|l| l.is_ok_and(|l| l == "ready"));
        let _ = child.kill();
        let _ = child.wait();
        println!(
            "8. --admin-listen 0.0.0.0 without a token: {}",
            if ready { "STARTED" } else { "refused" }
        );
    }
}
