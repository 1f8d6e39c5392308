//! Conformance of `qtree-*` through the real binary over TLS: create, list (with each volume's
//! implicit "" qtree), rename, modify and delete by `/vol/<volume>/<qtree>` path, and refusals.
#![allow(dead_code)]

mod common;
use common::*;
use ontap_sim::zapi::xml::Element;

fn config() -> String {
    one_svm("zapi-qtree")
}

use common::z::*;
/// (qtree, id) of a volume's qtrees as qtree-list-iter lists them.
async fn qtrees(z: &mut Z, volume: &str) -> Vec<(String, u64)> {
    z.list(
        "qtree-list-iter",
        &format!("<qtree-info><volume>{volume}</volume></qtree-info>"),
    )
    .await
    .iter()
    .map(|q| (txt(q, "qtree").to_string(), num(q, "id")))
    .collect()
}

async fn qtree(z: &mut Z, volume: &str, name: &str) -> Element {
    let mut q = z
        .list(
            "qtree-list-iter",
            &format!("<qtree-info><volume>{volume}</volume><qtree>{name}</qtree></qtree-info>"),
        )
        .await;
    assert_eq!(q.len(), 1, "{volume}/{name}");
    q.pop().unwrap()
}

fn qs(v: &[(&str, u64)]) -> Vec<(String, u64)> {
    v.iter().map(|(n, i)| (n.to_string(), *i)).collect()
}

#[tokio::test]
async fn create_list_modify_rename_delete() {
    let mut z = Z::start(Some(&config())).await;
    z.create("qv", "aggr1", "1g", "none").await;
    // A volume lists its implicit qtree "" (id 0), inheriting the volume's settings.
    assert_eq!(qtrees(&mut z, "qv").await, qs(&[("", 0)]));
    let root = qtree(&mut z, "qv", "").await;
    assert_eq!(txt(&root, "security-style"), "unix");
    assert_eq!(txt(&root, "export-policy"), "default");
    assert_eq!(u32::from_str_radix(txt(&root, "mode"), 8).unwrap(), 0o777);

    // Ansible: qtree-list-iter, then qtree-create.
    let r = z
        .ok("<qtree-list-iter><query><qtree-info><qtree>q1</qtree><volume>qv</volume><vserver>svm1</vserver></qtree-info></query></qtree-list-iter>")
        .await;
    assert_eq!(r.child_text("num-records"), Some("0"));
    z.ok("<qtree-create><mode>0750</mode><qtree>q1</qtree><security-style>mixed</security-style><volume>qv</volume></qtree-create>")
        .await;
    z.ok("<qtree-create><qtree>q2</qtree><volume>qv</volume></qtree-create>")
        .await;
    assert_eq!(
        qtrees(&mut z, "qv").await,
        qs(&[("", 0), ("q1", 1), ("q2", 2)])
    );
    let q1 = qtree(&mut z, "qv", "q1").await;
    assert_eq!(txt(&q1, "mode"), "0750");
    assert_eq!(txt(&q1, "security-style"), "mixed");
    assert_eq!(txt(&q1, "export-policy"), "default");
    assert_eq!(txt(&q1, "is-export-policy-inherited"), "true");
    assert_eq!(txt(&q1, "vserver"), "svm1");
    assert_eq!(txt(&q1, "status"), "normal");
    // q2 takes the volume's mode and style.
    let q2 = qtree(&mut z, "qv", "q2").await;
    assert_eq!(u32::from_str_radix(txt(&q2, "mode"), 8).unwrap(), 0o777);
    assert_eq!(txt(&q2, "security-style"), "unix");

    // Modify.
    z.ok("<export-policy-create><policy-name>qp</policy-name></export-policy-create>")
        .await;
    z.ok("<qtree-modify><export-policy>qp</export-policy><mode>0700</mode><oplocks>disable</oplocks><qtree>q1</qtree>\
          <security-style>ntfs</security-style><volume>qv</volume></qtree-modify>")
        .await;
    let q1 = qtree(&mut z, "qv", "q1").await;
    assert_eq!(txt(&q1, "mode"), "0700");
    assert_eq!(txt(&q1, "security-style"), "ntfs");
    assert_eq!(txt(&q1, "export-policy"), "qp");
    assert_eq!(txt(&q1, "is-export-policy-inherited"), "false");
    assert_eq!(txt(&q1, "oplocks"), "disabled");

    // Rename by path, to a bare name or a path in the same volume; the id stays.
    z.ok("<qtree-rename><new-qtree-name>q1b</new-qtree-name><qtree>/vol/qv/q1</qtree></qtree-rename>").await;
    z.ok("<qtree-rename><new-qtree-name>/vol/qv/q2b</new-qtree-name><qtree>/vol/qv/q2</qtree></qtree-rename>").await;
    assert_eq!(
        qtrees(&mut z, "qv").await,
        qs(&[("", 0), ("q1b", 1), ("q2b", 2)])
    );
    assert_eq!(
        txt(&qtree(&mut z, "qv", "q1b").await, "export-policy"),
        "qp"
    );

    // Delete by path.
    z.ok("<qtree-delete><qtree>/vol/qv/q1b</qtree></qtree-delete>")
        .await;
    assert_eq!(qtrees(&mut z, "qv").await, qs(&[("", 0), ("q2b", 2)]));
    // Async delete reports a job that succeeded.
    let r = z
        .ok("<qtree-delete-async><qtree>/vol/qv/q2b</qtree></qtree-delete-async>")
        .await;
    let id = txt(&r, "result-jobid").to_string();
    let j = assert_passed(
        &z.cluster(&format!("<job-get-iter><query><job-info><job-id>{id}</job-id></job-info></query></job-get-iter>"))
            .await,
    );
    assert_eq!(field(&records(&j), "job-state"), ["success"]);
    assert_eq!(qtrees(&mut z, "qv").await, qs(&[("", 0)]));
    // The policy the qtree used is free again.
    z.ok("<export-policy-destroy><policy-name>qp</policy-name></export-policy-destroy>")
        .await;
}

