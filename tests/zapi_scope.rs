//! Scope and privilege through the real binary over TLS, for every API the simulator registers:
//! SVM APIs are unknown in cluster context and cluster APIs in an SVM context (13005), readonly
//! users are refused every write (13003) and change nothing, and an SVM-scoped user neither sees
//! nor touches another SVM's objects.
#![allow(dead_code)]

mod common;
use common::*;
use ontap_sim::zapi::api::{Access, Exposure, FAMILIES};

const VSADMIN: (&str, &str) = ("vsadmin", PASSWORD);
const VS2ADMIN: (&str, &str) = ("vs2admin", PASSWORD);
const RO: (&str, &str) = ("ro", PASSWORD);
const VSRO: (&str, &str) = ("vsro", PASSWORD);

use common::z::*;
fn apis(pred: impl Fn(Access, Exposure) -> bool) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = FAMILIES
        .iter()
        .flat_map(|f| f.iter())
        .filter(|a| pred(a.access, a.exposure))
        .map(|a| a.name)
        .collect();
    v.sort();
    v
}

/// Collect, rather than stop at, every API whose answer is not `errno` with `reason` in it.
async fn expect_all(
    z: &mut Z,
    user: (&str, &str),
    vfiler: Option<&str>,
    names: &[&str],
    errno: u32,
    reason: impl Fn(&str) -> String,
) {
    let mut wrong = Vec::new();
    for name in names {
        let body = z.post_as(user, vfiler, &format!("<{name}/>")).await;
        let (status, e, r) = results(&body);
        let r = r.unwrap_or_default();
        if status != "failed" || e != Some(errno) || !r.contains(&reason(name)) {
            wrong.push(format!("{name}: {status} {e:?} {r:?}"));
        }
    }
    assert!(wrong.is_empty(), "expected {errno} from: {wrong:#?}");
}

#[tokio::test]
async fn svm_apis_are_unknown_in_cluster_context() {
    let mut z = Z::start(Some(TWO_SVMS)).await;
    let svm_only = apis(|_, e| e == Exposure::Svm);
    for must in [
        "volume-create",
        "volume-destroy",
        "volume-mount",
        "volume-clone-create",
        "snapshot-create",
        "export-policy-create",
        "export-rule-create",
        "qtree-create",
        "snapmirror-destroy",
    ] {
        assert!(svm_only.contains(&must), "{must} should be SVM-only");
    }
    expect_all(&mut z, ADMIN, None, &svm_only, 13005, |n| {
        format!("Unable to find API: {n}")
    })
    .await;
}

#[tokio::test]
async fn cluster_apis_are_unknown_in_svm_context() {
    let mut z = Z::start(Some(TWO_SVMS)).await;
    let cluster_only = apis(|_, e| e == Exposure::Cluster);
    for must in [
        "aggr-get-iter",
        "aggr-space-get-iter",
        "system-node-get-iter",
    ] {
        assert!(
            cluster_only.contains(&must),
            "{must} should be cluster-only"
        );
    }
    let reason = |n: &str| format!("Unable to find API: {n}");
    // Tunnelled by a cluster admin, and as an SVM-scoped user with no tunnel.
    expect_all(&mut z, ADMIN, Some("svm1"), &cluster_only, 13005, reason).await;
    expect_all(&mut z, VSADMIN, None, &cluster_only, 13005, reason).await;
}

