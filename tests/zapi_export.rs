//! Conformance of `export-policy-*` and `export-rule-*` through the real binary over TLS:
//! Trident's publish/unpublish sequence (§3.9), Ansible's query shapes, rule order, and the
//! refusals (duplicates, bad client-match or flavors, policies in use, `default`).
#![allow(dead_code)]

mod common;
use common::*;

const CONFIG: &str = r#"
seed = "zapi-export"
[[aggregates]]
name = "aggr1"
size = "2TiB"
[[aggregates]]
name = "aggr2"
size = "1TiB"

[[svms]]
name = "svm1"
aggregates = ["aggr1"]
[[svms.lifs]]
name = "svm1_data"
address = "127.0.0.1"

[[svms]]
name = "svm2"
aggregates = ["aggr2"]
[[svms.lifs]]
name = "svm2_data"
address = "127.0.0.2"

[[users]]
name = "admin"
"#;

use common::z::*;
fn policy_get(name: &str) -> String {
    format!("<export-policy-get><policy-name>{name}</policy-name></export-policy-get>")
}

fn policy_create(name: &str) -> String {
    format!("<export-policy-create><policy-name>{name}</policy-name></export-policy-create>")
}

fn policy_destroy(name: &str) -> String {
    format!("<export-policy-destroy><policy-name>{name}</policy-name></export-policy-destroy>")
}

/// export-rule-create exactly as Trident sends it (§3.9).
fn trident_rule(policy: &str, client: &str) -> String {
    format!(
        "<export-rule-create><client-match>{client}</client-match><policy-name>{policy}</policy-name>\
         <protocol><access-protocol>nfs</access-protocol></protocol><ro-rule><security-flavor>any</security-flavor></ro-rule>\
         <rw-rule><security-flavor>any</security-flavor></rw-rule><super-user-security><security-flavor>any</security-flavor></super-user-security>\
         </export-rule-create>"
    )
}

fn rule_destroy(policy: &str, index: u64) -> String {
    format!("<export-rule-destroy><policy-name>{policy}</policy-name><rule-index>{index}</rule-index></export-rule-destroy>")
}

/// Trident's rule listing: (rule-index, client-match) in the order returned.
async fn rules(z: &mut Z, policy: &str) -> Vec<(u64, String)> {
    let r = z
        .ok(&format!(
            "<export-rule-get-iter><max-records>100</max-records><query><export-rule-info><policy-name>{policy}</policy-name>\
             </export-rule-info></query></export-rule-get-iter>"
        ))
        .await;
    records(&r)
        .iter()
        .map(|e| (num(e, "rule-index"), txt(e, "client-match").to_string()))
        .collect()
}

fn set_policy(volume: &str, policy: &str) -> String {
    format!(
        "<volume-modify-iter><query><volume-attributes><volume-id-attributes><name>{volume}</name></volume-id-attributes></volume-attributes></query>\
         <attributes><volume-attributes><volume-export-attributes><policy>{policy}</policy></volume-export-attributes></volume-attributes></attributes></volume-modify-iter>"
    )
}

fn clients(r: &[(u64, String)]) -> Vec<&str> {
    r.iter().map(|(_, c)| c.as_str()).collect()
}