#[tokio::test]
async fn refusals_name_the_object() {
    let mut z = Z::start(Some(&config())).await;
    z.create("rv", "aggr1", "1g", "none").await;
    z.ok("<qtree-create><qtree>q</qtree><volume>rv</volume></qtree-create>")
        .await;
    z.ok("<qtree-create><qtree>r</qtree><volume>rv</volume></qtree-create>")
        .await;
    // Duplicates.
    assert_failed(
        &z.svm("<qtree-create><qtree>q</qtree><volume>rv</volume></qtree-create>")
            .await,
        13130,
        "q",
    );
    assert_failed(
        &z.svm("<qtree-rename><new-qtree-name>r</new-qtree-name><qtree>/vol/rv/q</qtree></qtree-rename>").await,
        13130,
        "r",
    );
    // Missing volume.
    assert_failed(
        &z.svm("<qtree-create><qtree>q</qtree><volume>nope</volume></qtree-create>")
            .await,
        13040,
        "nope",
    );
    assert_failed(
        &z.svm("<qtree-delete><qtree>/vol/nope/q</qtree></qtree-delete>")
            .await,
        13040,
        "nope",
    );
    assert_failed(
        &z.svm("<qtree-rename><new-qtree-name>x</new-qtree-name><qtree>/vol/nope/q</qtree></qtree-rename>").await,
        13040,
        "nope",
    );
    // Missing qtree.
    assert_failed(
        &z.svm("<qtree-delete><qtree>/vol/rv/zz</qtree></qtree-delete>")
            .await,
        15661,
        "zz",
    );
    assert_failed(
        &z.svm("<qtree-rename><new-qtree-name>x</new-qtree-name><qtree>/vol/rv/zz</qtree></qtree-rename>").await,
        15661,
        "zz",
    );
    assert_failed(
        &z.svm(
            "<qtree-modify><mode>0700</mode><qtree>zz</qtree><volume>rv</volume></qtree-modify>",
        )
        .await,
        15661,
        "zz",
    );
    // Bad names, paths and values.
    for bad in ["a/b", "a*", "", &"x".repeat(65)] {
        let body = z
            .svm(&format!(
                "<qtree-create><qtree>{bad}</qtree><volume>rv</volume></qtree-create>"
            ))
            .await;
        assert_failed(&body, 13115, "Invalid qtree name");
    }
    for bad in ["q", "/vol/rv", "/vol//q", "/rv/q", "/vol/rv/q/x"] {
        let body = z
            .svm(&format!(
                "<qtree-delete><qtree>{bad}</qtree></qtree-delete>"
            ))
            .await;
        assert_failed(&body, 13115, "qtree path");
    }
    assert_failed(
        &z.svm("<qtree-rename><new-qtree-name>/vol/other/q</new-qtree-name><qtree>/vol/rv/q</qtree></qtree-rename>").await,
        13115,
        "another volume",
    );
    assert_failed(
        &z.svm("<qtree-create><qtree>s</qtree><security-style>weird</security-style><volume>rv</volume></qtree-create>").await,
        13115,
        "weird",
    );
    assert_failed(
        &z.svm("<qtree-create><mode>999</mode><qtree>s</qtree><volume>rv</volume></qtree-create>")
            .await,
        13115,
        "999",
    );
    assert_failed(
        &z.svm("<qtree-create><export-policy>ghost</export-policy><qtree>s</qtree><volume>rv</volume></qtree-create>").await,
        15661,
        "ghost",
    );
    assert_failed(
        &z.svm("<qtree-modify><oplocks>sometimes</oplocks><qtree>q</qtree><volume>rv</volume></qtree-modify>").await,
        13115,
        "sometimes",
    );
    assert_eq!(
        qtrees(&mut z, "rv").await,
        qs(&[("", 0), ("q", 1), ("r", 2)])
    );
    // An offline volume takes no new qtrees and lists none.
    z.ok("<volume-offline><name>rv</name></volume-offline>")
        .await;
    assert_failed(
        &z.svm("<qtree-create><qtree>s</qtree><volume>rv</volume></qtree-create>")
            .await,
        13042,
        "rv",
    );
    assert!(qtrees(&mut z, "rv").await.is_empty());
    z.ok("<volume-online><name>rv</name></volume-online>").await;
    assert_eq!(qtrees(&mut z, "rv").await.len(), 3);
}

