//! Conformance of `volume-clone-*` through the real binary over TLS: clones from a named snapshot
//! and from an implicit one, the busy parent snapshot, splitting, Trident's split query (§3.8),
//! the refusals Trident branches on, and the space a clone takes.
#![allow(dead_code)]

mod common;
use common::*;
use ontap_sim::zapi::xml::Element;

const CONFIG: &str = r#"
seed = "zapi-clone"
[[aggregates]]
name = "aggr1"
size = "2TiB"
[[aggregates]]
name = "aggr2"
size = "100GiB"

[[svms]]
name = "svm1"
aggregates = ["aggr1", "aggr2"]
[[svms.lifs]]
name = "svm1_data"
address = "127.0.0.1"

[[users]]
name = "admin"
"#;

use common::z::*;
fn clone_create(clone: &str, parent: &str, snapshot: Option<&str>, extra: &str) -> String {
    let snap = snapshot
        .map(|s| format!("<parent-snapshot>{s}</parent-snapshot>"))
        .unwrap_or_default();
    format!("<volume-clone-create>{snap}<parent-volume>{parent}</parent-volume><volume>{clone}</volume>{extra}</volume-clone-create>")
}

fn snap_create(volume: &str, snapshot: &str) -> String {
    format!("<snapshot-create><snapshot>{snapshot}</snapshot><volume>{volume}</volume></snapshot-create>")
}

fn snap_delete(volume: &str, snapshot: &str) -> String {
    format!("<snapshot-delete><snapshot>{snapshot}</snapshot><volume>{volume}</volume></snapshot-delete>")
}

fn split(clone: &str) -> String {
    format!("<volume-clone-split-start><volume>{clone}</volume></volume-clone-split-start>")
}

fn destroy(name: &str) -> String {
    format!("<volume-destroy><name>{name}</name><unmount-and-offline>true</unmount-and-offline></volume-destroy>")
}

/// Trident's split query (§3.8): the clones of `volume`'s snapshot `snapshot`, by name.
async fn clones_of(z: &mut Z, volume: &str, snapshot: &str) -> Vec<String> {
    let r = z
        .ok(&format!(
            "<volume-get-iter><max-records>100</max-records><query><volume-attributes><volume-clone-attributes>\
             <volume-clone-parent-attributes><name>{volume}</name><snapshot-name>{snapshot}</snapshot-name>\
             </volume-clone-parent-attributes></volume-clone-attributes></volume-attributes></query></volume-get-iter>"
        ))
        .await;
    field(&records(&r), "volume-id-attributes/name")
}

async fn snapshot(z: &mut Z, volume: &str, name: &str) -> Element {
    let mut s = z
        .list(
            "snapshot-get-iter",
            &format!("<snapshot-info><volume>{volume}</volume><name>{name}</name></snapshot-info>"),
        )
        .await;
    assert_eq!(s.len(), 1, "snapshot {volume}/{name}");
    s.pop().unwrap()
}

