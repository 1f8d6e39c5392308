//! The REST front through the real binary over TLS: the call sequence Trident's ontap-nas driver
//! makes over REST (shared/spec/trident-rest.md §4), the same objects seen from ZAPI and REST, jobs
//! that take time and `return_timeout`, ONTAP's conventions and error bodies, fault rules on REST,
//! and SVM scope.

mod common;
use common::z::*;
use common::*;
use serde_json::{json, Value};

/// A REST client on one keep-alive TLS connection.
struct R {
    sim: Sim,
    c: Client,
    user: (&'static str, &'static str),
}

impl R {
    async fn start(config: Option<&str>) -> R {
        let sim = Sim::start(config);
        let c = sim.client().await;
        R {
            sim,
            c,
            user: ADMIN,
        }
    }

    async fn send(&mut self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let r = self
            .c
            .request(method, path, bytes, Some(self.user))
            .await
            .expect("request");
        let v = serde_json::from_str(&r.body)
            .unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {}", r.body));
        (r.status, v)
    }

    async fn get(&mut self, path: &str) -> Value {
        let (s, v) = self.send("GET", path, None).await;
        assert_eq!(s, 200, "GET {path}: {v}");
        v
    }

    /// An asynchronous verb: 202 and a job, polled to its end; the job record.
    async fn job(&mut self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (s, v) = self.send(method, path, body).await;
        assert_eq!(s, 202, "{method} {path}: {v}");
        let uuid = v["job"]["uuid"].as_str().expect("job uuid").to_string();
        assert_eq!(
            v["job"]["_links"]["self"]["href"],
            format!("/api/cluster/jobs/{uuid}")
        );
        for _ in 0..400 {
            let j = self
                .get(&format!("/api/cluster/jobs/{uuid}?fields=state"))
                .await;
            if matches!(j["state"].as_str(), Some("success" | "failure")) {
                return self
                    .get(&format!("/api/cluster/jobs/{uuid}?fields=**"))
                    .await;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("job {uuid} never ended");
    }

    async fn ok_job(&mut self, method: &str, path: &str, body: Option<Value>) {
        let j = self.job(method, path, body).await;
        assert_eq!(j["state"], "success", "{method} {path}: {j}");
    }

    async fn one(&mut self, path: &str) -> Value {
        let v = self.get(path).await;
        assert_eq!(v["num_records"], 1, "{path}: {v}");
        v["records"][0].clone()
    }
}

/// The body of a 1 GiB volume create in an SVM.
fn new_volume(name: impl std::fmt::Display, svm: &str) -> Option<Value> {
    Some(json!({"name": name.to_string(), "size": 1u64 << 30, "svm": {"name": svm}}))
}

fn q(s: &str) -> String {
    s.replace('*', "%2A").replace(',', "%2C")
}

#[tokio::test]
async fn trident_ontap_nas_sequence_over_rest() {
    let mut r = R::start(None).await;
    // Backend initialisation (§4.1).
    let cl = r.get(&q("/api/cluster?fields=**")).await;
    assert_eq!(
        (
            &cl["version"]["generation"],
            &cl["version"]["major"],
            &cl["version"]["minor"]
        ),
        (&json!(9), &json!(14), &json!(1))
    );
    let svm = r.one("/api/svm/svms?name=svm1&fields=").await;
    let svm_uuid = svm["uuid"].as_str().unwrap().to_string();
    let nodes = r
        .get(&q("/api/cluster/nodes?name=*&fields=serial_number"))
        .await;
    assert!(nodes["records"][0]["serial_number"]
        .as_str()
        .is_some_and(|s| !s.is_empty()));
    let s = r.get(&format!("/api/svm/svms/{svm_uuid}")).await;
    assert_eq!(s["state"], "running");
    assert_eq!(s["aggregates"][0]["name"], "aggr1");
    let aggrs = r
        .get(&q(
            "/api/storage/aggregates?name=*&fields=block_storage.primary.disk_type",
        ))
        .await;
    assert!(aggrs["records"][0]["block_storage"]["primary"]["disk_type"].is_string());
    let lifs = r
        .get(&q(&format!("/api/network/ip/interfaces?services=data_nfs&svm.uuid={svm_uuid}&fields=ip.address,state")))
        .await;
    assert_eq!(lifs["records"][0]["state"], "up");
    assert_eq!(lifs["records"][0]["ip"]["address"], "127.0.0.1");
    // Can the SVM be a DR source? No peers: an empty list, not an error.
    let peers = r
        .get(&format!(
            "/api/svm/peers?fields=peer.svm.name&svm.uuid={svm_uuid}"
        ))
        .await;
    assert_eq!(peers["num_records"], 0);
    let (st, _) = r
        .send(
            "POST",
            "/api/support/ems/application-logs?return_records=true",
            Some(
                json!({"app_version": "1", "autosupport_required": false, "category": "heartbeat",
                "computer_name": "host", "event_description": "{}", "event_id": 1,
                "event_source": "trident", "severity": "notice"}),
            ),
        )
        .await;
    assert_eq!(st, 201);

    // Create (§4.2).
    let vol = |name: &str, fields: &str| {
        q(&format!(
            "/api/storage/volumes?svm.uuid={svm_uuid}&name={name}&style=flexvol&fields={fields}"
        ))
    };
    assert_eq!(r.get(&vol("trident_pvc_1", "")).await["num_records"], 0);
    r.ok_job(
        "POST",
        "/api/storage/volumes",
        Some(json!({"name": "trident_pvc_1", "size": 1u64 << 30, "svm": {"uuid": svm_uuid},
            "state": "online", "style": "flexvol", "aggregates": [{"name": "aggr1"}],
            "guarantee": {"type": "none"}, "snapshot_policy": {"name": "none"},
            "comment": "{\"provisioning\":{}}", "space": {"snapshot": {"reserve_percent": 0}},
            "tiering": {"policy": "none"},
            "nas": {"security_style": "unix", "unix_permissions": 777, "export_policy": {"name": "default"}}})),
    )
    .await;
    let v = r.one(&vol("trident_pvc_1", "")).await;
    let uuid = v["uuid"].as_str().unwrap().to_string();
    r.ok_job(
        "PATCH",
        &format!("/api/storage/volumes/{uuid}"),
        Some(json!({"snapshot_directory_access_enabled": false})),
    )
    .await;
    assert_eq!(
        r.one(&vol("trident_pvc_1", "nas.path")).await["nas"]["path"],
        ""
    );
    r.ok_job(
        "PATCH",
        &format!("/api/storage/volumes/{uuid}"),
        Some(json!({"nas": {"path": "/trident_pvc_1"}})),
    )
    .await;
    let info = r
        .one(&vol("trident_pvc_1", "type,size,comment,aggregates,nas,guarantee,snapshot_policy,snapshot_directory_access_enabled,space.snapshot.used,space.snapshot.reserve_percent,nas.export_policy.name,autosize.mode"))
        .await;
    assert_eq!(info["nas"]["path"], "/trident_pvc_1");
    assert_eq!(info["nas"]["unix_permissions"], 777);
    assert_eq!(info["type"], "rw");
    assert_eq!(info["snapshot_directory_access_enabled"], false);
    assert_eq!(info["aggregates"][0]["name"], "aggr1");
    assert_eq!(info["size"], 1u64 << 30);

    // Snapshot and clone (§4.3, §4.5).
    let used = r
        .one(&vol("trident_pvc_1", "space.logical_space.used"))
        .await;
    assert!(used["space"]["logical_space"]["used"].is_u64());
    r.ok_job(
        "POST",
        &format!("/api/storage/volumes/{uuid}/snapshots"),
        Some(json!({"name": "snap1", "svm": {"uuid": svm_uuid}})),
    )
    .await;
    let snap = r
        .one(&q(&format!("/api/storage/volumes/{uuid}/snapshots?name=snap1&svm.uuid={svm_uuid}&fields=name,create_time")))
        .await;
    assert!(snap["create_time"]
        .as_str()
        .is_some_and(|t| t.contains('T')));
    let snap_uuid = snap["uuid"].as_str().unwrap().to_string();
    let (st, v) = r
        .send(
            "POST",
            "/api/storage/volumes?return_records=true",
            Some(json!({"name": "trident_pvc_2", "svm": {"uuid": svm_uuid},
                "clone": {"is_flexclone": true, "parent_volume": {"name": "trident_pvc_1"},
                          "parent_snapshot": {"name": "snap1"}}})),
        )
        .await;
    assert_eq!(st, 202, "{v}");
    assert_eq!(
        r.one(&vol("trident_pvc_2", "state")).await["state"],
        "online"
    );
    let clone = r.one(&vol("trident_pvc_2", "")).await;
    let clone_uuid = clone["uuid"].as_str().unwrap().to_string();
    r.ok_job(
        "PATCH",
        &format!("/api/storage/volumes/{clone_uuid}"),
        Some(json!({"comment": "clone"})),
    )
    .await;
    r.ok_job(
        "PATCH",
        &format!("/api/storage/volumes/{clone_uuid}"),
        Some(json!({"nas": {"path": "/trident_pvc_2"}})),
    )
    .await;
    let clones = r
        .get(&q(&format!("/api/storage/volumes?svm.uuid={svm_uuid}&clone.parent_volume.name=trident_pvc_1&clone.parent_snapshot.name=snap1&fields=name")))
        .await;
    assert_eq!(clones["num_records"], 1);
    assert_eq!(
        clones["records"][0]["clone"]["parent_volume"]["name"], "trident_pvc_1",
        "filter fields echoed: {clones}"
    );
    // The snapshot is busy while the clone depends on it: the job fails with 1638555.
    let j = r
        .job(
            "DELETE",
            &format!("/api/storage/volumes/{uuid}/snapshots/{snap_uuid}"),
            None,
        )
        .await;
    assert_eq!(
        (j["state"].as_str(), j["code"].as_u64()),
        (Some("failure"), Some(1638555)),
        "{j}"
    );
    let (st, _) = r
        .send(
            "PATCH",
            &format!("/api/storage/volumes/{clone_uuid}"),
            Some(json!({"clone": {"split_initiated": true}})),
        )
        .await;
    assert_eq!(st, 202);
    r.ok_job(
        "DELETE",
        &format!("/api/storage/volumes/{uuid}/snapshots/{snap_uuid}"),
        None,
    )
    .await;

    // Resize and restore (§4.4, §4.5).
    r.ok_job(
        "PATCH",
        &format!("/api/storage/volumes/{uuid}"),
        Some(json!({"size": 2u64 << 30})),
    )
    .await;
    assert_eq!(
        r.one(&vol("trident_pvc_1", "size")).await["size"],
        2u64 << 30
    );
    r.ok_job(
        "POST",
        &format!("/api/storage/volumes/{uuid}/snapshots"),
        Some(json!({"name": "snap2"})),
    )
    .await;
    r.ok_job(
        "PATCH",
        &format!("/api/storage/volumes/{uuid}?restore_to.snapshot.name=snap2"),
        None,
    )
    .await;

    // Destroy (§4.8): the SnapMirror probes answer an empty list, then the delete job.
    for p in [
        "/api/snapmirror/relationships?list_destinations_only=true&fields=source.path,destination.path",
        "/api/snapmirror/relationships?fields=destination.path,source.path",
    ] {
        let v = r.get(&q(p)).await;
        assert_eq!((v["num_records"].as_u64(), v["records"].as_array().map(Vec::len)), (Some(0), Some(0)));
    }
    r.ok_job(
        "DELETE",
        &format!("/api/storage/volumes/{clone_uuid}?force=false"),
        None,
    )
    .await;
    r.ok_job(
        "DELETE",
        &format!("/api/storage/volumes/{uuid}?force=false"),
        None,
    )
    .await;
    assert_eq!(r.get(&vol("trident_pvc_*", "")).await["num_records"], 0);
    // The journal saw the REST calls by endpoint.
    let journal = r
        .sim
        .control()
        .call("GET", "/journal?api=DELETE*", vec![])
        .await
        .unwrap();
    assert!(
        journal.contains("DELETE /api/storage/volumes/{uuid}"),
        "{journal}"
    );
}

#[tokio::test]
async fn one_model_two_fronts() {
    let mut r = R::start(None).await;
    // ZAPI creates; REST sees the same volume with the same UUID.
    let body =
        r.c.post(
            &zapi_vfiler("svm1", &trident_create("zvol", "aggr1", "1g", "none")),
            Some(ADMIN),
        )
        .await
        .body;
    assert_passed(&body);
    let zrec = r.c.post(&zapi_vfiler("svm1", "<volume-get-iter><query><volume-attributes><volume-id-attributes><name>zvol</name></volume-id-attributes></volume-attributes></query></volume-get-iter>"), Some(ADMIN)).await.body;
    let zuuid = txt(
        &records(&assert_passed(&zrec))[0],
        "volume-id-attributes/instance-uuid",
    )
    .to_string();
    let v = r
        .one("/api/storage/volumes?name=zvol&fields=uuid,svm.name")
        .await;
    assert_eq!(v["uuid"], zuuid);
    assert_eq!(v["svm"]["name"], "svm1");
    // REST creates a policy and a rule; ZAPI sees both.
    let (st, p) = r
        .send("POST", "/api/protocols/nfs/export-policies?return_records=true", Some(json!({"name": "pol1", "svm": {"name": "svm1"},
            "rules": [{"clients": [{"match": "10.0.0.0/8"}], "ro_rule": ["sys"], "rw_rule": ["sys"], "superuser": ["none"]}]})))
        .await;
    assert_eq!(st, 201, "{p}");
    let id = p["records"][0]["id"].as_u64().unwrap();
    let (st, e) = r
        .send(
            "POST",
            &format!("/api/protocols/nfs/export-policies/{id}/rules"),
            Some(json!({"clients": [{"match": "10.0.0.0/8"}]})),
        )
        .await;
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (409, Some("1704070")),
        "{e}"
    );
    let zr = r.c.post(&zapi_vfiler("svm1", "<export-rule-get-iter><query><export-rule-info><policy-name>pol1</policy-name></export-rule-info></query></export-rule-get-iter>"), Some(ADMIN)).await.body;
    let rules = records(&assert_passed(&zr));
    assert_eq!(rules.len(), 1);
    assert_eq!(txt(&rules[0], "client-match"), "10.0.0.0/8");
    // A PATCH of `rules` replaces the list, all or nothing.
    let (st, e) = r
        .send(
            "PATCH",
            &format!("/api/protocols/nfs/export-policies/{id}"),
            Some(json!({"rules": [{"clients": [{"match": "10.1.0.0/16"}]}, {"clients": [{"match": "10.1.0.0/16"}]}]})),
        )
        .await;
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (409, Some("1704070")),
        "{e}"
    );
    let (st, _) = r
        .send(
            "PATCH",
            &format!("/api/protocols/nfs/export-policies/{id}"),
            Some(json!({"rules": [{"clients": [{"match": "10.2.0.0/16"}, {"match": "10.3.0.0/16"}]}]})),
        )
        .await;
    assert_eq!(st, 200);
    let zr = r.c.post(&zapi_vfiler("svm1", "<export-rule-get-iter><query><export-rule-info><policy-name>pol1</policy-name></export-rule-info></query></export-rule-get-iter>"), Some(ADMIN)).await.body;
    let rules = records(&assert_passed(&zr));
    assert_eq!(rules.len(), 1);
    assert_eq!(txt(&rules[0], "client-match"), "10.2.0.0/16,10.3.0.0/16");
    // ZAPI deletes what REST made; REST sees it gone.
    r.ok_job(
        "PATCH",
        &format!("/api/storage/volumes/{zuuid}"),
        Some(json!({"nas": {"export_policy": {"name": "pol1"}}})),
    )
    .await;
    let (st, e) = r
        .send(
            "DELETE",
            &format!("/api/protocols/nfs/export-policies/{id}"),
            None,
        )
        .await;
    assert_eq!(st, 409, "a policy in use stays: {e}");
    let off =
        r.c.post(
            &zapi_vfiler("svm1", "<volume-offline><name>zvol</name></volume-offline>"),
            Some(ADMIN),
        )
        .await
        .body;
    assert_passed(&off);
    assert_passed(
        &r.c.post(
            &zapi_vfiler("svm1", "<volume-destroy><name>zvol</name></volume-destroy>"),
            Some(ADMIN),
        )
        .await
        .body,
    );
    assert_eq!(
        r.get("/api/storage/volumes?name=zvol").await["num_records"],
        0
    );
    let (st, _) = r
        .send(
            "DELETE",
            &format!("/api/protocols/nfs/export-policies/{id}"),
            None,
        )
        .await;
    assert_eq!(st, 200);
    let zp = r.c.post(&zapi_vfiler("svm1", "<export-policy-get-iter><query><export-policy-info><policy-name>pol1</policy-name></export-policy-info></query></export-policy-get-iter>"), Some(ADMIN)).await.body;
    assert!(records(&assert_passed(&zp)).is_empty());
}

