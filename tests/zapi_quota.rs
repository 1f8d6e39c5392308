//! Conformance of `quota-*` through the real binary over TLS: the calls Trident's ontap-nas-economy
//! driver makes (default tree rule, quota-on and the quota-status poll, per-qtree tree rules,
//! quota-resize, rule reads), Ansible's shapes (`*` default target, `""` qtree query), the state
//! machine with jobs that take time, the quota report measured from the data, qtree rename and
//! delete, refusals with ONTAP's errnos (changing nothing), and durability across restarts.
#![allow(dead_code)]

mod common;
use common::z::*;
use common::*;
use ontap_sim::zapi::xml::Element;
use std::time::{Duration, Instant};

fn config() -> String {
    one_svm("zapi-quota")
}

/// The same cluster with jobs that take 600 ms (queued, then running, then done).
fn slow() -> String {
    config().replacen(
        "[[aggregates]]",
        "[cluster]\njob_duration_ms = 600\n[[aggregates]]",
        1,
    )
}

/// Trident's economy FlexVol: created, mounted at /<name>.
async fn flexvol(z: &mut Z, name: &str) {
    z.create(name, "aggr1", "10g", "none").await;
    z.ok(&format!(
        "<volume-mount><junction-path>/{name}</junction-path><volume-name>{name}</volume-name></volume-mount>"
    ))
    .await;
}

/// Trident's `QuotaSetEntry`: the default tree rule has no target and no limit; a qtree's rule
/// names it by path with qtree "".
fn set_entry(volume: &str, target: &str, disk_limit: Option<u64>) -> String {
    let limit = disk_limit
        .map(|l| format!("<disk-limit>{l}</disk-limit>"))
        .unwrap_or_default();
    format!(
        "<quota-set-entry>{limit}<qtree></qtree><quota-target>{target}</quota-target><quota-type>tree</quota-type><volume>{volume}</volume></quota-set-entry>"
    )
}

async fn status(z: &mut Z, volume: &str) -> String {
    let r = z
        .ok(&format!(
            "<quota-status><volume>{volume}</volume></quota-status>"
        ))
        .await;
    txt(&r, "status").to_string()
}

/// Poll quota-status (as Trident does, but every 20 ms) until it reads `want`; at most 10 s.
async fn wait_status(z: &mut Z, volume: &str, want: &str) -> Vec<String> {
    let start = Instant::now();
    let mut seen = Vec::new();
    loop {
        let s = status(z, volume).await;
        if seen.last() != Some(&s) {
            seen.push(s.clone());
        }
        if s == want {
            return seen;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "quota status of {volume} never became {want}: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Trident's `QuotaEntryList`: the tree rules of a volume, (target, disk-limit).
async fn tree_rules(z: &mut Z, volume: &str) -> Vec<(String, String)> {
    let r = z
        .ok(&format!(
            "<quota-list-entries-iter><desired-attributes><quota-entry><disk-limit/><quota-target/></quota-entry></desired-attributes>\
             <max-records>10000</max-records><query><quota-entry><quota-type>tree</quota-type><volume>{volume}</volume></quota-entry></query></quota-list-entries-iter>"
        ))
        .await;
    records(&r)
        .iter()
        .map(|e| {
            assert!(
                !has(e, "volume"),
                "desired-attributes keep only what was asked"
            );
            (
                txt(e, "quota-target").to_string(),
                txt(e, "disk-limit").to_string(),
            )
        })
        .collect()
}

/// The quota report of a volume: quota-target -> (disk-limit, disk-used, files-used).
async fn report(z: &mut Z, volume: &str) -> Vec<(String, String, u64, u64)> {
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
                num(e, "disk-used"),
                num(e, "files-used"),
            )
        })
        .collect()
}