#[tokio::test]
async fn clone_from_a_named_snapshot_then_split() {
    let mut z = Z::start(Some(CONFIG)).await;
    z.create("cp", "aggr1", "2g", "none").await;
    z.ok("<volume-mount><junction-path>/cp</junction-path><volume-name>cp</volume-name></volume-mount>").await;
    z.ok("<export-policy-create><policy-name>cp_pol</policy-name></export-policy-create>")
        .await;
    z.ok("<volume-modify-iter><query><volume-attributes><volume-id-attributes><name>cp</name></volume-id-attributes></volume-attributes></query>\
          <attributes><volume-attributes><volume-export-attributes><policy>cp_pol</policy></volume-export-attributes>\
          <volume-id-attributes><comment>labels</comment></volume-id-attributes></volume-attributes></attributes></volume-modify-iter>")
        .await;
    z.ok(&snap_create("cp", "s1")).await;

    // §3.5: probe the clone name, then volume-clone-create.
    assert_failed(
        &z.svm("<volume-size><volume>cc</volume></volume-size>")
            .await,
        13040,
        "cc",
    );
    z.ok(&clone_create("cc", "cp", Some("s1"), "")).await;
    // Step 5: VolumeGet shows the state; the clone is online at once.
    let c = z.must_vol("cc").await;
    assert_eq!(txt(&c, "volume-state-attributes/state"), "online");
    assert_eq!(
        txt(
            &c,
            "volume-clone-attributes/volume-clone-parent-attributes/name"
        ),
        "cp"
    );
    assert_eq!(
        txt(
            &c,
            "volume-clone-attributes/volume-clone-parent-attributes/snapshot-name"
        ),
        "s1"
    );
    // What a clone inherits: size, aggregate, export policy, comment; it is not mounted.
    assert_eq!(num(&c, "volume-space-attributes/size"), 2 * GIB);
    assert_eq!(
        txt(&c, "volume-id-attributes/containing-aggregate-name"),
        "aggr1"
    );
    assert_eq!(txt(&c, "volume-export-attributes/policy"), "cp_pol");
    assert_eq!(txt(&c, "volume-id-attributes/comment"), "labels");
    assert_eq!(txt(&c, "volume-id-attributes/type"), "rw");
    assert!(!has(&c, "volume-id-attributes/junction-path"));
    // Steps 6, 7, 10: comment, mount, export policy back to the pool's.
    z.ok("<volume-modify-iter><query><volume-attributes><volume-id-attributes><name>cc</name></volume-id-attributes></volume-attributes></query>\
          <attributes><volume-attributes><volume-id-attributes><comment>clone labels</comment></volume-id-attributes></volume-attributes></attributes></volume-modify-iter>")
        .await;
    z.ok("<volume-mount><junction-path>/cc</junction-path><volume-name>cc</volume-name></volume-mount>").await;
    z.ok("<volume-modify-iter><query><volume-attributes><volume-id-attributes><name>cc</name></volume-id-attributes></volume-attributes></query>\
          <attributes><volume-attributes><volume-export-attributes><policy>default</policy></volume-export-attributes></volume-attributes></attributes></volume-modify-iter>")
        .await;
    let c = z.must_vol("cc").await;
    assert_eq!(txt(&c, "volume-id-attributes/junction-path"), "/cc");
    assert_eq!(txt(&c, "volume-export-attributes/policy"), "default");
    assert_eq!(
        txt(&z.must_vol("cp").await, "volume-export-attributes/policy"),
        "cp_pol"
    );
    assert!(
        !has(&z.must_vol("cp").await, "volume-clone-attributes"),
        "the parent is not a clone"
    );

    // The parent snapshot is busy with a vclone dependency.
    let s = snapshot(&mut z, "cp", "s1").await;
    assert_eq!(txt(&s, "busy"), "true");
    assert_eq!(txt(&s, "dependency"), "vclone");
    assert_failed(&z.svm(&snap_delete("cp", "s1")).await, 13024, "cc");
    // The parent cannot be destroyed while the clone depends on it.
    assert_failed(&z.svm(&destroy("cp")).await, 13001, "cc");
    assert!(z.vol("cp").await.is_some());

    // Split: the dependency is gone and the snapshot and parent can go.
    z.ok(&split("cc")).await;
    let c = z.must_vol("cc").await;
    assert!(!has(&c, "volume-clone-attributes"), "{}", c.to_xml());
    let s = snapshot(&mut z, "cp", "s1").await;
    assert_eq!(txt(&s, "busy"), "false");
    assert_eq!(txt(&s, "dependency"), "");
    z.ok(&snap_delete("cp", "s1")).await;
    z.ok(&destroy("cp")).await;
    let c = z.must_vol("cc").await;
    assert_eq!(txt(&c, "volume-id-attributes/junction-path"), "/cc");
    assert_eq!(txt(&c, "volume-id-attributes/comment"), "clone labels");
    // A split clone is no longer a clone.
    assert_failed(&z.svm(&split("cc")).await, 13170, "cc");
}