#[tokio::test]
async fn readonly_users_are_refused_every_write() {
    let mut z = Z::start(Some(TWO_SVMS)).await;
    // A read-only user may still change its own password, as on ONTAP.
    let own_password = |n: &&str| *n != "security-login-modify-password";
    let mut writes_svm = apis(|a, e| a == Access::Write && e != Exposure::Cluster);
    let mut writes_cluster = apis(|a, e| a == Access::Write && e != Exposure::Svm);
    writes_svm.retain(own_password);
    writes_cluster.retain(own_password);
    for family in [
        "volume-",
        "volume-clone-",
        "snapshot-",
        "export-policy-",
        "export-rule-",
        "qtree-",
        "ems-",
    ] {
        assert!(
            writes_svm.iter().any(|n| n.starts_with(family)),
            "no write API in {family}*"
        );
    }
    let reason = |_: &str| "Insufficient privileges".to_string();
    expect_all(&mut z, RO, Some("svm1"), &writes_svm, 13003, reason).await;
    expect_all(&mut z, VSRO, None, &writes_svm, 13003, reason).await;
    expect_all(&mut z, RO, None, &writes_cluster, 13003, reason).await;

    // With valid inputs too, and nothing changes.
    z.create("keep", "aggr1", "1g", "none").await;
    z.ok("<snapshot-create><snapshot>s</snapshot><volume>keep</volume></snapshot-create>")
        .await;
    for api in [
        trident_create("ro_vol", "aggr1", "1g", "none"),
        "<volume-destroy><name>keep</name><unmount-and-offline>true</unmount-and-offline></volume-destroy>".to_string(),
        "<volume-size><volume>keep</volume><new-size>2g</new-size></volume-size>".to_string(),
        "<volume-modify-iter><query><volume-attributes><volume-id-attributes><name>keep</name></volume-id-attributes></volume-attributes></query><attributes><volume-attributes><volume-id-attributes><comment>x</comment></volume-id-attributes></volume-attributes></attributes></volume-modify-iter>".to_string(),
        "<snapshot-delete><snapshot>s</snapshot><volume>keep</volume></snapshot-delete>".to_string(),
        "<volume-clone-create><parent-volume>keep</parent-volume><volume>ro_clone</volume></volume-clone-create>".to_string(),
        "<export-policy-create><policy-name>ro_pol</policy-name></export-policy-create>".to_string(),
        "<qtree-create><qtree>q</qtree><volume>keep</volume></qtree-create>".to_string(),
    ] {
        let body = z.post_as(RO, Some("svm1"), &api).await;
        assert_failed(&body, 13003, "ro");
    }
    let v = z.must_vol("keep").await;
    assert_eq!(num(&v, "volume-space-attributes/size"), GIB);
    assert_eq!(txt(&v, "volume-id-attributes/comment"), "");
    assert!(z.vol("ro_vol").await.is_none() && z.vol("ro_clone").await.is_none());
    assert_eq!(field(&z.snaps("keep").await, "name"), ["s"]);
    assert_failed(
        &z.svm("<export-policy-get><policy-name>ro_pol</policy-name></export-policy-get>")
            .await,
        15661,
        "ro_pol",
    );
    // Reads work for readonly users.
    for api in [
        "<volume-get-iter/>",
        "<snapshot-get-iter/>",
        "<export-policy-get><policy-name>default</policy-name></export-policy-get>",
        "<export-rule-get-iter/>",
        "<qtree-list-iter/>",
    ] {
        let body = z.post_as(RO, Some("svm1"), api).await;
        let (status, errno, reason) = results(&body);
        assert_eq!(status, "passed", "{api}: {errno:?} {reason:?}");
    }
}