#[tokio::test]
async fn trident_publish_and_unpublish_sequence() {
    let mut z = Z::start(Some(CONFIG)).await;
    let vol = "trident_pvc_pub";
    // Create with autoExportPolicy: the empty policy first (13130 is fine the second time).
    z.ok(&policy_create("trident_empty")).await;
    assert_failed(
        &z.svm(&policy_create("trident_empty")).await,
        13130,
        "trident_empty",
    );
    z.ok(&trident_create(vol, "aggr1", "1g", "none").replace(">default<", ">trident_empty<"))
        .await;
    assert_eq!(
        txt(&z.must_vol(vol).await, "volume-export-attributes/policy"),
        "trident_empty"
    );

    // Publish: the per-volume policy is missing (15661), so it is created.
    assert_failed(&z.svm(&policy_get(vol)).await, 15661, vol);
    z.ok(&policy_create(vol)).await;
    let r = z.ok(&policy_get(vol)).await;
    assert_eq!(txt(&r, "attributes/export-policy-info/policy-name"), vol);
    assert!(rules(&mut z, vol).await.is_empty());
    z.ok(&trident_rule(vol, "10.0.0.1")).await;
    z.ok(&trident_rule(vol, "10.0.0.2")).await;
    // A rule for a client already present: 13001 "policy already contains a rule" (ignored).
    let body = z.svm(&trident_rule(vol, "10.0.0.1")).await;
    assert_failed(&body, 13001, "policy already contains a rule");
    assert_eq!(
        rules(&mut z, vol).await,
        [(1, "10.0.0.1".into()), (2, "10.0.0.2".into())]
    );
    z.ok(&set_policy(vol, vol)).await;
    assert_eq!(
        txt(&z.must_vol(vol).await, "volume-export-attributes/policy"),
        vol
    );
    // The full rule record as written.
    let r = z
        .ok(&format!("<export-rule-get-iter><query><export-rule-info><policy-name>{vol}</policy-name><rule-index>1</rule-index></export-rule-info></query></export-rule-get-iter>"))
        .await;
    let rec = &records(&r)[0];
    assert_eq!(txt(rec, "protocol/access-protocol"), "nfs");
    assert_eq!(txt(rec, "ro-rule/security-flavor"), "any");
    assert_eq!(txt(rec, "rw-rule/security-flavor"), "any");
    assert_eq!(txt(rec, "super-user-security/security-flavor"), "any");
    assert_eq!(txt(rec, "vserver-name"), "svm1");
    assert_eq!(txt(rec, "policy-name"), vol);

    // Unpublish one node, then the last.
    assert_eq!(
        txt(&z.must_vol(vol).await, "volume-export-attributes/policy"),
        vol
    );
    assert_failed(
        &z.svm(&policy_create("trident_empty")).await,
        13130,
        "trident_empty",
    );
    z.ok(&policy_get(vol)).await;
    z.ok(&rule_destroy(vol, 1)).await;
    // Already gone: 15661, which Trident accepts.
    assert_failed(&z.svm(&rule_destroy(vol, 1)).await, 15661, "1");
    assert_eq!(rules(&mut z, vol).await, [(2, "10.0.0.2".into())]);
    z.ok(&rule_destroy(vol, 2)).await;
    assert!(rules(&mut z, vol).await.is_empty());
    // No rules left: move the volume to the empty policy and drop the per-volume policy.
    z.ok(&policy_get("trident_empty")).await;
    // Still in use by the volume: refused, naming it.
    assert_failed(&z.svm(&policy_destroy(vol)).await, 13001, vol);
    z.ok(&set_policy(vol, "trident_empty")).await;
    z.ok(&policy_get(vol)).await;
    z.ok(&policy_destroy(vol)).await;
    assert_failed(&z.svm(&policy_get(vol)).await, 15661, vol);
    assert_failed(&z.svm(&policy_destroy(vol)).await, 15661, vol);
    assert_eq!(
        txt(&z.must_vol(vol).await, "volume-export-attributes/policy"),
        "trident_empty"
    );
    // A rule on a policy that does not exist.
    assert_failed(&z.svm(&trident_rule(vol, "10.0.0.3")).await, 15661, vol);
    assert_failed(&z.svm(&rule_destroy(vol, 1)).await, 15661, vol);
}

