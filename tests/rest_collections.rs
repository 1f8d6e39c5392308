//! ONTAP's collection conventions through the real binary: `order_by` on collection GETs (with
//! paging), and PATCH / DELETE of a collection by query (`continue_on_failure`,
//! `serial_records`, a failure part-way: what was changed stays changed, what failed is reported).

mod common;
mod rest_support;
use rest_support::R;
use serde_json::{json, Value};

const MIB: u64 = 1 << 20;

fn names(v: &Value) -> Vec<String> {
    v["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["name"].as_str().unwrap_or("?").to_string())
        .collect()
}

/// Every page of a GET, following `_links.next`.
async fn all_pages(r: &mut R, path: &str) -> Vec<String> {
    let mut v = r.get(path).await;
    let mut out = names(&v);
    let mut pages = 1;
    while let Some(next) = v["_links"]["next"]["href"].as_str().map(str::to_string) {
        pages += 1;
        assert!(pages < 50, "paging does not end: {next}");
        v = r.get(&next).await;
        out.extend(names(&v));
    }
    out
}

#[tokio::test]
async fn order_by_sorts_collections_before_paging() {
    let mut r = R::start(None).await;
    // Sizes out of name order, two of them equal.
    for (name, mib) in [
        ("ob_a", 300),
        ("ob_b", 40),
        ("ob_c", 1000),
        ("ob_d", 40),
        ("ob_e", 100),
    ] {
        r.volume(name, mib * MIB).await;
    }
    let q = "/api/storage/volumes?name=ob_*&fields=size";
    // Numbers numerically (40 < 100 < 300 < 1000); the tie keeps the natural (name) order.
    let v = r.get(&format!("{q}&order_by=size")).await;
    assert_eq!(names(&v), ["ob_b", "ob_d", "ob_e", "ob_a", "ob_c"]);
    let v = r.get(&format!("{q}&order_by=size%20desc")).await;
    assert_eq!(names(&v), ["ob_c", "ob_a", "ob_e", "ob_b", "ob_d"]);
    // Several fields; the second breaks the tie.
    let v = r.get(&format!("{q}&order_by=size,name%20desc")).await;
    assert_eq!(names(&v), ["ob_d", "ob_b", "ob_e", "ob_a", "ob_c"]);
    // A nested field, repeated as generated clients send a list.
    let v = r
        .get(&format!("{q}&order_by=svm.name&order_by=name+desc"))
        .await;
    assert_eq!(names(&v), ["ob_e", "ob_d", "ob_c", "ob_b", "ob_a"]);
    // Paging keeps the order: the next link carries it and a cursor.
    let paged = all_pages(&mut r, &format!("{q}&order_by=size+desc&max_records=2")).await;
    assert_eq!(paged, ["ob_c", "ob_a", "ob_e", "ob_b", "ob_d"]);
    let paged = all_pages(&mut r, &format!("{q}&order_by=size&max_records=1")).await;
    assert_eq!(paged, ["ob_b", "ob_d", "ob_e", "ob_a", "ob_c"]);
    // Another collection: snapshots by name, descending.
    let uuid = r.vol_uuid("ob_a").await;
    for s in ["s2", "s1", "s3"] {
        r.ok_job(
            "POST",
            &format!("/api/storage/volumes/{uuid}/snapshots"),
            Some(json!({"name": s})),
        )
        .await;
    }
    let v = r
        .get(&format!(
            "/api/storage/volumes/{uuid}/snapshots?order_by=name%20desc"
        ))
        .await;
    assert_eq!(names(&v), ["s3", "s2", "s1"]);
    // An unknown field: 400, 262197, target order_by; a bad direction likewise.
    for bad in ["order_by=colour", "order_by=name+sideways"] {
        let (s, v) = r
            .send("GET", &format!("/api/storage/volumes?{bad}"), None)
            .await;
        assert_eq!(
            (
                s,
                v["error"]["code"].as_str(),
                v["error"]["target"].as_str()
            ),
            (400, Some("262197"), Some("order_by")),
            "{bad}: {v}"
        );
    }
}

#[tokio::test]
async fn patch_and_delete_of_a_collection_by_query() {
    let mut r = R::start(None).await;
    for name in ["bk_1", "bk_2", "bk_3", "keep_1"] {
        r.volume(name, 100 * MIB).await;
    }
    // A bare collection PATCH or DELETE is refused and changes nothing.
    for method in ["PATCH", "DELETE"] {
        let (s, v) = r
            .send(
                method,
                "/api/storage/volumes",
                Some(json!({"comment": "x"})).filter(|_| method == "PATCH"),
            )
            .await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (400, Some("262197")),
            "{method}: {v}"
        );
    }
    // PATCH by query: one job per record, each the record's own PATCH.
    let (s, v) = r
        .send(
            "PATCH",
            "/api/storage/volumes?name=bk_*&svm.name=svm1",
            Some(json!({"comment": "bulk", "size": 200 * MIB})),
        )
        .await;
    assert_eq!(s, 202, "{v}");
    assert_eq!(v["num_records"], 3, "{v}");
    let jobs: Vec<String> = v["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|j| j["uuid"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(jobs.len(), 3);
    for j in &jobs {
        assert_eq!(r.wait(j).await["state"], "success");
    }
    let v = r
        .get("/api/storage/volumes?svm.name=svm1&name=bk_*|keep_*&fields=comment,size")
        .await;
    for rec in v["records"].as_array().unwrap() {
        let bulk = rec["name"].as_str().unwrap().starts_with("bk_");
        assert_eq!(rec["comment"] == "bulk", bulk, "{rec}");
        assert_eq!(rec["size"] == json!(200 * MIB), bulk, "{rec}");
    }
    // A failure part-way (bk_2 has a clone, so it cannot be deleted): without
    // continue_on_failure the DELETE stops there; what was deleted stays deleted.
    r.ok_job(
        "POST",
        "/api/storage/volumes",
        Some(json!({"name": "clone_of_2", "svm": {"name": "svm1"},
            "clone": {"is_flexclone": true, "parent_volume": {"name": "bk_2"}}})),
    )
    .await;
    let (s, v) = r
        .send("DELETE", "/api/storage/volumes?name=bk_*", None)
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (400, Some("524615")),
        "{v}"
    );
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("\"bk_2\"") && msg.contains("1 changed") && msg.contains("1 not attempted"),
        "{msg}"
    );
    let left = names(&r.get("/api/storage/volumes?name=bk_*").await);
    assert_eq!(
        left,
        ["bk_2", "bk_3"],
        "bk_1 deleted, bk_2 refused, bk_3 not tried"
    );
    // With continue_on_failure the others go; the failure is still reported.
    let (s, v) = r
        .send(
            "DELETE",
            "/api/storage/volumes?name=bk_*&continue_on_failure=true",
            None,
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (400, Some("524615")),
        "{v}"
    );
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("failed on 1 of 2 records (1 changed)"),
        "{msg}"
    );
    assert_eq!(
        names(&r.get("/api/storage/volumes?name=bk_*").await),
        ["bk_2"]
    );
    // A query that selects nothing changes nothing.
    let (s, v) = r
        .send("DELETE", "/api/storage/volumes?name=nothing_*", None)
        .await;
    assert_eq!((s, v["num_records"].as_u64()), (200, Some(0)), "{v}");
    assert_eq!(
        r.get("/api/storage/volumes?name=keep_1").await["num_records"],
        1
    );
}