#[tokio::test]
async fn clone_without_a_snapshot_creates_one() {
    let mut z = Z::start(Some(CONFIG)).await;
    z.create("np", "aggr1", "1g", "none").await;
    assert!(z.snaps("np").await.is_empty());
    z.ok(&clone_create("nc", "np", None, "")).await;
    let snaps = z.snaps("np").await;
    assert_eq!(snaps.len(), 1, "one snapshot is made for the clone");
    let made = txt(&snaps[0], "name").to_string();
    assert_eq!(txt(&snaps[0], "busy"), "true");
    let c = z.must_vol("nc").await;
    assert_eq!(
        txt(
            &c,
            "volume-clone-attributes/volume-clone-parent-attributes/name"
        ),
        "np"
    );
    assert_eq!(
        txt(
            &c,
            "volume-clone-attributes/volume-clone-parent-attributes/snapshot-name"
        ),
        made
    );
    assert_failed(&z.svm(&snap_delete("np", &made)).await, 13024, "nc");
    // Destroying the clone frees the snapshot (Trident then deletes the one it made, §3.7 step 7).
    z.ok(&destroy("nc")).await;
    assert_eq!(txt(&snapshot(&mut z, "np", &made).await, "busy"), "false");
    z.ok(&snap_delete("np", &made)).await;
    assert!(z.snaps("np").await.is_empty());
    z.ok(&destroy("np")).await;
}

#[tokio::test]
async fn clone_refusals_name_the_object() {
    let mut z = Z::start(Some(CONFIG)).await;
    z.create("rp", "aggr1", "1g", "none").await;
    z.ok(&snap_create("rp", "s1")).await;
    // §3.5 step 4: a missing parent snapshot is 15661.
    assert_failed(
        &z.svm(&clone_create("rc", "rp", Some("nosnap"), "")).await,
        15661,
        "nosnap",
    );
    assert_failed(
        &z.svm(&clone_create("rc", "nope", Some("s1"), "")).await,
        13040,
        "nope",
    );
    assert_failed(
        &z.svm(&clone_create("rc", "nope", None, "")).await,
        13040,
        "nope",
    );
    assert_failed(
        &z.svm(&clone_create("bad-name", "rp", Some("s1"), "")).await,
        13115,
        "bad-name",
    );
    assert_failed(
        &z.svm(&clone_create("rp", "rp", Some("s1"), "")).await,
        13130,
        "rp",
    );
    z.create("taken", "aggr1", "1g", "none").await;
    assert_failed(
        &z.svm(&clone_create("taken", "rp", Some("s1"), "")).await,
        13130,
        "taken",
    );
    assert_failed(
        &z.svm(&clone_create(
            "rc",
            "rp",
            Some("s1"),
            "<space-reserve>lots</space-reserve>",
        ))
        .await,
        13115,
        "lots",
    );
    assert_failed(
        &z.svm(&clone_create(
            "rc",
            "rp",
            Some("s1"),
            "<parent-vserver>svm9</parent-vserver>",
        ))
        .await,
        13115,
        "svm9",
    );
    assert_failed(
        &z.svm(&clone_create(
            "rc",
            "rp",
            Some("s1"),
            "<qos-policy-group-name>noqos</qos-policy-group-name>",
        ))
        .await,
        15661,
        "noqos",
    );
    // A junction path already in use.
    z.ok("<volume-mount><junction-path>/rp</junction-path><volume-name>rp</volume-name></volume-mount>").await;
    assert_failed(
        &z.svm(&clone_create(
            "rc",
            "rp",
            Some("s1"),
            "<junction-path>/rp</junction-path>",
        ))
        .await,
        13130,
        "/rp",
    );
    // An offline parent.
    z.create("off", "aggr1", "1g", "none").await;
    z.ok(&snap_create("off", "s")).await;
    z.ok("<volume-offline><name>off</name></volume-offline>")
        .await;
    assert_failed(
        &z.svm(&clone_create("rc", "off", Some("s"), "")).await,
        13042,
        "off",
    );
    // None of the refusals left a clone or a snapshot behind.
    assert!(z.vol("rc").await.is_none());
    assert_eq!(field(&z.snaps("rp").await, "name"), ["s1"]);
    assert_eq!(txt(&snapshot(&mut z, "rp", "s1").await, "busy"), "false");
    // Split refusals.
    assert_failed(&z.svm(&split("rp")).await, 13170, "rp");
    assert_failed(&z.svm(&split("nope")).await, 13040, "nope");
    // A clone with its own junction path at creation.
    z.ok(&clone_create(
        "rc",
        "rp",
        Some("s1"),
        "<junction-path>/rc</junction-path>",
    ))
    .await;
    assert_eq!(
        txt(
            &z.must_vol("rc").await,
            "volume-id-attributes/junction-path"
        ),
        "/rc"
    );
}

