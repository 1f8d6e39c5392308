//! Shared helpers for the integration tests: start the real binary on a free port and talk to it over
//! real TLS, verifying its certificate against the CA it generated.
#![allow(dead_code)]

pub mod z;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::Request;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const ZAPI_PATH: &str = "/servlets/netapp.servlets.admin.XMLrequest_filer";
pub const PASSWORD: &str = "netapp1!";

pub struct Sim {
    pub child: Child,
    pub addr: SocketAddr,
    /// The control API, e.g. `http://127.0.0.1:PORT`.
    pub admin: String,
    pub dir: tempfile::TempDir,
    pub banner: Vec<String>,
}

impl Sim {
    /// Start `serve` with an optional TOML topology, a state dir of its own and free ports.
    pub fn start(config: Option<&str>) -> Sim {
        Self::start_in(tempfile::tempdir().expect("tempdir"), config, &[])
    }

    pub fn start_in(dir: tempfile::TempDir, config: Option<&str>, extra: &[&str]) -> Sim {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ontap-sim"));
        cmd.arg("serve")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--state-dir")
            .arg(dir.path().join("state"))
            .args(["--admin-listen", "127.0.0.1:0"])
            .args(extra)
            // NFS on a free loopback port unless the test picks one (never the shared 2049).
            .args(if extra.contains(&"--nfs-listen") {
                &[][..]
            } else {
                &["--nfs-listen", "127.0.0.1:0"][..]
            })
            .env_remove("ONTAP_SIM_PASSWORD")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(toml) = config {
            let p = dir.path().join("topology.toml");
            std::fs::write(&p, toml).expect("write config");
            cmd.arg("--config").arg(p);
        }
        let mut child = cmd.spawn().expect("spawn ontap-sim");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let done = line == "ready";
                lines.push(line);
                if done {
                    let _ = tx.send(lines.clone());
                }
            }
        });
        let banner = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(b) => b,
            Err(_) => {
                let _ = child.kill();
                panic!("ontap-sim did not print `ready`");
            }
        };
        let zapi = banner
            .iter()
            .find_map(|l| l.trim().strip_prefix("ZAPI"))
            .expect("ZAPI line");
        let addr = zapi
            .trim()
            .trim_start_matches("https://")
            .trim_end_matches(ZAPI_PATH)
            .parse()
            .expect("listen address");
        let admin = banner
            .iter()
            .find_map(|l| l.trim().strip_prefix("admin"))
            .map(|a| a.trim().to_string())
            .expect("admin line");
        Sim {
            child,
            addr,
            admin,
            dir,
            banner,
        }
    }

    /// The NFS listener's address from the banner (`  NFS      ADDR (...)`).
    pub fn nfs_addr(&self) -> Option<SocketAddr> {
        self.banner.iter().find_map(|l| {
            l.trim()
                .strip_prefix("NFS")?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
    }

    /// A client for the control API.
    pub fn control(&self) -> ontap_sim::cli::Admin {
        ontap_sim::cli::Admin {
            base: self.admin.clone(),
            token: None,
        }
    }

    pub fn ca_path(&self) -> PathBuf {
        self.dir.path().join("state/certs/ca.pem")
    }

    pub async fn client(&self) -> Client {
        Client::connect(self.addr, &self.ca_path(), None, None)
            .await
            .expect("connect")
    }

    /// One request on a new connection, as `admin`.
    pub async fn call(&self, body: &str) -> String {
        let mut c = self.client().await;
        let r = c.post(body, Some(("admin", PASSWORD))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    }

    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                return s;
            }
            assert!(Instant::now() < deadline, "no exit after SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        stop_child(&mut self.child);
    }
}

/// Stop a simulator: SIGTERM first, so an ephemeral one removes its temporary data directory;
/// SIGKILL only if it has not gone in 10 s (a later start sweeps what that leaves).
pub fn stop_child(child: &mut std::process::Child) {
    if let Ok(None) = child.try_wait() {
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if !matches!(child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

pub struct Reply {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: String,
}

pub struct Client {
    send: SendRequest<Full<Bytes>>,
    host: String,
}

pub fn tls_config(
    ca: &Path,
    client_cert: Option<(&str, &str)>,
    versions: Option<&'static [&'static rustls::SupportedProtocolVersion]>,
) -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(ca).expect("read CA");
    for c in CertificateDer::pem_slice_iter(&pem) {
        roots.add(c.expect("CA pem")).expect("add CA");
    }
    let b = rustls::ClientConfig::builder_with_provider(provider);
    let b = match versions {
        Some(v) => b.with_protocol_versions(v),
        None => b.with_safe_default_protocol_versions(),
    }
    .expect("versions")
    .with_root_certificates(roots);
    match client_cert {
        Some((cert, key)) => {
            let chain: Vec<_> = CertificateDer::pem_slice_iter(cert.as_bytes())
                .map(|c| c.expect("cert"))
                .collect();
            let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).expect("key");
            b.with_client_auth_cert(chain, key).expect("client auth")
        }
        None => b.with_no_client_auth(),
    }
}

impl Client {
    pub async fn connect(
        addr: SocketAddr,
        ca: &Path,
        client_cert: Option<(&str, &str)>,
        versions: Option<&'static [&'static rustls::SupportedProtocolVersion]>,
    ) -> std::io::Result<Client> {
        let cfg = tls_config(ca, client_cert, versions);
        Self::connect_with(addr, cfg).await
    }

    pub async fn connect_with(
        addr: SocketAddr,
        cfg: rustls::ClientConfig,
    ) -> std::io::Result<Client> {
        let tcp = tokio::net::TcpStream::connect(addr).await?;
        let connector = tokio_rustls::TlsConnector::from(Arc::new(cfg));
        let name = ServerName::try_from(addr.ip().to_string()).expect("server name");
        let tls = connector.connect(name, tcp).await?;
        let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(std::io::Error::other)?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Client {
            send,
            host: addr.to_string(),
        })
    }

    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        body: Vec<u8>,
        auth: Option<(&str, &str)>,
    ) -> Result<Reply, hyper::Error> {
        use base64::Engine;
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.host)
            .header("content-type", "text/xml");
        if let Some((u, p)) = auth {
            let token = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
            b = b.header("authorization", format!("Basic {token}"));
        }
        let req = b.body(Full::new(Bytes::from(body))).expect("request");
        // The connection task may still be finishing the previous exchange.
        self.send.ready().await?;
        let resp = self.send.send_request(req).await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await?.to_bytes();
        Ok(Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        })
    }

    pub async fn post(&mut self, body: &str, auth: Option<(&str, &str)>) -> Reply {
        self.request("POST", ZAPI_PATH, body.as_bytes().to_vec(), auth)
            .await
            .expect("request")
    }
}

