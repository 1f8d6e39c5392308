//! Every refusal the model makes on a REST endpoint answers with the code ONTAP documents for that
//! endpoint (ONTAP's REST API reference lists the codes per operation), provoked through real
//! requests. Synchronous refusals are checked on the HTTP answer (status and `error.code`, a JSON
//! string); asynchronous ones on the failed job (`code`, an integer), as clients read them. The
//! codes Trident branches on (shared/spec/trident-rest.md §5) are among them.

mod common;
mod rest_support;
use rest_support::R;
use serde_json::{json, Value};

const GIB: u64 = 1 << 30;

/// How a refusal reaches the client.
enum Got {
    /// The HTTP answer: status and `error.code`.
    Sync(u16, Value),
    /// A job that failed, with its `code`.
    Job(Value),
}

async fn call(r: &mut R, method: &str, path: &str, body: Option<Value>) -> Got {
    let (s, v) = r.send(method, path, body).await;
    if s == 202 {
        let uuid = v["job"]["uuid"].as_str().expect("job uuid").to_string();
        Got::Job(r.wait(&uuid).await)
    } else {
        Got::Sync(s, v)
    }
}

/// One row of the table: the endpoint, the refusal provoked, and what ONTAP answers.
fn expect(row: (&str, &str), got: Got, status: Option<u16>, code: u32) {
    let (endpoint, refusal) = row;
    match got {
        Got::Job(j) => {
            assert_eq!(status, None, "{endpoint} {refusal}: answered by a job: {j}");
            assert_eq!(j["state"], "failure", "{endpoint} {refusal}: {j}");
            assert_eq!(j["code"], json!(code), "{endpoint} {refusal}: {j}");
        }
        Got::Sync(s, v) => {
            assert_eq!(Some(s), status, "{endpoint} {refusal}: {v}");
            assert_eq!(
                v["error"]["code"],
                json!(code.to_string()),
                "{endpoint} {refusal}: {v}"
            );
        }
    }
}

fn vol(name: &str, size: u64) -> Value {
    json!({"name": name, "size": size, "svm": {"name": "svm1"}, "aggregates": [{"name": "aggr1"}]})
}