#[tokio::test]
async fn rule_index_order_and_insertion() {
    let mut z = Z::start(Some(CONFIG)).await;
    z.ok(&policy_create("ord")).await;
    for c in ["10.0.0.1", "10.0.0.2", "10.0.0.3"] {
        z.ok(&trident_rule("ord", c)).await;
    }
    assert_eq!(
        rules(&mut z, "ord").await,
        [
            (1, "10.0.0.1".into()),
            (2, "10.0.0.2".into()),
            (3, "10.0.0.3".into())
        ]
    );
    // Inserting at a taken index pushes that rule and the ones after it down.
    z.ok(&trident_rule("ord", "10.0.0.9")
        .replace("<policy-name>", "<rule-index>2</rule-index><policy-name>"))
        .await;
    assert_eq!(
        rules(&mut z, "ord").await,
        [
            (1, "10.0.0.1".into()),
            (2, "10.0.0.9".into()),
            (3, "10.0.0.2".into()),
            (4, "10.0.0.3".into())
        ]
    );
    // Destroying one leaves the others' indexes alone; a new rule goes after the last.
    z.ok(&rule_destroy("ord", 3)).await;
    z.ok(&trident_rule("ord", "10.0.0.10")).await;
    assert_eq!(
        rules(&mut z, "ord").await,
        [
            (1, "10.0.0.1".into()),
            (2, "10.0.0.9".into()),
            (4, "10.0.0.3".into()),
            (5, "10.0.0.10".into())
        ]
    );
    // export-rule-set-index moves a rule; the rest keep their order.
    z.ok("<export-rule-set-index><new-rule-index>1</new-rule-index><policy-name>ord</policy-name><rule-index>5</rule-index></export-rule-set-index>")
        .await;
    assert_eq!(
        clients(&rules(&mut z, "ord").await),
        ["10.0.0.10", "10.0.0.1", "10.0.0.9", "10.0.0.3"]
    );
    let idx: Vec<u64> = rules(&mut z, "ord").await.iter().map(|r| r.0).collect();
    assert!(idx.windows(2).all(|w| w[0] < w[1]), "{idx:?}");
    // return-record hands back the rule as stored.
    let r = z
        .ok(&trident_rule("ord", "192.168.0.0/16").replace(
            "<policy-name>",
            "<return-record>true</return-record><policy-name>",
        ))
        .await;
    assert_eq!(
        txt(&r, "result/export-rule-info/client-match"),
        "192.168.0.0/16"
    );
    let i = num(&r, "result/export-rule-info/rule-index");
    assert_eq!(
        rules(&mut z, "ord").await.last().unwrap(),
        &(i, "192.168.0.0/16".to_string())
    );
}

#[tokio::test]
async fn client_match_and_flavor_validation() {
    let mut z = Z::start(Some(CONFIG)).await;
    z.ok(&policy_create("val")).await;
    // Comma-joined client lists are one rule; the same set in another order is a duplicate.
    z.ok(&trident_rule("val", "10.0.0.1,10.0.0.2")).await;
    assert_failed(
        &z.svm(&trident_rule("val", "10.0.0.2, 10.0.0.1")).await,
        13001,
        "policy already contains a rule",
    );
    z.ok(&trident_rule("val", "0.0.0.0/0")).await;
    z.ok(&trident_rule("val", "::/0")).await;
    z.ok(&trident_rule("val", "@netgroup1")).await;
    z.ok(&trident_rule("val", "host.example.com")).await;
    for bad in ["10.0.0.0/33", "a b", "10.0.0.1,,x y", "1.2.3.4/abc"] {
        let body = z.svm(&trident_rule("val", bad)).await;
        assert_failed(&body, 13115, "client-match");
    }
    // Empty client-match.
    assert_failed(
        &z.svm(&trident_rule("val", "")).await,
        13115,
        "client-match",
    );
    assert_failed(
        &z.svm("<export-rule-create><policy-name>val</policy-name></export-rule-create>")
            .await,
        13115,
        "client-match",
    );
    // Flavors and protocols outside ONTAP's lists.
    let body = z
        .svm(&trident_rule("val", "10.1.0.1").replacen(
            "<security-flavor>any<",
            "<security-flavor>bogus<",
            1,
        ))
        .await;
    assert_failed(&body, 13115, "bogus");
    let body = z
        .svm(&trident_rule("val", "10.1.0.1").replace(
            "<security-flavor>any</security-flavor></super-user-security>",
            "<security-flavor>krb9</security-flavor></super-user-security>",
        ))
        .await;
    assert_failed(&body, 13115, "krb9");
    let body = z
        .svm(&trident_rule("val", "10.1.0.1").replace(">nfs<", ">smb<"))
        .await;
    assert_failed(&body, 13115, "smb");
    let body = z
        .svm(&trident_rule("val", "10.1.0.1").replace(
            "<ro-rule><security-flavor>any</security-flavor></ro-rule>",
            "<ro-rule></ro-rule>",
        ))
        .await;
    assert_eq!(results(&body).0, "failed", "an empty ro-rule list: {body}");
    // Several flavors in one list, and Ansible's lower-case values.
    z.ok("<export-rule-create><client-match>10.2.0.0/24</client-match><policy-name>val</policy-name>\
          <protocol><access-protocol>nfs3</access-protocol><access-protocol>nfs4</access-protocol></protocol>\
          <ro-rule><security-flavor>sys</security-flavor><security-flavor>krb5</security-flavor></ro-rule>\
          <rw-rule><security-flavor>sys</security-flavor></rw-rule><super-user-security><security-flavor>none</security-flavor></super-user-security>\
          </export-rule-create>")
        .await;
    let r = z
        .ok("<export-rule-get-iter><query><export-rule-info><policy-name>val</policy-name><client-match>10.2.0.0/24</client-match></export-rule-info></query></export-rule-get-iter>")
        .await;
    let rec = &records(&r)[0];
    let list =
        |p: &str| -> Vec<String> { at(rec, p).children.iter().map(|c| c.text.clone()).collect() };
    assert_eq!(list("protocol"), ["nfs3", "nfs4"]);
    assert_eq!(list("ro-rule"), ["sys", "krb5"]);
    assert_eq!(list("super-user-security"), ["none"]);
    // Six rules were accepted, none of the refused ones.
    assert_eq!(rules(&mut z, "val").await.len(), 6);
}