#[tokio::test]
async fn qtrees_live_and_die_with_their_volume() {
    let mut z = Z::start(Some(&config())).await;
    z.create("lv", "aggr1", "1g", "none").await;
    z.ok("<qtree-create><qtree>q</qtree><volume>lv</volume></qtree-create>")
        .await;
    z.ok(
        "<volume-rename><new-volume-name>lv2</new-volume-name><volume>lv</volume></volume-rename>",
    )
    .await;
    assert!(qtrees(&mut z, "lv").await.is_empty());
    assert_eq!(qtrees(&mut z, "lv2").await, qs(&[("", 0), ("q", 1)]));
    z.ok("<qtree-delete><qtree>/vol/lv2/q</qtree></qtree-delete>")
        .await;
    z.ok("<qtree-create><qtree>q</qtree><volume>lv2</volume></qtree-create>")
        .await;
    z.ok("<volume-destroy><name>lv2</name><unmount-and-offline>true</unmount-and-offline></volume-destroy>").await;
    assert!(qtrees(&mut z, "lv2").await.is_empty());
    // A new volume of the same name starts with only its implicit qtree.
    z.create("lv2", "aggr1", "1g", "none").await;
    assert_eq!(qtrees(&mut z, "lv2").await, qs(&[("", 0)]));
    // The cluster view lists qtrees with their vserver, root volumes included.
    let r = assert_passed(&z.cluster("<qtree-list-iter><query><qtree-info><qtree></qtree></qtree-info></query></qtree-list-iter>").await);
    let vols = field(&records(&r), "volume");
    assert!(
        vols.contains(&"svm1_root".to_string()) && vols.contains(&"lv2".to_string()),
        "{vols:?}"
    );
}

/// Trident's economy driver (v22.07 and later) sends `qos-policy-group` in qtree-create when its
/// backend has a QoS policy.
#[tokio::test]
async fn qtree_qos_policy_group() {
    let config = config().replacen(
        "seed = \"zapi-qtree\"",
        "seed = \"zapi-qtree\"\nqos_policy_groups = [\"gold\"]",
        1,
    );
    let mut z = Z::start(Some(&config)).await;
    z.create("qv", "aggr1", "1g", "none").await;
    z.ok("<qtree-create><export-policy>default</export-policy><mode>0755</mode><qos-policy-group>gold</qos-policy-group><qtree>q1</qtree><security-style>unix</security-style><volume>qv</volume></qtree-create>").await;
    assert_eq!(
        txt(&qtree(&mut z, "qv", "q1").await, "qos-policy-group"),
        "gold"
    );
    z.fail(
        "<qtree-create><qos-policy-group>silver</qos-policy-group><qtree>q2</qtree><volume>qv</volume></qtree-create>",
        15661,
        "silver",
    )
    .await;
    assert_eq!(qtrees(&mut z, "qv").await, qs(&[("", 0), ("q1", 1)]));
    z.ok("<qtree-modify><qos-policy-group></qos-policy-group><qtree>q1</qtree><volume>qv</volume></qtree-modify>").await;
    assert!(!has(&qtree(&mut z, "qv", "q1").await, "qos-policy-group"));
}

