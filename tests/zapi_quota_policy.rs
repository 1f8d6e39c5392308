//! Conformance of quota policies through the real binary over TLS: `quota-policy-create`,
//! `-rename`, `-copy`, `-delete`, `-get-iter`, the SVM's assigned policy (`vserver-modify`
//! `quota-policy`, reported by `vserver-get-iter`), rules that act on the assigned policy unless
//! `policy` names another, enforcement that moves to a newly assigned policy only at the next
//! resize, refusals with ONTAP's errnos (changing nothing) and durability across restarts.
#![allow(dead_code)]

mod common;
use common::z::*;
use common::*;
use ontap_sim::zapi::xml::Element;

fn config() -> String {
    one_svm("zapi-quota-policy")
}

async fn flexvol(z: &mut Z, name: &str) {
    z.create(name, "aggr1", "10g", "none").await;
    z.ok(&format!(
        "<volume-mount><junction-path>/{name}</junction-path><volume-name>{name}</volume-name></volume-mount>"
    ))
    .await;
}

/// The SVM's policies, as Ansible's na_ontap_quota_policy reads them (a query by name).
async fn policies(z: &mut Z) -> Vec<String> {
    let r = z.list("quota-policy-get-iter", "").await;
    assert!(r.iter().all(|p| txt(p, "vserver") == "svm1"));
    field(&r, "policy-name")
}

async fn policy_exists(z: &mut Z, name: &str) -> bool {
    !z.list(
        "quota-policy-get-iter",
        &format!("<quota-policy-info><policy-name>{name}</policy-name><vserver>svm1</vserver></quota-policy-info>"),
    )
    .await
    .is_empty()
}

/// The SVM's assigned policy as `vserver-get-iter` (cluster scope) reports it.
async fn assigned(z: &mut Z, svm: &str) -> String {
    let body = z
        .cluster(&format!(
            "<vserver-get-iter><query><vserver-info><vserver-name>{svm}</vserver-name></vserver-info></query></vserver-get-iter>"
        ))
        .await;
    let r = assert_passed(&body);
    let recs = records(&r);
    assert_eq!(recs.len(), 1, "{body}");
    txt(&recs[0], "quota-policy").to_string()
}

async fn assign(z: &mut Z, policy: &str) -> String {
    z.cluster(&format!(
        "<vserver-modify><vserver-name>svm1</vserver-name><quota-policy>{policy}</quota-policy></vserver-modify>"
    ))
    .await
}

fn tree_entry(
    api: &str,
    volume: &str,
    target: &str,
    limit: Option<u64>,
    policy: Option<&str>,
) -> String {
    let limit = limit
        .map(|l| format!("<disk-limit>{l}</disk-limit>"))
        .unwrap_or_default();
    let policy = policy
        .map(|p| format!("<policy>{p}</policy>"))
        .unwrap_or_default();
    format!(
        "<{api}>{limit}{policy}<qtree></qtree><quota-target>{target}</quota-target><quota-type>tree</quota-type><volume>{volume}</volume></{api}>"
    )
}

/// Every rule of the SVM: (policy, target, disk-limit).
async fn all_rules(z: &mut Z) -> Vec<(String, String, String)> {
    z.list("quota-list-entries-iter", "")
        .await
        .iter()
        .map(|e| {
            (
                txt(e, "policy").to_string(),
                txt(e, "quota-target").to_string(),
                txt(e, "disk-limit").to_string(),
            )
        })
        .collect()
}

fn rules3(v: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    v.iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect()
}