#[tokio::test]
async fn svm_scoped_users_see_and_touch_only_their_svm() {
    let mut z = Z::start(Some(TWO_SVMS)).await;
    z.create("v1", "aggr1", "1g", "none").await;
    z.ok("<snapshot-create><snapshot>s1</snapshot><volume>v1</volume></snapshot-create>")
        .await;
    z.ok("<export-policy-create><policy-name>p1</policy-name></export-policy-create>")
        .await;
    for api in [
        trident_create("v2", "aggr2", "1g", "none"),
        "<snapshot-create><snapshot>s2</snapshot><volume>v2</volume></snapshot-create>".into(),
        "<export-policy-create><policy-name>p2</policy-name></export-policy-create>".into(),
        "<qtree-create><qtree>q2</qtree><volume>v2</volume></qtree-create>".into(),
    ] {
        assert_passed(&z.post_as(ADMIN, Some("svm2"), &api).await);
    }

    // Reads as vsadmin (svm1), untunnelled: only svm1's objects, for every lister.
    let lists: &[(&str, &str)] = &[
        (
            "<volume-get-iter/>",
            "volume-id-attributes/owning-vserver-name",
        ),
        ("<snapshot-get-iter/>", "vserver"),
        ("<export-policy-get-iter/>", "vserver"),
        ("<qtree-list-iter/>", "vserver"),
        ("<vserver-get-iter/>", "vserver-name"),
        ("<net-interface-get-iter/>", "vserver"),
        ("<vserver-show-aggr-get-iter/>", "vserver-name"),
        ("<sis-get-iter/>", "vserver"),
    ];
    for (api, owner) in lists {
        let r = assert_passed(&z.post_as(VSADMIN, None, api).await);
        let recs = records(&r);
        assert!(!recs.is_empty(), "{api}");
        let owners = field(&recs, owner);
        assert!(
            owners.iter().all(|o| o == "svm1"),
            "{api} leaked {owners:?}"
        );
    }
    let r = assert_passed(&z.post_as(VSADMIN, None, "<volume-get-iter/>").await);
    let mut names = field(&records(&r), "volume-id-attributes/name");
    names.sort();
    assert_eq!(names, ["svm1_root", "v1"]);

    // Tunnelling to the other SVM is refused, naming it.
    for api in [
        "<volume-get-iter/>",
        "<vserver-get/>",
        "<snapshot-get-iter/>",
    ] {
        assert_failed(&z.post_as(VSADMIN, Some("svm2"), api).await, 13003, "svm2");
    }
    // Writes by name reach only the caller's SVM: v2 does not exist there.
    let attempts = [
        ("<volume-destroy><name>v2</name><unmount-and-offline>true</unmount-and-offline></volume-destroy>", 13040, "v2"),
        ("<volume-size><volume>v2</volume><new-size>5g</new-size></volume-size>", 13040, "v2"),
        ("<snapshot-delete><snapshot>s2</snapshot><volume>v2</volume></snapshot-delete>", 13040, "v2"),
        ("<volume-rename><new-volume-name>mine</new-volume-name><volume>v2</volume></volume-rename>", 13040, "v2"),
        ("<export-policy-destroy><policy-name>p2</policy-name></export-policy-destroy>", 15661, "p2"),
        ("<qtree-delete><qtree>/vol/v2/q2</qtree></qtree-delete>", 13040, "v2"),
    ];
    for (api, errno, reason) in attempts {
        assert_failed(&z.post_as(VSADMIN, None, api).await, errno, reason);
    }
    // A wildcard modify touches only svm1's volumes.
    let r = assert_passed(
        &z.post_as(
            VSADMIN,
            None,
            "<volume-modify-iter><query><volume-attributes><volume-id-attributes><name>v*</name></volume-id-attributes></volume-attributes></query>\
             <attributes><volume-attributes><volume-id-attributes><comment>vs1</comment></volume-id-attributes></volume-attributes></attributes>\
             <continue-on-failure>true</continue-on-failure></volume-modify-iter>",
        )
        .await,
    );
    assert_eq!(num(&r, "num-succeeded"), 1);
    // An aggregate not assigned to the SVM is refused.
    let body = z
        .post_as(VSADMIN, None, &trident_create("v3", "aggr2", "1g", "none"))
        .await;
    assert_eq!(results(&body).0, "failed", "{body}");

    // svm2's objects are intact, as the cluster admin sees them.
    let body = z
        .post_as(
            ADMIN,
            Some("svm2"),
            "<volume-get-iter><query><volume-attributes><volume-id-attributes><name>v2</name></volume-id-attributes></volume-attributes></query></volume-get-iter>",
        )
        .await;
    let recs = records(&assert_passed(&body));
    assert_eq!(recs.len(), 1);
    assert_eq!(num(&recs[0], "volume-space-attributes/size"), GIB);
    assert_eq!(txt(&recs[0], "volume-id-attributes/comment"), "");
    // And the mirror image for svm2's user.
    let r = assert_passed(&z.post_as(VS2ADMIN, None, "<volume-get-iter/>").await);
    let mut names = field(&records(&r), "volume-id-attributes/name");
    names.sort();
    assert_eq!(names, ["svm2_root", "v2"]);
    assert_failed(
        &z.post_as(VS2ADMIN, Some("svm1"), "<volume-get-iter/>")
            .await,
        13003,
        "svm1",
    );

    // A cluster admin's untunnelled modify spans SVMs, each key naming its owner.
    let r = assert_passed(
        &z.cluster(
            "<volume-modify-iter><query><volume-attributes><volume-id-attributes><name>v1|v2</name></volume-id-attributes></volume-attributes></query>\
             <attributes><volume-attributes><volume-id-attributes><comment>all</comment></volume-id-attributes></volume-attributes></attributes></volume-modify-iter>",
        )
        .await,
    );
    let mut owners: Vec<String> = at(&r, "success-list")
        .children
        .iter()
        .map(|i| {
            txt(
                i,
                "volume-key/volume-attributes/volume-id-attributes/owning-vserver-name",
            )
            .to_string()
        })
        .collect();
    owners.sort();
    assert_eq!(owners, ["svm1", "svm2"]);
    // A tunnel to an SVM that does not exist: 15698 (Trident's MetroCluster retry keys on it).
    assert_failed(
        &z.post_as(ADMIN, Some("svm1-mc"), "<volume-get-iter/>")
            .await,
        15698,
        "svm1-mc",
    );
}