/// A snapshot keeps the volume's qtrees with its data: `snapshot-restore-volume` makes the qtree
/// records those of the snapshot (qtrees made since go with their quota rules, qtrees deleted
/// since come back with their settings), and a clone of the snapshot has the snapshot's qtrees.
#[tokio::test]
async fn snapshot_restore_and_clone_take_the_snapshots_qtrees() {
    let mut z = Z::start(Some(&config())).await;
    z.create("rv", "aggr1", "1g", "none").await;
    z.ok("<export-policy-create><policy-name>p1</policy-name></export-policy-create>")
        .await;
    z.ok("<export-policy-create><policy-name>p2</policy-name></export-policy-create>")
        .await;
    z.ok("<qtree-create><qtree>keep</qtree><volume>rv</volume></qtree-create>")
        .await;
    z.ok("<qtree-create><export-policy>p1</export-policy><mode>0750</mode><qtree>gone</qtree><security-style>mixed</security-style><volume>rv</volume></qtree-create>").await;
    z.ok("<qtree-create><export-policy>p2</export-policy><qtree>p2q</qtree><volume>rv</volume></qtree-create>").await;
    z.ok("<snapshot-create><volume>rv</volume><snapshot>s1</snapshot></snapshot-create>")
        .await;
    // After the snapshot: one qtree deleted, one made (with a tree rule), one policy dropped,
    // one renamed.
    z.ok("<qtree-delete><qtree>/vol/rv/gone</qtree></qtree-delete>")
        .await;
    z.ok("<qtree-modify><export-policy>default</export-policy><qtree>p2q</qtree><volume>rv</volume></qtree-modify>").await;
    z.ok("<export-policy-destroy><policy-name>p2</policy-name></export-policy-destroy>")
        .await;
    z.ok("<export-policy-rename><new-policy-name>p1b</new-policy-name><policy-name>p1</policy-name></export-policy-rename>").await;
    z.ok("<qtree-create><qtree>new</qtree><volume>rv</volume></qtree-create>")
        .await;
    z.ok("<quota-set-entry><disk-limit>1024</disk-limit><qtree></qtree><quota-target>/vol/rv/new</quota-target><quota-type>tree</quota-type><volume>rv</volume></quota-set-entry>").await;
    z.ok("<quota-set-entry><disk-limit>2048</disk-limit><qtree></qtree><quota-target>/vol/rv/keep</quota-target><quota-type>tree</quota-type><volume>rv</volume></quota-set-entry>").await;
    assert_eq!(
        qtrees(&mut z, "rv").await,
        qs(&[("", 0), ("keep", 1), ("new", 4), ("p2q", 3)])
    );

    // A clone of s1 has the qtrees of s1, not the parent's present ones.
    z.ok("<volume-clone-create><parent-volume>rv</parent-volume><parent-snapshot>s1</parent-snapshot><volume>rvc</volume></volume-clone-create>").await;
    assert_eq!(
        qtrees(&mut z, "rvc").await,
        qs(&[("", 0), ("gone", 2), ("keep", 1), ("p2q", 3)])
    );
    z.ok("<volume-offline><name>rvc</name></volume-offline>")
        .await;
    z.ok("<volume-destroy><name>rvc</name></volume-destroy>")
        .await;

    z.ok("<snapshot-restore-volume><snapshot>s1</snapshot><volume>rv</volume></snapshot-restore-volume>").await;
    assert_eq!(
        qtrees(&mut z, "rv").await,
        qs(&[("", 0), ("gone", 2), ("keep", 1), ("p2q", 3)])
    );
    let gone = qtree(&mut z, "rv", "gone").await;
    assert_eq!(
        txt(&gone, "export-policy"),
        "p1b",
        "the policy's rename reached it"
    );
    assert_eq!(txt(&gone, "mode"), "0750");
    assert_eq!(txt(&gone, "security-style"), "mixed");
    // p2 was deleted since: the restored qtree inherits its volume's policy.
    assert_eq!(
        txt(
            &qtree(&mut z, "rv", "p2q").await,
            "is-export-policy-inherited"
        ),
        "true"
    );
    // The rule of the qtree made since went with it; the other stays.
    let rules: Vec<String> = z
        .list(
            "quota-list-entries-iter",
            "<quota-entry><volume>rv</volume></quota-entry>",
        )
        .await
        .iter()
        .map(|r| txt(r, "quota-target").to_string())
        .collect();
    assert_eq!(rules, ["/vol/rv/keep"]);
    // The names are free again, and a later restore keeps what the snapshot has.
    z.ok("<qtree-create><qtree>new</qtree><volume>rv</volume></qtree-create>")
        .await;
    z.ok("<snapshot-restore-volume><snapshot>s1</snapshot><volume>rv</volume></snapshot-restore-volume>").await;
    assert_eq!(
        qtrees(&mut z, "rv").await,
        qs(&[("", 0), ("gone", 2), ("keep", 1), ("p2q", 3)])
    );
}
