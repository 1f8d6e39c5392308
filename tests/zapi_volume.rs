//! Conformance of the `volume-*` family through the real binary over TLS: Trident's and Ansible's
//! call shapes, sizes, space accounting, junctions, states, destroy and the recovery queue, rename,
//! volume-modify-iter, the async variants and their jobs, and the iterator engine on volumes.
#![allow(dead_code)]

mod common;
use common::*;
use ontap_sim::zapi::xml::Element;

/// svm1 owns aggr1 (2 TiB) and aggr2 (100 GiB, small enough to run out); svm2 owns aggr3.
const CONFIG: &str = r#"
seed = "zapi-volume"
[[aggregates]]
name = "aggr1"
size = "2TiB"
[[aggregates]]
name = "aggr2"
size = "100GiB"
media = "hdd"
[[aggregates]]
name = "aggr3"
size = "1TiB"

[[svms]]
name = "svm1"
aggregates = ["aggr1", "aggr2"]
[[svms.lifs]]
name = "svm1_data"
address = "127.0.0.1"

[[svms]]
name = "svm2"
aggregates = ["aggr3"]
[[svms.lifs]]
name = "svm2_data"
address = "127.0.0.2"

[[users]]
name = "admin"
[[users]]
name = "vsadmin"
scope = "svm1"
"#;

use common::z::*;
fn trident_info_query(name: &str) -> String {
    format!(
        "<volume-get-iter><max-records>100</max-records><query><volume-attributes><volume-id-attributes>\
         <name>{name}</name><style-extended>flexvol</style-extended></volume-id-attributes>\
         <volume-state-attributes><state>online</state></volume-state-attributes></volume-attributes></query></volume-get-iter>"
    )
}

/// Trident's `VolumeInfo` (§3.3): the records it would see for `name`.
async fn trident_info(z: &mut Z, name: &str) -> Vec<Element> {
    let r = z.ok(&trident_info_query(name)).await;
    records(&r)
}

fn probe(name: &str) -> String {
    format!("<volume-size><volume>{name}</volume></volume-size>")
}

fn modify_iter(query: &str, attrs: &str, extra: &str) -> String {
    format!(
        "<volume-modify-iter><query><volume-attributes>{query}</volume-attributes></query>\
         <attributes><volume-attributes>{attrs}</volume-attributes></attributes>{extra}</volume-modify-iter>"
    )
}

fn by_name(name: &str) -> String {
    format!("<volume-id-attributes><name>{name}</name></volume-id-attributes>")
}

fn mount(name: &str, path: &str) -> String {
    format!("<volume-mount><junction-path>{path}</junction-path><volume-name>{name}</volume-name></volume-mount>")
}

/// Purge the recovery-queue entry a destroyed volume left (its space is held until then).
async fn purge(z: &mut Z, volume: &str) {
    let r = z
        .ok(&format!("<volume-recovery-queue-get-iter><query><volume-recovery-queue-info><volume-name>{volume}_*</volume-name></volume-recovery-queue-info></query></volume-recovery-queue-get-iter>"))
        .await;
    let recs = records(&r);
    assert_eq!(recs.len(), 1, "one recovery-queue entry for {volume}");
    let name = txt(&recs[0], "volume-name").to_string();
    z.ok(&format!("<volume-recovery-queue-purge><volume-name>{name}</volume-name></volume-recovery-queue-purge>"))
        .await;
}

fn destroy(name: &str) -> String {
    format!("<volume-destroy><name>{name}</name><unmount-and-offline>true</unmount-and-offline></volume-destroy>")
}

/// Every field of §3.11 that Trident reads is present and well-formed.
fn assert_trident_fields(r: &Element) {
    for p in [
        "volume-id-attributes/name",
        "volume-id-attributes/containing-aggregate-name",
        "volume-id-attributes/type",
        "volume-id-attributes/comment",
        "volume-space-attributes/space-guarantee",
        "volume-state-attributes/state",
        "volume-export-attributes/policy",
        "volume-security-attributes/volume-security-unix-attributes/permissions",
        "volume-snapshot-attributes/snapshot-policy",
        "volume-snapshot-attributes/snapdir-access-enabled",
        "volume-autosize-attributes/mode",
    ] {
        assert!(has(r, p), "missing {p}: {}", r.to_xml());
    }
    for p in [
        "volume-space-attributes/size",
        "volume-space-attributes/size-used",
        "volume-space-attributes/percentage-snapshot-reserve",
        "volume-space-attributes/size-used-by-snapshots",
    ] {
        num(r, p);
    }
    assert!(
        ["true", "false"].contains(&txt(r, "volume-snapshot-attributes/snapdir-access-enabled"))
    );
}

fn octal(p: &str) -> u32 {
    u32::from_str_radix(p.trim(), 8).unwrap_or_else(|_| panic!("permissions {p:?} are not octal"))
}

#[tokio::test]
async fn trident_create_sequence_reads_back_every_field() {
    let mut z = Z::start(Some(CONFIG)).await;
    let name = "trident_pvc_6b8c1f3e_0a8e_4bd6_9a43_c6b3d1b4a2e1";
    // §3.1 step 1: the existence probe answers 13040 ("does not exist"), naming the volume.
    assert_failed(&z.svm(&probe(name)).await, 13040, name);
    let (used0, _, _) = z.aggr("aggr1").await;
    // Step 3: volume-create exactly as Trident sends it.
    z.create(name, "aggr1", "1073741824", "none").await;
    // Step 4: snapdir off, through volume-modify-iter.
    let r = z
        .ok(&modify_iter(
            &by_name(name),
            "<volume-snapshot-attributes><snapdir-access-enabled>false</snapdir-access-enabled></volume-snapshot-attributes>",
            "",
        ))
        .await;
    assert_eq!((num(&r, "num-succeeded"), num(&r, "num-failed")), (1, 0));
    // Step 5: mount at /<name>.
    z.ok(&mount(name, &format!("/{name}"))).await;
    // The probe now says "exists".
    z.ok(&probe(name)).await;

    // §3.3: VolumeInfo finds exactly one record with every §3.11 field.
    let recs = trident_info(&mut z, name).await;
    assert_eq!(recs.len(), 1);
    let v = &recs[0];
    assert_trident_fields(v);
    assert_eq!(txt(v, "volume-id-attributes/name"), name);
    assert_eq!(
        txt(v, "volume-id-attributes/containing-aggregate-name"),
        "aggr1"
    );
    assert_eq!(txt(v, "volume-id-attributes/type"), "rw");
    assert_eq!(txt(v, "volume-id-attributes/comment"), "");
    assert_eq!(txt(v, "volume-id-attributes/style-extended"), "flexvol");
    assert_eq!(
        txt(v, "volume-id-attributes/junction-path"),
        format!("/{name}")
    );
    assert_eq!(num(v, "volume-space-attributes/size"), GIB);
    assert_eq!(num(v, "volume-space-attributes/size-used"), 0);
    assert_eq!(
        num(v, "volume-space-attributes/percentage-snapshot-reserve"),
        0
    );
    assert_eq!(num(v, "volume-space-attributes/size-used-by-snapshots"), 0);
    assert_eq!(txt(v, "volume-space-attributes/space-guarantee"), "none");
    assert_eq!(txt(v, "volume-state-attributes/state"), "online");
    assert_eq!(txt(v, "volume-export-attributes/policy"), "default");
    assert_eq!(
        octal(txt(
            v,
            "volume-security-attributes/volume-security-unix-attributes/permissions"
        )),
        0o777
    );
    assert_eq!(txt(v, "volume-security-attributes/style"), "unix");
    assert_eq!(txt(v, "volume-snapshot-attributes/snapshot-policy"), "none");
    assert_eq!(
        txt(v, "volume-snapshot-attributes/snapdir-access-enabled"),
        "false"
    );
    assert_eq!(txt(v, "volume-comp-aggr-attributes/tiering-policy"), "none");
    // space-reserve none takes nothing from the aggregate.
    assert_eq!(z.aggr("aggr1").await.0, used0);

    // §3.10: the listing call, with Trident's desired-attributes; its status is checked.
    let r = z
        .ok("<volume-get-iter><max-records>100</max-records><query><volume-attributes><volume-id-attributes>\
             <name>trident_*</name><style-extended>flexvol</style-extended></volume-id-attributes>\
             <volume-state-attributes><state>online</state></volume-state-attributes></volume-attributes></query>\
             <desired-attributes><volume-attributes><volume-export-attributes><policy/></volume-export-attributes>\
             <volume-id-attributes><name/><comment/><containing-aggregate-name/></volume-id-attributes>\
             <volume-security-attributes><volume-security-unix-attributes><permissions/></volume-security-unix-attributes></volume-security-attributes>\
             <volume-space-attributes><size/><space-guarantee/></volume-space-attributes>\
             <volume-snapshot-attributes><snapdir-access-enabled/><snapshot-policy/></volume-snapshot-attributes>\
             </volume-attributes></desired-attributes></volume-get-iter>")
        .await;
    let recs = records(&r);
    assert_eq!(field(&recs, "volume-id-attributes/name"), [name]);
    assert_eq!(num(&recs[0], "volume-space-attributes/size"), GIB);
    assert!(!has(&recs[0], "volume-state-attributes"), "pruned");

    // A second create of the same name is refused, naming the volume; nothing changes.
    assert_failed(
        &z.svm(&trident_create(name, "aggr1", "2g", "volume")).await,
        13130,
        name,
    );
    assert_eq!(trident_info(&mut z, name).await.len(), 1);
    assert_eq!(z.aggr("aggr1").await.0, used0);
}