#[tokio::test]
async fn policy_names_default_and_usage() {
    let mut z = Z::start(Some(CONFIG)).await;
    // `default` exists in every SVM and cannot be destroyed or renamed.
    z.ok(&policy_get("default")).await;
    let body = z.svm(&policy_destroy("default")).await;
    assert_failed(&body, 13115, "default");
    let body = z.svm("<export-policy-rename><new-policy-name>x</new-policy-name><policy-name>default</policy-name></export-policy-rename>").await;
    assert_eq!(results(&body).0, "failed");
    for bad in ["bad name", "-lead", "a/b", ""] {
        assert_failed(
            &z.svm(&policy_create(bad)).await,
            13115,
            "Invalid export policy name",
        );
    }
    // A policy in use by a volume cannot go; after moving the volume it can.
    z.ok(&policy_create("used")).await;
    z.create("pv", "aggr1", "1g", "none").await;
    z.ok(&set_policy("pv", "used")).await;
    assert_failed(&z.svm(&policy_destroy("used")).await, 13001, "pv");
    z.ok(&policy_get("used")).await;
    // Rename: the volume follows.
    z.ok("<export-policy-rename><new-policy-name>used2</new-policy-name><policy-name>used</policy-name></export-policy-rename>")
        .await;
    assert_eq!(
        txt(&z.must_vol("pv").await, "volume-export-attributes/policy"),
        "used2"
    );
    assert_failed(&z.svm(&policy_get("used")).await, 15661, "used");
    z.ok(&set_policy("pv", "default")).await;
    z.ok(&policy_destroy("used2")).await;
    // A policy used by a qtree cannot go either.
    z.ok(&policy_create("qpol")).await;
    z.ok("<qtree-create><export-policy>qpol</export-policy><qtree>q</qtree><volume>pv</volume></qtree-create>").await;
    assert_failed(&z.svm(&policy_destroy("qpol")).await, 13001, "q");
    // Setting a volume to a missing policy fails in the failure-list, leaving it unchanged.
    let r = z.ok(&set_policy("pv", "ghost")).await;
    assert_eq!(num(&r, "num-failed"), 1);
    assert_eq!(
        txt(&z.must_vol("pv").await, "volume-export-attributes/policy"),
        "default"
    );
}

