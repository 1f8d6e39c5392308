//! The foundation through a real TLS client: the envelope, authentication, scope and tunnelling,
//! the iterator engine, and bad input of every kind.

mod common;
use common::*;

const TWO_SVMS: &str = r#"
seed = "itest"
[cluster]
name = "lab"
version = "9.12.1"

[[nodes]]
name = "lab-01"
[[nodes]]
name = "lab-02"

[[aggregates]]
name = "aggr1"
size = "2TiB"
[[aggregates]]
name = "aggr2"
size = 1099511627776
media = "hdd"
node = "lab-02"

[[svms]]
name = "svm1"
aggregates = ["aggr1", "aggr2"]
[[svms.lifs]]
name = "svm1_data"
address = "127.0.0.1"

[[svms]]
name = "svm2"
state = "stopped"
aggregates = ["aggr2"]
[[svms.lifs]]
name = "svm2_data"
address = "127.0.0.2"
status = "down"

[[users]]
name = "admin"
password = "secret1"
[[users]]
name = "vsadmin"
password = "secret2"
scope = "svm1"
[[users]]
name = "ro"
password = "secret3"
role = "readonly"
"#;

const EMS: &str = "<ems-autosupport-log><app-version>1</app-version><auto-support>false</auto-support><category>heartbeat</category><computer-name>host</computer-name><event-description>{}</event-description><event-id>1</event-id><event-source>trident</event-source><log-level>5</log-level></ems-autosupport-log>";