#[tokio::test]
async fn ansible_query_shape_create_resize_delete() {
    let mut z = Z::start(Some(CONFIG)).await;
    let q = "<volume-get-iter><query><volume-attributes><volume-id-attributes><name>vol1</name>\
             <vserver>svm1</vserver></volume-id-attributes></volume-attributes></query></volume-get-iter>";
    let r = z.ok(q).await;
    assert_eq!(r.child_text("num-records"), Some("0"));
    assert!(r.child("attributes-list").is_none());
    let (used0, _, _) = z.aggr("aggr1").await;
    z.ok("<volume-create><volume>vol1</volume><containing-aggr-name>aggr1</containing-aggr-name>\
          <size>10737418240</size><export-policy>default</export-policy><junction-path>/vol1</junction-path>\
          <volume-state>online</volume-state></volume-create>")
        .await;
    let r = z.ok(q).await;
    let recs = records(&r);
    assert_eq!(recs.len(), 1);
    let v = &recs[0];
    // The one field na_ontap_volume requires, and the others it reads.
    octal(txt(
        v,
        "volume-security-attributes/volume-security-unix-attributes/permissions",
    ));
    assert_eq!(txt(v, "volume-id-attributes/junction-path"), "/vol1");
    assert_eq!(txt(v, "volume-id-attributes/vserver"), "svm1");
    assert_eq!(txt(v, "volume-id-attributes/style-extended"), "flexvol");
    assert!(!txt(v, "volume-id-attributes/instance-uuid").is_empty());
    assert_eq!(txt(v, "volume-state-attributes/state"), "online");
    assert_eq!(num(v, "volume-space-attributes/size"), 10 * GIB);
    // ONTAP's defaults when Ansible sends no space-reserve or reserve percentage.
    assert_eq!(txt(v, "volume-space-attributes/space-guarantee"), "volume");
    assert_eq!(
        num(v, "volume-space-attributes/percentage-snapshot-reserve"),
        5
    );
    assert!(num(v, "volume-inode-attributes/files-total") > 0);
    assert_eq!(z.aggr("aggr1").await.0, used0 + 10 * GIB);

    // Resize: volume-get-iter -> sis-get-iter(path) -> volume-size.
    let r = z
        .ok("<sis-get-iter><query><sis-status-info><path>/vol/vol1</path></sis-status-info></query></sis-get-iter>")
        .await;
    assert_eq!(field(&records(&r), "path"), ["/vol/vol1"]);
    z.ok("<volume-size><volume>vol1</volume><new-size>21474836480</new-size></volume-size>")
        .await;
    assert_eq!(
        num(&z.must_vol("vol1").await, "volume-space-attributes/size"),
        20 * GIB
    );
    assert_eq!(z.aggr("aggr1").await.0, used0 + 20 * GIB);

    // Delete: volume-destroy with unmount-and-offline.
    z.ok(&destroy("vol1")).await;
    let r = z.ok(q).await;
    assert_eq!(r.child_text("num-records"), Some("0"));
    // The destroyed volume holds its space in the recovery queue until it is purged.
    assert_eq!(z.aggr("aggr1").await.0, used0 + 20 * GIB);
    purge(&mut z, "vol1").await;
    assert_eq!(z.aggr("aggr1").await.0, used0);
}

#[tokio::test]
async fn sizes_in_bytes_units_and_relative_forms() {
    let mut z = Z::start(Some(CONFIG)).await;
    z.create("sz", "aggr1", "1g", "none").await;
    let size = |v: &Element| num(v, "volume-space-attributes/size");
    assert_eq!(size(&z.must_vol("sz").await), GIB);
    let r = z.ok(&probe("sz")).await;
    assert_eq!(r.child_text("volume-size"), Some("1g"));

    let steps: &[(&str, u64, &str)] = &[
        ("+1g", 2 * GIB, "2g"),
        ("3221225472", 3 * GIB, "3g"),
        ("-1g", 2 * GIB, "2g"),
        ("512m", 512 << 20, "512m"),
        ("+512M", GIB, "1g"),
    ];
    for (req, bytes, shown) in steps {
        let r = z
            .ok(&format!(
                "<volume-size><volume>sz</volume><new-size>{req}</new-size></volume-size>"
            ))
            .await;
        assert_eq!(r.child_text("volume-size"), Some(*shown), "{req}");
        assert_eq!(size(&z.must_vol("sz").await), *bytes, "{req}");
    }
    // Refused resizes leave the size as it was.
    for (req, reason) in [
        ("10m", "minimum"),
        ("-5g", "-5g"),
        ("-1g", "minimum"),
        ("abc", "abc"),
        ("+200t", "maximum"),
        ("12q", "12q"),
    ] {
        let body = z
            .svm(&format!(
                "<volume-size><volume>sz</volume><new-size>{req}</new-size></volume-size>"
            ))
            .await;
        assert_failed(&body, 13115, reason);
        assert_eq!(size(&z.must_vol("sz").await), GIB, "{req}");
    }
    // Resizing a missing volume names it.
    assert_failed(
        &z.svm("<volume-size><volume>nope</volume><new-size>2g</new-size></volume-size>")
            .await,
        13040,
        "nope",
    );

    // Create accepts bytes and binary units, and refuses what is not a size or out of range.
    z.create("sz_bytes", "aggr1", "21474836480", "none").await;
    z.create("sz_min", "aggr1", "20m", "none").await;
    z.create("sz_frac", "aggr1", "1.5g", "none").await;
    assert_eq!(size(&z.must_vol("sz_bytes").await), 20 * GIB);
    assert_eq!(size(&z.must_vol("sz_min").await), 20 << 20);
    assert_eq!(size(&z.must_vol("sz_frac").await), 3 * GIB / 2);
    for (req, reason) in [
        ("abc", "abc"),
        ("0", "size"),
        ("1k", "minimum"),
        ("19m", "minimum"),
        ("200t", "maximum"),
        ("-1g", "size"),
        ("", "size"),
    ] {
        let body = z.svm(&trident_create("sz_bad", "aggr1", req, "none")).await;
        assert_failed(&body, 13115, reason);
        assert!(z.vol("sz_bad").await.is_none(), "{req:?} created a volume");
    }
}