#[tokio::test]
async fn volume_refusals_carry_ontap_codes() {
    let mut r = R::start(None).await;
    let base = r.volume("base", GIB).await;

    let got = call(
        &mut r,
        "POST",
        "/api/storage/volumes",
        Some(vol("base", GIB)),
    )
    .await;
    expect(
        ("POST /storage/volumes", "duplicate name"),
        got,
        None,
        917526,
    );

    let got = call(
        &mut r,
        "POST",
        "/api/storage/volumes",
        Some(vol("tiny", 1 << 20)),
    )
    .await;
    expect(
        ("POST /storage/volumes", "size below minimum"),
        got,
        None,
        917534,
    );

    let mut body = vol("noaggr", GIB);
    body["aggregates"] = json!([{"name": "nope"}]);
    let got = call(&mut r, "POST", "/api/storage/volumes", Some(body)).await;
    expect(
        ("POST /storage/volumes", "aggregate not found"),
        got,
        None,
        917508,
    );

    let mut body = vol("nosp", GIB);
    body["snapshot_policy"] = json!({"name": "nope"});
    let got = call(&mut r, "POST", "/api/storage/volumes", Some(body)).await;
    expect(
        ("POST /storage/volumes", "snapshot policy not found"),
        got,
        None,
        917551,
    );

    let clone = json!({"name": "c0", "svm": {"name": "svm1"},
        "clone": {"is_flexclone": true, "parent_volume": {"name": "nope"}}});
    let got = call(&mut r, "POST", "/api/storage/volumes", Some(clone)).await;
    expect(
        ("POST /storage/volumes", "clone parent not found"),
        got,
        None,
        524601,
    );

    let path = format!("/api/storage/volumes/{base}");
    let got = call(&mut r, "PATCH", &path, Some(json!({"size": 1 << 20}))).await;
    expect(
        ("PATCH /storage/volumes/{uuid}", "size below minimum"),
        got,
        None,
        917534,
    );

    let got = call(
        &mut r,
        "PATCH",
        &format!("{path}?restore_to.snapshot.name=nope"),
        Some(json!({})),
    )
    .await;
    expect(
        (
            "PATCH /storage/volumes/{uuid}",
            "restore to a missing snapshot",
        ),
        got,
        None,
        524511,
    );

    r.volume("other", GIB).await;
    let got = call(&mut r, "PATCH", &path, Some(json!({"name": "other"}))).await;
    expect(
        ("PATCH /storage/volumes/{uuid}", "rename to a duplicate"),
        got,
        None,
        917526,
    );

    let off = r.volume("off", GIB).await;
    r.ok_job(
        "PATCH",
        &format!("/api/storage/volumes/{off}"),
        Some(json!({"state": "offline"})),
    )
    .await;
    let got = call(
        &mut r,
        "PATCH",
        &format!("/api/storage/volumes/{off}"),
        Some(json!({"size": 2 * GIB})),
    )
    .await;
    expect(
        (
            "PATCH /storage/volumes/{uuid}",
            "resize of an offline volume",
        ),
        got,
        None,
        9437885,
    );

    // A clone of `base`: deleting the parent is refused (524615), its snapshot is busy (1638555).
    r.ok_job(
        "POST",
        "/api/storage/volumes",
        Some(json!({"name": "kid", "svm": {"name": "svm1"},
        "clone": {"is_flexclone": true, "parent_volume": {"name": "base"}}})),
    )
    .await;
    let got = call(&mut r, "DELETE", &path, None).await;
    expect(
        ("DELETE /storage/volumes/{uuid}", "volume has clones"),
        got,
        None,
        524615,
    );
    let snaps = r.get(&format!("{path}/snapshots")).await;
    let snap = snaps["records"][0]["uuid"]
        .as_str()
        .expect("clone's snapshot")
        .to_string();
    let got = call(&mut r, "DELETE", &format!("{path}/snapshots/{snap}"), None).await;
    expect(
        (
            "DELETE /storage/volumes/{uuid}/snapshots/{uuid}",
            "snapshot busy (Trident)",
        ),
        got,
        None,
        1638555,
    );

    // An unknown object on the path: 404 with 4 (Trident's ENTRY_DOESNT_EXIST).
    let got = call(
        &mut r,
        "GET",
        "/api/storage/volumes/00000000-0000-0000-0000-000000000000",
        None,
    )
    .await;
    expect(
        ("GET /storage/volumes/{uuid}", "no such volume (Trident)"),
        got,
        Some(404),
        4,
    );
}

#[tokio::test]
async fn snapshot_refusals_carry_ontap_codes() {
    let mut r = R::start(None).await;
    let v = r.volume("sv", GIB).await;
    let snaps = format!("/api/storage/volumes/{v}/snapshots");
    r.ok_job("POST", &snaps, Some(json!({"name": "s1"}))).await;

    let got = call(&mut r, "POST", &snaps, Some(json!({"name": "s1"}))).await;
    expect(
        ("POST /storage/volumes/{uuid}/snapshots", "duplicate name"),
        got,
        None,
        525059,
    );

    let got = call(&mut r, "POST", &snaps, Some(json!({"name": "bad name"}))).await;
    expect(
        ("POST /storage/volumes/{uuid}/snapshots", "invalid name"),
        got,
        None,
        1638518,
    );

    let s1 = r.one(&format!("{snaps}?name=s1")).await["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let got = call(
        &mut r,
        "PATCH",
        &format!("{snaps}/{s1}"),
        Some(json!({"name": "bad name"})),
    )
    .await;
    expect(
        (
            "PATCH /storage/volumes/{uuid}/snapshots/{uuid}",
            "invalid name",
        ),
        got,
        None,
        1638518,
    );

    r.ok_job(
        "PATCH",
        &format!("/api/storage/volumes/{v}"),
        Some(json!({"state": "offline"})),
    )
    .await;
    let got = call(&mut r, "POST", &snaps, Some(json!({"name": "s2"}))).await;
    expect(
        ("POST /storage/volumes/{uuid}/snapshots", "volume offline"),
        got,
        None,
        524479,
    );
}