fn names(results: &ontap_sim::zapi::xml::Element, record_field: &str) -> Vec<String> {
    results
        .child("attributes-list")
        .map(|l| {
            l.children
                .iter()
                .map(|r| r.child_text(record_field).unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn default_topology_versions_and_banner() {
    let sim = Sim::start(None);
    assert!(sim
        .banner
        .iter()
        .any(|l| l.contains("cluster cluster1 (ONTAP 9.14.1, ONTAPI 1.241)")));
    let r = assert_passed(&sim.call(&zapi("<system-get-version/>")).await);
    assert!(r
        .child_text("version")
        .unwrap()
        .starts_with("NetApp Release 9.14.1"));
    let t = r.path(&["version-tuple", "system-version-tuple"]).unwrap();
    assert_eq!(
        (
            t.child_text("generation"),
            t.child_text("major"),
            t.child_text("minor")
        ),
        (Some("9"), Some("14"), Some("1"))
    );
    let r = assert_passed(&sim.call(&zapi("<system-get-ontapi-version/>")).await);
    assert_eq!(r.child_text("major-version"), Some("1"));
    assert_eq!(r.child_text("minor-version"), Some("241"));

    let r = assert_passed(&sim.call(&zapi("<system-node-get-iter/>")).await);
    let node = r.path(&["attributes-list", "node-details-info"]).unwrap();
    assert_eq!(node.child_text("node"), Some("cluster1-01"));
    assert_eq!(node.child_text("node-serial-number").unwrap().len(), 12);

    // The data SVM as Trident reads it (§2.2 step 5).
    let r = assert_passed(
        &sim.call(&zapi_vfiler(
            "svm1",
            "<vserver-get-iter><max-records>100</max-records><query><vserver-info><vserver-name>svm1</vserver-name></vserver-info></query></vserver-get-iter>",
        ))
        .await,
    );
    assert_eq!(r.child_text("num-records"), Some("1"));
    let v = r.path(&["attributes-list", "vserver-info"]).unwrap();
    assert_eq!(v.child_text("state"), Some("running"));
    assert_eq!(
        v.path(&["vserver-aggr-info-list", "vserver-aggr-info"])
            .unwrap()
            .child_text("aggr-name"),
        Some("aggr1")
    );
    // The response is what Trident's validator accepts: declaration, DOCTYPE, versioned root.
    let body = sim.call(&zapi("<system-get-version/>")).await;
    assert!(body.starts_with("<?xml version='1.0' encoding='UTF-8' ?>\n<!DOCTYPE netapp SYSTEM 'file:/etc/netapp_gx.dtd'>\n<netapp version='1.241' xmlns='http://www.netapp.com/filer/admin'>"));
}

#[tokio::test]
async fn configured_topology_and_derived_ontapi() {
    let sim = Sim::start(Some(TWO_SVMS));
    let mut c = sim.client().await;
    let auth = Some(("admin", "secret1"));
    let r = assert_passed(
        &c.post(&zapi("<system-get-ontapi-version/>"), auth)
            .await
            .body,
    );
    assert_eq!(
        r.child_text("minor-version"),
        Some("221"),
        "9.12.1 -> 1.221"
    );
    let r = assert_passed(&c.post(&zapi("<vserver-get-iter/>"), auth).await.body);
    assert_eq!(
        names(&r, "vserver-name"),
        ["lab", "lab-01", "lab-02", "svm1", "svm2"]
    );
    let r = assert_passed(
        &c.post(&zapi_vfiler("svm2", "<vserver-get/>"), auth)
            .await
            .body,
    );
    let v = r.path(&["attributes", "vserver-info"]).unwrap();
    assert_eq!(v.child_text("vserver-name"), Some("svm2"));
    assert_eq!(v.child_text("state"), Some("stopped"));
    assert_eq!(v.child_text("vserver-type"), Some("data"));
    let r = assert_passed(&c.post(&zapi("<system-node-get-iter/>"), auth).await.body);
    assert_eq!(names(&r, "node"), ["lab-01", "lab-02"]);
}

#[tokio::test]
async fn authentication_challenge_and_refusals() {
    let sim = Sim::start(Some(TWO_SVMS));
    let mut c = sim.client().await;
    let body = zapi("<system-get-version/>");
    let r = c.post(&body, None).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.headers["www-authenticate"], "Basic realm=\"ontap-sim\"");
    let r = c.post(&body, Some(("admin", "wrong"))).await;
    assert_eq!(r.status, 401);
    let r = c.post(&body, Some(("nobody", "secret1"))).await;
    assert_eq!(r.status, 401);
    // The same keep-alive connection then succeeds with the right credentials.
    let r = c.post(&body, Some(("admin", "secret1"))).await;
    assert_eq!(r.status, 200);
    assert_passed(&r.body);
}

#[tokio::test]
async fn scope_tunnelling_and_roles() {
    let sim = Sim::start(Some(TWO_SVMS));
    let mut c = sim.client().await;
    let vs = Some(("vsadmin", "secret2"));
    // An SVM-scoped user acts on its own SVM without tunnelling and sees only it.
    let r = assert_passed(&c.post(&zapi("<vserver-get-iter/>"), vs).await.body);
    assert_eq!(names(&r, "vserver-name"), ["svm1"]);
    let r = assert_passed(
        &c.post(&zapi_vfiler("svm1", "<vserver-get/>"), vs)
            .await
            .body,
    );
    assert_eq!(
        r.path(&["attributes", "vserver-info", "vserver-name"])
            .unwrap()
            .text,
        "svm1"
    );
    assert_failed(
        &c.post(&zapi_vfiler("svm2", "<vserver-get/>"), vs)
            .await
            .body,
        13003,
        "svm2",
    );
    // Cluster-only APIs do not exist in an SVM context.
    assert_failed(
        &c.post(&zapi("<system-node-get-iter/>"), vs).await.body,
        13005,
        "Unable to find API: system-node-get-iter on data vserver svm1",
    );
    // A cluster admin tunnelling to a missing SVM: the errno Trident's MetroCluster retry keys on.
    assert_failed(
        &c.post(
            &zapi_vfiler("nosuch", "<vserver-get/>"),
            Some(("admin", "secret1")),
        )
        .await
        .body,
        15698,
        "nosuch",
    );
    // Readonly: reads pass, writes are refused.
    let ro = Some(("ro", "secret3"));
    assert_passed(&c.post(&zapi("<vserver-get-iter/>"), ro).await.body);
    let ems = EMS.replace("{}", "hello");
    assert_failed(
        &c.post(&zapi_vfiler("svm1", &ems), ro).await.body,
        13003,
        "Insufficient privileges",
    );
    assert_passed(
        &c.post(&zapi_vfiler("svm1", &ems), Some(("admin", "secret1")))
            .await
            .body,
    );
    assert_passed(&c.post(&zapi(&ems), vs).await.body);
}

#[tokio::test]
async fn iterator_paging_queries_and_pruning() {
    let sim = Sim::start(Some(TWO_SVMS));
    let mut c = sim.client().await;
    let auth = Some(("admin", "secret1"));
    let mut seen = Vec::new();
    let mut tag: Option<String> = None;
    for _ in 0..10 {
        let tag_el = tag
            .as_ref()
            .map(|t| format!("<tag>{}</tag>", quick_xml::escape::escape(t)))
            .unwrap_or_default();
        let body = zapi(&format!(
            "<vserver-get-iter><max-records>2</max-records>{tag_el}</vserver-get-iter>"
        ));
        let r = assert_passed(&c.post(&body, auth).await.body);
        let page = names(&r, "vserver-name");
        assert_eq!(r.child_text("num-records").unwrap(), page.len().to_string());
        seen.extend(page);
        match r.child_text("next-tag") {
            Some(t) => tag = Some(t.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, ["lab", "lab-01", "lab-02", "svm1", "svm2"]);

    let q = |query: &str| {
        zapi(&format!(
            "<vserver-get-iter><query><vserver-info>{query}</vserver-info></query></vserver-get-iter>"
        ))
    };
    let r = assert_passed(
        &c.post(&q("<vserver-name>svm*</vserver-name>"), auth)
            .await
            .body,
    );
    assert_eq!(names(&r, "vserver-name"), ["svm1", "svm2"]);
    let r = assert_passed(
        &c.post(&q("<vserver-name>lab|svm2</vserver-name>"), auth)
            .await
            .body,
    );
    assert_eq!(names(&r, "vserver-name"), ["lab", "svm2"]);
    let r = assert_passed(
        &c.post(
            &q("<vserver-type>data</vserver-type><state>running</state>"),
            auth,
        )
        .await
        .body,
    );
    assert_eq!(names(&r, "vserver-name"), ["svm1"]);
    let r = assert_passed(
        &c.post(
            &q("<vserver-aggr-info-list><vserver-aggr-info><aggr-name>aggr2</aggr-name></vserver-aggr-info></vserver-aggr-info-list>"),
            auth,
        )
        .await
        .body,
    );
    assert_eq!(names(&r, "vserver-name"), ["svm1", "svm2"]);
    let r = assert_passed(
        &c.post(&q("<vserver-name>none*</vserver-name>"), auth)
            .await
            .body,
    );
    assert_eq!(r.child_text("num-records"), Some("0"));
    assert!(r.child("attributes-list").is_none());
    assert!(r.child("next-tag").is_none());

    let r = assert_passed(
        &c.post(
            &zapi("<vserver-get-iter><desired-attributes><vserver-info><vserver-name/><uuid/></vserver-info></desired-attributes></vserver-get-iter>"),
            auth,
        )
        .await
        .body,
    );
    for rec in &r.child("attributes-list").unwrap().children {
        let fields: Vec<_> = rec.children.iter().map(|c| c.name.as_ref()).collect();
        assert_eq!(fields, ["uuid", "vserver-name"]);
    }
}

#[tokio::test]
async fn bad_input_gets_a_clear_failure() {
    let sim = Sim::start(None);
    let mut c = sim.client().await;
    let a = Some(("admin", PASSWORD));
    let cases: &[(&str, u32, &str)] = &[
        ("not xml at all", 13001, "Unable to parse"),
        (
            "<netapp><system-get-version></netapp>",
            13001,
            "Unable to parse",
        ),
        (
            "<netapp xmlns=\"http://www.netapp.com/filer/admin\"/>",
            13001,
            "no API element",
        ),
        (
            "<netapp><system-get-version/><system-get-ontapi-version/></netapp>",
            13001,
            "2 elements",
        ),
        ("<filer><system-get-version/></filer>", 13001, "<filer>"),
        ("", 13001, "Unable to parse"),
    ];
    for (body, errno, reason) in cases {
        let r = c.post(body, a).await;
        assert_eq!(r.status, 200);
        assert_failed(&r.body, *errno, reason);
    }
    assert_failed(
        &c.post(&zapi("<volume-frobnicate/>"), a).await.body,
        13005,
        "Unable to find API: volume-frobnicate",
    );
    assert_failed(
        &c.post(
            &zapi("<system-get-version><x>1</x></system-get-version>"),
            a,
        )
        .await
        .body,
        13115,
        "Extra input: x",
    );
    assert_failed(
        &c.post(
            &zapi("<vserver-get-iter><max-records>abc</max-records></vserver-get-iter>"),
            a,
        )
        .await
        .body,
        13115,
        "\"abc\" is not an integer",
    );
    assert_failed(
        &c.post(
            &zapi("<vserver-get-iter><max-records>0</max-records></vserver-get-iter>"),
            a,
        )
        .await
        .body,
        13115,
        "max-records",
    );
    assert_failed(
        &c.post(
            &zapi("<vserver-get-iter><tag>bogus</tag></vserver-get-iter>"),
            a,
        )
        .await
        .body,
        13115,
        "tag",
    );
    assert_failed(
        &c.post(
            &zapi("<vserver-get-iter><query><volume-attributes/></query></vserver-get-iter>"),
            a,
        )
        .await
        .body,
        13115,
        "expected <vserver-info>",
    );
    assert_failed(
        &c.post(
            &zapi_vfiler(
                "svm1",
                "<ems-autosupport-log><app-version>1</app-version></ems-autosupport-log>",
            ),
            a,
        )
        .await
        .body,
        13115,
        "Missing input: auto-support",
    );
    let ems = EMS
        .replace("<log-level>5</log-level>", "<log-level>loud</log-level>")
        .replace("{}", "x");
    assert_failed(
        &c.post(&zapi_vfiler("svm1", &ems), a).await.body,
        13115,
        "log-level",
    );
    let ems = EMS
        .replace(
            "<auto-support>false</auto-support>",
            "<auto-support>maybe</auto-support>",
        )
        .replace("{}", "x");
    assert_failed(
        &c.post(&zapi_vfiler("svm1", &ems), a).await.body,
        13115,
        "boolean",
    );
    // Non-UTF-8 bytes.
    let r = c
        .request("POST", ZAPI_PATH, vec![0xff, 0xfe, 0x3c], a)
        .await
        .unwrap();
    assert_failed(&r.body, 13001, "UTF-8");

    // HTTP-level refusals.
    let r = c.request("GET", ZAPI_PATH, vec![], a).await.unwrap();
    assert_eq!(r.status, 405);
    assert_eq!(r.headers["allow"], "POST");
    let r = c
        .request("GET", "/api/no/such/endpoint", vec![], a)
        .await
        .unwrap();
    assert_eq!(r.status, 404, "unknown REST paths are 404");
    assert!(r.body.contains("\"code\":\"3\""), "{}", r.body);
    let big = vec![b' '; 9 << 20];
    let mut c2 = sim.client().await;
    let r = c2.request("POST", ZAPI_PATH, big, a).await.unwrap();
    assert_eq!(r.status, 413);
    // The server is still answering.
    assert_passed(&sim.call(&zapi("<system-get-version/>")).await);
}

#[tokio::test]
async fn whitespace_declarations_and_order_do_not_matter() {
    let sim = Sim::start(None);
    let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE netapp SYSTEM 'file:/etc/netapp_gx.dtd'>\n<netapp xmlns=\"http://www.netapp.com/filer/admin\" version=\"1.99\" vfiler=\"svm1\">\n <vserver-get-iter>\n     <query>\n         <vserver-info>\n             <vserver-name>svm1</vserver-name>\n         </vserver-info>\n     </query>\n     <max-records>100</max-records>\n </vserver-get-iter>\n</netapp>";
    let r = assert_passed(&sim.call(body).await);
    assert_eq!(names(&r, "vserver-name"), ["svm1"]);
}

#[tokio::test]
async fn tls12_tls13_keep_alive_and_verification() {
    let sim = Sim::start(None);
    for versions in [
        &[&rustls::version::TLS12][..],
        &[&rustls::version::TLS13][..],
    ] {
        let versions: &'static [&'static rustls::SupportedProtocolVersion] =
            Box::leak(versions.to_vec().into_boxed_slice());
        let mut c = Client::connect(sim.addr, &sim.ca_path(), None, Some(versions))
            .await
            .expect("handshake");
        for _ in 0..3 {
            let r = c
                .post(&zapi("<system-get-version/>"), Some(("admin", PASSWORD)))
                .await;
            assert_eq!(r.status, 200);
        }
    }
    // A client trusting another CA refuses the server certificate.
    let other = tempfile::tempdir().unwrap();
    let (ca, _) = ontap_sim::tls::ensure_ca(Some(other.path())).unwrap();
    let p = other.path().join("other-ca.pem");
    std::fs::write(&p, ca).unwrap();
    assert!(Client::connect(sim.addr, &p, None, None).await.is_err());
}

#[tokio::test]
async fn client_certificates_authenticate_by_cn() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ontap-sim"))
        .args(["certs", "--user", "vsadmin", "--state-dir"])
        .arg(&state)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    for field in [
        "clientCertificate: ",
        "clientPrivateKey: ",
        "trustedCACertificate: ",
    ] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(field) && l.len() > field.len() + 100),
            "{field}"
        );
    }
    let cert = std::fs::read_to_string(state.join("certs/vsadmin.pem")).unwrap();
    let key = std::fs::read_to_string(state.join("certs/vsadmin-key.pem")).unwrap();
    let sim = Sim::start_in(dir, None, &[]);
    let mut c = Client::connect(sim.addr, &sim.ca_path(), Some((&cert, &key)), None)
        .await
        .expect("mutual TLS");
    // No Authorization header: the certificate is the identity, scoped to svm1.
    let r = c.post(&zapi("<vserver-get-iter/>"), None).await;
    assert_eq!(r.status, 200);
    let r = assert_passed(&r.body);
    assert_eq!(names(&r, "vserver-name"), ["svm1"]);

    // A certificate from a CA the server does not trust is refused.
    let other = tempfile::tempdir().unwrap();
    let (ca, ca_key) = ontap_sim::tls::ensure_ca(Some(other.path())).unwrap();
    let (bad_cert, bad_key) = ontap_sim::tls::issue_client(&ca, &ca_key, "admin").unwrap();
    let refused =
        match Client::connect(sim.addr, &sim.ca_path(), Some((&bad_cert, &bad_key)), None).await {
            Err(_) => true,
            Ok(mut c) => c
                .request(
                    "POST",
                    ZAPI_PATH,
                    zapi("<system-get-version/>").into_bytes(),
                    None,
                )
                .await
                .map(|r| r.status == 401)
                .unwrap_or(true),
        };
    assert!(
        refused,
        "an untrusted client certificate must not authenticate"
    );
}