const SLOW_JOBS: &str = r#"
[cluster]
job_duration_ms = 800
[[aggregates]]
name = "aggr1"
size = "1TiB"
[[svms]]
name = "svm1"
aggregates = ["aggr1"]
[[svms.lifs]]
name = "svm1_data"
address = "127.0.0.1"
[[users]]
name = "admin"
"#;

#[tokio::test]
async fn jobs_take_their_time_and_return_timeout_waits() {
    let mut r = R::start(Some(SLOW_JOBS)).await;
    let (st, v) = r
        .send("POST", "/api/storage/volumes", new_volume("slow", "svm1"))
        .await;
    assert_eq!(st, 202);
    let uuid = v["job"]["uuid"].as_str().unwrap().to_string();
    let j = r.get(&format!("/api/cluster/jobs/{uuid}")).await;
    assert!(
        matches!(j["state"].as_str(), Some("queued" | "running")),
        "{j}"
    );
    assert_eq!(
        r.get("/api/storage/volumes?name=slow").await["num_records"],
        0,
        "not made before the job runs"
    );
    let mut states = vec![j["state"].as_str().unwrap().to_string()];
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let s = r
            .get(&format!("/api/cluster/jobs/{uuid}?fields=state"))
            .await["state"]
            .as_str()
            .unwrap()
            .to_string();
        if states.last() != Some(&s) {
            states.push(s.clone());
        }
        if s == "success" {
            break;
        }
    }
    assert_eq!(
        states.last().map(String::as_str),
        Some("success"),
        "{states:?}"
    );
    assert!(states.contains(&"running".to_string()), "{states:?}");
    assert_eq!(
        r.get("/api/storage/volumes?name=slow").await["num_records"],
        1
    );
    // return_timeout: the answer waits for the job (201 on success, the error on failure).
    let (st, v) = r
        .send(
            "POST",
            "/api/storage/volumes?return_timeout=10",
            new_volume("waited", "svm1"),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    assert!(v["job"]["uuid"].is_string());
    let (st, v) = r
        .send(
            "POST",
            "/api/storage/volumes?return_timeout=10",
            new_volume("waited", "svm1"),
        )
        .await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (400, Some("917526")),
        "duplicate: {v}"
    );
    // A job cut off by a crash reads as failed after the restart, not as running for ever.
    let (st, v) = r
        .send("POST", "/api/storage/volumes", new_volume("cut", "svm1"))
        .await;
    assert_eq!(st, 202);
    let uuid = v["job"]["uuid"].as_str().unwrap().to_string();
    let R { mut sim, .. } = r;
    sim.child.kill().unwrap();
    let _ = sim.child.wait();
    let dir = std::mem::replace(&mut sim.dir, tempfile::tempdir().unwrap());
    let sim = Sim::start_in(dir, Some(SLOW_JOBS), &[]);
    let c = sim.client().await;
    let mut r = R {
        sim,
        c,
        user: ADMIN,
    };
    let j = r.get(&format!("/api/cluster/jobs/{uuid}")).await;
    assert_eq!(
        (j["state"].as_str(), j["code"].as_u64()),
        (Some("failure"), Some(13001)),
        "{j}"
    );
    assert!(
        j["message"].as_str().unwrap().contains("interrupted"),
        "{j}"
    );
    assert_eq!(
        r.get("/api/storage/volumes?name=cut").await["num_records"],
        0
    );
}

