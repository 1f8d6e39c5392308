//! `ontap-sim backend-json`: the Trident backend config it prints for a topology, its choices and
//! refusals, the certificate it issues, and a certificate-authenticated ZAPI call made with
//! exactly the fields it printed against a running simulator.

mod common;

use base64::Engine;
use common::{assert_passed, zapi_vfiler, Client, Sim};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Output};

const OPTIONS_2049: &str = "nfsvers=3,proto=tcp,mountproto=tcp,port=2049,mountport=2049,nolock";

/// Run `ontap-sim backend-json ARGS` with none of the environment it reads.
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ontap-sim"));
    cmd.arg("backend-json").args(args);
    for v in [
        "ONTAP_SIM_CONFIG",
        "ONTAP_SIM_LISTEN",
        "ONTAP_SIM_NFS_LISTEN",
        "ONTAP_SIM_STATE_DIR",
        "ONTAP_SIM_PASSWORD",
    ] {
        cmd.env_remove(v);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run ontap-sim backend-json")
}

fn ok(args: &[&str], env: &[(&str, &str)]) -> (Value, String, String) {
    let out = run(args, env);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "backend-json {args:?} failed: {stderr}"
    );
    let v: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    (v, stdout, stderr)
}

fn err(args: &[&str], env: &[(&str, &str)]) -> String {
    let out = run(args, env);
    assert!(
        !out.status.success(),
        "backend-json {args:?} should fail; printed {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(out.stdout.is_empty(), "nothing on stdout when refusing");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p.display().to_string()
}

fn unb64(v: &Value) -> String {
    let s = v.as_str().expect("a base64 string");
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .expect("valid base64"),
    )
    .expect("PEM text")
}

/// Two SVMs: svm1's LIF is down, svm2's is up; users of every kind.
const TWO_SVMS: &str = r#"
seed = "backend-json"
[cluster]
name = "c1"
[[nodes]]
name = "c1-01"
[[aggregates]]
name = "aggr1"
size = "1TiB"
[[svms]]
name = "svm1"
aggregates = ["aggr1"]
[[svms.lifs]]
name = "svm1_data1"
address = "10.0.0.4"
status = "down"
[[svms]]
name = "svm2"
aggregates = ["aggr1"]
[[svms.lifs]]
name = "svm2_mgmt"
address = "10.0.0.9"
role = "node_mgmt"
protocols = ["none"]
[[svms.lifs]]
name = "svm2_data1"
address = "10.0.0.5"
[[svms.lifs]]
name = "svm2_data2"
address = "10.0.0.6"
[[users]]
name = "admin"
password = "cluster-pw"
scope = "cluster"
[[users]]
name = "vsadmin"
password = "svm2-pw"
scope = "svm2"
[[users]]
name = "viewer"
password = "v"
scope = "cluster"
role = "readonly"
[[users]]
name = "robot"
certificate_cn = "robot-cn"
scope = "svm2"
"#;

#[test]
fn default_topology_gives_trident_sample_shape() {
    let (v, raw, stderr) = ok(&[], &[]);
    assert_eq!(
        v,
        json!({
            "version": 1,
            "storageDriverName": "ontap-nas",
            "managementLIF": "127.0.0.1:8443",
            "dataLIF": "127.0.0.1",
            "svm": "svm1",
            "username": "vsadmin",
            "password": "netapp1!",
            "nfsMountOptions": OPTIONS_2049,
        })
    );
    // Keys in the order of Trident's sample backend files.
    let order: Vec<usize> = [
        "\"version\"",
        "\"storageDriverName\"",
        "\"managementLIF\"",
        "\"dataLIF\"",
        "\"svm\"",
        "\"username\"",
        "\"password\"",
        "\"nfsMountOptions\"",
    ]
    .iter()
    .map(|k| raw.find(k).expect("key present"))
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{raw}");
    assert!(
        stderr.contains("dataLIF is 127.0.0.1"),
        "a note says why the data LIF is loopback: {stderr}"
    );
    // The password the simulator gives users without one of their own.
    let (v, _, _) = ok(&[], &[("ONTAP_SIM_PASSWORD", "from-env")]);
    assert_eq!(v["password"], "from-env");
}

