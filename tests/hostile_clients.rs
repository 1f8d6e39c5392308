//! Hostile and broken clients against the real binary, on loopback, bounded in count and time:
//! stalled and trickled requests are closed by their timeouts, unauthenticated bodies are not
//! buffered, NFS records take memory only as their data arrives, connection caps refuse and
//! count, accept errors back off, and the control API will not listen openly without a token.
//! Timeouts are set small (seconds) for the test; every wait is bounded by a guard far above them.

mod common;
use common::*;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// Small timeouts so the test sees them fire.
const SMALL: &[&str] = &[
    "--header-timeout",
    "1",
    "--body-timeout",
    "2",
    "--idle-timeout",
    "2",
    "--nfs-idle-timeout",
    "2",
];

/// Connection caps above what a test opens (the default follows the descriptor limit).
const ROOMY: &[&str] = &[
    "--max-connections",
    "1000",
    "--max-connections-per-peer",
    "1000",
];

/// Far above any timeout configured here: a connection still open after this was not closed.
const GUARD: Duration = Duration::from_secs(20);

fn basic(user: &str, pass: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
}

async fn tls(sim: &Sim) -> tokio_rustls::client::TlsStream<TcpStream> {
    let cfg = tls_config(&sim.ca_path(), None, None);
    let tcp = TcpStream::connect(sim.addr).await.expect("connect");
    let connector = tokio_rustls::TlsConnector::from(Arc::new(cfg));
    let name = rustls::pki_types::ServerName::try_from(sim.addr.ip().to_string()).unwrap();
    connector.connect(name, tcp).await.expect("TLS")
}

/// Read until the server closes the connection (or fails it); what was read. Panics when the
/// connection is still open after [`GUARD`].
async fn until_closed<S: AsyncRead + Unpin>(s: &mut S, what: &str) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let r = tokio::time::timeout(GUARD, async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(r.is_ok(), "{what}: still open after {GUARD:?}");
    String::from_utf8_lossy(&got).into_owned()
}

fn rss_kb(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("VmRSS")
}

async fn metrics(sim: &Sim) -> String {
    sim.control()
        .call("GET", "/metrics", vec![])
        .await
        .expect("metrics")
}

fn metric(text: &str, series: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {series} in metrics:\n{text}"))
}

async fn probe_ok(sim: &Sim) {
    let body = sim.call(&zapi("<system-get-version/>")).await;
    assert_passed(&body);
}