#[tokio::test]
async fn password_from_environment() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ontap-sim"))
        .args([
            "serve",
            "--admin-listen",
            "127.0.0.1:0",
            "--listen",
            "127.0.0.1:0",
            "--state-dir",
        ])
        .arg(dir.path())
        .env("ONTAP_SIM_PASSWORD", "from-env")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    use std::io::BufRead;
    let mut addr = None;
    for line in std::io::BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(z) = line.trim().strip_prefix("ZAPI") {
            addr = Some(
                z.trim()
                    .trim_start_matches("https://")
                    .trim_end_matches(ZAPI_PATH)
                    .to_string(),
            );
        }
        if line == "ready" {
            break;
        }
    }
    let addr = addr.unwrap().parse().unwrap();
    let mut c = Client::connect(addr, &dir.path().join("certs/ca.pem"), None, None)
        .await
        .unwrap();
    let body = zapi("<system-get-version/>");
    assert_eq!(c.post(&body, Some(("admin", "netapp1!"))).await.status, 401);
    assert_eq!(c.post(&body, Some(("admin", "from-env"))).await.status, 200);
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn graceful_shutdown_on_sigterm_and_certificates_reused() {
    let mut sim = Sim::start(None);
    let ca = std::fs::read_to_string(sim.ca_path()).unwrap();
    let status = sim.terminate();
    assert!(status.success(), "{status:?}");
    // A second start on the same state dir keeps the CA a user handed to Trident.
    let dir = std::mem::replace(&mut sim.dir, tempfile::tempdir().unwrap());
    let sim2 = Sim::start_in(dir, None, &[]);
    assert_eq!(std::fs::read_to_string(sim2.ca_path()).unwrap(), ca);
}

#[test]
fn bad_config_is_refused_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("[[svms]]\nname = \"s1\"\naggregates = [\"aggr9\"]\n", "svms[0].aggregates[0]"),
        ("[cluster]\nversoin = \"9.14.1\"\n", "versoin"),
        ("[cluster]\nversion = \"nine\"\n", "cluster.version"),
        ("[[aggregates]]\nname = \"a1\"\nsize = \"lots\"\n", "lots"),
        ("[[users]]\nname = \"u\"\nrole = \"god\"\n", "users[0].role"),
        ("[[aggregates]]\nname = \"a\"\nsize = \"1t\"\n[[svms]]\nname = \"s\"\n[[svms.lifs]]\nname = \"l\"\naddress = \"300.1.1.1\"\n", "svms[0].lifs[0].address"),
    ];
    for (toml, key) in cases {
        let p = dir.path().join("bad.toml");
        std::fs::write(&p, toml).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ontap-sim"))
            .args([
                "serve",
                "--admin-listen",
                "127.0.0.1:0",
                "--ephemeral",
                "--listen",
                "127.0.0.1:0",
                "--config",
            ])
            .arg(&p)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(key), "stderr {err:?} should name {key:?}");
        assert!(err.contains("bad.toml"), "{err}");
    }
}