#[tokio::test]
async fn conventions_and_errors() {
    let mut r = R::start(None).await;
    for i in 0..5 {
        r.ok_job(
            "POST",
            "/api/storage/volumes",
            Some(json!({"name": format!("p{i}"), "size": 1u64 << 30, "svm.name": "svm1"})),
        )
        .await;
    }
    // Paging with _links.next until the end; num_records per page.
    let mut path = "/api/storage/volumes?name=p*&max_records=2&fields=size".to_string();
    let mut seen = Vec::new();
    loop {
        let v = r.get(&path).await;
        for rec in v["records"].as_array().unwrap() {
            assert!(
                rec["size"].is_u64()
                    && rec["uuid"].is_string()
                    && rec["_links"]["self"]["href"].is_string()
            );
            seen.push(rec["name"].as_str().unwrap().to_string());
        }
        match v["_links"]["next"]["href"].as_str() {
            Some(n) => path = n.to_string(),
            None => break,
        }
    }
    assert_eq!(seen, ["p0", "p1", "p2", "p3", "p4"]);
    let none = r.get("/api/storage/volumes?name=nothing").await;
    assert_eq!(
        (
            none["num_records"].as_u64(),
            none["records"].as_array().map(Vec::len)
        ),
        (Some(0), Some(0))
    );
    // Query syntax: alternatives, negation, comparison.
    assert_eq!(
        r.get("/api/storage/volumes?name=p1%7Cp3").await["num_records"],
        2
    );
    assert_eq!(
        r.get("/api/storage/volumes?name=p*&size=%3E1").await["num_records"],
        5
    );
    assert_eq!(
        r.get("/api/storage/volumes?name=p*%26!p0").await["num_records"],
        0
    );
    // Error bodies: ONTAP's shape, the code a JSON string.
    for (method, path, body, status, code, target) in [
        (
            "GET",
            "/api/storage/volumes?colour=red",
            None,
            400,
            "262179",
            Some("colour"),
        ),
        (
            "GET",
            "/api/storage/volumes?fields=bogus",
            None,
            400,
            "262197",
            Some("fields"),
        ),
        (
            "GET",
            "/api/storage/volumes/00000000-0000-0000-0000-000000000000",
            None,
            404,
            "4",
            Some("uuid"),
        ),
        ("DELETE", "/api/cluster", None, 405, "3", None),
        ("GET", "/api/storage/bogus", None, 404, "3", None),
        (
            "POST",
            "/api/storage/volumes",
            Some(json!({"name": "x", "size": 1, "svm": {"name": "svm1"}, "colour": "red"})),
            400,
            "262179",
            Some("colour"),
        ),
        (
            "POST",
            "/api/storage/volumes",
            Some(json!({"name": "x", "size": "big", "svm": {"name": "svm1"}})),
            400,
            "262197",
            Some("size"),
        ),
        (
            "POST",
            "/api/storage/volumes",
            Some(json!({"size": 1, "svm": {"name": "svm1"}})),
            400,
            "262186",
            Some("name"),
        ),
        (
            "POST",
            "/api/storage/volumes",
            Some(json!({"name": "x", "size": 1, "svm": {"name": "nosuch"}})),
            404,
            "2621462",
            Some("svm.name"),
        ),
    ] {
        let (st, v) = r.send(method, path, body).await;
        assert_eq!(st, status, "{method} {path}: {v}");
        assert_eq!(
            v["error"]["code"].as_str(),
            Some(code),
            "{method} {path}: {v}"
        );
        assert!(v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
        assert_eq!(
            v["error"]["target"].as_str(),
            target,
            "{method} {path}: {v}"
        );
    }
    let raw =
        r.c.request(
            "POST",
            "/api/storage/volumes",
            b"{not json".to_vec(),
            Some(ADMIN),
        )
        .await
        .unwrap();
    assert_eq!(raw.status, 400);
    assert!(raw.body.contains("262185"), "{}", raw.body);
    let raw =
        r.c.request("GET", "/api/cluster", vec![], Some(("admin", "wrong")))
            .await
            .unwrap();
    assert_eq!(raw.status, 401);
    assert!(raw.headers.contains_key("www-authenticate"));
    // Bad input changed nothing.
    assert_eq!(r.get("/api/storage/volumes?name=x").await["num_records"], 0);
    // `fields`: the defaults, a list, `*`, unknown names ignored on request.
    let v = r.one("/api/storage/volumes?name=p0").await;
    assert_eq!(
        v.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["_links", "name", "uuid"]
    );
    let v = r.one("/api/storage/volumes?name=p0&fields=*").await;
    assert!(v["space"]["available"].is_u64() && v["svm"]["uuid"].is_string());
    let v = r
        .one("/api/storage/volumes?name=p0&fields=size,bogus&ignore_unknown_fields=true")
        .await;
    assert!(v["size"].is_u64());
}

#[tokio::test]
async fn fault_rules_bite_rest_calls() {
    let mut r = R::start(None).await;
    r.ok_job("POST", "/api/storage/volumes", new_volume("busy", "svm1"))
        .await;
    let uuid = r.one("/api/storage/volumes?name=busy").await["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let ctl = r.sim.control();
    ctl.call("POST", "/faults", br#"{"match":{"method":"DELETE","api":"/api/storage/volumes/*"},"action":{"type":"job_failure","code":524486,"message":"Volume busy"},"fire":{"times":1}}"#.to_vec())
        .await
        .unwrap();
    let j = r
        .job("DELETE", &format!("/api/storage/volumes/{uuid}"), None)
        .await;
    assert_eq!(
        (
            j["state"].as_str(),
            j["code"].as_u64(),
            j["message"].as_str()
        ),
        (Some("failure"), Some(524486), Some("Volume busy"))
    );
    assert_eq!(
        r.get("/api/storage/volumes?name=busy").await["num_records"],
        1,
        "the failed job changed nothing"
    );
    let journal = ctl
        .call("GET", "/journal?result=fault", vec![])
        .await
        .unwrap();
    assert!(
        journal.contains("DELETE /api/storage/volumes/{uuid}") && journal.contains("524486"),
        "the job failure is the rule's doing: {journal}"
    );
    r.ok_job("DELETE", &format!("/api/storage/volumes/{uuid}"), None)
        .await;
    ctl.call("POST", "/faults", br#"{"match":{"method":"GET","api":"/api/svm/svms*"},"action":{"type":"rest_error","status":503,"code":13001,"message":"injected"}}"#.to_vec())
        .await
        .unwrap();
    let (st, v) = r.send("GET", "/api/svm/svms", None).await;
    assert_eq!((st, v["error"]["code"].as_str()), (503, Some("13001")));
    // ZAPI is untouched by a REST rule.
    assert_passed(
        &r.c.post(&zapi("<system-get-version/>"), Some(ADMIN))
            .await
            .body,
    );
    ctl.call("DELETE", "/faults", vec![]).await.unwrap();
    assert_eq!(r.get("/api/svm/svms").await["num_records"], 1);
}

#[tokio::test]
async fn scope_and_roles() {
    let mut r = R::start(Some(TWO_SVMS)).await;
    for svm in ["svm1", "svm2"] {
        r.ok_job(
            "POST",
            "/api/storage/volumes",
            new_volume(format!("{svm}_v"), svm),
        )
        .await;
    }
    r.user = ("vsadmin", PASSWORD);
    let v = r.get("/api/storage/volumes?fields=svm.name").await;
    let svms: Vec<&str> = v["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["svm"]["name"].as_str().unwrap())
        .collect();
    assert!(
        !svms.is_empty() && svms.iter().all(|s| *s == "svm1"),
        "{svms:?}"
    );
    assert_eq!(r.get("/api/svm/svms").await["num_records"], 1);
    assert_eq!(r.get("/api/storage/aggregates").await["num_records"], 1);
    let (st, e) = r
        .send("POST", "/api/storage/volumes", new_volume("x", "svm2"))
        .await;
    assert_eq!((st, e["error"]["code"].as_str()), (403, Some("6")), "{e}");
    // An SVM user's create needs no SVM: its own is implied.
    r.ok_job(
        "POST",
        "/api/storage/volumes",
        Some(json!({"name": "mine", "size": 1u64 << 30})),
    )
    .await;
    r.user = ("ro", PASSWORD);
    assert_eq!(
        r.get("/api/storage/volumes?name=mine&fields=svm.name")
            .await["records"][0]["svm"]["name"],
        "svm1"
    );
    let (st, e) = r
        .send("POST", "/api/storage/volumes", new_volume("y", "svm1"))
        .await;
    assert_eq!((st, e["error"]["code"].as_str()), (403, Some("6")), "{e}");
}

/// An instance GET builds only the top-level fields it is asked for (or filters on); each field
/// so answered must equal the same field of the whole record, for a plain volume and a clone
/// with a QoS policy (the parts of the record made only sometimes).
#[tokio::test]
async fn instance_fields_agree_with_the_whole_record() {
    let config = TWO_SVMS.replacen("seed = \"zapi-scope\"", "qos_policy_groups = [\"gold\"]", 1);
    let mut z = Z::start(Some(&config)).await;
    z.create("fsrc", "aggr1", "1g", "none").await;
    z.ok("<snapshot-create><volume>fsrc</volume><snapshot>s1</snapshot></snapshot-create>")
        .await;
    z.ok("<volume-clone-create><volume>fclone</volume><parent-volume>fsrc</parent-volume><parent-snapshot>s1</parent-snapshot><qos-policy-group-name>gold</qos-policy-group-name></volume-clone-create>")
        .await;
    let mut r = R {
        c: z.sim.client().await,
        sim: z.sim,
        user: ADMIN,
    };
    for name in ["fsrc", "fclone"] {
        let listed = r
            .get(&format!("/api/storage/volumes?name={name}&fields=uuid"))
            .await;
        let uuid = listed["records"][0]["uuid"].as_str().unwrap().to_string();
        let whole = r.get(&format!("/api/storage/volumes/{uuid}")).await;
        let all = r
            .get(&format!("/api/storage/volumes/{uuid}?fields=*"))
            .await;
        assert_eq!(whole, all);
        let tops: Vec<String> = whole.as_object().unwrap().keys().cloned().collect();
        assert!(tops.len() > 30, "{tops:?}");
        if name == "fclone" {
            assert!(whole["clone"]["parent_volume"]["name"] == "fsrc", "{whole}");
            assert!(whole["qos"]["policy"]["name"] == "gold", "{whole}");
        }
        for top in &tops {
            let one = r
                .get(&format!("/api/storage/volumes/{uuid}?fields={top}"))
                .await;
            assert_eq!(one[top.as_str()], whole[top], "{name} fields={top}: {one}");
            assert_eq!(one["uuid"], whole["uuid"]);
            assert_eq!(one["_links"], whole["_links"]);
            // A nested field asks for its parent's part of the record.
            if let Some((sub, v)) = whole[top].as_object().and_then(|o| o.iter().next()) {
                let one = r
                    .get(&format!("/api/storage/volumes/{uuid}?fields={top}.{sub}"))
                    .await;
                assert_eq!(one[top.as_str()], json!({ sub.as_str(): v }), "{one}");
            }
            // A filter on a field not asked for still sees it.
            let filtered = r
                .send(
                    "GET",
                    &format!("/api/storage/volumes/{uuid}?fields=name&comment=nomatch*"),
                    None,
                )
                .await;
            assert_eq!(filtered.0, 404, "{}", filtered.1);
        }
    }
}