#[test]
fn listeners_and_addresses() {
    // A LIF without an address takes the NFS listener's IP; the port goes into the options.
    let (v, _, _) = ok(
        &[
            "--listen",
            "10.1.1.1:9443",
            "--nfs-listen",
            "10.1.1.2:20490",
            "--backend-name",
            "lab",
        ],
        &[],
    );
    assert_eq!(v["managementLIF"], "10.1.1.1:9443");
    assert_eq!(v["dataLIF"], "10.1.1.2");
    assert_eq!(v["backendName"], "lab");
    assert_eq!(
        v["nfsMountOptions"],
        "nfsvers=3,proto=tcp,mountproto=tcp,port=20490,mountport=20490,nolock"
    );
    // The same settings through the variables the container entrypoint uses.
    let (e, _, _) = ok(
        &["--backend-name", "lab"],
        &[
            ("ONTAP_SIM_LISTEN", "10.1.1.1:9443"),
            ("ONTAP_SIM_NFS_LISTEN", "10.1.1.2:20490"),
        ],
    );
    assert_eq!(e, v);
    // An IPv6 data LIF is written in brackets, as Trident writes it.
    let (v, _, _) = ok(&["--nfs-listen", "[fd00::7]:2049"], &[]);
    assert_eq!(v["dataLIF"], "[fd00::7]");
    // --nfs-port: the port clients reach (a Service may map another one).
    let (v, _, _) = ok(&["--nfs-port", "32049"], &[]);
    assert_eq!(
        v["nfsMountOptions"],
        "nfsvers=3,proto=tcp,mountproto=tcp,port=32049,mountport=32049,nolock"
    );
    // managementLIF: as given with a port, else with the management port; IPv6 in brackets.
    for (given, want) in [
        ("sim.lab", "sim.lab:8443"),
        ("sim.lab:443", "sim.lab:443"),
        (
            "ontap-sim.ontap-sim.svc.cluster.local:443",
            "ontap-sim.ontap-sim.svc.cluster.local:443",
        ),
        ("10.2.3.4", "10.2.3.4:8443"),
        ("10.2.3.4:443", "10.2.3.4:443"),
        ("::1", "[::1]:8443"),
        ("[fd00::1]", "[fd00::1]:8443"),
        ("[fd00::1]:443", "[fd00::1]:443"),
    ] {
        let (v, _, _) = ok(&["--management-lif", given], &[]);
        assert_eq!(v["managementLIF"], want, "--management-lif {given}");
    }
    for bad in [
        "sim.lab:0",
        "sim.lab:http",
        "a b",
        "https://sim.lab",
        "[nope]",
        "sim.lab:443:1",
        "10.2.3.4:0",
        ":443",
    ] {
        let e = err(&["--management-lif", bad], &[]);
        assert!(e.contains("--management-lif"), "{bad}: {e}");
    }
    // Ports picked at start cannot be guessed.
    let e = err(&["--listen", "127.0.0.1:0"], &[]);
    assert!(e.contains("give --management-lif HOST:PORT"), "{e}");
    let e = err(&["--nfs-listen", "127.0.0.1:0"], &[]);
    assert!(e.contains("give --nfs-port"), "{e}");
}