#[tokio::test]
async fn space_accounting_follows_the_guarantee() {
    let mut z = Z::start(Some(CONFIG)).await;
    let (u0, a0, total) = z.aggr("aggr2").await;
    assert_eq!(total, 100 * GIB);
    assert_eq!(u0 + a0, total);

    z.create("thick", "aggr2", "10g", "volume").await;
    assert_eq!(z.aggr("aggr2").await, (u0 + 10 * GIB, a0 - 10 * GIB, total));
    z.create("thin", "aggr2", "10g", "none").await;
    assert_eq!(
        z.aggr("aggr2").await.0,
        u0 + 10 * GIB,
        "space-reserve none takes nothing"
    );

    z.ok("<volume-size><volume>thick</volume><new-size>+5g</new-size></volume-size>")
        .await;
    assert_eq!(z.aggr("aggr2").await.0, u0 + 15 * GIB);
    z.ok("<volume-size><volume>thin</volume><new-size>30g</new-size></volume-size>")
        .await;
    assert_eq!(z.aggr("aggr2").await.0, u0 + 15 * GIB);

    // Switching the guarantee charges or releases the whole size.
    let guarantee = |g: &str| {
        modify_iter(
            &by_name("thin"),
            &format!("<volume-space-attributes><space-guarantee>{g}</space-guarantee></volume-space-attributes>"),
            "",
        )
    };
    let r = z.ok(&guarantee("volume")).await;
    assert_eq!(num(&r, "num-succeeded"), 1);
    assert_eq!(z.aggr("aggr2").await.0, u0 + 45 * GIB);
    assert_eq!(
        txt(
            &z.must_vol("thin").await,
            "volume-space-attributes/space-guarantee"
        ),
        "volume"
    );
    z.ok(&guarantee("none")).await;
    assert_eq!(z.aggr("aggr2").await.0, u0 + 15 * GIB);

    // aggr-space-get-iter agrees, with the six fields Trident reads under limitAggregateUsage.
    let r = assert_passed(
        &z.cluster("<aggr-space-get-iter><query><space-information><aggregate>aggr2</aggregate></space-information></query></aggr-space-get-iter>")
            .await,
    );
    let recs = records(&r);
    assert_eq!(recs.len(), 1);
    let s = &recs[0];
    assert_eq!(txt(s, "aggregate"), "aggr2");
    assert_eq!(num(s, "aggregate-size"), total);
    assert_eq!(num(s, "volume-footprints"), u0 + 15 * GIB);
    num(s, "volume-footprints-percent");
    assert_eq!(num(s, "used-including-snapshot-reserve"), u0 + 15 * GIB);
    num(s, "used-including-snapshot-reserve-percent");

    // Destroy holds the space in the recovery queue; the purge gives it back.
    z.ok(&destroy("thick")).await;
    assert_eq!(z.aggr("aggr2").await.0, u0 + 15 * GIB);
    purge(&mut z, "thick").await;
    assert_eq!(z.aggr("aggr2").await.0, u0);
    z.ok(&destroy("thin")).await;
    purge(&mut z, "thin").await;
    assert_eq!(z.aggr("aggr2").await, (u0, a0, total));
}

#[tokio::test]
async fn out_of_space_requests_fail_and_change_nothing() {
    let mut z = Z::start(Some(CONFIG)).await;
    let before = z.aggr("aggr2").await;
    let body = z
        .svm(&trident_create("huge", "aggr2", "101g", "volume"))
        .await;
    assert_failed(&body, 13001, "aggr2");
    assert_eq!(z.aggr("aggr2").await, before);
    assert!(z.vol("huge").await.is_none());
    assert_failed(&z.svm(&probe("huge")).await, 13040, "huge");

    z.create("big", "aggr2", "90g", "volume").await;
    let after_big = z.aggr("aggr2").await;
    assert_eq!(after_big.0, before.0 + 90 * GIB);
    assert_failed(
        &z.svm(&trident_create("more", "aggr2", "20g", "volume"))
            .await,
        13001,
        "aggr2",
    );
    assert_eq!(z.aggr("aggr2").await, after_big);
    // Thin provisioning over-commits freely.
    z.create("thin_big", "aggr2", "500g", "none").await;
    assert_eq!(z.aggr("aggr2").await, after_big);

    // A resize that does not fit fails and keeps the old size.
    assert_failed(
        &z.svm("<volume-size><volume>big</volume><new-size>110g</new-size></volume-size>")
            .await,
        13001,
        "aggr2",
    );
    assert_eq!(
        num(&z.must_vol("big").await, "volume-space-attributes/size"),
        90 * GIB
    );
    assert_eq!(z.aggr("aggr2").await, after_big);

    // A clone of a thick parent needs the parent's size; without room it fails and leaves no
    // clone and no implicit snapshot behind.
    assert_failed(
        &z.svm("<volume-clone-create><parent-volume>big</parent-volume><volume>big_clone</volume></volume-clone-create>")
            .await,
        13001,
        "aggr2",
    );
    assert!(z.vol("big_clone").await.is_none());
    assert!(
        z.snaps("big").await.is_empty(),
        "the implicit snapshot was left behind"
    );
    assert_eq!(z.aggr("aggr2").await, after_big);

    // volume-modify-iter over two thin volumes: the first fits, the second does not.
    z.create("mx_1", "aggr2", "8g", "none").await;
    z.create("mx_2", "aggr2", "8g", "none").await;
    let r = z
        .ok(&modify_iter(
            "<volume-id-attributes><name>mx_*</name></volume-id-attributes>",
            "<volume-space-attributes><space-guarantee>volume</space-guarantee></volume-space-attributes>",
            "<continue-on-failure>true</continue-on-failure>",
        ))
        .await;
    assert_eq!((num(&r, "num-succeeded"), num(&r, "num-failed")), (1, 1));
    let ok = at(&r, "success-list/volume-modify-iter-info");
    assert_eq!(
        txt(ok, "volume-key/volume-attributes/volume-id-attributes/name"),
        "mx_1"
    );
    let bad = at(&r, "failure-list/volume-modify-iter-info");
    assert_eq!(
        txt(
            bad,
            "volume-key/volume-attributes/volume-id-attributes/name"
        ),
        "mx_2"
    );
    assert_eq!(num(bad, "error-code"), 13001);
    assert!(
        txt(bad, "error-message").contains("aggr2"),
        "{}",
        bad.to_xml()
    );
    assert_eq!(z.aggr("aggr2").await.0, after_big.0 + 8 * GIB);
    assert_eq!(
        txt(
            &z.must_vol("mx_2").await,
            "volume-space-attributes/space-guarantee"
        ),
        "none"
    );
}

