//! Fault rules and switches through the control API, seen by a real TLS client: connection-level
//! faults, delays, model switches, reset, and state dump and load.

mod common;
use common::*;
use std::time::{Duration, Instant};

async fn add(sim: &Sim, rule: &str) {
    sim.control()
        .call("POST", "/faults", rule.as_bytes().to_vec())
        .await
        .expect("rule accepted");
}

#[tokio::test]
async fn connection_faults_and_delays() {
    let sim = Sim::start(None);
    // A reset at accept: the TLS handshake never completes.
    add(
        &sim,
        r#"{"match":{"front":"tcp"},"action":{"type":"reset"},"fire":{"times":1}}"#,
    )
    .await;
    assert!(Client::connect(sim.addr, &sim.ca_path(), None, None)
        .await
        .is_err());
    // A TLS handshake failure: the client gets a fatal alert.
    add(&sim, r#"{"action":{"type":"tls_fail"},"fire":{"times":1}}"#).await;
    let e = Client::connect(sim.addr, &sim.ca_path(), None, None)
        .await
        .err()
        .expect("handshake fails");
    assert!(e.to_string().to_lowercase().contains("handshake"), "{e}");
    // Both fired their one time: service is normal again.
    assert_passed(&sim.call(&zapi("<system-get-version/>")).await);
    // A delay range on one API only.
    add(
        &sim,
        r#"{"match":{"api":"system-get-version"},"action":{"type":"delay","ms":300,"max_ms":400}}"#,
    )
    .await;
    let t = Instant::now();
    assert_passed(&sim.call(&zapi("<system-get-version/>")).await);
    assert!(t.elapsed() >= Duration::from_millis(300));
    // Other APIs are not delayed: the rule's count below stays at the one call above (a time
    // bound here would fail on a loaded machine).
    assert_passed(&sim.call(&zapi("<system-get-ontapi-version/>")).await);
    // Rules are listed with how often they fired, and removed by id.
    let list = sim.control().call("GET", "/faults", vec![]).await.unwrap();
    let rules: serde_json::Value = serde_json::from_str(&list).unwrap();
    let id = rules[0]["id"].as_u64().unwrap();
    assert_eq!(rules[0]["fired"], 1);
    sim.control()
        .call("DELETE", &format!("/faults/{id}"), vec![])
        .await
        .unwrap();
    assert!(sim
        .control()
        .call("DELETE", &format!("/faults/{id}"), vec![])
        .await
        .is_err());
}

#[tokio::test]
async fn switches_reset_and_state_round_trip() {
    let sim = Sim::start(None);
    let c = sim.control();
    // A full aggregate refuses a thick volume, as ONTAP does.
    c.call(
        "POST",
        "/aggregate/aggr1",
        br#"{"fill_percent":100}"#.to_vec(),
    )
    .await
    .unwrap();
    let create = zapi_vfiler("svm1", "<volume-create><volume>v1</volume><containing-aggr-name>aggr1</containing-aggr-name><size>1g</size></volume-create>");
    assert_failed(&sim.call(&create).await, 13001, "aggr1");
    c.call(
        "POST",
        "/aggregate/aggr1",
        br#"{"fill_percent":0}"#.to_vec(),
    )
    .await
    .unwrap();
    assert_passed(&sim.call(&create).await);
    // Dump, reset (the volume goes), load (it comes back with its identity).
    let dump = c.call("GET", "/state", vec![]).await.unwrap();
    c.call("POST", "/reset", vec![]).await.unwrap();
    let q = zapi_vfiler("svm1", "<volume-get-iter><query><volume-attributes><volume-id-attributes><name>v1</name></volume-id-attributes></volume-attributes></query></volume-get-iter>");
    assert_eq!(
        results_el(&sim.call(&q).await).child_text("num-records"),
        Some("0")
    );
    c.call("PUT", "/state", dump.clone().into_bytes())
        .await
        .unwrap();
    assert_eq!(
        results_el(&sim.call(&q).await).child_text("num-records"),
        Some("1")
    );
    assert_eq!(c.call("GET", "/state", vec![]).await.unwrap(), dump);
    // A state that breaks an invariant is refused and changes nothing.
    let bad = dump.replacen("\"aggregate\": \"aggr1\"", "\"aggregate\": \"nope\"", 1);
    let e = c
        .call("PUT", "/state", bad.into_bytes())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("400") && e.contains("nope"), "{e}");
    assert_eq!(
        results_el(&sim.call(&q).await).child_text("num-records"),
        Some("1")
    );
    // Unknown switches are 404s that say what exists.
    let e = c
        .call("POST", "/lif/nope/down", vec![])
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("404") && e.contains("nope"), "{e}");
}

#[tokio::test]
async fn the_control_api_can_require_a_token() {
    let sim = Sim::start_in(
        tempfile::tempdir().unwrap(),
        None,
        &["--admin-token", "s3cret"],
    );
    let mut c = sim.control();
    assert!(c
        .call("GET", "/faults", vec![])
        .await
        .unwrap_err()
        .to_string()
        .contains("401"));
    c.token = Some("s3cret".into());
    c.call("GET", "/faults", vec![]).await.unwrap();
}