#[tokio::test]
async fn trident_split_query_finds_exactly_the_clones() {
    let mut z = Z::start(Some(CONFIG)).await;
    z.create("tp", "aggr1", "1g", "none").await;
    z.ok(&snap_create("tp", "snap_a")).await;
    z.ok(&snap_create("tp", "snap_b")).await;
    z.ok(&clone_create("tc_2", "tp", Some("snap_a"), "")).await;
    z.ok(&clone_create("tc_1", "tp", Some("snap_a"), "")).await;
    z.ok(&clone_create("tc_b", "tp", Some("snap_b"), "")).await;
    // §3.8: snapshot-delete answers 13024, Trident queries the clones and splits the first.
    let body = z.svm(&snap_delete("tp", "snap_a")).await;
    let (_, errno, reason) = results(&body);
    assert_eq!(errno, Some(13024), "{body}");
    let reason = reason.unwrap_or_default();
    assert!(
        reason.contains("tc_1") || reason.contains("tc_2"),
        "{reason}"
    );
    let mut clones = clones_of(&mut z, "tp", "snap_a").await;
    clones.sort();
    assert_eq!(clones, ["tc_1", "tc_2"]);
    assert_eq!(clones_of(&mut z, "tp", "snap_b").await, ["tc_b"]);
    assert!(clones_of(&mut z, "tp", "nosnap").await.is_empty());
    z.ok(&split(&clones[0])).await;
    // Still busy with the other clone.
    assert_failed(&z.svm(&snap_delete("tp", "snap_a")).await, 13024, "tc_2");
    assert_eq!(clones_of(&mut z, "tp", "snap_a").await, ["tc_2"]);
    z.ok(&split("tc_2")).await;
    assert!(clones_of(&mut z, "tp", "snap_a").await.is_empty());
    z.ok(&snap_delete("tp", "snap_a")).await;
    // The parent still has a clone on snap_b.
    assert_failed(&z.svm(&destroy("tp")).await, 13001, "tc_b");
}

#[tokio::test]
async fn clones_of_clones_and_destroy_order() {
    let mut z = Z::start(Some(CONFIG)).await;
    z.create("g0", "aggr1", "1g", "none").await;
    z.ok(&snap_create("g0", "s")).await;
    z.ok(&clone_create("g1", "g0", Some("s"), "")).await;
    z.ok(&snap_create("g1", "s")).await;
    z.ok(&clone_create("g2", "g1", Some("s"), "")).await;
    assert_eq!(
        txt(
            &z.must_vol("g2").await,
            "volume-clone-attributes/volume-clone-parent-attributes/name"
        ),
        "g1"
    );
    assert_failed(&z.svm(&destroy("g1")).await, 13001, "g2");
    assert_failed(&z.svm(&destroy("g0")).await, 13001, "g1");
    // Leaf first works.
    z.ok(&destroy("g2")).await;
    z.ok(&destroy("g1")).await;
    assert_eq!(txt(&snapshot(&mut z, "g0", "s").await, "busy"), "false");
    z.ok(&destroy("g0")).await;
}