#[tokio::test]
async fn duplicate_and_invalid_names_and_references() {
    let mut z = Z::start(Some(CONFIG)).await;
    z.create("dup", "aggr1", "1g", "none").await;
    assert_failed(
        &z.svm(&trident_create("dup", "aggr2", "1g", "none")).await,
        13130,
        "dup",
    );
    assert_eq!(
        txt(
            &z.must_vol("dup").await,
            "volume-id-attributes/containing-aggregate-name"
        ),
        "aggr1"
    );
    let long_ok = format!("v{}", "x".repeat(202));
    z.create(&long_ok, "aggr1", "1g", "none").await;
    let long_bad = format!("v{}", "x".repeat(203));
    for bad in ["1vol", "vol-1", "vol.1", "vol 1", "", long_bad.as_str()] {
        let body = z.svm(&trident_create(bad, "aggr1", "1g", "none")).await;
        assert_failed(&body, 13115, "Invalid volume name");
    }
    // References to things that do not exist, or are not the SVM's, are named.
    assert_failed(
        &z.svm(&trident_create("r1", "nope", "1g", "none")).await,
        14420,
        "nope",
    );
    let body = z.svm(&trident_create("r1", "aggr3", "1g", "none")).await;
    let (status, _, reason) = results(&body);
    assert_eq!(status, "failed");
    assert!(reason.unwrap_or_default().contains("aggr3"), "{body}");
    assert_failed(
        &z.svm(&trident_create("r1", "aggr1", "1g", "none").replace(">default<", ">nopolicy<"))
            .await,
        15661,
        "nopolicy",
    );
    assert_failed(
        &z.svm(
            &trident_create("r1", "aggr1", "1g", "none")
                .replace("<snapshot-policy>none<", "<snapshot-policy>hourly_x<"),
        )
        .await,
        15661,
        "hourly_x",
    );
    assert_failed(
        &z.svm(&trident_create("r1", "aggr1", "1g", "thick")).await,
        13115,
        "thick",
    );
    assert_failed(
        &z.svm(&trident_create("r1", "aggr1", "1g", "none").replace("---rwxrwxrwx", "rwxrwxrwz"))
            .await,
        13115,
        "rwxrwxrwz",
    );
    assert_failed(
        &z.svm("<volume-create><volume>r1</volume><containing-aggr-name>aggr1</containing-aggr-name></volume-create>")
            .await,
        13115,
        "Missing input: size",
    );
    assert!(z.vol("r1").await.is_none());
}

#[tokio::test]
async fn junction_paths_are_unique_and_nest() {
    let mut z = Z::start(Some(CONFIG)).await;
    for v in ["j1", "j2", "j3"] {
        z.create(v, "aggr1", "1g", "none").await;
    }
    z.ok(&mount("j1", "/j1")).await;
    // The same path twice is refused, naming the volume that holds it.
    let body = z.svm(&mount("j2", "/j1")).await;
    assert_failed(&body, 13130, "j1");
    assert!(!has(
        &z.must_vol("j2").await,
        "volume-id-attributes/junction-path"
    ));
    // The root "/" is the SVM root volume's.
    assert_failed(&z.svm(&mount("j2", "/")).await, 13130, "svm1_root");
    // Nested below another volume.
    z.ok(&mount("j2", "/j1/j2")).await;
    let v2 = z.must_vol("j2").await;
    assert_eq!(txt(&v2, "volume-id-attributes/junction-path"), "/j1/j2");
    // Malformed paths.
    for bad in ["j3", "/j3/", "//j3", "/a/../j3", ""] {
        let body = z.svm(&mount("j3", bad)).await;
        let (status, errno, _) = results(&body);
        assert_eq!(status, "failed", "{bad:?}: {body}");
        assert_eq!(errno, Some(13115), "{bad:?}: {body}");
    }
    // A mounted volume is mounted once.
    z.ok(&mount("j3", "/j3")).await;
    assert_failed(&z.svm(&mount("j3", "/other")).await, 13115, "/j3");
    z.ok(&mount("j3", "/j3")).await; // idempotent at the same path

    // A volume with another mounted beneath it cannot be unmounted, taken offline or destroyed.
    assert_failed(
        &z.svm("<volume-unmount><volume-name>j1</volume-name></volume-unmount>")
            .await,
        13001,
        "j2",
    );
    let body = z
        .svm("<volume-offline><name>j1</name></volume-offline>")
        .await;
    assert_eq!(results(&body).0, "failed", "{body}");
    assert_eq!(
        txt(&z.must_vol("j1").await, "volume-state-attributes/state"),
        "online"
    );
    let body = z.svm(&destroy("j1")).await;
    assert_failed(&body, 13001, "j2");
    assert!(z.vol("j1").await.is_some());

    // Bottom-up unmount works; unmounting twice is 14716.
    z.ok("<volume-unmount><volume-name>j2</volume-name></volume-unmount>")
        .await;
    assert_failed(
        &z.svm("<volume-unmount><volume-name>j2</volume-name></volume-unmount>")
            .await,
        14716,
        "j2",
    );
    z.ok("<volume-unmount><volume-name>j1</volume-name></volume-unmount>")
        .await;
    assert!(!has(
        &z.must_vol("j1").await,
        "volume-id-attributes/junction-path"
    ));
    // The freed path can be reused by another volume.
    z.ok(&mount("j2", "/j1")).await;
    assert_failed(
        &z.svm("<volume-unmount><volume-name>nope</volume-name></volume-unmount>")
            .await,
        13040,
        "nope",
    );
}