fn rules(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

async fn volume_uuid(z: &mut Z, name: &str) -> String {
    let v = z.must_vol(name).await;
    txt(&v, "volume-id-attributes/instance-uuid").to_string()
}

fn data_dir(sim: &Sim, uuid: &str) -> std::path::PathBuf {
    sim.dir
        .path()
        .join("state")
        .join("volumes")
        .join(uuid)
        .join("data")
}

#[tokio::test]
async fn economy_driver_flow_rules_state_and_report() {
    let mut z = Z::start(Some(&config())).await;
    flexvol(&mut z, "trident_qtree_pool_a").await;
    let fv = "trident_qtree_pool_a";

    // addDefaultQuotaForFlexvol: the default tree rule, then quotas off (already) and on.
    z.ok(&set_entry(fv, "", None)).await;
    assert_eq!(status(&mut z, fv).await, "off");
    let on = z
        .ok(&format!("<quota-on><volume>{fv}</volume></quota-on>"))
        .await;
    assert_eq!(txt(&on, "result-status"), "in_progress");
    let job = num(&on, "result-jobid");
    assert_eq!(wait_status(&mut z, fv, "on").await.last().unwrap(), "on");
    let jobs = z
        .list(
            "job-get-iter",
            &format!("<job-info><job-id>{job}</job-id></job-info>"),
        )
        .await;
    assert_eq!(txt(&jobs[0], "job-state"), "success");

    // A PVC: qtree-create, then its tree rule with the size in KiB, then a resize.
    z.ok(&format!(
        "<qtree-create><export-policy>default</export-policy><mode>0755</mode><qtree>pvc_1</qtree><security-style>unix</security-style><volume>{fv}</volume></qtree-create>"
    ))
    .await;
    z.ok(&set_entry(fv, &format!("/vol/{fv}/pvc_1"), Some(1048576)))
        .await;
    assert_eq!(
        tree_rules(&mut z, fv).await,
        rules(&[("*", "-"), (&format!("/vol/{fv}/pvc_1"), "1048576")])
    );
    // Until the resize, the qtree counts under the default rule (no limit).
    assert_eq!(
        report(&mut z, fv).await,
        vec![(format!("/vol/{fv}/pvc_1"), "-".to_string(), 0, 1)]
    );
    let r = z
        .ok(&format!(
            "<quota-resize><volume>{fv}</volume></quota-resize>"
        ))
        .await;
    assert!(num(&r, "result-jobid") > job);
    wait_status(&mut z, fv, "on").await;
    // Usage is measured from the qtree's data.
    let uuid = volume_uuid(&mut z, fv).await;
    let q = data_dir(&z.sim, &uuid).join("pvc_1");
    assert!(q.is_dir(), "a qtree is a directory at the volume's root");
    std::fs::write(q.join("a"), vec![7u8; 5000]).unwrap();
    std::fs::create_dir(q.join("d")).unwrap();
    std::fs::write(q.join("d/b"), vec![7u8; 3000]).unwrap();
    assert_eq!(
        report(&mut z, fv).await,
        vec![(format!("/vol/{fv}/pvc_1"), "1048576".to_string(), 8, 4)]
    );

    // Trident's QuotaGetEntry: query by target and type, read disk-limit.
    let r = z
        .ok(&format!(
            "<quota-list-entries-iter><desired-attributes><quota-entry><disk-limit/><quota-target/></quota-entry></desired-attributes>\
             <max-records>10000</max-records><query><quota-entry><quota-target>/vol/{fv}/pvc_1</quota-target><quota-type>tree</quota-type></quota-entry></query></quota-list-entries-iter>"
        ))
        .await;
    assert_eq!(field(&records(&r), "disk-limit"), ["1048576"]);

    // Resize a PVC: set-entry again replaces the limit; quota-get-entry reads it.
    z.ok(&set_entry(fv, &format!("/vol/{fv}/pvc_1"), Some(2097152)))
        .await;
    let g = z
        .ok(&format!(
            "<quota-get-entry><qtree></qtree><quota-target>/vol/{fv}/pvc_1</quota-target><quota-type>tree</quota-type><volume>{fv}</volume></quota-get-entry>"
        ))
        .await;
    assert_eq!(txt(&g, "disk-limit"), "2097152");
    assert_eq!(txt(&g, "file-limit"), "-");

    // Ansible: quota-list-entries-iter with qtree "" and the `*` default target; modify-entry.
    let r = z
        .ok(&format!(
            "<quota-list-entries-iter><query><quota-entry><volume>{fv}</volume><quota-target>*</quota-target><quota-type>tree</quota-type><vserver>svm1</vserver><qtree>\"\"</qtree></quota-entry></query></quota-list-entries-iter>"
        ))
        .await;
    assert_eq!(records(&r).len(), 2);
    z.ok(&format!(
        "<quota-modify-entry><file-limit>100</file-limit><qtree></qtree><quota-target>/vol/{fv}/pvc_1</quota-target><quota-type>tree</quota-type><volume>{fv}</volume></quota-modify-entry>"
    ))
    .await;
    let g = z
        .ok(&format!(
            "<quota-get-entry><qtree></qtree><quota-target>pvc_1</quota-target><quota-type>tree</quota-type><volume>{fv}</volume></quota-get-entry>"
        ))
        .await;
    assert_eq!(
        (txt(&g, "disk-limit"), txt(&g, "file-limit")),
        ("2097152", "100")
    );

    // User rules: a default and one for uid 0 (root), in the qtree.
    z.ok(&format!(
        "<quota-set-entry><disk-limit>500</disk-limit><qtree>pvc_1</qtree><quota-target>root</quota-target><quota-type>user</quota-type><volume>{fv}</volume></quota-set-entry>"
    ))
    .await;

    // Quota off: enforcement ends at once; the report is empty.
    let off = z
        .ok(&format!("<quota-off><volume>{fv}</volume></quota-off>"))
        .await;
    assert!(has(&off, "result-jobid"));
    assert_eq!(status(&mut z, fv).await, "off");
    assert!(report(&mut z, fv).await.is_empty());
    z.ok(&format!("<quota-on><volume>{fv}</volume></quota-on>"))
        .await;
    wait_status(&mut z, fv, "on").await;
    let rep = report(&mut z, fv).await;
    assert_eq!(rep.len(), 2, "{rep:?}");
    assert_eq!(
        rep[0],
        (format!("/vol/{fv}/pvc_1"), "2097152".to_string(), 8, 4)
    );
    assert_eq!(rep[1].0, "root");
    assert_eq!(rep[1].1, "500");
}

#[tokio::test]
async fn refusals_use_ontap_errnos_and_change_nothing() {
    let mut z = Z::start(Some(&config())).await;
    flexvol(&mut z, "fv").await;
    z.ok("<qtree-create><qtree>q1</qtree><volume>fv</volume></qtree-create>")
        .await;

    // No rules: quota-on fails with 14958 (Ansible matches "14958:No valid quota rules found").
    z.fail(
        "<quota-on><volume>fv</volume></quota-on>",
        14958,
        "No valid quota rules found",
    )
    .await;
    assert_eq!(status(&mut z, "fv").await, "off");
    // Resize only when quotas are on; off when already off.
    z.ok(&set_entry("fv", "", None)).await;
    z.fail(
        "<quota-resize><volume>fv</volume></quota-resize>",
        13001,
        "off",
    )
    .await;
    z.fail(
        "<quota-off><volume>fv</volume></quota-off>",
        13001,
        "already off",
    )
    .await;
    // Missing volume: 13040 (Trident's QuotaResize maps it to NotFound).
    z.fail(
        "<quota-resize><volume>nope</volume></quota-resize>",
        13040,
        "nope",
    )
    .await;
    z.fail(
        "<quota-status><volume>nope</volume></quota-status>",
        13040,
        "nope",
    )
    .await;
    z.fail(&set_entry("nope", "", None), 13040, "nope").await;
    // A tree rule for a qtree that does not exist, or in another volume's path.
    z.fail(&set_entry("fv", "/vol/fv/q9", Some(10)), 15661, "q9")
        .await;
    z.fail(&set_entry("fv", "/vol/other/q1", Some(10)), 13115, "other")
        .await;
    // Bad type, bad limits, soft over hard, a qtree on a tree rule.
    z.fail(
        "<quota-set-entry><qtree></qtree><quota-target>q1</quota-target><quota-type>disk</quota-type><volume>fv</volume></quota-set-entry>",
        13115,
        "quota-type",
    )
    .await;
    z.fail(
        "<quota-set-entry><disk-limit>lots</disk-limit><qtree></qtree><quota-target>q1</quota-target><quota-type>tree</quota-type><volume>fv</volume></quota-set-entry>",
        13115,
        "disk-limit",
    )
    .await;
    z.fail(
        "<quota-set-entry><disk-limit>10</disk-limit><soft-disk-limit>20</soft-disk-limit><qtree></qtree><quota-target>q1</quota-target><quota-type>tree</quota-type><volume>fv</volume></quota-set-entry>",
        13115,
        "soft disk limit",
    )
    .await;
    z.fail(
        "<quota-set-entry><qtree>q1</qtree><quota-target>q1</quota-target><quota-type>tree</quota-type><volume>fv</volume></quota-set-entry>",
        13115,
        "qtree",
    )
    .await;
    z.fail(
        "<quota-set-entry><qtree></qtree><quota-target>q1</quota-target><quota-type>tree</quota-type><volume>fv</volume><bogus>1</bogus></quota-set-entry>",
        13115,
        "Extra input: bogus",
    )
    .await;
    // A user rule in a missing qtree; a policy that does not exist.
    z.fail(
        "<quota-set-entry><qtree>q9</qtree><quota-target>bob</quota-target><quota-type>user</quota-type><volume>fv</volume></quota-set-entry>",
        15661,
        "q9",
    )
    .await;
    z.fail(
        "<quota-set-entry><policy>gold</policy><qtree></qtree><quota-target>q1</quota-target><quota-type>tree</quota-type><volume>fv</volume></quota-set-entry>",
        15661,
        "gold",
    )
    .await;
    // Modify, get and delete of a rule that does not exist.
    z.fail(
        "<quota-modify-entry><disk-limit>10</disk-limit><qtree></qtree><quota-target>q1</quota-target><quota-type>tree</quota-type><volume>fv</volume></quota-modify-entry>",
        15661,
        "q1",
    )
    .await;
    z.fail(
        "<quota-get-entry><qtree></qtree><quota-target>q1</quota-target><quota-type>tree</quota-type><volume>fv</volume></quota-get-entry>",
        15661,
        "q1",
    )
    .await;
    z.fail(
        "<quota-delete-entry><qtree></qtree><quota-target>q1</quota-target><quota-type>tree</quota-type><volume>fv</volume></quota-delete-entry>",
        15661,
        "q1",
    )
    .await;
    // Only the default rule was made.
    assert_eq!(tree_rules(&mut z, "fv").await, rules(&[("*", "-")]));
    // quota-on twice: the second is refused.
    z.ok("<quota-on><volume>fv</volume></quota-on>").await;
    z.fail(
        "<quota-on><volume>fv</volume></quota-on>",
        13001,
        "already on",
    )
    .await;
    // The one quota policy.
    let p = z.list("quota-policy-get-iter", "").await;
    assert_eq!(field(&p, "policy-name"), ["default"]);
    assert_eq!(field(&p, "vserver"), ["svm1"]);
    // The quota APIs act on a volume of an SVM: unknown in cluster context.
    let body = z
        .cluster("<quota-status><volume>fv</volume></quota-status>")
        .await;
    assert_failed(&body, 13005, "");
}

#[tokio::test]
async fn qtree_rename_and_delete_move_and_remove_rules_and_data() {
    let mut z = Z::start(Some(&config())).await;
    flexvol(&mut z, "fv").await;
    z.ok("<qtree-create><qtree>q1</qtree><volume>fv</volume></qtree-create>")
        .await;
    z.ok(&set_entry("fv", "", None)).await;
    z.ok(&set_entry("fv", "/vol/fv/q1", Some(4096))).await;
    z.ok("<quota-on><volume>fv</volume></quota-on>").await;
    wait_status(&mut z, "fv", "on").await;
    let uuid = volume_uuid(&mut z, "fv").await;
    let data = data_dir(&z.sim, &uuid);
    std::fs::write(data.join("q1/f"), vec![1u8; 2048]).unwrap();

    // Trident's delete: rename to a deleted name, then qtree-delete-async.
    z.ok("<qtree-rename><qtree>/vol/fv/q1</qtree><new-qtree-name>/vol/fv/deleted_q1</new-qtree-name></qtree-rename>")
        .await;
    assert!(!data.join("q1").exists());
    assert_eq!(
        std::fs::read(data.join("deleted_q1/f")).unwrap().len(),
        2048
    );
    assert_eq!(
        tree_rules(&mut z, "fv").await,
        rules(&[("*", "-"), ("/vol/fv/deleted_q1", "4096")])
    );
    assert_eq!(
        report(&mut z, "fv").await,
        vec![("/vol/fv/deleted_q1".to_string(), "4096".to_string(), 2, 2)]
    );
    let files_before = num(
        &z.must_vol("fv").await,
        "volume-inode-attributes/files-used",
    );
    z.ok("<qtree-delete-async><qtree>/vol/fv/deleted_q1</qtree></qtree-delete-async>")
        .await;
    assert!(!data.join("deleted_q1").exists());
    assert_eq!(tree_rules(&mut z, "fv").await, rules(&[("*", "-")]));
    assert!(report(&mut z, "fv").await.is_empty());
    // The qtree's directory (and what an NFS client would have written) is given back.
    let files_after = num(
        &z.must_vol("fv").await,
        "volume-inode-attributes/files-used",
    );
    assert!(
        files_after < files_before,
        "{files_before} -> {files_after}"
    );
}

#[tokio::test]
async fn resize_activates_only_what_a_default_rule_covers() {
    let mut z = Z::start(Some(&config())).await;
    flexvol(&mut z, "fv").await;
    for q in ["q1", "q2"] {
        z.ok(&format!(
            "<qtree-create><qtree>{q}</qtree><volume>fv</volume></qtree-create>"
        ))
        .await;
    }
    // No default tree rule: a rule added after quota-on needs a reinitialization.
    z.ok(&set_entry("fv", "q1", Some(100))).await;
    z.ok("<quota-on><volume>fv</volume></quota-on>").await;
    wait_status(&mut z, "fv", "on").await;
    z.ok(&set_entry("fv", "q2", Some(200))).await;
    z.ok("<quota-resize><volume>fv</volume></quota-resize>")
        .await;
    wait_status(&mut z, "fv", "on").await;
    let targets: Vec<String> = report(&mut z, "fv")
        .await
        .into_iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(targets, ["/vol/fv/q1"]);
    let st = z
        .ok("<quota-status><volume>fv</volume></quota-status>")
        .await;
    assert!(
        txt(&st, "quota-errors").contains("tree q2"),
        "{}",
        st.to_xml()
    );
    // Off and on again puts every rule in force.
    z.ok("<quota-off><volume>fv</volume></quota-off>").await;
    z.ok("<quota-on><volume>fv</volume></quota-on>").await;
    wait_status(&mut z, "fv", "on").await;
    let rep = report(&mut z, "fv").await;
    assert_eq!(
        rep.iter()
            .map(|r| (r.0.as_str(), r.1.as_str()))
            .collect::<Vec<_>>(),
        [("/vol/fv/q1", "100"), ("/vol/fv/q2", "200")]
    );
}

#[tokio::test]
async fn jobs_that_take_time_show_initializing_and_resizing() {
    let mut z = Z::start(Some(&slow())).await;
    flexvol(&mut z, "fv").await;
    z.ok(&set_entry("fv", "", None)).await;
    let on = z.ok("<quota-on><volume>fv</volume></quota-on>").await;
    let job = num(&on, "result-jobid");
    let seen = wait_status(&mut z, "fv", "on").await;
    assert_eq!(seen, ["initializing", "on"]);
    let jobs = z
        .list(
            "job-get-iter",
            &format!("<job-info><job-id>{job}</job-id></job-info>"),
        )
        .await;
    assert_eq!(txt(&jobs[0], "job-state"), "success");
    z.ok("<quota-resize><volume>fv</volume></quota-resize>")
        .await;
    assert_eq!(wait_status(&mut z, "fv", "on").await, ["resizing", "on"]);

    // Off while initializing cancels the initialization (Trident's disableQuotas does this).
    z.ok("<quota-off><volume>fv</volume></quota-off>").await;
    let on = z.ok("<quota-on><volume>fv</volume></quota-on>").await;
    let job = num(&on, "result-jobid");
    assert_eq!(status(&mut z, "fv").await, "initializing");
    z.ok("<quota-off><volume>fv</volume></quota-off>").await;
    assert_eq!(status(&mut z, "fv").await, "off");
    let start = Instant::now();
    loop {
        let j = z
            .list(
                "job-get-iter",
                &format!("<job-info><job-id>{job}</job-id></job-info>"),
            )
            .await;
        let state = txt(&j[0], "job-state").to_string();
        if state == "failure" {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "{state}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The cancelled job's end does not turn quotas back on.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(status(&mut z, "fv").await, "off");
}

fn restart(mut sim: Sim, config: &str) -> Sim {
    assert!(sim.terminate().success());
    let dir = std::mem::replace(&mut sim.dir, tempfile::tempdir().unwrap());
    Sim::start_in(dir, Some(config), &[])
}

#[tokio::test]
async fn rules_and_state_survive_restarts() {
    let mut z = Z::start(Some(&slow())).await;
    flexvol(&mut z, "fv").await;
    flexvol(&mut z, "fv2").await;
    z.ok("<qtree-create><qtree>q1</qtree><volume>fv</volume></qtree-create>")
        .await;
    z.ok(&set_entry("fv", "", None)).await;
    z.ok(&set_entry("fv", "/vol/fv/q1", Some(1024))).await;
    z.ok("<quota-set-entry><file-limit>9</file-limit><qtree></qtree><quota-target>7</quota-target><quota-type>group</quota-type><volume>fv2</volume></quota-set-entry>").await;
    z.ok("<quota-on><volume>fv</volume></quota-on>").await;
    wait_status(&mut z, "fv", "on").await;
    // fv2's quotas are initializing when the simulator stops.
    z.ok("<quota-on><volume>fv2</volume></quota-on>").await;
    assert_eq!(status(&mut z, "fv2").await, "initializing");
    let before = tree_rules(&mut z, "fv").await;

    let sim = restart(z.sim, &slow());
    let c = sim.client().await;
    let mut z = Z { sim, c };
    assert_eq!(tree_rules(&mut z, "fv").await, before);
    assert_eq!(status(&mut z, "fv").await, "on");
    // An interrupted initialization is done again at the start: quotas are on.
    assert_eq!(status(&mut z, "fv2").await, "on");
    let r = z
        .list(
            "quota-list-entries-iter",
            "<quota-entry><volume>fv2</volume></quota-entry>",
        )
        .await;
    assert_eq!(field(&r, "quota-target"), ["7"]);
    assert_eq!(field(&r, "file-limit"), ["9"]);
    assert_eq!(
        report(&mut z, "fv").await,
        vec![("/vol/fv/q1".to_string(), "1024".to_string(), 0, 1)]
    );
    // Volume rename moves the rules; destroy removes them.
    z.ok("<volume-rename><volume>fv</volume><new-volume-name>fv_new</new-volume-name></volume-rename>").await;
    assert_eq!(
        tree_rules(&mut z, "fv_new").await,
        rules(&[("*", "-"), ("/vol/fv_new/q1", "1024")])
    );
    z.ok("<volume-unmount><volume-name>fv_new</volume-name></volume-unmount>")
        .await;
    z.ok("<volume-offline><name>fv_new</name></volume-offline>")
        .await;
    z.ok("<volume-destroy><name>fv_new</name></volume-destroy>")
        .await;
    assert!(z
        .list(
            "quota-list-entries-iter",
            "<quota-entry><volume>fv_new</volume></quota-entry>"
        )
        .await
        .is_empty());
}

#[tokio::test]
async fn list_pages_with_tags() {
    let mut z = Z::start(Some(&config())).await;
    flexvol(&mut z, "fv").await;
    for i in 0..5 {
        z.ok(&format!(
            "<qtree-create><qtree>q{i}</qtree><volume>fv</volume></qtree-create>"
        ))
        .await;
        z.ok(&set_entry("fv", &format!("q{i}"), Some(10 + i))).await;
    }
    z.ok("<quota-set-entry><qtree></qtree><quota-target></quota-target><quota-type>user</quota-type><volume>fv</volume></quota-set-entry>").await;
    let mut all = Vec::new();
    let mut tag: Option<String> = None;
    loop {
        let mut req = Element::new("quota-list-entries-iter").with_leaf("max-records", 2);
        if let Some(t) = &tag {
            req = req.with_leaf("tag", t);
        }
        let r = z.ok(&req.to_xml()).await;
        all.extend(field(&records(&r), "quota-target"));
        match r.child_text("next-tag") {
            Some(n) => tag = Some(n.to_string()),
            None => break,
        }
    }
    assert_eq!(
        all,
        [
            "/vol/fv/q0",
            "/vol/fv/q1",
            "/vol/fv/q2",
            "/vol/fv/q3",
            "/vol/fv/q4",
            "*"
        ]
    );
}

#[tokio::test]
async fn a_clone_has_its_parents_qtrees_with_their_data() {
    let mut z = Z::start(Some(&config())).await;
    flexvol(&mut z, "fv").await;
    z.ok("<qtree-create><qtree>q1</qtree><volume>fv</volume><mode>0750</mode></qtree-create>")
        .await;
    let uuid = volume_uuid(&mut z, "fv").await;
    std::fs::write(data_dir(&z.sim, &uuid).join("q1/f"), b"in q1").unwrap();
    z.ok("<volume-clone-create><parent-volume>fv</parent-volume><volume>fvc</volume><space-reserve>none</space-reserve></volume-clone-create>")
        .await;
    let q = z
        .list(
            "qtree-list-iter",
            "<qtree-info><volume>fvc</volume><qtree>q1</qtree></qtree-info>",
        )
        .await;
    assert_eq!(q.len(), 1);
    assert_eq!(txt(&q[0], "mode"), "0750");
    let cuuid = volume_uuid(&mut z, "fvc").await;
    assert_eq!(
        std::fs::read(data_dir(&z.sim, &cuuid).join("q1/f")).unwrap(),
        b"in q1"
    );
    // Its quotas start off, without rules.
    assert_eq!(status(&mut z, "fvc").await, "off");
    assert!(tree_rules(&mut z, "fvc").await.is_empty());
}