/// Wrap one API element in the envelope netapp-lib sends.
pub fn zapi(api: &str) -> String {
    format!("<netapp xmlns=\"http://www.netapp.com/filer/admin\" version=\"1.21\">{api}</netapp>")
}

pub fn zapi_vfiler(vfiler: &str, api: &str) -> String {
    format!(
        "<netapp xmlns=\"http://www.netapp.com/filer/admin\" version=\"1.21\" vfiler=\"{vfiler}\">{api}</netapp>"
    )
}

/// (status, errno, reason) of a `<results>` element.
pub fn results(body: &str) -> (String, Option<u32>, Option<String>) {
    let root = ontap_sim::zapi::xml::parse(body).expect("response parses");
    assert_eq!(root.name, "netapp");
    let r = root.child("results").expect("results");
    (
        r.get_attr("status").unwrap_or_default().to_string(),
        r.get_attr("errno").and_then(|e| e.parse().ok()),
        r.get_attr("reason").map(str::to_string),
    )
}

pub fn results_el(body: &str) -> ontap_sim::zapi::xml::Element {
    let root = ontap_sim::zapi::xml::parse(body).expect("response parses");
    root.child("results").expect("results").clone()
}

pub fn assert_failed(body: &str, errno: u32, reason_contains: &str) {
    let (status, e, reason) = results(body);
    assert_eq!(status, "failed", "{body}");
    assert_eq!(e, Some(errno), "{body}");
    let reason = reason.unwrap_or_default();
    assert!(
        reason.contains(reason_contains),
        "reason {reason:?} should contain {reason_contains:?}"
    );
}

pub fn assert_passed(body: &str) -> ontap_sim::zapi::xml::Element {
    let (status, _, reason) = results(body);
    assert_eq!(status, "passed", "{reason:?} {body}");
    results_el(body)
}
