//! Quotas over REST through the real binary: the calls Trident's ontap-nas-economy driver makes
//! over REST (rule lookup by qtree name, POST, PATCH of `space.hard_limit`, the tree rules of a
//! FlexVol, `quota.enabled` and `quota.state` on the volume), the quota report measured from the
//! data, Ansible's body shapes, refusals, and the same rules and state seen from ZAPI.

mod common;
use common::z::*;
use common::*;
use serde_json::{json, Value};

struct R {
    sim: Sim,
    c: Client,
}

impl R {
    async fn start() -> R {
        let sim = Sim::start(None);
        let c = sim.client().await;
        R { sim, c }
    }

    async fn send(&mut self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let r = self
            .c
            .request(method, path, bytes, Some(ADMIN))
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

    /// 202 and a job, polled to its end (at most 10 s); the job record.
    async fn job(&mut self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (s, v) = self.send(method, path, body).await;
        assert_eq!(s, 202, "{method} {path}: {v}");
        let uuid = v["job"]["uuid"].as_str().expect("job uuid").to_string();
        for _ in 0..400 {
            let j = self
                .get(&format!("/api/cluster/jobs/{uuid}?fields=**"))
                .await;
            if matches!(j["state"].as_str(), Some("success" | "failure")) {
                return j;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("job {uuid} never ended");
    }

    async fn ok_job(&mut self, method: &str, path: &str, body: Option<Value>) {
        let j = self.job(method, path, body).await;
        assert_eq!(j["state"], "success", "{method} {path}: {j}");
    }

    async fn zapi(&mut self, api: &str) -> ontap_sim::zapi::xml::Element {
        let body = self
            .c
            .post(&zapi_vfiler("svm1", api), Some(ADMIN))
            .await
            .body;
        assert_passed(&body)
    }
}

fn q(s: &str) -> String {
    s.replace('*', "%2A").replace(',', "%2C")
}

/// Trident's `QuotaGetEntry` over REST.
async fn get_entry(r: &mut R, svm_uuid: &str, volume: &str, qtree: &str) -> Value {
    r.get(&q(&format!(
        "/api/storage/quota/rules?type=tree&svm.uuid={svm_uuid}&qtree.name={qtree}&volume.name={volume}&fields=uuid,space.hard_limit"
    )))
    .await
}

async fn quota_state(r: &mut R, volume: &str) -> Value {
    let v = r
        .get(&format!(
            "/api/storage/volumes?name={volume}&style=flexvol&fields=quota"
        ))
        .await;
    v["records"][0]["quota"].clone()
}

#[tokio::test]
async fn economy_driver_over_rest_and_across_fronts() {
    let mut r = R::start().await;
    let svm = r.get("/api/svm/svms?name=svm1&fields=uuid").await["records"][0]["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    r.ok_job(
        "POST",
        "/api/storage/volumes",
        Some(
            json!({"name": "eco_a", "size": 10u64 << 30, "svm": {"name": "svm1"},
                    "aggregates": [{"name": "aggr1"}], "nas": {"path": "/eco_a"}}),
        ),
    )
    .await;
    let vuuid = r.get("/api/storage/volumes?name=eco_a").await["records"][0]["uuid"]
        .as_str()
        .unwrap()
        .to_string();

    // addDefaultQuotaForFlexvol: no rule yet, so POST the default (hard_limit -1: none).
    assert_eq!(get_entry(&mut r, &svm, "eco_a", "").await["num_records"], 0);
    r.ok_job(
        "POST",
        "/api/storage/quota/rules",
        Some(
            json!({"qtree": {"name": ""}, "volume": {"name": "eco_a"}, "type": "tree",
                    "svm": {"uuid": svm}, "space": {"hard_limit": -1}}),
        ),
    )
    .await;
    let d = get_entry(&mut r, &svm, "eco_a", "").await;
    assert_eq!(d["num_records"], 1, "{d}");
    assert!(d["records"][0]["space"].get("hard_limit").is_none(), "{d}");
    // QuotaStatus then QuotaOn (PATCH quota.enabled), as Trident does.
    assert_eq!(
        quota_state(&mut r, "eco_a").await,
        json!({"enabled": false, "state": "off"})
    );
    r.ok_job(
        "PATCH",
        &format!("/api/storage/volumes/{vuuid}"),
        Some(json!({"quota": {"enabled": true}})),
    )
    .await;
    assert_eq!(
        quota_state(&mut r, "eco_a").await,
        json!({"enabled": true, "state": "on"})
    );
    // The same state over ZAPI.
    let st = r
        .zapi("<quota-status><volume>eco_a</volume></quota-status>")
        .await;
    assert_eq!(txt(&st, "status"), "on");

    // A PVC: qtree, then its rule (bytes), found by qtree name; a resize is a PATCH.
    r.ok_job(
        "POST",
        "/api/storage/qtrees",
        Some(
            json!({"name": "pvc_1", "volume": {"name": "eco_a"}, "svm": {"name": "svm1"},
                    "security_style": "unix", "unix_permissions": 755}),
        ),
    )
    .await;
    assert_eq!(
        get_entry(&mut r, &svm, "eco_a", "pvc_1").await["num_records"],
        0
    );
    r.ok_job(
        "POST",
        "/api/storage/quota/rules",
        Some(
            json!({"qtree": {"name": "pvc_1"}, "volume": {"name": "eco_a"}, "type": "tree",
                    "svm": {"uuid": svm}, "space": {"hard_limit": 1u64 << 30}}),
        ),
    )
    .await;
    let e = get_entry(&mut r, &svm, "eco_a", "pvc_1").await;
    assert_eq!(e["num_records"], 1, "{e}");
    assert_eq!(e["records"][0]["space"]["hard_limit"], 1u64 << 30);
    let rule = e["records"][0]["uuid"].as_str().unwrap().to_string();
    // An empty `qtree.name=` finds only the default rule.
    let d = get_entry(&mut r, &svm, "eco_a", "").await;
    assert_eq!(d["num_records"], 1, "{d}");
    assert_ne!(d["records"][0]["uuid"], rule.as_str());
    r.ok_job(
        "PATCH",
        &format!("/api/storage/quota/rules/{rule}"),
        Some(json!({"space": {"hard_limit": 2u64 << 30}})),
    )
    .await;
    // QuotaEntryList.
    let all = r
        .get(&q(&format!(
            "/api/storage/quota/rules?svm.uuid={svm}&volume.name=eco_a&type=tree&fields=space.hard_limit,uuid,qtree.name,volume.name"
        )))
        .await;
    assert_eq!(all["num_records"], 2, "{all}");
    let limits: Vec<Value> = all["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| json!([r["qtree"]["name"], r["space"]["hard_limit"]]))
        .collect();
    assert!(limits.contains(&json!(["pvc_1", 2u64 << 30])), "{limits:?}");
    assert!(limits.contains(&json!(["", null])), "{limits:?}");

    // Across fronts: ZAPI lists the REST rules (with the limit in KB) ...
    let z = r
        .zapi("<quota-list-entries-iter><query><quota-entry><volume>eco_a</volume></quota-entry></query></quota-list-entries-iter>")
        .await;
    let recs = records(&z);
    assert_eq!(field(&recs, "quota-target"), ["*", "/vol/eco_a/pvc_1"]);
    assert_eq!(field(&recs, "disk-limit"), ["-", "2097152"]);
    // ... and a rule set over ZAPI shows in REST.
    r.zapi("<quota-set-entry><file-limit>50</file-limit><qtree></qtree><quota-target>0</quota-target><quota-type>user</quota-type><volume>eco_a</volume></quota-set-entry>").await;
    let u = r.get("/api/storage/quota/rules?type=user&fields=**").await;
    assert_eq!(u["num_records"], 1, "{u}");
    assert_eq!(u["records"][0]["users"], json!([{"name": "0"}]));
    assert_eq!(u["records"][0]["files"]["hard_limit"], 50);

    // The report, measured from the qtree's data; limits in force at once after a REST change.
    let data = r
        .sim
        .dir
        .path()
        .join("state/volumes")
        .join(&vuuid)
        .join("data/pvc_1");
    std::fs::write(data.join("f"), vec![0u8; 10_000]).unwrap();
    let rep = r
        .get("/api/storage/quota/reports?volume.name=eco_a&type=tree&fields=**")
        .await;
    assert_eq!(rep["num_records"], 1, "{rep}");
    let row = &rep["records"][0];
    assert_eq!(row["qtree"]["name"], "pvc_1");
    assert_eq!(row["space"]["hard_limit"], 2u64 << 30);
    assert_eq!(row["space"]["used"]["total"], 10_000);
    assert_eq!(row["files"]["used"]["total"], 2);
    let one = r.get(row["_links"]["self"]["href"].as_str().unwrap()).await;
    assert_eq!(one["space"]["used"]["total"], 10_000);

    // Delete the rule, then quotas off.
    r.ok_job("DELETE", &format!("/api/storage/quota/rules/{rule}"), None)
        .await;
    assert_eq!(
        get_entry(&mut r, &svm, "eco_a", "pvc_1").await["num_records"],
        0
    );
    r.ok_job(
        "PATCH",
        &format!("/api/storage/volumes/{vuuid}"),
        Some(json!({"quota": {"enabled": false}})),
    )
    .await;
    assert_eq!(quota_state(&mut r, "eco_a").await["state"], "off");
    assert_eq!(r.get("/api/storage/quota/reports").await["num_records"], 0);
}

#[tokio::test]
async fn ansible_shapes_and_refusals() {
    let mut r = R::start().await;
    r.ok_job(
        "POST",
        "/api/storage/volumes",
        Some(json!({"name": "av", "size": 1u64 << 30, "svm": {"name": "svm1"}})),
    )
    .await;
    // Ansible's na_ontap_quotas body: dotted names, limits as strings.
    r.ok_job(
        "POST",
        "/api/storage/quota/rules?return_records=true",
        Some(json!({"svm.name": "svm1", "volume.name": "av", "type": "user", "qtree.name": "",
                    "users.name": ["root"], "space.hard_limit": "1048576", "files.soft_limit": "-"})),
    )
    .await;
    let u = r
        .get("/api/storage/quota/rules?svm.name=svm1&volume.name=av&type=user&users.name=root&fields=space.hard_limit,files.soft_limit,users.name,qtree.name")
        .await;
    assert_eq!(u["num_records"], 1, "{u}");
    assert_eq!(u["records"][0]["space"]["hard_limit"], 1048576);
    assert!(u["records"][0].get("qtree").is_none(), "{u}");

    // A duplicate rule, or one for a missing qtree, fails its job and changes nothing.
    let j = r
        .job(
            "POST",
            "/api/storage/quota/rules",
            Some(
                json!({"svm": {"name": "svm1"}, "volume": {"name": "av"}, "type": "user",
                        "users": [{"name": "root"}]}),
            ),
        )
        .await;
    assert_eq!(j["state"], "failure", "{j}");
    assert_eq!(j["code"], 1, "{j}");
    let j = r
        .job(
            "POST",
            "/api/storage/quota/rules",
            Some(
                json!({"svm": {"name": "svm1"}, "volume": {"name": "av"}, "type": "tree",
                        "qtree": {"name": "nope"}}),
            ),
        )
        .await;
    assert_eq!(j["state"], "failure", "{j}");
    assert_eq!(j["code"], 4, "{j}");
    // Bad input is refused before any job.
    let (st, e) = r
        .send(
            "POST",
            "/api/storage/quota/rules",
            Some(json!({"svm": {"name": "svm1"}, "volume": {"name": "av"}, "type": "disk"})),
        )
        .await;
    assert_eq!(st, 400, "{e}");
    assert_eq!(e["error"]["target"], "type");
    let (st, e) = r
        .send(
            "POST",
            "/api/storage/quota/rules",
            Some(
                json!({"svm": {"name": "svm1"}, "volume": {"name": "av"}, "type": "tree",
                        "space": {"hard_limit": "lots"}}),
            ),
        )
        .await;
    assert_eq!(st, 400, "{e}");
    let (st, _) = r
        .send("GET", "/api/storage/quota/rules/not-a-rule", None)
        .await;
    assert_eq!(st, 404);
    // quota.enabled with no tree... rules exist (the user rule): on works; no rules at all fails.
    r.ok_job(
        "POST",
        "/api/storage/volumes",
        Some(json!({"name": "bare", "size": 1u64 << 30, "svm": {"name": "svm1"}})),
    )
    .await;
    let bare = r.get("/api/storage/volumes?name=bare").await["records"][0]["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let j = r
        .job(
            "PATCH",
            &format!("/api/storage/volumes/{bare}"),
            Some(json!({"quota": {"enabled": true}})),
        )
        .await;
    assert_eq!(j["state"], "failure", "{j}");
    assert!(
        j["message"]
            .as_str()
            .unwrap()
            .contains("No valid quota rules"),
        "{j}"
    );
    assert_eq!(quota_state(&mut r, "bare").await["state"], "off");
    assert_eq!(r.get("/api/storage/quota/rules").await["num_records"], 1);
}

/// Trident's REST qtree calls on the economy path: `QtreeCount` (the volume's own qtree, id 0,
/// is listed and subtracted), `QtreeGetByName` with an empty `fields=` (the default fields carry
/// the volume's UUID, which `QtreeRename` needs).
#[tokio::test]
async fn trident_qtree_lookups_over_rest() {
    let mut r = R::start().await;
    r.ok_job(
        "POST",
        "/api/storage/volumes",
        Some(
            json!({"name": "eco", "size": 1u64 << 30, "svm": {"name": "svm1"},
                    "nas": {"path": "/eco"}}),
        ),
    )
    .await;
    for q in ["a", "b"] {
        r.ok_job(
            "POST",
            "/api/storage/qtrees",
            Some(json!({"name": q, "volume": {"name": "eco"}, "svm": {"name": "svm1"}})),
        )
        .await;
    }
    let all = r.get("/api/storage/qtrees?volume.name=eco&fields=").await;
    assert_eq!(all["num_records"], 3, "{all}");
    assert_eq!(all["records"][0]["id"], 0);
    assert_eq!(all["records"][0]["name"], "");
    let vuuid = r.get("/api/storage/volumes?name=eco").await["records"][0]["uuid"].clone();
    let one = r
        .get("/api/storage/qtrees?name=b&volume.name=eco&fields=")
        .await;
    assert_eq!(one["num_records"], 1, "{one}");
    let b = &one["records"][0];
    assert_eq!(b["volume"]["uuid"], vuuid, "{b}");
    assert_eq!(b["volume"]["name"], "eco");
    assert!(b["svm"]["uuid"].is_string(), "{b}");
    // The volume's own qtree reads as an instance too.
    let root = r
        .get(&format!(
            "/api/storage/qtrees/{}/0",
            vuuid.as_str().unwrap()
        ))
        .await;
    assert_eq!(root["name"], "");
    // Rename by PATCH of the name, as QtreeRename does.
    r.ok_job(
        "PATCH",
        &format!(
            "/api/storage/qtrees/{}/{}",
            vuuid.as_str().unwrap(),
            b["id"]
        ),
        Some(json!({"name": "deleted_b"})),
    )
    .await;
    let names: Vec<Value> = r.get("/api/storage/qtrees?volume.name=eco").await["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["name"].clone())
        .collect();
    assert_eq!(names, [json!(""), json!("a"), json!("deleted_b")]);
}

/// REST has no quota policies: its rules are those of the SVM's assigned policy, and follow a
/// change of assignment made over ZAPI.
#[tokio::test]
async fn rest_rules_are_the_assigned_policys() {
    let mut r = R::start().await;
    r.ok_job(
        "POST",
        "/api/storage/volumes",
        Some(
            json!({"name": "pv", "size": 10u64 << 30, "svm": {"name": "svm1"},
                    "aggregates": [{"name": "aggr1"}], "nas": {"path": "/pv"}}),
        ),
    )
    .await;
    r.zapi("<quota-set-entry><disk-limit>1024</disk-limit><qtree></qtree><quota-target></quota-target><quota-type>tree</quota-type><volume>pv</volume></quota-set-entry>").await;
    r.zapi("<quota-policy-create><policy-name>p2</policy-name></quota-policy-create>")
        .await;
    r.zapi("<quota-set-entry><disk-limit>2048</disk-limit><policy>p2</policy><qtree></qtree><quota-target></quota-target><quota-type>tree</quota-type><volume>pv</volume></quota-set-entry>").await;
    let limits = |v: &Value| -> Vec<u64> {
        v["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["space"]["hard_limit"].as_u64().unwrap())
            .collect()
    };
    let before = r
        .get("/api/storage/quota/rules?volume.name=pv&fields=uuid,space")
        .await;
    assert_eq!(limits(&before), [1024 * 1024], "{before}");
    let old_uuid = before["records"][0]["uuid"].as_str().unwrap().to_string();

    let body = r
        .c
        .post(
            &zapi("<vserver-modify><vserver-name>svm1</vserver-name><quota-policy>p2</quota-policy></vserver-modify>"),
            Some(ADMIN),
        )
        .await
        .body;
    assert_passed(&body);
    let after = r
        .get("/api/storage/quota/rules?volume.name=pv&fields=**")
        .await;
    assert_eq!(limits(&after), [2048 * 1024], "{after}");
    assert!(
        after["records"][0].get("policy").is_none(),
        "ONTAP's REST rules carry no policy: {after}"
    );
    // Nor does a POST take one.
    let (status, v) = r
        .send(
            "POST",
            "/api/storage/quota/rules",
            Some(json!({"qtree": {"name": ""}, "volume": {"name": "pv"}, "type": "user",
                        "users": [{"name": ""}], "svm": {"name": "svm1"}, "policy": {"name": "p2"}})),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    // The other policy's rule is not a REST object any more.
    let (status, _) = r
        .send("GET", &format!("/api/storage/quota/rules/{old_uuid}"), None)
        .await;
    assert_eq!(status, 404);
    // A rule POSTed over REST goes into the assigned policy.
    r.zapi("<qtree-create><qtree>q1</qtree><volume>pv</volume></qtree-create>")
        .await;
    r.ok_job(
        "POST",
        "/api/storage/quota/rules",
        Some(
            json!({"qtree": {"name": "q1"}, "volume": {"name": "pv"}, "type": "tree",
                    "svm": {"name": "svm1"}, "space": {"hard_limit": 4096}}),
        ),
    )
    .await;
    let e = r
        .zapi("<quota-list-entries-iter><query><quota-entry><quota-target>/vol/pv/q1</quota-target></quota-entry></query></quota-list-entries-iter>")
        .await;
    assert_eq!(field(&records(&e), "policy"), ["p2"]);
}