#[tokio::test]
async fn offline_online_restrict_and_trident_visibility() {
    let mut z = Z::start(Some(CONFIG)).await;
    z.create("st", "aggr1", "1g", "none").await;
    z.ok(&mount("st", "/st")).await;
    assert_eq!(trident_info(&mut z, "st").await.len(), 1);

    z.ok("<volume-offline><name>st</name></volume-offline>")
        .await;
    let v = z.must_vol("st").await;
    assert_eq!(txt(&v, "volume-state-attributes/state"), "offline");
    assert!(
        !has(&v, "volume-id-attributes/junction-path"),
        "offline unmounts"
    );
    // Offline volumes are invisible to Trident's state=online query.
    assert!(trident_info(&mut z, "st").await.is_empty());
    // Offline twice: 13042, which Trident's FlexGroup delete treats as done.
    assert_failed(
        &z.svm("<volume-offline><name>st</name></volume-offline>")
            .await,
        13042,
        "st",
    );
    // What an offline volume refuses.
    assert_failed(&z.svm(&mount("st", "/st")).await, 13042, "st");
    assert_failed(
        &z.svm("<volume-size><volume>st</volume><new-size>2g</new-size></volume-size>")
            .await,
        13042,
        "st",
    );
    assert_failed(
        &z.svm("<snapshot-create><snapshot>s</snapshot><volume>st</volume></snapshot-create>")
            .await,
        13042,
        "st",
    );
    // Online again: not remounted.
    z.ok("<volume-online><name>st</name></volume-online>").await;
    let v = z.must_vol("st").await;
    assert_eq!(txt(&v, "volume-state-attributes/state"), "online");
    assert!(!has(&v, "volume-id-attributes/junction-path"));
    assert_eq!(trident_info(&mut z, "st").await.len(), 1);
    z.ok("<volume-online><name>st</name></volume-online>").await;

    z.ok("<volume-restrict><name>st</name></volume-restrict>")
        .await;
    assert_eq!(
        txt(&z.must_vol("st").await, "volume-state-attributes/state"),
        "restricted"
    );
    assert!(trident_info(&mut z, "st").await.is_empty());
    z.ok("<volume-online><name>st</name></volume-online>").await;
    for api in ["volume-offline", "volume-online", "volume-restrict"] {
        assert_failed(
            &z.svm(&format!("<{api}><name>nope</name></{api}>")).await,
            13040,
            "nope",
        );
    }
    // The SVM root stays online.
    let body = z
        .svm("<volume-offline><name>svm1_root</name></volume-offline>")
        .await;
    assert_eq!(results(&body).0, "failed");
}

#[tokio::test]
async fn destroy_needs_offline_or_unmount_and_offline() {
    let mut z = Z::start(Some(CONFIG)).await;
    z.create("d1", "aggr1", "1g", "volume").await;
    z.ok(&mount("d1", "/d1")).await;
    let (used, _, _) = z.aggr("aggr1").await;
    // Online, without unmount-and-offline: refused, naming the volume; it must not look like
    // 13040, which Trident reads as "already gone".
    let body = z
        .svm("<volume-destroy><name>d1</name></volume-destroy>")
        .await;
    assert_failed(&body, 13001, "d1");
    let body = z
        .svm("<volume-destroy><name>d1</name><unmount-and-offline>false</unmount-and-offline></volume-destroy>")
        .await;
    assert_failed(&body, 13001, "offline");
    assert_eq!(
        txt(
            &z.must_vol("d1").await,
            "volume-id-attributes/junction-path"
        ),
        "/d1"
    );
    assert_eq!(z.aggr("aggr1").await.0, used);
    // With it: gone; the space comes back when the recovery queue is purged.
    z.ok(&destroy("d1")).await;
    assert!(z.vol("d1").await.is_none());
    assert_eq!(z.aggr("aggr1").await.0, used);
    purge(&mut z, "d1").await;
    assert_eq!(z.aggr("aggr1").await.0, used - GIB);
    assert_failed(&z.svm(&probe("d1")).await, 13040, "d1");
    // Again: 13040, which Trident's Destroy accepts.
    assert_failed(&z.svm(&destroy("d1")).await, 13040, "d1");
    // An offline volume can be destroyed without the flag.
    z.create("d2", "aggr1", "1g", "none").await;
    z.ok("<volume-offline><name>d2</name></volume-offline>")
        .await;
    z.ok("<volume-destroy><name>d2</name></volume-destroy>")
        .await;
    assert!(z.vol("d2").await.is_none());
    // The SVM root cannot be destroyed.
    let body = z.svm(&destroy("svm1_root")).await;
    assert_eq!(results(&body).0, "failed");
}

#[tokio::test]
async fn trident_destroy_sequence_and_recovery_queue() {
    let mut z = Z::start(Some(CONFIG)).await;
    let name = "trident_pvc_rq";
    z.create(name, "aggr1", "1g", "none").await;
    z.ok(&mount(name, &format!("/{name}"))).await;
    // §3.7: probe, snapmirror-destroy (15661 is fine), snapmirror-release (19068 is fine),
    // snapmirror-get-destination-iter (no records), volume-destroy.
    z.ok(&probe(name)).await;
    assert_failed(
        &z.svm(&format!("<snapmirror-destroy><destination-location>svm1:{name}</destination-location></snapmirror-destroy>"))
            .await,
        15661,
        name,
    );
    assert_failed(
        &z.svm(&format!("<snapmirror-release><destination-location>svm1:{name}</destination-location><relationship-info-only>true</relationship-info-only></snapmirror-release>"))
            .await,
        19068,
        name,
    );
    let r = z
        .ok(&format!("<snapmirror-get-destination-iter><query><snapmirror-destination-info><source-location>svm1:{name}</source-location></snapmirror-destination-info></query></snapmirror-get-destination-iter>"))
        .await;
    assert_eq!(r.child_text("num-records"), Some("0"));
    z.ok(&destroy(name)).await;

    // skipRecoveryQueue: list with Trident's query, expect one record, purge it.
    let rq_query = format!(
        "<volume-recovery-queue-get-iter><query><volume-recovery-queue-info><volume-name>{name}*</volume-name>\
         <vserver-name>svm1</vserver-name></volume-recovery-queue-info></query></volume-recovery-queue-get-iter>"
    );
    let r = z.ok(&rq_query).await;
    let recs = records(&r);
    assert_eq!(recs.len(), 1, "{}", r.to_xml());
    let rq_name = txt(&recs[0], "volume-name").to_string();
    assert!(rq_name.starts_with(&format!("{name}_")), "{rq_name}");
    assert_eq!(num(&recs[0], "volume-size"), GIB);
    assert_eq!(txt(&recs[0], "vserver-name"), "svm1");
    // The cluster view lists it too.
    let r = assert_passed(&z.cluster("<volume-recovery-queue-get-iter/>").await);
    assert!(field(&records(&r), "volume-name").contains(&rq_name));

    z.ok(&format!("<volume-recovery-queue-purge><volume-name>{rq_name}</volume-name></volume-recovery-queue-purge>"))
        .await;
    let r = z.ok(&rq_query).await;
    assert_eq!(r.child_text("num-records"), Some("0"));
    assert_failed(
        &z.svm(&format!("<volume-recovery-queue-purge><volume-name>{rq_name}</volume-name></volume-recovery-queue-purge>"))
            .await,
        15661,
        &rq_name,
    );
    assert_failed(
        &z.svm("<volume-recovery-queue-purge><volume-name>never_1</volume-name></volume-recovery-queue-purge>")
            .await,
        15661,
        "never_1",
    );
    // The name is free again.
    z.create(name, "aggr1", "1g", "none").await;
}