#[tokio::test]
async fn export_policy_and_qtree_refusals_carry_ontap_codes() {
    let mut r = R::start(None).await;
    let v = r.volume("ev", GIB).await;
    let (s, p) = r
        .send("POST", "/api/protocols/nfs/export-policies?return_records=true",
              Some(json!({"name": "used", "svm": {"name": "svm1"}, "rules": [{"clients": [{"match": "0.0.0.0/0"}]}]})))
        .await;
    assert_eq!(s, 201, "{p}");
    let used = p["records"][0]["id"].as_u64().expect("policy id");
    r.ok_job(
        "PATCH",
        &format!("/api/storage/volumes/{v}"),
        Some(json!({"nas": {"export_policy": {"name": "used"}}})),
    )
    .await;
    let got = call(
        &mut r,
        "DELETE",
        &format!("/api/protocols/nfs/export-policies/{used}"),
        None,
    )
    .await;
    expect(
        (
            "DELETE /protocols/nfs/export-policies/{id}",
            "in use by a volume",
        ),
        got,
        Some(409),
        1703945,
    );

    let got = call(
        &mut r,
        "POST",
        &format!("/api/protocols/nfs/export-policies/{used}/rules"),
        Some(json!({"clients": [{"match": "0.0.0.0/0"}]})),
    )
    .await;
    expect(
        (
            "POST /protocols/nfs/export-policies/{id}/rules",
            "rule exists (Trident)",
        ),
        got,
        Some(409),
        1704070,
    );

    let def = r
        .one("/api/protocols/nfs/export-policies?name=default&svm.name=svm1")
        .await["id"]
        .as_u64()
        .unwrap();
    let got = call(
        &mut r,
        "DELETE",
        &format!("/api/protocols/nfs/export-policies/{def}"),
        None,
    )
    .await;
    expect(
        (
            "DELETE /protocols/nfs/export-policies/{id}",
            "the default policy",
        ),
        got,
        Some(400),
        1703947,
    );

    let (s, p) = r
        .send(
            "POST",
            "/api/protocols/nfs/export-policies?return_records=true",
            Some(json!({"name": "qpol", "svm": {"name": "svm1"}})),
        )
        .await;
    assert_eq!(s, 201, "{p}");
    let qpol = p["records"][0]["id"].as_u64().expect("policy id");
    r.ok_job(
        "POST",
        "/api/storage/qtrees",
        Some(json!({"name": "q1", "volume": {"name": "ev"},
        "svm": {"name": "svm1"}, "export_policy": {"name": "qpol"}})),
    )
    .await;
    let got = call(
        &mut r,
        "DELETE",
        &format!("/api/protocols/nfs/export-policies/{qpol}"),
        None,
    )
    .await;
    expect(
        (
            "DELETE /protocols/nfs/export-policies/{id}",
            "in use by a qtree",
        ),
        got,
        Some(409),
        1703953,
    );

    let got = call(
        &mut r,
        "POST",
        "/api/storage/qtrees",
        Some(json!({"name": "a/b",
        "volume": {"name": "ev"}, "svm": {"name": "svm1"}})),
    )
    .await;
    expect(("POST /storage/qtrees", "invalid name"), got, None, 5242886);

    let got = call(
        &mut r,
        "POST",
        "/api/storage/qtrees",
        Some(json!({"name": "q9",
        "volume": {"name": "nope"}, "svm": {"name": "svm1"}})),
    )
    .await;
    expect(
        ("POST /storage/qtrees", "volume not found"),
        got,
        None,
        917525,
    );

    let got = call(
        &mut r,
        "DELETE",
        &format!("/api/storage/qtrees/{v}/0"),
        None,
    )
    .await;
    expect(
        ("DELETE /storage/qtrees/{volume}/{id}", "the default qtree"),
        got,
        Some(400),
        5242894,
    );

    r.ok_job(
        "POST",
        "/api/storage/qtrees",
        Some(json!({"name": "q2", "volume": {"name": "ev"},
        "svm": {"name": "svm1"}})),
    )
    .await;
    let q2 = r.one("/api/storage/qtrees?name=q2&volume.name=ev").await["id"]
        .as_u64()
        .unwrap();
    let got = call(
        &mut r,
        "PATCH",
        &format!("/api/storage/qtrees/{v}/{q2}"),
        Some(json!({"name": "q1"})),
    )
    .await;
    expect(
        (
            "PATCH /storage/qtrees/{volume}/{id}",
            "rename to a duplicate",
        ),
        got,
        None,
        5242972,
    );
}