#[tokio::test]
async fn clone_space_follows_its_guarantee() {
    let mut z = Z::start(Some(CONFIG)).await;
    z.create("sp", "aggr2", "10g", "volume").await;
    z.ok(&snap_create("sp", "s")).await;
    let (u0, _, _) = z.aggr("aggr2").await;
    // By default a clone takes its parent's guarantee: a thick clone reserves its size.
    z.ok(&clone_create("thick_c", "sp", Some("s"), "")).await;
    let c = z.must_vol("thick_c").await;
    assert_eq!(txt(&c, "volume-space-attributes/space-guarantee"), "volume");
    assert_eq!(z.aggr("aggr2").await.0, u0 + 10 * GIB);
    // A thin clone takes nothing (it shares all its data with the snapshot).
    z.ok(&clone_create(
        "thin_c",
        "sp",
        Some("s"),
        "<space-reserve>none</space-reserve>",
    ))
    .await;
    assert_eq!(
        txt(
            &z.must_vol("thin_c").await,
            "volume-space-attributes/space-guarantee"
        ),
        "none"
    );
    assert_eq!(z.aggr("aggr2").await.0, u0 + 10 * GIB);
    // Splitting copies shared data; with nothing written it costs nothing more.
    z.ok(&split("thin_c")).await;
    z.ok(&split("thick_c")).await;
    assert_eq!(z.aggr("aggr2").await.0, u0 + 10 * GIB);
    z.ok(&destroy("thick_c")).await;
    z.ok(&destroy("thin_c")).await;
    // Their space waits in the recovery queue until purged.
    assert_eq!(z.aggr("aggr2").await.0, u0 + 10 * GIB);
    for v in ["thick_c", "thin_c"] {
        let r = z
            .ok(&format!("<volume-recovery-queue-get-iter><query><volume-recovery-queue-info><volume-name>{v}_*</volume-name></volume-recovery-queue-info></query></volume-recovery-queue-get-iter>"))
            .await;
        let name = txt(&records(&r)[0], "volume-name").to_string();
        z.ok(&format!("<volume-recovery-queue-purge><volume-name>{name}</volume-name></volume-recovery-queue-purge>"))
            .await;
    }
    assert_eq!(z.aggr("aggr2").await.0, u0);
}

#[tokio::test]
async fn async_clone_create_reports_a_job() {
    let mut z = Z::start(Some(CONFIG)).await;
    z.create("ap", "aggr1", "1g", "none").await;
    z.ok(&snap_create("ap", "s")).await;
    let r = z
        .ok(&clone_create("ac", "ap", Some("s"), "")
            .replace("volume-clone-create>", "volume-clone-create-async>"))
        .await;
    assert_eq!(r.child_text("result-status"), Some("in_progress"));
    let id = txt(&r, "result-jobid").to_string();
    let j = assert_passed(
        &z.cluster(&format!("<job-get-iter><query><job-info><job-id>{id}</job-id></job-info></query></job-get-iter>"))
            .await,
    );
    assert_eq!(field(&records(&j), "job-state"), ["success"]);
    assert!(z.vol("ac").await.is_some());
    let body = z
        .svm(
            &clone_create("ac2", "ap", Some("nosnap"), "")
                .replace("volume-clone-create>", "volume-clone-create-async>"),
        )
        .await;
    assert_failed(&body, 15661, "nosnap");
    assert!(z.vol("ac2").await.is_none());
    // The split status API answers for a volume that exists.
    z.ok("<volume-clone-split-status><volume>ac</volume></volume-clone-split-status>")
        .await;
    assert_failed(
        &z.svm("<volume-clone-split-status><volume>nope</volume></volume-clone-split-status>")
            .await,
        13040,
        "nope",
    );
}