#[tokio::test]
async fn rename_keeps_junction_path_and_clone_links() {
    let mut z = Z::start(Some(CONFIG)).await;
    z.create("rp", "aggr1", "1g", "none").await;
    z.ok(&mount("rp", "/rp")).await;
    z.ok("<snapshot-create><snapshot>s1</snapshot><volume>rp</volume></snapshot-create>")
        .await;
    z.ok("<volume-clone-create><parent-snapshot>s1</parent-snapshot><parent-volume>rp</parent-volume><volume>rc</volume></volume-clone-create>")
        .await;
    z.ok("<qtree-create><qtree>q1</qtree><volume>rp</volume></qtree-create>")
        .await;

    z.ok(
        "<volume-rename><new-volume-name>rp2</new-volume-name><volume>rp</volume></volume-rename>",
    )
    .await;
    assert!(z.vol("rp").await.is_none());
    assert_failed(&z.svm(&probe("rp")).await, 13040, "rp");
    let p = z.must_vol("rp2").await;
    assert_eq!(txt(&p, "volume-id-attributes/junction-path"), "/rp");
    let c = z.must_vol("rc").await;
    assert_eq!(
        txt(
            &c,
            "volume-clone-attributes/volume-clone-parent-attributes/name"
        ),
        "rp2"
    );
    assert_eq!(
        txt(
            &c,
            "volume-clone-attributes/volume-clone-parent-attributes/snapshot-name"
        ),
        "s1"
    );
    // The snapshot is still busy under the new name, and qtrees moved with the volume.
    assert_failed(
        &z.svm("<snapshot-delete><snapshot>s1</snapshot><volume>rp2</volume></snapshot-delete>")
            .await,
        13024,
        "rc",
    );
    let q = z
        .list(
            "qtree-list-iter",
            "<qtree-info><volume>rp2</volume><qtree>q1</qtree></qtree-info>",
        )
        .await;
    assert_eq!(q.len(), 1);
    // Renaming the clone: the dependency follows it.
    z.ok(
        "<volume-rename><new-volume-name>rc2</new-volume-name><volume>rc</volume></volume-rename>",
    )
    .await;
    assert_failed(
        &z.svm("<snapshot-delete><snapshot>s1</snapshot><volume>rp2</volume></snapshot-delete>")
            .await,
        13024,
        "rc2",
    );
    // Refusals.
    z.create("other", "aggr1", "1g", "none").await;
    assert_failed(
        &z.svm("<volume-rename><new-volume-name>other</new-volume-name><volume>rp2</volume></volume-rename>").await,
        13130,
        "other",
    );
    assert_failed(
        &z.svm("<volume-rename><new-volume-name>x1</new-volume-name><volume>nope</volume></volume-rename>").await,
        13040,
        "nope",
    );
    assert_failed(
        &z.svm("<volume-rename><new-volume-name>bad-name</new-volume-name><volume>rp2</volume></volume-rename>").await,
        13115,
        "bad-name",
    );
    assert!(z.vol("rp2").await.is_some());
}

#[tokio::test]
async fn modify_iter_reports_success_and_failure_lists() {
    let mut z = Z::start(Some(CONFIG)).await;
    for v in ["mv_a", "mv_b", "mv_c"] {
        z.create(v, "aggr1", "1g", "none").await;
    }
    let all = "<volume-id-attributes><name>mv_*</name></volume-id-attributes>";
    let r = z
        .ok(&modify_iter(
            all,
            "<volume-id-attributes><comment>{\"provisioning\":{}}</comment></volume-id-attributes>",
            "",
        ))
        .await;
    assert_eq!((num(&r, "num-succeeded"), num(&r, "num-failed")), (3, 0));
    let names: Vec<String> = at(&r, "success-list")
        .children
        .iter()
        .map(|i| txt(i, "volume-key/volume-attributes/volume-id-attributes/name").to_string())
        .collect();
    assert_eq!(names, ["mv_a", "mv_b", "mv_c"]);
    for v in ["mv_a", "mv_b", "mv_c"] {
        assert_eq!(
            txt(&z.must_vol(v).await, "volume-id-attributes/comment"),
            "{\"provisioning\":{}}"
        );
    }
    // Several attributes at once, as Trident's import does.
    z.ok(&modify_iter(
        &by_name("mv_a"),
        "<volume-security-attributes><volume-security-unix-attributes><permissions>0750</permissions></volume-security-unix-attributes></volume-security-attributes>\
         <volume-snapshot-attributes><snapshot-policy>default</snapshot-policy></volume-snapshot-attributes>",
        "",
    ))
    .await;
    let a = z.must_vol("mv_a").await;
    assert_eq!(
        octal(txt(
            &a,
            "volume-security-attributes/volume-security-unix-attributes/permissions"
        )),
        0o750
    );
    assert_eq!(
        txt(&a, "volume-snapshot-attributes/snapshot-policy"),
        "default"
    );

    // No match: passed, nothing done.
    let r = z
        .ok(&modify_iter(
            &by_name("none_*"),
            "<volume-id-attributes><comment>x</comment></volume-id-attributes>",
            "",
        ))
        .await;
    assert_eq!((num(&r, "num-succeeded"), num(&r, "num-failed")), (0, 0));

    // A per-volume failure is reported in failure-list with its errno; without
    // continue-on-failure the first failure stops the run.
    let bad_policy =
        "<volume-export-attributes><policy>missing_pol</policy></volume-export-attributes>";
    let r = z.ok(&modify_iter(all, bad_policy, "")).await;
    assert_eq!((num(&r, "num-succeeded"), num(&r, "num-failed")), (0, 1));
    let f = at(&r, "failure-list/volume-modify-iter-info");
    assert_eq!(num(f, "error-code"), 15661);
    assert!(txt(f, "error-message").contains("missing_pol"));
    let r = z
        .ok(&modify_iter(
            all,
            bad_policy,
            "<continue-on-failure>true</continue-on-failure>",
        ))
        .await;
    assert_eq!((num(&r, "num-succeeded"), num(&r, "num-failed")), (0, 3));
    let r = z
        .ok(&modify_iter(
            all,
            bad_policy,
            "<continue-on-failure>true</continue-on-failure><max-failure-count>2</max-failure-count>",
        ))
        .await;
    assert_eq!(num(&r, "num-failed"), 2);
    assert_eq!(
        txt(&z.must_vol("mv_b").await, "volume-export-attributes/policy"),
        "default"
    );

    // Attributes that cannot be modified, and malformed templates, fail the whole call.
    assert_failed(
        &z.svm(&modify_iter(
            all,
            "<volume-id-attributes><name>x</name></volume-id-attributes>",
            "",
        ))
        .await,
        13115,
        "volume-id-attributes/name",
    );
    assert_failed(
        &z.svm("<volume-modify-iter><query><volume-info/></query><attributes><volume-attributes/></attributes></volume-modify-iter>")
            .await,
        13115,
        "query",
    );
    assert_failed(
        &z.svm(&modify_iter(all, "<volume-snapshot-attributes><snapdir-access-enabled>maybe</snapdir-access-enabled></volume-snapshot-attributes>", ""))
            .await,
        13115,
        "maybe",
    );
}

/// The job an async call left, as Trident polls it: cluster context, query job-info/job-id.
async fn job_state(z: &mut Z, id: &str) -> String {
    let r = assert_passed(
        &z.cluster(&format!(
            "<job-get-iter><query><job-info><job-id>{id}</job-id></job-info></query></job-get-iter>"
        ))
        .await,
    );
    let recs = records(&r);
    assert_eq!(recs.len(), 1, "job {id}: {}", r.to_xml());
    txt(&recs[0], "job-state").to_string()
}