#[tokio::test]
async fn collection_operations_on_snapshots_policies_rules_and_qtrees() {
    let mut r = R::start(None).await;
    let uuid = r.volume("cv", 200 * MIB).await;
    let snaps = format!("/api/storage/volumes/{uuid}/snapshots");
    for s in ["daily.1", "daily.2", "weekly.1"] {
        r.ok_job("POST", &snaps, Some(json!({"name": s}))).await;
    }
    let (s, v) = r
        .send(
            "PATCH",
            &format!("{snaps}?name=daily.*"),
            Some(json!({"comment": "d"})),
        )
        .await;
    assert_eq!((s, v["num_records"].as_u64()), (202, Some(2)), "{v}");
    let v = r.get(&format!("{snaps}?comment=d")).await;
    assert_eq!(names(&v), ["daily.1", "daily.2"]);
    let (s, v) = r
        .send(
            "DELETE",
            &format!("{snaps}?name=daily.*&serial_records=true"),
            None,
        )
        .await;
    assert_eq!((s, v["num_records"].as_u64()), (202, Some(2)), "{v}");
    assert_eq!(names(&r.get(&snaps).await), ["weekly.1"]);

    // Export policies and rules answer synchronously: {"num_records"}.
    for p in ["tmp_a", "tmp_b"] {
        let (s, v) = r
            .send(
                "POST",
                "/api/protocols/nfs/export-policies",
                Some(json!({"name": p, "svm": {"name": "svm1"},
                    "rules": [{"clients": [{"match": "10.0.0.0/8"}]}, {"clients": [{"match": "10.1.0.1"}]}]})),
            )
            .await;
        assert_eq!(s, 201, "{v}");
    }
    let a = r.one("/api/protocols/nfs/export-policies?name=tmp_a").await["id"]
        .as_u64()
        .unwrap();
    let rules = format!("/api/protocols/nfs/export-policies/{a}/rules");
    let (s, v) = r
        .send(
            "PATCH",
            &format!("{rules}?index=*"),
            Some(json!({"ro_rule": ["sys"], "rw_rule": ["none"]})),
        )
        .await;
    assert_eq!((s, v), (200, json!({"num_records": 2})));
    let v = r.get(&format!("{rules}?rw_rule=none")).await;
    assert_eq!(v["num_records"], 2, "{v}");
    let (s, v) = r.send("DELETE", &format!("{rules}?index=1"), None).await;
    assert_eq!((s, v), (200, json!({"num_records": 1})));
    assert_eq!(r.get(&rules).await["num_records"], 1);
    let (s, v) = r
        .send(
            "DELETE",
            "/api/protocols/nfs/export-policies?name=tmp_*",
            None,
        )
        .await;
    assert_eq!((s, v), (200, json!({"num_records": 2})));
    assert_eq!(
        r.get("/api/protocols/nfs/export-policies?name=tmp_*").await["num_records"],
        0
    );

    // Qtrees.
    for q in ["qa", "qb", "other"] {
        r.ok_job(
            "POST",
            "/api/storage/qtrees",
            Some(json!({"name": q, "volume": {"name": "cv"}, "svm": {"name": "svm1"}})),
        )
        .await;
    }
    let (s, v) = r
        .send("DELETE", "/api/storage/qtrees?volume.name=cv&name=q*", None)
        .await;
    assert_eq!((s, v["num_records"].as_u64()), (202, Some(2)), "{v}");
    // The volume's own qtree ("", id 0) stays listed, as ONTAP lists it.
    let v = r.get("/api/storage/qtrees?volume.name=cv&fields=id").await;
    assert_eq!(names(&v), ["", "other"], "{v}");
}