/// The quota report of a volume: (quota-target, disk-limit).
async fn report(z: &mut Z, volume: &str) -> Vec<(String, String)> {
    let r = z
        .ok(&format!(
            "<quota-report-iter><max-records>100</max-records><path>/vol/{volume}</path></quota-report-iter>"
        ))
        .await;
    records(&r)
        .iter()
        .map(|e| {
            (
                txt(e, "quota-target").to_string(),
                txt(e, "disk-limit").to_string(),
            )
        })
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[tokio::test]
async fn policies_are_created_renamed_copied_assigned_and_deleted_as_on_ontap() {
    let mut z = Z::start(Some(&config())).await;
    // Every SVM starts with `default`, assigned.
    assert_eq!(policies(&mut z).await, ["default"]);
    assert_eq!(assigned(&mut z, "svm1").await, "default");

    // Ansible's create sends the vserver beside the tunnel.
    z.ok("<quota-policy-create><policy-name>p1</policy-name><vserver>svm1</vserver></quota-policy-create>")
        .await;
    assert!(policy_exists(&mut z, "p1").await);
    assert!(!policy_exists(&mut z, "p9").await);
    z.fail(
        "<quota-policy-create><policy-name>p1</policy-name></quota-policy-create>",
        13130,
        "already exists",
    )
    .await;
    for bad in ["", "1abc", "a b", "x23456789012345678901234567890123"] {
        z.fail(
            &format!("<quota-policy-create><policy-name>{bad}</policy-name></quota-policy-create>"),
            13115,
            "quota policy name",
        )
        .await;
    }
    z.fail(
        "<quota-policy-create><policy-name>p5</policy-name><vserver>svm2</vserver></quota-policy-create>",
        13115,
        "vserver",
    )
    .await;
    // Five at most.
    for p in ["p2", "p3", "p4"] {
        z.ok(&format!(
            "<quota-policy-create><policy-name>{p}</policy-name></quota-policy-create>"
        ))
        .await;
    }
    z.fail(
        "<quota-policy-create><policy-name>p5</policy-name></quota-policy-create>",
        13001,
        "maximum of 5",
    )
    .await;
    assert_eq!(policies(&mut z).await, ["default", "p1", "p2", "p3", "p4"]);

    // Rename: refused onto an existing name or from a missing one.
    z.fail(
        "<quota-policy-rename><policy-name>p1</policy-name><new-policy-name>p2</new-policy-name></quota-policy-rename>",
        13130,
        "already exists",
    )
    .await;
    z.fail(
        "<quota-policy-rename><policy-name>nope</policy-name><new-policy-name>p9</new-policy-name></quota-policy-rename>",
        15661,
        "does not exist",
    )
    .await;
    z.ok("<quota-policy-rename><policy-name>p1</policy-name><vserver>svm1</vserver><new-policy-name>gold</new-policy-name></quota-policy-rename>")
        .await;
    assert_eq!(
        policies(&mut z).await,
        ["default", "gold", "p2", "p3", "p4"]
    );

    // Assignment (cluster-scope vserver-modify, as Ansible sends it).
    assert_failed(&assign(&mut z, "nope").await, 15661, "does not exist");
    assert_eq!(assigned(&mut z, "svm1").await, "default");
    assert_passed(&assign(&mut z, "gold").await);
    assert_eq!(assigned(&mut z, "svm1").await, "gold");
    // The assigned policy cannot be deleted; renaming it moves the assignment.
    z.fail(
        "<quota-policy-delete><policy-name>gold</policy-name></quota-policy-delete>",
        13001,
        "assigned",
    )
    .await;
    z.ok("<quota-policy-rename><policy-name>gold</policy-name><new-policy-name>silver</new-policy-name></quota-policy-rename>")
        .await;
    assert_eq!(assigned(&mut z, "svm1").await, "silver");

    // Delete: a missing policy is refused; `default` can go once another is assigned.
    z.fail(
        "<quota-policy-delete><policy-name>nope</policy-name></quota-policy-delete>",
        15661,
        "does not exist",
    )
    .await;
    for p in ["p2", "p3", "p4", "default"] {
        z.ok(&format!(
            "<quota-policy-delete><policy-name>{p}</policy-name></quota-policy-delete>"
        ))
        .await;
    }
    assert_eq!(policies(&mut z).await, ["silver"]);

    // Copy: the rules come along, the copy is a policy of its own.
    flexvol(&mut z, "fv").await;
    z.ok(&tree_entry("quota-set-entry", "fv", "", Some(100), None))
        .await;
    z.ok("<quota-policy-copy><policy-name>silver</policy-name><new-policy-name>bronze</new-policy-name></quota-policy-copy>")
        .await;
    z.fail(
        "<quota-policy-copy><policy-name>nope</policy-name><new-policy-name>x</new-policy-name></quota-policy-copy>",
        15661,
        "does not exist",
    )
    .await;
    assert_eq!(
        all_rules(&mut z).await,
        rules3(&[("bronze", "*", "100"), ("silver", "*", "100")])
    );
    // Policies are SVM objects: an SVM-scoped call without a tunnel has no SVM.
    let body = z
        .cluster("<quota-policy-create><policy-name>x</policy-name></quota-policy-create>")
        .await;
    assert_failed(&body, 13005, "Vserver");
    // Deleting a policy deletes its rules.
    z.ok("<quota-policy-delete><policy-name>bronze</policy-name></quota-policy-delete>")
        .await;
    assert_eq!(all_rules(&mut z).await, rules3(&[("silver", "*", "100")]));
}

#[tokio::test]
async fn rules_act_on_the_assigned_policy_and_a_new_one_comes_into_force_at_resize() {
    let mut z = Z::start(Some(&config())).await;
    flexvol(&mut z, "fv").await;
    z.ok("<qtree-create><qtree>q1</qtree><volume>fv</volume></qtree-create>")
        .await;
    z.ok(&tree_entry("quota-set-entry", "fv", "", None, None))
        .await;
    z.ok(&tree_entry(
        "quota-set-entry",
        "fv",
        "/vol/fv/q1",
        Some(1024),
        None,
    ))
    .await;
    z.ok("<quota-on><volume>fv</volume></quota-on>").await;
    z.wait_quota_on("fv").await;
    assert_eq!(report(&mut z, "fv").await, pairs(&[("/vol/fv/q1", "1024")]));

    // Rules of another policy: named with `policy`; a missing one is refused.
    z.ok("<quota-policy-create><policy-name>p2</policy-name></quota-policy-create>")
        .await;
    z.fail(
        &tree_entry("quota-set-entry", "fv", "/vol/fv/q1", Some(7), Some("nope")),
        15661,
        "Quota policy",
    )
    .await;
    z.ok(&tree_entry("quota-set-entry", "fv", "", None, Some("p2")))
        .await;
    z.ok(&tree_entry(
        "quota-set-entry",
        "fv",
        "/vol/fv/q1",
        Some(2048),
        Some("p2"),
    ))
    .await;
    assert_eq!(
        all_rules(&mut z).await,
        rules3(&[
            ("default", "*", "-"),
            ("default", "/vol/fv/q1", "1024"),
            ("p2", "*", "-"),
            ("p2", "/vol/fv/q1", "2048"),
        ])
    );
    let get = |policy: &str| {
        format!(
            "<quota-get-entry>{policy}<qtree></qtree><quota-target>/vol/fv/q1</quota-target><quota-type>tree</quota-type><volume>fv</volume></quota-get-entry>"
        )
    };
    assert_eq!(txt(&z.ok(&get("")).await, "disk-limit"), "1024");
    assert_eq!(
        txt(&z.ok(&get("<policy>p2</policy>")).await, "disk-limit"),
        "2048"
    );
    // A rule of an unassigned policy is not enforced: the resize keeps the assigned one's.
    z.ok("<quota-resize><volume>fv</volume></quota-resize>")
        .await;
    z.wait_quota_on("fv").await;
    assert_eq!(report(&mut z, "fv").await, pairs(&[("/vol/fv/q1", "1024")]));

    // Assign p2: rules without `policy` now act on it; the limits in force stay until a resize.
    assert_passed(&assign(&mut z, "p2").await);
    assert_eq!(txt(&z.ok(&get("")).await, "disk-limit"), "2048");
    z.ok(&tree_entry(
        "quota-modify-entry",
        "fv",
        "/vol/fv/q1",
        Some(4096),
        None,
    ))
    .await;
    assert_eq!(
        txt(&z.ok(&get("<policy>default</policy>")).await, "disk-limit"),
        "1024"
    );
    assert_eq!(report(&mut z, "fv").await, pairs(&[("/vol/fv/q1", "1024")]));
    z.ok("<quota-resize><volume>fv</volume></quota-resize>")
        .await;
    z.wait_quota_on("fv").await;
    assert_eq!(report(&mut z, "fv").await, pairs(&[("/vol/fv/q1", "4096")]));

    // The old policy can go now; its rules go with it, enforcement is untouched.
    z.ok("<quota-policy-delete><policy-name>default</policy-name></quota-policy-delete>")
        .await;
    assert_eq!(
        all_rules(&mut z).await,
        rules3(&[("p2", "*", "-"), ("p2", "/vol/fv/q1", "4096")])
    );
    assert_eq!(report(&mut z, "fv").await, pairs(&[("/vol/fv/q1", "4096")]));
    // A policy with no rules for the volume: quota-on names it.
    z.ok("<quota-policy-create><policy-name>empty</policy-name></quota-policy-create>")
        .await;
    assert_passed(&assign(&mut z, "empty").await);
    z.ok("<quota-off><volume>fv</volume></quota-off>").await;
    z.fail(
        "<quota-on><volume>fv</volume></quota-on>",
        14958,
        "quota policy empty",
    )
    .await;
}

fn restart(mut sim: Sim, config: &str) -> Sim {
    assert!(sim.terminate().success());
    let dir = std::mem::replace(&mut sim.dir, tempfile::tempdir().unwrap());
    Sim::start_in(dir, Some(config), &[])
}

#[tokio::test]
async fn policies_their_rules_and_the_assignment_survive_restarts_and_svm_rename() {
    let mut z = Z::start(Some(&config())).await;
    flexvol(&mut z, "fv").await;
    z.ok("<quota-policy-create><policy-name>p2</policy-name></quota-policy-create>")
        .await;
    z.ok(&tree_entry("quota-set-entry", "fv", "", Some(10), None))
        .await;
    z.ok(&tree_entry(
        "quota-set-entry",
        "fv",
        "",
        Some(20),
        Some("p2"),
    ))
    .await;
    assert_passed(&assign(&mut z, "p2").await);
    z.ok("<quota-on><volume>fv</volume></quota-on>").await;
    z.wait_quota_on("fv").await;
    // A rule deleted from one policy only (the journal removes it by its policy-keyed name).
    z.ok("<quota-policy-create><policy-name>p3</policy-name></quota-policy-create>")
        .await;
    z.ok(&tree_entry(
        "quota-set-entry",
        "fv",
        "",
        Some(30),
        Some("p3"),
    ))
    .await;
    z.ok(&tree_entry(
        "quota-delete-entry",
        "fv",
        "",
        None,
        Some("default"),
    ))
    .await;
    let before = all_rules(&mut z).await;
    assert_eq!(before, rules3(&[("p2", "*", "20"), ("p3", "*", "30")]));

    let sim = restart(z.sim, &config());
    let c = sim.client().await;
    let mut z = Z { sim, c };
    assert_eq!(policies(&mut z).await, ["default", "p2", "p3"]);
    assert_eq!(assigned(&mut z, "svm1").await, "p2");
    assert_eq!(all_rules(&mut z).await, before);
    let r = z
        .ok("<quota-status><volume>fv</volume></quota-status>")
        .await;
    assert_eq!(txt(&r, "status"), "on");

    // SVM rename: policies, assignment and rules follow.
    let body = z
        .cluster("<vserver-rename><vserver-name>svm1</vserver-name><new-name>svm9</new-name></vserver-rename>")
        .await;
    assert_passed(&body);
    assert_eq!(assigned(&mut z, "svm9").await, "p2");
    let body = z
        .cluster("<quota-policy-get-iter><query><quota-policy-info><vserver>svm9</vserver></quota-policy-info></query></quota-policy-get-iter>")
        .await;
    let recs = records(&assert_passed(&body));
    assert_eq!(field(&recs, "policy-name"), ["default", "p2", "p3"]);
    let body = z
        .cluster("<quota-list-entries-iter><query><quota-entry><vserver>svm9</vserver></quota-entry></query></quota-list-entries-iter>")
        .await;
    let recs: Vec<Element> = records(&assert_passed(&body));
    assert_eq!(field(&recs, "policy"), ["p2", "p3"]);
}