#[tokio::test]
async fn async_variants_return_jobs_that_succeed() {
    let mut z = Z::start(Some(CONFIG)).await;
    let r = z
        .ok("<volume-create-async><aggr-list><aggr-name>aggr1</aggr-name></aggr-list><size>1073741824</size>\
             <space-reserve>none</space-reserve><junction-path>/as1</junction-path><volume-name>as1</volume-name></volume-create-async>")
        .await;
    assert_eq!(r.child_text("result-status"), Some("in_progress"));
    let create_job = txt(&r, "result-jobid").to_string();
    assert_eq!(job_state(&mut z, &create_job).await, "success");
    let v = z.must_vol("as1").await;
    assert_eq!(num(&v, "volume-space-attributes/size"), GIB);
    assert_eq!(txt(&v, "volume-id-attributes/junction-path"), "/as1");

    let r = z
        .ok("<volume-size-async><new-size>2147483648</new-size><volume-name>as1</volume-name></volume-size-async>")
        .await;
    assert_eq!(r.child_text("result-status"), Some("in_progress"));
    let size_job = txt(&r, "result-jobid").to_string();
    assert_ne!(size_job, create_job);
    assert_eq!(job_state(&mut z, &size_job).await, "success");
    assert_eq!(
        num(&z.must_vol("as1").await, "volume-space-attributes/size"),
        2 * GIB
    );

    let r = z
        .ok(&modify_iter(
            &by_name("as1"),
            "<volume-id-attributes><comment>c</comment></volume-id-attributes>",
            "",
        )
        .replace("volume-modify-iter>", "volume-modify-iter-async>"))
        .await;
    let info = at(&r, "success-list/volume-modify-iter-async-info");
    assert_eq!(txt(info, "status"), "in_progress");
    let modify_job = txt(info, "jobid").to_string();
    assert_eq!(job_state(&mut z, &modify_job).await, "success");
    assert_eq!(
        txt(&z.must_vol("as1").await, "volume-id-attributes/comment"),
        "c"
    );

    let r = z
        .ok("<volume-destroy-async><unmount-and-offline>true</unmount-and-offline><volume-name>as1</volume-name></volume-destroy-async>")
        .await;
    assert_eq!(r.child_text("result-status"), Some("in_progress"));
    let destroy_job = txt(&r, "result-jobid").to_string();
    assert_eq!(job_state(&mut z, &destroy_job).await, "success");
    assert!(z.vol("as1").await.is_none());

    // Refusals fail the call itself.
    z.create("as2", "aggr1", "1g", "none").await;
    assert_failed(
        &z.svm("<volume-create-async><aggr-list><aggr-name>aggr1</aggr-name></aggr-list><size>1073741824</size><volume-name>as2</volume-name></volume-create-async>")
            .await,
        13130,
        "as2",
    );
    assert_failed(
        &z.svm("<volume-destroy-async><unmount-and-offline>true</unmount-and-offline><volume-name>nope</volume-name></volume-destroy-async>")
            .await,
        13040,
        "nope",
    );
    assert_failed(
        &z.svm("<volume-size-async><new-size>1t</new-size><volume-name>nope</volume-name></volume-size-async>").await,
        13040,
        "nope",
    );
    // A job id that never existed lists nothing.
    let r = assert_passed(
        &z.cluster("<job-get-iter><query><job-info><job-id>999999</job-id></job-info></query></job-get-iter>").await,
    );
    assert_eq!(r.child_text("num-records"), Some("0"));
}

/// Page through `volume-get-iter` for `pg_*`, calling `between` after each page.
#[tokio::test]
async fn paging_visits_each_volume_once_while_volumes_change() {
    let mut z = Z::start(Some(CONFIG)).await;
    let originals: Vec<String> = (0..25).map(|i| format!("pg_{i:02}")).collect();
    for v in &originals {
        z.create(v, "aggr1", "1g", "none").await;
    }
    let mut seen: Vec<String> = Vec::new();
    let mut tag: Option<String> = None;
    let mut pages = 0;
    let mut destroyed = None;
    loop {
        pages += 1;
        assert!(pages < 20, "paging does not end");
        let tag_el = tag
            .as_ref()
            .map(|t| format!("<tag>{}</tag>", quick_xml::escape::escape(t)))
            .unwrap_or_default();
        let r = z
            .ok(&format!(
                "<volume-get-iter><max-records>7</max-records>{tag_el}<query><volume-attributes><volume-id-attributes>\
                 <name>pg_*</name></volume-id-attributes></volume-attributes></query></volume-get-iter>"
            ))
            .await;
        let page = field(&records(&r), "volume-id-attributes/name");
        assert_eq!(num(&r, "num-records") as usize, page.len());
        assert!(page.len() <= 7);
        seen.extend(page.iter().cloned());
        match r.child_text("next-tag") {
            None => break,
            Some(t) => {
                assert_eq!(page.len(), 7, "a short page must be the last");
                tag = Some(t.to_string());
            }
        }
        match pages {
            // Between pages 1 and 2: one volume sorting before the tag, one after.
            1 => {
                z.create("pg_000", "aggr1", "1g", "none").await;
                z.create("pg_zz", "aggr1", "1g", "none").await;
            }
            // Between pages 2 and 3: destroy the very record the tag points at.
            2 => {
                let last = page.last().unwrap().clone();
                z.ok(&destroy(&last)).await;
                destroyed = Some(last);
            }
            _ => {}
        }
    }
    assert!(destroyed.is_some());
    for v in &originals {
        assert_eq!(
            seen.iter().filter(|s| *s == v).count(),
            1,
            "{v} in {seen:?}"
        );
    }
    assert_eq!(seen.iter().filter(|s| *s == "pg_zz").count(), 1, "{seen:?}");
    assert!(seen.iter().filter(|s| *s == "pg_000").count() <= 1);
    let mut dedup = seen.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(
        dedup.len(),
        seen.len(),
        "a record was returned twice: {seen:?}"
    );

    // Without max-records ONTAP's default page applies, and next-tag says there is more.
    let r = z
        .ok("<volume-get-iter><query><volume-attributes><volume-id-attributes><name>pg_*</name></volume-id-attributes></volume-attributes></query></volume-get-iter>")
        .await;
    assert!(records(&r).len() < 26);
    assert!(r.child("next-tag").is_some());
    // Exactly max-records matching: no next-tag on the only page (Trident would loop otherwise).
    let r = z
        .ok("<volume-get-iter><max-records>3</max-records><query><volume-attributes><volume-id-attributes><name>pg_0[0-2]|pg_00|pg_01|pg_02</name></volume-id-attributes></volume-attributes></query></volume-get-iter>")
        .await;
    assert_eq!(records(&r).len(), 3);
    assert!(r.child("next-tag").is_none(), "{}", r.to_xml());
}

#[tokio::test]
async fn desired_attributes_prune_after_the_query_filters() {
    let mut z = Z::start(Some(CONFIG)).await;
    z.create("da_on", "aggr1", "1g", "none").await;
    z.create("da_off", "aggr2", "2g", "none").await;
    z.ok("<volume-offline><name>da_off</name></volume-offline>")
        .await;
    let r = z
        .ok("<volume-get-iter><query><volume-attributes><volume-id-attributes><name>da_*</name></volume-id-attributes>\
             <volume-state-attributes><state>offline</state></volume-state-attributes></volume-attributes></query>\
             <desired-attributes><volume-attributes><volume-id-attributes><name/><containing-aggregate-name/></volume-id-attributes>\
             <volume-space-attributes><size/></volume-space-attributes></volume-attributes></desired-attributes></volume-get-iter>")
        .await;
    let recs = records(&r);
    assert_eq!(recs.len(), 1);
    let v = &recs[0];
    let groups: Vec<&str> = v.children.iter().map(|c| c.name.as_ref()).collect();
    assert_eq!(groups, ["volume-id-attributes", "volume-space-attributes"]);
    let mut id: Vec<&str> = at(v, "volume-id-attributes")
        .children
        .iter()
        .map(|c| c.name.as_ref())
        .collect();
    id.sort();
    assert_eq!(id, ["containing-aggregate-name", "name"]);
    assert_eq!(txt(v, "volume-id-attributes/name"), "da_off");
    assert_eq!(
        txt(v, "volume-id-attributes/containing-aggregate-name"),
        "aggr2"
    );
    let space: Vec<&str> = at(v, "volume-space-attributes")
        .children
        .iter()
        .map(|c| c.name.as_ref())
        .collect();
    assert_eq!(space, ["size"]);
    assert_eq!(num(v, "volume-space-attributes/size"), 2 * GIB);
}

