//! Conformance of `snapshot-*` through the real binary over TLS: Trident's create/get/list shapes
//! (§3.8), Ansible's query, rename, restore, delete, and the refusals clients branch on.
#![allow(dead_code)]

mod common;
use common::*;
use ontap_sim::zapi::xml::Element;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn config() -> String {
    one_svm("zapi-snapshot")
}

use common::z::*;
fn create(volume: &str, snapshot: &str) -> String {
    format!("<snapshot-create><snapshot>{snapshot}</snapshot><volume>{volume}</volume></snapshot-create>")
}

fn delete(volume: &str, snapshot: &str) -> String {
    format!("<snapshot-delete><snapshot>{snapshot}</snapshot><volume>{volume}</volume></snapshot-delete>")
}

fn rename(volume: &str, from: &str, to: &str) -> String {
    format!("<snapshot-rename><current-name>{from}</current-name><new-name>{to}</new-name><volume>{volume}</volume></snapshot-rename>")
}

fn restore(volume: &str, snapshot: &str) -> String {
    format!("<snapshot-restore-volume><preserve-lun-ids>true</preserve-lun-ids><snapshot>{snapshot}</snapshot><volume>{volume}</volume></snapshot-restore-volume>")
}

/// Trident's snapshot-get-iter (§3.8): max-records 100, query {volume, name}.
async fn trident_get(z: &mut Z, volume: &str, name: &str) -> Vec<Element> {
    let r = z
        .ok(&format!(
            "<snapshot-get-iter><max-records>100</max-records><query><snapshot-info><volume>{volume}</volume>\
             <name>{name}</name></snapshot-info></query></snapshot-get-iter>"
        ))
        .await;
    records(&r)
}