#[tokio::test]
async fn stalled_and_trickled_requests_are_closed_by_their_timeouts() {
    let sim = Sim::start_in(tempfile::tempdir().unwrap(), None, SMALL);
    let auth = basic("admin", PASSWORD);
    // 1. Unauthenticated, the body announced and stalled: 401 once the body timeout passes,
    //    then closed.
    let mut s = tls(&sim).await;
    s.write_all(
        format!("POST {ZAPI_PATH} HTTP/1.1\r\nhost: x\r\ncontent-length: 100000\r\n\r\n<netapp>")
            .as_bytes(),
    )
    .await
    .unwrap();
    let r = until_closed(&mut s, "unauthenticated stalled body").await;
    assert!(r.starts_with("HTTP/1.1 401"), "{r}");
    // 2. Authenticated, stalled: 408, closed.
    let mut s = tls(&sim).await;
    s.write_all(format!("POST {ZAPI_PATH} HTTP/1.1\r\nhost: x\r\nauthorization: Basic {auth}\r\ncontent-length: 100000\r\n\r\n<netapp>").as_bytes()).await.unwrap();
    let r = until_closed(&mut s, "authenticated stalled body").await;
    assert!(r.starts_with("HTTP/1.1 408"), "{r}");
    // 3. REST, a chunked body that never ends: 408 in ONTAP's JSON error shape, closed.
    let mut s = tls(&sim).await;
    s.write_all(format!("POST /api/storage/volumes HTTP/1.1\r\nhost: x\r\nauthorization: Basic {auth}\r\ntransfer-encoding: chunked\r\n\r\n5\r\n{{\"a\":\r\n").as_bytes()).await.unwrap();
    let r = until_closed(&mut s, "endless chunked body").await;
    assert!(
        r.starts_with("HTTP/1.1 408") && r.contains("\"error\""),
        "{r}"
    );
    // 4. Headers trickled a byte at a time: closed at the header timeout though bytes keep coming.
    let mut s = tls(&sim).await;
    let trickle = async {
        for b in b"GET /api/cluster HTTP/1.1\r\nhost: x\r\nx-slow: "
            .iter()
            .cycle()
        {
            if s.write_all(&[*b]).await.is_err() || s.flush().await.is_err() {
                break;
            }
            let mut one = [0u8; 1];
            match tokio::time::timeout(Duration::from_millis(200), s.read(&mut one)).await {
                Ok(Ok(0)) | Ok(Err(_)) => break,
                _ => {}
            }
        }
    };
    assert!(
        tokio::time::timeout(GUARD, trickle).await.is_ok(),
        "trickled headers kept the connection open"
    );
    // 5. An idle keep-alive connection after one answered request: closed.
    let mut c = sim.client().await;
    let r = c
        .post(&zapi("<system-get-version/>"), Some(("admin", PASSWORD)))
        .await;
    assert_eq!(r.status, 200);
    let mut s = tls(&sim).await;
    let r = until_closed(&mut s, "idle connection").await;
    assert!(r.is_empty(), "{r}");
    // 6. The control API's listener has the same deadlines.
    let admin: SocketAddr = sim.admin.trim_start_matches("http://").parse().unwrap();
    let mut a = TcpStream::connect(admin).await.unwrap();
    a.write_all(b"PUT /state HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\n{")
        .await
        .unwrap();
    let r = until_closed(&mut a, "control API stalled body").await;
    assert!(r.starts_with("HTTP/1.1 408"), "{r}");
    // Others are served throughout, and every timeout is counted.
    probe_ok(&sim).await;
    let m = metrics(&sim).await;
    for (series, at_least) in [
        (
            r#"ontap_sim_connection_timeouts_total{listener="https",kind="body"}"#,
            3,
        ),
        (
            r#"ontap_sim_connection_timeouts_total{listener="https",kind="header"}"#,
            1,
        ),
        (
            r#"ontap_sim_connection_timeouts_total{listener="https",kind="idle"}"#,
            1,
        ),
    ] {
        assert!(metric(&m, series) >= at_least, "{series}:\n{m}");
    }
}

#[tokio::test]
async fn unauthenticated_bodies_are_not_buffered() {
    // Caps above the connections made, whatever the machine's descriptor limit.
    let sim = Sim::start_in(tempfile::tempdir().unwrap(), None, ROOMY);
    let pid = sim.child.id();
    probe_ok(&sim).await;
    let before = rss_kb(pid);
    // 100 connections without credentials, each announcing 8 MiB and sending up to 1 MiB.
    let mut tasks = Vec::new();
    for i in 0..100 {
        let mut s = tls(&sim).await;
        let path = if i % 2 == 0 {
            ZAPI_PATH
        } else {
            "/api/storage/volumes"
        };
        tasks.push(tokio::spawn(async move {
            let head = format!(
                "POST {path} HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\n\r\n",
                8 << 20
            );
            let _ = s.write_all(head.as_bytes()).await;
            let chunk = vec![b'x'; 64 << 10];
            let _ = tokio::time::timeout(Duration::from_secs(5), async {
                for _ in 0..16 {
                    if s.write_all(&chunk).await.is_err() {
                        break;
                    }
                }
            })
            .await;
            until_closed(&mut s, "unauthenticated large body").await
        }));
    }
    for t in tasks {
        let r = t.await.unwrap();
        assert!(r.starts_with("HTTP/1.1 401"), "{r}");
    }
    let after = rss_kb(pid);
    println!("RSS {before} kB -> {after} kB after 100 unauthenticated 1 MiB bodies");
    assert!(
        after < before + 48 * 1024,
        "RSS grew from {before} kB to {after} kB"
    );
    probe_ok(&sim).await;
}

/// A plain TCP connection from `from` (any 127/8 address is local on Linux).
async fn connect_from(from: &str, to: SocketAddr) -> TcpStream {
    let s = TcpSocket::new_v4().unwrap();
    s.bind(format!("{from}:0").parse().unwrap()).unwrap();
    s.connect(to).await.expect("connect")
}