#[tokio::test]
async fn wildcard_alternation_and_negation_queries() {
    let mut z = Z::start(Some(CONFIG)).await;
    z.create("trident_a", "aggr1", "1g", "none").await;
    z.create("trident_b", "aggr2", "1g", "none").await;
    z.create("other_c", "aggr2", "1g", "none").await;
    let names = |recs: Vec<Element>| {
        let mut n = field(&recs, "volume-id-attributes/name");
        n.sort();
        n
    };
    let q = |id: &str| {
        format!("<volume-attributes><volume-id-attributes>{id}</volume-id-attributes></volume-attributes>")
    };
    let r = z
        .list("volume-get-iter", &q("<name>trident_*</name>"))
        .await;
    assert_eq!(names(r), ["trident_a", "trident_b"]);
    let r = z
        .list("volume-get-iter", &q("<name>trident_a|other_c</name>"))
        .await;
    assert_eq!(names(r), ["other_c", "trident_a"]);
    let r = z
        .list(
            "volume-get-iter",
            &q("<containing-aggregate-name>aggr1|aggr2</containing-aggregate-name>"),
        )
        .await;
    assert_eq!(names(r), ["other_c", "svm1_root", "trident_a", "trident_b"]);
    let r = z
        .list(
            "volume-get-iter",
            &q("<containing-aggregate-name>!aggr1</containing-aggregate-name>"),
        )
        .await;
    assert_eq!(names(r), ["other_c", "trident_b"]);
    let r = z
        .list(
            "volume-get-iter",
            &q("<name>*_b</name><containing-aggregate-name>aggr2</containing-aggregate-name>"),
        )
        .await;
    assert_eq!(names(r), ["trident_b"]);
    let r = z.list("volume-get-iter", &q("<name>nomatch*</name>")).await;
    assert!(r.is_empty());
    // A query template of the wrong record type is refused.
    assert_failed(
        &z.svm("<volume-get-iter><query><vserver-info/></query></volume-get-iter>")
            .await,
        13115,
        "volume-attributes",
    );
}

#[tokio::test]
async fn mirror_destination_mount_is_an_api_error() {
    // §3.1 step 5 and §1.8: mounting a DP volume that is not yet initialized fails with 13001
    // (EAPIERROR), which Trident turns into ApiError and ignores for mirror destinations. Any
    // other errno makes Trident's Create of a mirror destination fail.
    let mut z = Z::start(Some(CONFIG)).await;
    let dp = trident_create("trident_pvc_dp", "aggr1", "1g", "none").replace(
        "<unix-permissions>---rwxrwxrwx</unix-permissions>",
        "<volume-type>DP</volume-type>",
    );
    z.ok(&dp).await;
    assert_eq!(
        txt(
            &z.must_vol("trident_pvc_dp").await,
            "volume-id-attributes/type"
        ),
        "dp"
    );
    let body = z.svm(&mount("trident_pvc_dp", "/trident_pvc_dp")).await;
    assert_failed(&body, 13001, "trident_pvc_dp");
}

#[tokio::test]
async fn exact_name_lookups_find_one_volume_whatever_the_case() {
    // Whether ONTAP treats names case-insensitively (then the second create is a duplicate) or
    // case-sensitively (then an exact-name query must not match the other spelling), Trident's
    // VolumeInfo for an exact name must see exactly one record (more than one is an error).
    let mut z = Z::start(Some(CONFIG)).await;
    z.create("casevol", "aggr1", "1g", "none").await;
    let body = z
        .svm(&trident_create("CASEVOL", "aggr1", "1g", "none"))
        .await;
    let (status, errno, _) = results(&body);
    assert!(status == "passed" || errno == Some(13130), "{body}");
    let recs = trident_info(&mut z, "casevol").await;
    assert_eq!(
        field(&recs, "volume-id-attributes/name"),
        ["casevol"],
        "second create answered {status} {errno:?}"
    );
}

#[tokio::test]
async fn comment_limit_holds_on_create_as_on_modify() {
    let mut z = Z::start(Some(CONFIG)).await;
    // §3.1: the comment is at most 1023 characters; modify enforces it, so must create.
    z.create("cm", "aggr1", "1g", "none").await;
    let long = "c".repeat(1024);
    let r = z
        .ok(&modify_iter(
            &by_name("cm"),
            &format!("<volume-id-attributes><comment>{long}</comment></volume-id-attributes>"),
            "",
        ))
        .await;
    assert_eq!(num(&r, "num-failed"), 1);
    assert_eq!(
        num(at(&r, "failure-list/volume-modify-iter-info"), "error-code"),
        13115
    );
    let ok_len = "c".repeat(1023);
    z.ok(&trident_create("cm_ok", "aggr1", "1g", "none").replace(
        "<volume-comment></volume-comment>",
        &format!("<volume-comment>{ok_len}</volume-comment>"),
    ))
    .await;
    let body = z
        .svm(&trident_create("cm_long", "aggr1", "1g", "none").replace(
            "<volume-comment></volume-comment>",
            &format!("<volume-comment>{long}</volume-comment>"),
        ))
        .await;
    let (status, errno, _) = results(&body);
    assert_eq!(
        (status.as_str(), errno),
        ("failed", Some(13115)),
        "a 1024-character comment was accepted on create"
    );
}

#[tokio::test]
async fn snapshot_reserve_limits_and_size_total() {
    let mut z = Z::start(Some(CONFIG)).await;
    // The snapshot reserve: 0..=90 percent, and size-total excludes it.
    z.ok(&trident_create("rs", "aggr1", "10g", "none").replace(
        "<percentage-snapshot-reserve>0<",
        "<percentage-snapshot-reserve>20<",
    ))
    .await;
    let v = z.must_vol("rs").await;
    assert_eq!(num(&v, "volume-space-attributes/size"), 10 * GIB);
    assert_eq!(
        num(&v, "volume-space-attributes/snapshot-reserve-size"),
        2 * GIB
    );
    assert_eq!(num(&v, "volume-space-attributes/size-total"), 8 * GIB);
    assert_eq!(num(&v, "volume-space-attributes/size-available"), 8 * GIB);
    assert_failed(
        &z.svm(&trident_create("rs2", "aggr1", "10g", "none").replace(
            "<percentage-snapshot-reserve>0<",
            "<percentage-snapshot-reserve>91<",
        ))
        .await,
        13115,
        "percentage-snapshot-reserve",
    );
}