#[tokio::test]
async fn ansible_queries_and_svm_separation() {
    let mut z = Z::start(Some(CONFIG)).await;
    let q = "<export-policy-get-iter><query><export-policy-info><policy-name>pol1</policy-name><vserver>svm1</vserver></export-policy-info></query></export-policy-get-iter>";
    assert_eq!(z.ok(q).await.child_text("num-records"), Some("0"));
    z.ok(&policy_create("pol1")).await;
    let r = z.ok(q).await;
    let recs = records(&r);
    assert_eq!(field(&recs, "policy-name"), ["pol1"]);
    num(&recs[0], "policy-id");
    // Ansible's rule query: with the protocol and flavor lists as filters.
    let rq = "<export-rule-get-iter><query><export-rule-info><policy-name>pol1</policy-name><vserver-name>svm1</vserver-name>\
              <protocol><access-protocol>nfs3</access-protocol></protocol><ro-rule><security-flavor>sys</security-flavor></ro-rule>\
              <rw-rule><security-flavor>sys</security-flavor></rw-rule><super-user-security><security-flavor>sys</security-flavor></super-user-security>\
              </export-rule-info></query></export-rule-get-iter>";
    assert_eq!(z.ok(rq).await.child_text("num-records"), Some("0"));
    z.ok(&trident_rule("pol1", "10.9.0.1")).await; // protocol nfs, flavors any: does not match
    assert_eq!(z.ok(rq).await.child_text("num-records"), Some("0"));
    z.ok("<export-rule-create><client-match>0.0.0.0/0</client-match><policy-name>pol1</policy-name>\
          <protocol><access-protocol>nfs3</access-protocol></protocol><ro-rule><security-flavor>sys</security-flavor></ro-rule>\
          <rw-rule><security-flavor>sys</security-flavor></rw-rule><super-user-security><security-flavor>sys</security-flavor></super-user-security>\
          </export-rule-create>")
        .await;
    let r = z.ok(rq).await;
    assert_eq!(field(&records(&r), "client-match"), ["0.0.0.0/0"]);

    // Policies belong to their SVM: svm2 does not see pol1, and may have its own.
    let body = z.post_as(ADMIN, Some("svm2"), &policy_get("pol1")).await;
    assert_failed(&body, 15661, "pol1");
    assert_passed(&z.post_as(ADMIN, Some("svm2"), &policy_create("pol1")).await);
    assert_passed(
        &z.post_as(ADMIN, Some("svm2"), &trident_rule("pol1", "10.9.0.1"))
            .await,
    );
    // The cluster view lists both SVMs' policies, each with its vserver.
    let r = assert_passed(
        &z.cluster("<export-policy-get-iter><query><export-policy-info><policy-name>pol1|default</policy-name></export-policy-info></query></export-policy-get-iter>")
            .await,
    );
    let mut pairs: Vec<(String, String)> = records(&r)
        .iter()
        .map(|e| {
            (
                txt(e, "vserver").to_string(),
                txt(e, "policy-name").to_string(),
            )
        })
        .collect();
    pairs.sort();
    let expect: Vec<(String, String)> = [
        ("svm1", "default"),
        ("svm1", "pol1"),
        ("svm2", "default"),
        ("svm2", "pol1"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(pairs, expect);
    assert_eq!(rules(&mut z, "pol1").await.len(), 2, "svm1's rules only");
    // export-rule-modify: change a flavor; a clash with another rule's clients is refused.
    z.ok("<export-rule-modify><policy-name>pol1</policy-name><rule-index>1</rule-index><ro-rule><security-flavor>krb5</security-flavor></ro-rule></export-rule-modify>")
        .await;
    let r = z
        .ok("<export-rule-get-iter><query><export-rule-info><policy-name>pol1</policy-name><rule-index>1</rule-index></export-rule-info></query></export-rule-get-iter>")
        .await;
    assert_eq!(txt(&records(&r)[0], "ro-rule/security-flavor"), "krb5");
    assert_failed(
        &z.svm("<export-rule-modify><client-match>0.0.0.0/0</client-match><policy-name>pol1</policy-name><rule-index>1</rule-index></export-rule-modify>")
            .await,
        13001,
        "policy already contains a rule",
    );
    assert_failed(
        &z.svm("<export-rule-modify><policy-name>pol1</policy-name><rule-index>77</rule-index><ro-rule><security-flavor>sys</security-flavor></ro-rule></export-rule-modify>")
            .await,
        15661,
        "77",
    );
}

#[tokio::test]
async fn rule_listing_by_policy_name_sees_only_that_policy() {
    // Trident lists a policy's rules with query policy-name=<vol> and then destroys rules by
    // index in that policy (§3.9). Either a second spelling of the name is a duplicate, or the
    // listing must not return another policy's rules.
    let mut z = Z::start(Some(CONFIG)).await;
    z.ok(&policy_create("trident_pvc_x")).await;
    z.ok(&trident_rule("trident_pvc_x", "10.0.0.1")).await;
    let body = z.svm(&policy_create("TRIDENT_PVC_X")).await;
    let (status, errno, _) = results(&body);
    assert!(status == "passed" || errno == Some(13130), "{body}");
    if status == "passed" {
        z.ok(&trident_rule("TRIDENT_PVC_X", "10.0.0.2")).await;
    }
    assert_eq!(
        rules(&mut z, "trident_pvc_x").await,
        [(1, "10.0.0.1".to_string())],
        "second create answered {status} {errno:?}"
    );
}