/// Whether the server closed the connection at once (it was refused at a cap).
async fn refused(s: &mut TcpStream) -> bool {
    let mut b = [0u8; 1];
    matches!(
        tokio::time::timeout(Duration::from_secs(5), s.read(&mut b)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

#[tokio::test]
async fn connection_caps_refuse_count_and_recover() {
    let sim = Sim::start_in(
        tempfile::tempdir().unwrap(),
        None,
        &[
            "--max-connections",
            "20",
            "--max-connections-per-peer",
            "10",
        ],
    );
    let nfs = sim.nfs_addr().expect("NFS address");
    for (listener, to) in [("https", sim.addr), ("nfs", nfs)] {
        let mut held = Vec::new();
        for _ in 0..10 {
            held.push(connect_from("127.0.0.1", to).await);
        }
        let mut s = connect_from("127.0.0.1", to).await;
        assert!(
            refused(&mut s).await,
            "{listener}: the 11th from one peer was admitted"
        );
        for _ in 0..10 {
            held.push(connect_from("127.0.0.2", to).await);
        }
        let mut s = connect_from("127.0.0.3", to).await;
        assert!(refused(&mut s).await, "{listener}: the 21st was admitted");
        let m = metrics(&sim).await;
        let open = metric(
            &m,
            &format!("ontap_sim_connections_open{{listener=\"{listener}\"}}"),
        );
        assert_eq!(open, 20, "{m}");
        for cap in ["global", "peer"] {
            let series = format!(
                "ontap_sim_connections_refused_total{{listener=\"{listener}\",cap=\"{cap}\"}}"
            );
            assert_eq!(metric(&m, &series), 1, "{series}\n{m}");
        }
        drop(held);
        // Places free as the server sees the clients go.
        let mut freed = false;
        for _ in 0..200 {
            let m = metrics(&sim).await;
            if metric(
                &m,
                &format!("ontap_sim_connections_open{{listener=\"{listener}\"}}"),
            ) == 0
            {
                freed = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(freed, "{listener}: places were not freed");
    }
    probe_ok(&sim).await;
}

#[tokio::test]
async fn nfs_records_take_memory_as_data_arrives_and_idle_connections_close() {
    let sim = Sim::start_in(tempfile::tempdir().unwrap(), None, ROOMY);
    let pid = sim.child.id();
    let nfs = sim.nfs_addr().expect("NFS address");
    let before = rss_kb(pid);
    // 300 connections, each a record marker claiming 1 MiB followed by ten bytes.
    let mut held = Vec::new();
    for _ in 0..300 {
        let mut s = TcpStream::connect(nfs).await.unwrap();
        s.write_all(&(0x8000_0000u32 | (1 << 20)).to_be_bytes())
            .await
            .unwrap();
        s.write_all(&[0u8; 10]).await.unwrap();
        held.push(s);
    }
    // Wait until the server holds what it was sent (the budget gauge says so).
    let mut m = String::new();
    let held_each = 10 + (64 << 10);
    for _ in 0..200 {
        m = metrics(&sim).await;
        if metric(&m, "ontap_sim_body_budget_bytes") >= 300 * held_each {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        metric(&m, "ontap_sim_body_budget_bytes"),
        300 * held_each,
        "each record holds its ten bytes and one 64 KiB chunk ahead, not its claimed megabyte"
    );
    let after = rss_kb(pid);
    println!("RSS {before} kB -> {after} kB with 300 records claiming 1 MiB each");
    assert!(after < before + 64 * 1024, "RSS {before} kB -> {after} kB");
    drop(held);

    // With small timeouts: an idle connection and a stalled record are both closed.
    let sim = Sim::start_in(tempfile::tempdir().unwrap(), None, SMALL);
    let nfs = sim.nfs_addr().expect("NFS address");
    let mut idle = TcpStream::connect(nfs).await.unwrap();
    let mut stalled = TcpStream::connect(nfs).await.unwrap();
    stalled
        .write_all(&(0x8000_0000u32 | 100).to_be_bytes())
        .await
        .unwrap();
    until_closed(&mut idle, "idle NFS connection").await;
    until_closed(&mut stalled, "stalled NFS record").await;
    let m = metrics(&sim).await;
    assert!(
        metric(
            &m,
            r#"ontap_sim_connection_timeouts_total{listener="nfs",kind="idle"}"#
        ) >= 1,
        "{m}"
    );
    assert!(
        metric(
            &m,
            r#"ontap_sim_connection_timeouts_total{listener="nfs",kind="body"}"#
        ) >= 1,
        "{m}"
    );
}

fn serve_cmd(extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ontap-sim"));
    cmd.args([
        "serve",
        "--ephemeral",
        "--listen",
        "127.0.0.1:0",
        "--nfs-listen",
        "127.0.0.1:0",
    ])
    .args(extra)
    .env_remove("ONTAP_SIM_ADMIN_TOKEN")
    .env_remove("ONTAP_SIM_ADMIN_INSECURE")
    .env("RUST_LOG", "warn");
    cmd
}

/// Run `cmd` until it prints `ready` (true) or exits (false, with its stderr).
fn starts(mut cmd: Command) -> (bool, String) {
    use std::io::{BufRead, BufReader, Read};
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let ready = BufReader::new(out)
        .lines()
        .any(|l| l.is_ok_and(|l| l == "ready"));
    stop_child(&mut child);
    let mut err = String::new();
    let _ = child.stderr.take().unwrap().read_to_string(&mut err);
    (ready, err)
}

#[test]
fn the_control_api_needs_a_token_to_listen_beyond_loopback() {
    let (ready, err) = starts(serve_cmd(&["--admin-listen", "0.0.0.0:0"]));
    assert!(!ready, "started with an open control API");
    assert!(
        err.contains("without a token") && err.contains("--admin-insecure"),
        "{err}"
    );
    let (ready, err) = starts(serve_cmd(&[
        "--admin-listen",
        "0.0.0.0:0",
        "--admin-token",
        "t0k",
    ]));
    assert!(ready, "{err}");
    let (ready, err) = starts(serve_cmd(&[
        "--admin-listen",
        "0.0.0.0:0",
        "--admin-insecure",
    ]));
    assert!(ready, "{err}");
    let (ready, err) = starts(serve_cmd(&["--admin-listen", "127.0.0.1:0"]));
    assert!(ready, "{err}");
}

#[tokio::test]
async fn accept_errors_back_off_and_are_logged_rarely() {
    // Few descriptors, caps above them: the accept loops run out of descriptors.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("stderr");
    let bin = env!("CARGO_BIN_EXE_ontap-sim");
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -n 96 && exec '{bin}' serve --ephemeral --listen 127.0.0.1:0 --nfs-listen 127.0.0.1:0 \
             --admin-listen 127.0.0.1:0 --max-connections 1000 --max-connections-per-peer 1000"
        ))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            stop_child(&mut self.0);
        }
    }
    let out = child.stdout.take().unwrap();
    let mut child = Kill(child);
    let banner: Vec<String> = {
        use std::io::{BufRead, BufReader};
        let mut lines = Vec::new();
        for l in BufReader::new(out).lines() {
            let l = l.unwrap();
            let done = l == "ready";
            lines.push(l);
            if done {
                break;
            }
        }
        lines
    };
    let admin: SocketAddr = banner
        .iter()
        .find_map(|l| l.trim().strip_prefix("admin"))
        .expect("admin line")
        .trim()
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    // More connections than descriptors: the kernel queues what the server cannot accept.
    let mut held = Vec::new();
    for _ in 0..150 {
        match tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(admin)).await {
            Ok(Ok(s)) => held.push(s),
            _ => break,
        }
    }
    // Let the accept loop meet EMFILE for a while.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(child.0.try_wait().unwrap().is_none(), "the simulator died");
    let text = std::fs::read_to_string(&log).unwrap();
    let lines = text.lines().filter(|l| l.contains("accept failed")).count();
    assert!(
        (1..=2).contains(&lines),
        "{lines} accept-failure lines:\n{text}"
    );
    drop(held);
    // Served again once descriptors are free; the errors were few (paused, not spun).
    let mut m = None;
    for _ in 0..100 {
        let admin_client = ontap_sim::cli::Admin {
            base: format!("http://{admin}"),
            token: None,
        };
        if let Ok(t) = admin_client.call("GET", "/metrics", vec![]).await {
            m = Some(t);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let m = m.expect("the control API answers again");
    let errors = metric(&m, r#"ontap_sim_accept_errors_total{listener="admin"}"#);
    assert!(
        (1..=40).contains(&errors),
        "{errors} accept errors in ~3 s:\n{m}"
    );
    let _ = &mut child;
}