async fn names(z: &mut Z, volume: &str) -> Vec<String> {
    let mut n = field(&z.snaps(volume).await, "name");
    n.sort();
    n
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn trident_create_get_and_list() {
    let mut z = Z::start(Some(&config())).await;
    z.create("sv", "aggr1", "1g", "none").await;
    // Create: probe, volume-get-iter for size-used, snapshot-create, snapshot-get-iter.
    z.ok("<volume-size><volume>sv</volume></volume-size>").await;
    num(&z.must_vol("sv").await, "volume-space-attributes/size-used");
    let t0 = now();
    z.ok(&create("sv", "snap.2024-01-01_000000")).await;
    let t1 = now();
    let recs = trident_get(&mut z, "sv", "snap.2024-01-01_000000").await;
    assert_eq!(recs.len(), 1);
    let s = &recs[0];
    assert_eq!(txt(s, "name"), "snap.2024-01-01_000000");
    assert_eq!(txt(s, "volume"), "sv");
    assert_eq!(txt(s, "vserver"), "svm1");
    // access-time is integer Unix seconds: Trident's creation time.
    let at = num(s, "access-time");
    assert!(t0 <= at && at <= t1, "access-time {at} not in [{t0}, {t1}]");
    assert_eq!(num(s, "create-time"), at);
    assert_eq!(txt(s, "busy"), "false");
    // Get of a missing snapshot: zero records, passed (Trident returns nil, nil).
    assert!(trident_get(&mut z, "sv", "nope").await.is_empty());
    // List: only the volume in the query.
    z.ok(&create("sv", "second")).await;
    z.create("other", "aggr1", "1g", "none").await;
    z.ok(&create("other", "second")).await;
    let r = z
        .ok("<snapshot-get-iter><max-records>100</max-records><query><snapshot-info><volume>sv</volume></snapshot-info></query></snapshot-get-iter>")
        .await;
    let mut listed = field(&records(&r), "name");
    listed.sort();
    assert_eq!(listed, ["second", "snap.2024-01-01_000000"]);
    for rec in records(&r) {
        num(&rec, "access-time");
        assert_eq!(txt(&rec, "volume"), "sv");
    }
    // The cluster view lists snapshots across volumes.
    let r = assert_passed(
        &z.cluster("<snapshot-get-iter><query><snapshot-info><name>second</name></snapshot-info></query></snapshot-get-iter>")
            .await,
    );
    let mut vols = field(&records(&r), "volume");
    vols.sort();
    assert_eq!(vols, ["other", "sv"]);
    // snapshot-count follows.
    assert_eq!(
        num(
            &z.must_vol("sv").await,
            "volume-snapshot-attributes/snapshot-count"
        ),
        2
    );
}

#[tokio::test]
async fn ansible_query_and_labels() {
    let mut z = Z::start(Some(&config())).await;
    z.create("av", "aggr1", "1g", "none").await;
    let q = "<snapshot-get-iter><desired-attributes><snapshot-info><comment/><snapmirror-label/></snapshot-info></desired-attributes>\
             <query><snapshot-info><name>snap1</name><volume>av</volume><vserver>svm1</vserver></snapshot-info></query></snapshot-get-iter>";
    let r = z.ok(q).await;
    assert_eq!(r.child_text("num-records"), Some("0"));
    z.ok("<snapshot-create><comment>made by ansible</comment><snapmirror-label>daily</snapmirror-label><snapshot>snap1</snapshot><volume>av</volume></snapshot-create>")
        .await;
    let r = z.ok(q).await;
    let recs = records(&r);
    assert_eq!(recs.len(), 1);
    let mut fields: Vec<&str> = recs[0].children.iter().map(|c| c.name.as_ref()).collect();
    fields.sort();
    assert_eq!(fields, ["comment", "snapmirror-label"]);
    assert_eq!(txt(&recs[0], "comment"), "made by ansible");
    assert_eq!(txt(&recs[0], "snapmirror-label"), "daily");
    // snapshot-modify-iter changes the comment.
    let r = z
        .ok("<snapshot-modify-iter><query><snapshot-info><name>snap1</name><volume>av</volume></snapshot-info></query>\
             <attributes><snapshot-info><comment>changed</comment></snapshot-info></attributes></snapshot-modify-iter>")
        .await;
    assert_eq!(num(&r, "num-succeeded"), 1);
    let recs = records(&z.ok(q).await);
    assert_eq!(txt(&recs[0], "comment"), "changed");
    assert_eq!(txt(&recs[0], "snapmirror-label"), "daily");
}

#[tokio::test]
async fn duplicates_invalid_names_and_missing_objects() {
    let mut z = Z::start(Some(&config())).await;
    z.create("dv", "aggr1", "1g", "none").await;
    z.ok(&create("dv", "s1")).await;
    assert_failed(&z.svm(&create("dv", "s1")).await, 13130, "s1");
    for bad in ["bad/name", "sp ace", "", &"x".repeat(256)] {
        let body = z.svm(&create("dv", bad)).await;
        assert_failed(&body, 13115, "Invalid snapshot name");
    }
    assert_eq!(names(&mut z, "dv").await, ["s1"]);
    // Missing volume: 13040 on every snapshot API.
    assert_failed(&z.svm(&create("nope", "s")).await, 13040, "nope");
    assert_failed(&z.svm(&delete("nope", "s")).await, 13040, "nope");
    assert_failed(&z.svm(&rename("nope", "s", "t")).await, 13040, "nope");
    assert_failed(&z.svm(&restore("nope", "s")).await, 13040, "nope");
    // Missing snapshot: 15661.
    assert_failed(&z.svm(&delete("dv", "nosnap")).await, 15661, "nosnap");
    assert_failed(&z.svm(&rename("dv", "nosnap", "t")).await, 15661, "nosnap");
    assert_failed(&z.svm(&restore("dv", "nosnap")).await, 15661, "nosnap");
    // Delete, then delete again: 15661 (Trident does not tolerate it at this layer).
    z.ok(&delete("dv", "s1")).await;
    assert!(z.snaps("dv").await.is_empty());
    assert_failed(&z.svm(&delete("dv", "s1")).await, 15661, "s1");
}

#[tokio::test]
async fn rename_keeps_the_snapshot() {
    let mut z = Z::start(Some(&config())).await;
    z.create("rv", "aggr1", "1g", "none").await;
    z.ok(&create("rv", "a")).await;
    z.ok(&create("rv", "b")).await;
    let before = trident_get(&mut z, "rv", "a").await.pop().unwrap();
    z.ok(&rename("rv", "a", "a2")).await;
    assert_eq!(names(&mut z, "rv").await, ["a2", "b"]);
    let after = trident_get(&mut z, "rv", "a2").await.pop().unwrap();
    assert_eq!(
        txt(&after, "snapshot-instance-uuid"),
        txt(&before, "snapshot-instance-uuid")
    );
    assert_eq!(num(&after, "access-time"), num(&before, "access-time"));
    assert_failed(&z.svm(&rename("rv", "a2", "b")).await, 13130, "b");
    assert_failed(&z.svm(&rename("rv", "a2", "bad/x")).await, 13115, "bad/x");
    assert_eq!(names(&mut z, "rv").await, ["a2", "b"]);
}

#[tokio::test]
async fn restore_removes_newer_snapshots() {
    let mut z = Z::start(Some(&config())).await;
    z.create("hv", "aggr1", "1g", "none").await;
    // A second apart, so creation order is unambiguous even at one-second resolution.
    for s in ["s1", "s2", "s3"] {
        z.ok(&create("hv", s)).await;
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    z.ok(&restore("hv", "s2")).await;
    assert_eq!(names(&mut z, "hv").await, ["s1", "s2"]);
    z.ok(&restore("hv", "s1")).await;
    assert_eq!(names(&mut z, "hv").await, ["s1"]);
    // Restoring to the newest snapshot keeps it.
    z.ok(&restore("hv", "s1")).await;
    assert_eq!(names(&mut z, "hv").await, ["s1"]);
}

#[tokio::test]
async fn restore_orders_snapshots_taken_within_one_second() {
    let mut z = Z::start(Some(&config())).await;
    z.create("qv", "aggr1", "1g", "none").await;
    // Trident and Ansible take snapshots back to back; ONTAP orders them by creation, not by
    // the whole second they fall in.
    for s in ["s1", "s2", "s3"] {
        z.ok(&create("qv", s)).await;
    }
    z.ok(&restore("qv", "s1")).await;
    assert_eq!(
        names(&mut z, "qv").await,
        ["s1"],
        "snapshots newer than s1 must be gone after restoring to s1"
    );
}

#[tokio::test]
async fn restore_is_refused_while_a_newer_snapshot_is_busy() {
    let mut z = Z::start(Some(&config())).await;
    z.create("bv", "aggr1", "1g", "none").await;
    z.ok(&create("bv", "old")).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    z.ok(&create("bv", "new")).await;
    z.ok("<volume-clone-create><parent-snapshot>new</parent-snapshot><parent-volume>bv</parent-volume><volume>bc</volume></volume-clone-create>")
        .await;
    assert_failed(&z.svm(&restore("bv", "old")).await, 13024, "bc");
    assert_eq!(names(&mut z, "bv").await, ["new", "old"]);
    // Renaming a snapshot a clone depends on is refused too (the clone names it).
    assert_failed(&z.svm(&rename("bv", "new", "newer")).await, 13024, "new");
}

#[tokio::test]
async fn offline_volume_refuses_snapshot_operations() {
    let mut z = Z::start(Some(&config())).await;
    z.create("ov", "aggr1", "1g", "none").await;
    z.ok(&create("ov", "s1")).await;
    z.ok(&create("ov", "s2")).await;
    z.ok("<volume-offline><name>ov</name></volume-offline>")
        .await;
    // Each operation must answer 13042 naming the volume; collect every one that does not.
    let mut wrong = Vec::new();
    for (op, body) in [
        ("snapshot-create", create("ov", "s3")),
        ("snapshot-restore-volume", restore("ov", "s1")),
        ("snapshot-rename", rename("ov", "s1", "s9")),
        ("snapshot-delete", delete("ov", "s2")),
    ] {
        let answer = z.svm(&body).await;
        let (status, errno, reason) = results(&answer);
        let reason = reason.unwrap_or_default();
        if status != "failed" || errno != Some(13042) || !reason.contains("ov") {
            wrong.push(format!("{op}: {status} {errno:?} {reason:?}"));
        }
    }
    assert!(wrong.is_empty(), "offline volume accepted: {wrong:#?}");
    z.ok("<volume-online><name>ov</name></volume-online>").await;
    assert_eq!(names(&mut z, "ov").await, ["s1", "s2"]);
}

#[tokio::test]
async fn exact_name_lookups_find_one_snapshot_whatever_the_case() {
    // §3.8: after snapshot-create Trident needs exactly one record from snapshot-get-iter with
    // {volume, name}. Either the second spelling is a duplicate, or the query must not match it.
    let mut z = Z::start(Some(&config())).await;
    z.create("cv", "aggr1", "1g", "none").await;
    z.ok(&create("cv", "snap1")).await;
    let body = z.svm(&create("cv", "SNAP1")).await;
    let (status, errno, _) = results(&body);
    assert!(status == "passed" || errno == Some(13130), "{body}");
    let recs = trident_get(&mut z, "cv", "snap1").await;
    assert_eq!(
        field(&recs, "name"),
        ["snap1"],
        "second create answered {status} {errno:?}"
    );
}