#[test]
fn svm_user_and_lif_choices() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write(dir.path(), "two.toml", TWO_SVMS);
    // svm1's only LIF is down: the first SVM with an NFS LIF that is up, and its own admin.
    let (v, _, _) = ok(&["--config", &cfg], &[]);
    assert_eq!(v["svm"], "svm2");
    assert_eq!(v["dataLIF"], "10.0.0.5");
    assert_eq!(v["username"], "vsadmin");
    assert_eq!(v["password"], "svm2-pw");
    // A cluster admin may be chosen.
    let (v, _, _) = ok(&["--config", &cfg, "--user", "admin"], &[]);
    assert_eq!(
        (v["username"].as_str(), v["password"].as_str()),
        (Some("admin"), Some("cluster-pw"))
    );
    // Another up LIF of the SVM, named explicitly, is taken as is, and without a note.
    let (v, _, stderr) = ok(&["--config", &cfg, "--data-lif", "10.0.0.6"], &[]);
    assert_eq!(v["dataLIF"], "10.0.0.6");
    assert!(!stderr.contains("dataLIF"), "{stderr}");
    // An address that is no such LIF: printed, with a note that Trident will refuse it.
    let (v, _, stderr) = ok(&["--config", &cfg, "--data-lif", "10.0.0.9"], &[]);
    assert_eq!(v["dataLIF"], "10.0.0.9");
    assert!(stderr.contains("is not an NFS data LIF"), "{stderr}");
    // svm1 has no LIF that is up.
    let e = err(&["--config", &cfg, "--svm", "svm1"], &[]);
    assert!(
        e.contains("SVM \"svm1\" has no NFS data LIF that is up"),
        "{e}"
    );
    let (v, _, _) = ok(
        &[
            "--config",
            &cfg,
            "--svm",
            "svm1",
            "--user",
            "admin",
            "--data-lif",
            "10.0.0.4",
        ],
        &[],
    );
    assert_eq!(v["svm"], "svm1");
    // Refusals name the reason.
    let e = err(&["--config", &cfg, "--svm", "svm9"], &[]);
    assert!(
        e.contains("no SVM \"svm9\"") && e.contains("svm1, svm2"),
        "{e}"
    );
    let e = err(&["--config", &cfg, "--user", "nobody"], &[]);
    assert!(e.contains("no user \"nobody\""), "{e}");
    let e = err(
        &[
            "--config",
            &cfg,
            "--svm",
            "svm1",
            "--user",
            "vsadmin",
            "--data-lif",
            "10.0.0.4",
        ],
        &[],
    );
    assert!(
        e.contains("scoped to SVM \"svm2\"") && e.contains("13003"),
        "{e}"
    );
    let e = err(&["--config", &cfg, "--user", "viewer"], &[]);
    assert!(e.contains("readonly"), "{e}");
    let e = err(
        &["--config", &cfg, "--user", "robot", "--auth", "password"],
        &[],
    );
    assert!(e.contains("--auth certificate"), "{e}");
    // A bad topology is refused as `serve` refuses it.
    let bad = write(
        dir.path(),
        "bad.toml",
        "[[svms]]\nname = \"s\"\naggregates = [\"nope\"]\n",
    );
    let e = err(&["--config", &bad], &[]);
    assert!(e.contains("bad.toml") && e.contains("nope"), "{e}");
}