/// In cluster context a listing spans SVMs: pages that end in one SVM go on in the next, with
/// every volume once, in (SVM, name) order, with and without a name pattern.
#[tokio::test]
async fn cluster_listing_pages_across_svms() {
    let mut z = Z::start(Some(TWO_SVMS)).await;
    for (svm, aggr) in [("svm1", "aggr1"), ("svm2", "aggr2")] {
        for i in 0..5 {
            let body = z
                .post_as(
                    ADMIN,
                    Some(svm),
                    &trident_create(&format!("pg_{i}"), aggr, "1g", "none"),
                )
                .await;
            assert_passed_api(&body, "volume-create");
        }
    }
    for (pattern, want) in [("", 12), ("pg_*", 10), ("pg_3", 2)] {
        let query = if pattern.is_empty() {
            String::new()
        } else {
            format!(
                "<query><volume-attributes><volume-id-attributes><name>{pattern}</name>\
                 </volume-id-attributes></volume-attributes></query>"
            )
        };
        let mut seen = Vec::new();
        let mut tag = String::new();
        for page in 0.. {
            assert!(page < 20, "paging does not end");
            let api = format!(
                "<volume-get-iter><max-records>3</max-records>{tag}{query}</volume-get-iter>"
            );
            let r = results_el(&z.cluster(&api).await);
            for rec in records(&r) {
                seen.push((
                    txt(&rec, "volume-id-attributes/owning-vserver-name").to_string(),
                    txt(&rec, "volume-id-attributes/name").to_string(),
                ));
            }
            match r.child("next-tag") {
                Some(t) => tag = format!("<tag>{}</tag>", quick_xml::escape::escape(&t.text)),
                None => break,
            }
        }
        let mut sorted = seen.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(seen, sorted, "{pattern}: order or duplicates");
        assert_eq!(seen.len(), want, "{pattern}: {seen:?}");
        assert!(seen.iter().any(|(s, _)| s == "svm1") && seen.iter().any(|(s, _)| s == "svm2"));
    }
}