#[test]
fn certificate_auth_issues_a_client_certificate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write(dir.path(), "two.toml", TWO_SVMS);
    let state = dir.path().join("state");
    let state_s = state.display().to_string();
    // robot has no password: certificate auth is the default, with its certificate CN.
    let (v, _, stderr) = ok(
        &["--config", &cfg, "--user", "robot", "--state-dir", &state_s],
        &[],
    );
    for absent in ["username", "password"] {
        assert!(
            v.get(absent).is_none(),
            "{absent} with certificate auth: {v}"
        );
    }
    let cert = unb64(&v["clientCertificate"]);
    let key = unb64(&v["clientPrivateKey"]);
    let ca = unb64(&v["trustedCACertificate"]);
    assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"), "{cert}");
    assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"));
    assert_eq!(
        ca,
        std::fs::read_to_string(state.join("certs/ca.pem")).expect("CA written to the state dir")
    );
    let der = CertificateDer::from_pem_slice(cert.as_bytes()).expect("certificate PEM");
    let (_, parsed) = x509_parser::parse_x509_certificate(&der).expect("X.509");
    let cn = parsed
        .subject()
        .iter_common_name()
        .next()
        .and_then(|c| c.as_str().ok());
    assert_eq!(cn, Some("robot-cn"));
    let issuer = parsed
        .issuer()
        .iter_common_name()
        .next()
        .and_then(|c| c.as_str().ok());
    assert_eq!(issuer, Some("ontap-sim CA"));
    assert_eq!(
        std::fs::read_to_string(state.join("certs/robot-cn.pem")).expect("cert file"),
        cert
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(state.join("certs/robot-cn-key.pem"))
            .expect("key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(stderr.contains("CN robot-cn"), "{stderr}");
    // The CA is reused: a second certificate chains to the same CA.
    let (v2, _, _) = ok(
        &[
            "--config",
            &cfg,
            "--user",
            "admin",
            "--auth",
            "certificate",
            "--state-dir",
            &state_s,
        ],
        &[],
    );
    assert_eq!(v2["trustedCACertificate"], v["trustedCACertificate"]);
    // Password auth with the CA, so Trident verifies the server; a name missing from the server
    // certificate gets a note.
    let (v3, _, stderr) = ok(
        &[
            "--config",
            &cfg,
            "--trusted-ca",
            "--state-dir",
            &state_s,
            "--management-lif",
            "sim.example:443",
        ],
        &[],
    );
    assert_eq!(v3["username"], "vsadmin");
    assert_eq!(v3["trustedCACertificate"], v["trustedCACertificate"]);
    assert!(v3.get("clientCertificate").is_none());
    assert!(
        stderr.contains("\"sim.example\" is not among its names"),
        "{stderr}"
    );
    // A topology with its own certificates: the simulator's CA does not sign for it.
    let own = write(
        dir.path(),
        "own.toml",
        &TWO_SVMS.replace(
            "[cluster]",
            "[tls]\ncert = \"/nonexistent/s.pem\"\nkey = \"/nonexistent/k.pem\"\n[cluster]",
        ),
    );
    let e = err(
        &["--config", &own, "--user", "robot", "--state-dir", &state_s],
        &[],
    );
    assert!(e.contains("brings its own certificates"), "{e}");
}

/// The printed fields, used exactly as Trident uses them, reach the running simulator: the
/// client certificate alone authenticates, the server certificate verifies against
/// trustedCACertificate for the managementLIF host, and the SVM answers through vfiler tunnelling.
#[tokio::test]
async fn printed_certificate_signs_in_to_the_running_simulator() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state").display().to_string();
    let cfg = write(dir.path(), "two.toml", TWO_SVMS);
    // Issue first, then start `serve` on the same state dir: it reuses the CA and server cert.
    let (pre, _, _) = ok(
        &[
            "--config",
            &cfg,
            "--user",
            "robot",
            "--state-dir",
            &state,
            "--listen",
            "127.0.0.1:8443",
        ],
        &[],
    );
    let sim = Sim::start_in(dir, Some(TWO_SVMS), &[]);
    let lif = sim.addr.to_string();
    let (v, _, _) = ok(
        &[
            "--config",
            &cfg,
            "--user",
            "robot",
            "--state-dir",
            &state,
            "--listen",
            "127.0.0.1:8443",
            "--management-lif",
            &lif,
        ],
        &[],
    );
    assert_eq!(v["managementLIF"], lif);
    assert_eq!(v["trustedCACertificate"], pre["trustedCACertificate"]);
    let work = tempfile::tempdir().expect("tempdir");
    let ca = work.path().join("ca.pem");
    std::fs::write(&ca, unb64(&v["trustedCACertificate"])).expect("write CA");
    let (cert, key) = (
        unb64(&v["clientCertificate"]),
        unb64(&v["clientPrivateKey"]),
    );
    let addr: std::net::SocketAddr = v["managementLIF"].as_str().unwrap().parse().unwrap();
    let mut c = Client::connect(addr, &ca, Some((&cert, &key)), None)
        .await
        .expect("TLS with the client certificate, verified against trustedCACertificate");
    let svm = v["svm"].as_str().unwrap();
    let r = c.post(&zapi_vfiler(svm, "<vserver-get/>"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let res = assert_passed(&r.body);
    let name = res
        .child("attributes")
        .and_then(|a| a.child("vserver-info"))
        .and_then(|i| i.child_text("vserver-name"));
    assert_eq!(name, Some(svm));
    drop(sim);
}
