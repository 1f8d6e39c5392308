//! Conformance of the cluster-level and replication families through the real binary over TLS:
//! aggr-get-iter, aggr-space-get-iter, vserver-show-aggr-get-iter, vserver-peer-get-iter,
//! net-interface-get-iter, sis-get-iter, job-get-iter, job-schedule-get-iter, snapmirror-*, ems.
#![allow(dead_code)]

mod common;
use common::*;

const CONFIG: &str = r#"
seed = "zapi-cluster"
[cluster]
name = "lab"
[[nodes]]
name = "lab-01"
[[nodes]]
name = "lab-02"

[[aggregates]]
name = "aggr1"
size = "2TiB"
media = "ssd"
[[aggregates]]
name = "aggr2"
size = "1TiB"
media = "hdd"
node = "lab-02"

[[svms]]
name = "svm1"
aggregates = ["aggr1", "aggr2"]
[[svms.lifs]]
name = "svm1_data"
address = "127.0.0.1"
[[svms.lifs]]
name = "svm1_cifs"
address = "127.0.0.3"
protocols = ["cifs"]

[[svms]]
name = "svm2"
aggregates = ["aggr2"]
[[svms.lifs]]
name = "svm2_data"
address = "127.0.0.2"
status = "down"

[[users]]
name = "admin"
[[users]]
name = "vsadmin"
scope = "svm1"
"#;

const VSADMIN: (&str, &str) = ("vsadmin", PASSWORD);

const EMS: &str = "<ems-autosupport-log><app-version>1</app-version><auto-support>false</auto-support><category>heartbeat</category>\
<computer-name>host1</computer-name><event-description>{\"version\":\"24.02.0\"}</event-description><event-id>1</event-id>\
<event-source>trident</event-source><log-level>5</log-level></ems-autosupport-log>";

use common::z::*;
#[tokio::test]
async fn aggr_get_iter_reports_space_type_and_owner() {
    let mut z = Z::start(Some(CONFIG)).await;
    let r = assert_passed(&z.cluster("<aggr-get-iter/>").await);
    let recs = records(&r);
    assert_eq!(field(&recs, "aggregate-name"), ["aggr1", "aggr2"]);
    let a2 = &recs[1];
    assert_eq!(num(a2, "aggr-space-attributes/size-total"), 1 << 40);
    assert_eq!(txt(a2, "aggr-raid-attributes/aggregate-type"), "hdd");
    assert_eq!(txt(a2, "aggr-ownership-attributes/home-name"), "lab-02");
    assert_eq!(txt(a2, "aggr-ownership-attributes/owner-name"), "lab-02");
    assert_eq!(txt(a2, "aggr-raid-attributes/state"), "online");
    assert_eq!(txt(&recs[0], "aggr-raid-attributes/aggregate-type"), "ssd");
    assert!(!txt(a2, "aggregate-uuid").is_empty());
    // The SVM root volumes (1 GiB, guarantee volume) sit on each SVM's first aggregate.
    assert_eq!(
        num(&recs[0], "aggr-volume-count-attributes/flexvol-count"),
        1
    );
    assert_eq!(num(a2, "aggr-volume-count-attributes/flexvol-count"), 1);
    let (u1, _, _) = z.aggr("aggr1").await;
    assert_eq!(u1, GIB);
    // A new thick volume shows in size-used and the flexvol count.
    z.create("v1", "aggr1", "10g", "volume").await;
    let r = assert_passed(
        &z.cluster("<aggr-get-iter><query><aggr-attributes><aggregate-name>aggr1</aggregate-name></aggr-attributes></query></aggr-get-iter>")
            .await,
    );
    let a1 = &records(&r)[0];
    assert_eq!(num(a1, "aggr-space-attributes/size-used"), 11 * GIB);
    assert_eq!(num(a1, "aggr-volume-count-attributes/flexvol-count"), 2);
    assert_eq!(
        num(a1, "aggr-space-attributes/percent-used-capacity"),
        11 * GIB * 100 / (2 << 40)
    );
    // Paging and alternation work here too.
    let r = assert_passed(
        &z.cluster("<aggr-get-iter><max-records>1</max-records></aggr-get-iter>")
            .await,
    );
    assert_eq!(records(&r).len(), 1);
    assert!(r.child("next-tag").is_some());
    let r = assert_passed(
        &z.cluster("<aggr-get-iter><query><aggr-attributes><aggregate-name>aggr1|aggr2</aggregate-name></aggr-attributes></query><desired-attributes><aggr-attributes><aggregate-name/></aggr-attributes></desired-attributes></aggr-get-iter>")
            .await,
    );
    assert_eq!(field(&records(&r), "aggregate-name"), ["aggr1", "aggr2"]);
    assert!(records(&r).iter().all(|a| a.children.len() == 1));
    // Cluster-only: unknown in an SVM context, tunnelled or scoped.
    assert_failed(&z.svm("<aggr-get-iter/>").await, 13005, "aggr-get-iter");
    assert_failed(
        &z.post_as(VSADMIN, None, "<aggr-get-iter/>").await,
        13005,
        "aggr-get-iter",
    );
}

#[tokio::test]
async fn aggr_space_get_iter_has_the_six_fields_trident_reads() {
    let mut z = Z::start(Some(CONFIG)).await;
    z.create("thick", "aggr2", "100g", "volume").await;
    // Trident sends no max-records and no vfiler here.
    let r = assert_passed(
        &z.cluster("<aggr-space-get-iter><query><space-information><aggregate>aggr2</aggregate></space-information></query></aggr-space-get-iter>")
            .await,
    );
    let recs = records(&r);
    assert_eq!(recs.len(), 1);
    let s = &recs[0];
    assert_eq!(txt(s, "aggregate"), "aggr2");
    assert_eq!(num(s, "aggregate-size"), 1 << 40);
    let used = 101 * GIB; // svm2_root (1 GiB) + thick
    assert_eq!(num(s, "volume-footprints"), used);
    assert_eq!(num(s, "used-including-snapshot-reserve"), used);
    assert_eq!(num(s, "volume-footprints-percent"), used * 100 / (1 << 40));
    assert_eq!(
        num(s, "used-including-snapshot-reserve-percent"),
        used * 100 / (1 << 40)
    );
    assert_eq!(z.aggr("aggr2").await.0, used);
    let r = assert_passed(&z.cluster("<aggr-space-get-iter/>").await);
    assert_eq!(field(&records(&r), "aggregate"), ["aggr1", "aggr2"]);
    assert_failed(
        &z.svm("<aggr-space-get-iter/>").await,
        13005,
        "aggr-space-get-iter",
    );
}

#[tokio::test]
async fn vserver_show_aggr_and_peer_iterators() {
    let mut z = Z::start(Some(CONFIG)).await;
    // Trident's step 6: tunnelled, max-records 4294967294.
    let r = z
        .ok("<vserver-show-aggr-get-iter><max-records>4294967294</max-records></vserver-show-aggr-get-iter>")
        .await;
    let recs = records(&r);
    assert_eq!(field(&recs, "aggregate-name"), ["aggr1", "aggr2"]);
    assert_eq!(field(&recs, "aggregate-type"), ["ssd", "hdd"]);
    assert!(recs.iter().all(|a| txt(a, "vserver-name") == "svm1"));
    num(&recs[0], "available-size");
    // The cluster view: every SVM/aggregate pair; the vserver input narrows it.
    let r = assert_passed(&z.cluster("<vserver-show-aggr-get-iter/>").await);
    let pairs: Vec<String> = records(&r)
        .iter()
        .map(|a| format!("{}/{}", txt(a, "vserver-name"), txt(a, "aggregate-name")))
        .collect();
    assert_eq!(pairs, ["svm1/aggr1", "svm1/aggr2", "svm2/aggr2"]);
    let r = assert_passed(
        &z.cluster(
            "<vserver-show-aggr-get-iter><vserver>svm2</vserver></vserver-show-aggr-get-iter>",
        )
        .await,
    );
    assert_eq!(field(&records(&r), "aggregate-name"), ["aggr2"]);
    // Trident's step 4: an empty query and no max-records; no peers.
    let r = z
        .ok("<vserver-peer-get-iter><query></query></vserver-peer-get-iter>")
        .await;
    assert_eq!(r.child_text("num-records"), Some("0"));
    assert!(r.child("next-tag").is_none());
    let r = assert_passed(&z.cluster("<vserver-peer-get-iter/>").await);
    assert_eq!(r.child_text("num-records"), Some("0"));
}

#[tokio::test]
async fn net_interface_get_iter_as_trident_reads_it() {
    let mut z = Z::start(Some(CONFIG)).await;
    // Step 8: max-records 100 and an empty template.
    let r = z
        .ok("<net-interface-get-iter><max-records>100</max-records><query><net-interface-info></net-interface-info></query></net-interface-get-iter>")
        .await;
    let recs = records(&r);
    assert_eq!(field(&recs, "interface-name"), ["svm1_cifs", "svm1_data"]);
    let nfs: Vec<&str> = recs
        .iter()
        .filter(|l| {
            txt(l, "operational-status") == "up"
                && at(l, "data-protocols")
                    .children
                    .iter()
                    .any(|p| p.text == "nfs")
        })
        .map(|l| txt(l, "address"))
        .collect();
    assert_eq!(nfs, ["127.0.0.1"]);
    assert_eq!(txt(&recs[1], "vserver"), "svm1");
    assert_eq!(txt(&recs[1], "role"), "data");
    assert_eq!(num(&recs[1], "netmask-length"), 24);
    // svm2's LIF is down; the cluster view shows it so.
    let r = assert_passed(
        &z.cluster("<net-interface-get-iter><query><net-interface-info><vserver>svm2</vserver></net-interface-info></query></net-interface-get-iter>")
            .await,
    );
    let recs = records(&r);
    assert_eq!(field(&recs, "address"), ["127.0.0.2"]);
    assert_eq!(field(&recs, "operational-status"), ["down"]);
    // Filtering on a protocol inside the list.
    let r = assert_passed(
        &z.cluster("<net-interface-get-iter><query><net-interface-info><data-protocols><data-protocol>cifs</data-protocol></data-protocols></net-interface-info></query></net-interface-get-iter>")
            .await,
    );
    assert_eq!(field(&records(&r), "interface-name"), ["svm1_cifs"]);
}

#[tokio::test]
async fn sis_get_iter_by_path() {
    let mut z = Z::start(Some(CONFIG)).await;
    z.create("flash", "aggr1", "1g", "none").await;
    z.create("disk", "aggr2", "1g", "none").await;
    let sis = |path: &str| {
        format!("<sis-get-iter><query><sis-status-info><path>{path}</path></sis-status-info></query></sis-get-iter>")
    };
    let r = z.ok(&sis("/vol/flash")).await;
    let recs = records(&r);
    assert_eq!(recs.len(), 1);
    assert_eq!(txt(&recs[0], "path"), "/vol/flash");
    assert_eq!(txt(&recs[0], "state"), "enabled");
    assert_eq!(txt(&recs[0], "vserver"), "svm1");
    let r = z.ok(&sis("/vol/disk")).await;
    assert_eq!(field(&records(&r), "state"), ["disabled"]);
    assert_eq!(
        z.ok(&sis("/vol/nope")).await.child_text("num-records"),
        Some("0")
    );
    // Offline volumes have no efficiency status to show.
    z.ok("<volume-offline><name>disk</name></volume-offline>")
        .await;
    assert_eq!(
        z.ok(&sis("/vol/disk")).await.child_text("num-records"),
        Some("0")
    );
    let r = z.ok("<sis-get-iter/>").await;
    assert_eq!(
        field(&records(&r), "path"),
        ["/vol/flash", "/vol/svm1_root"]
    );
}

#[tokio::test]
async fn jobs_and_job_schedules() {
    let mut z = Z::start(Some(CONFIG)).await;
    // A job in each SVM.
    let r = z
        .ok("<volume-create-async><aggr-list><aggr-name>aggr1</aggr-name></aggr-list><size>1073741824</size><volume-name>j1</volume-name></volume-create-async>")
        .await;
    let id1 = txt(&r, "result-jobid").to_string();
    let r = assert_passed(
        &z.post_as(
            ADMIN,
            Some("svm2"),
            "<volume-create-async><aggr-list><aggr-name>aggr2</aggr-name></aggr-list><size>1073741824</size><volume-name>j2</volume-name></volume-create-async>",
        )
        .await,
    );
    let id2 = txt(&r, "result-jobid").to_string();
    assert_ne!(id1, id2);
    // The cluster sees both (Trident polls non-tunnelled, by job-id).
    for (id, svm) in [(&id1, "svm1"), (&id2, "svm2")] {
        let r = assert_passed(
            &z.cluster(&format!("<job-get-iter><query><job-info><job-id>{id}</job-id></job-info></query></job-get-iter>"))
                .await,
        );
        let recs = records(&r);
        assert_eq!(recs.len(), 1);
        assert_eq!(txt(&recs[0], "job-state"), "success");
        assert_eq!(txt(&recs[0], "job-vserver"), svm);
        assert_eq!(num(&recs[0], "job-status-code"), 0);
        num(&recs[0], "job-start-time");
    }
    // An SVM context sees its own jobs only.
    let r = z.ok("<job-get-iter/>").await;
    assert_eq!(field(&records(&r), "job-id"), [id1.as_str()]);
    let r = z
        .ok(&format!("<job-get-iter><query><job-info><job-id>{id2}</job-id></job-info></query></job-get-iter>"))
        .await;
    assert_eq!(r.child_text("num-records"), Some("0"));
    // Schedules (replicationSchedule validation): a query by name, no max-records.
    let r = z
        .ok("<job-schedule-get-iter><query><job-schedule-info><job-schedule-name>hourly</job-schedule-name></job-schedule-info></query></job-schedule-get-iter>")
        .await;
    assert_eq!(field(&records(&r), "job-schedule-name"), ["hourly"]);
    let r = z
        .ok("<job-schedule-get-iter><query><job-schedule-info><job-schedule-name>every_7min</job-schedule-name></job-schedule-info></query></job-schedule-get-iter>")
        .await;
    assert_eq!(r.child_text("num-records"), Some("0"));
}

#[tokio::test]
async fn snapmirror_calls_answer_as_with_no_relationships() {
    let mut z = Z::start(Some(CONFIG)).await;
    assert_failed(
        &z.svm("<snapmirror-destroy><destination-location>svm1:v</destination-location></snapmirror-destroy>").await,
        15661,
        "svm1:v",
    );
    assert_failed(
        &z.svm("<snapmirror-destroy><destination-vserver>svm1</destination-vserver><destination-volume>v</destination-volume></snapmirror-destroy>")
            .await,
        15661,
        "svm1:v",
    );
    assert_failed(
        &z.svm("<snapmirror-release><destination-location>svm1:v</destination-location><relationship-info-only>true</relationship-info-only></snapmirror-release>")
            .await,
        19068,
        "svm1:v",
    );
    let r = z
        .ok("<snapmirror-get-destination-iter><query><snapmirror-destination-info><source-location>svm1:v</source-location></snapmirror-destination-info></query></snapmirror-get-destination-iter>")
        .await;
    assert_eq!(r.child_text("num-records"), Some("0"));
    let r = z.ok("<snapmirror-get-iter/>").await;
    assert_eq!(r.child_text("num-records"), Some("0"));
    let r = z
        .ok("<snapmirror-release-iter><query><snapmirror-destination-info><destination-location>svm1:v</destination-location></snapmirror-destination-info></query></snapmirror-release-iter>")
        .await;
    assert_eq!((num(&r, "num-succeeded"), num(&r, "num-failed")), (0, 0));
    assert_failed(
        &z.svm(
            "<snapmirror-release-iter><query><snapmirror-info/></query></snapmirror-release-iter>",
        )
        .await,
        13115,
        "snapmirror-destination-info",
    );
    // replicationPolicy validation reads the policy type and rules.
    let r = z
        .ok("<snapmirror-policy-get-iter><query><snapmirror-policy-info><policy-name>MirrorAllSnapshots</policy-name></snapmirror-policy-info></query></snapmirror-policy-get-iter>")
        .await;
    let recs = records(&r);
    assert_eq!(recs.len(), 1);
    assert_eq!(txt(&recs[0], "policy-type"), "async_mirror");
    let labels: Vec<String> = at(&recs[0], "snapmirror-policy-rules")
        .children
        .iter()
        .map(|r| txt(r, "snapmirror-label").to_string())
        .collect();
    assert!(labels.contains(&"sm_created".to_string()), "{labels:?}");
    // Destroy and release act on an SVM: unknown in cluster context.
    assert_failed(
        &z.cluster("<snapmirror-destroy><destination-location>svm1:v</destination-location></snapmirror-destroy>").await,
        13005,
        "snapmirror-destroy",
    );
}

#[tokio::test]
async fn ems_autosupport_log_as_trident_sends_it() {
    let mut z = Z::start(Some(CONFIG)).await;
    z.ok(EMS).await;
    assert_passed(&z.cluster(EMS).await);
    assert_passed(&z.post_as(VSADMIN, None, EMS).await);
    assert_failed(
        &z.svm(&EMS.replace("<log-level>5<", "<log-level>9<")).await,
        13115,
        "log-level",
    );
    assert_failed(
        &z.svm(&EMS.replace("<event-id>1<", "<event-id>-1<")).await,
        13115,
        "event-id",
    );
    assert_failed(
        &z.svm(&EMS.replace("<category>heartbeat</category>", ""))
            .await,
        13115,
        "Missing input: category",
    );
    assert_failed(&z.post_as(ADMIN, Some("svm9"), EMS).await, 15698, "svm9");
}

#[tokio::test]
async fn system_node_get_iter_serials() {
    let mut z = Z::start(Some(CONFIG)).await;
    let r = assert_passed(
        &z.cluster("<system-node-get-iter><max-records>100</max-records><desired-attributes><node-details-info><node-serial-number></node-serial-number></node-details-info></desired-attributes></system-node-get-iter>")
            .await,
    );
    let recs = records(&r);
    assert_eq!(recs.len(), 2);
    for n in &recs {
        let fields: Vec<&str> = n.children.iter().map(|c| c.name.as_ref()).collect();
        assert_eq!(fields, ["node-serial-number"]);
        assert_eq!(txt(n, "node-serial-number").len(), 12);
    }
    assert_ne!(
        txt(&recs[0], "node-serial-number"),
        txt(&recs[1], "node-serial-number")
    );
}

/// A topology whose SVM lists its aggregates out of name order, as a user may well write it.
const PAGING_CONFIG: &str = r#"
seed = "zapi-paging"
[[nodes]]
name = "n-02"
[[nodes]]
name = "n-01"
[[aggregates]]
name = "aggr1"
size = "2TiB"
[[aggregates]]
name = "aggr2"
size = "1TiB"
media = "hdd"
[[aggregates]]
name = "aggr0"
size = "1TiB"

[[svms]]
name = "svm1"
aggregates = ["aggr2", "aggr1", "aggr0"]
[[svms.lifs]]
name = "svm1_z"
address = "127.0.0.1"
[[svms.lifs]]
name = "svm1_a"
address = "127.0.0.3"

[[svms]]
name = "svm0"
aggregates = ["aggr1"]
[[svms.lifs]]
name = "svm0_data"
address = "127.0.0.2"

[[users]]
name = "admin"
"#;

/// Every record of an iterator, by pages of `size` following next-tag.
async fn paged(z: &mut Z, api: &str, vfiler: Option<&str>, size: u64) -> Vec<String> {
    let mut out = Vec::new();
    let mut tag: Option<String> = None;
    for _ in 0..1000 {
        let tag_el = tag
            .as_ref()
            .map(|t| format!("<tag>{}</tag>", quick_xml::escape::escape(t)))
            .unwrap_or_default();
        let body = z
            .post_as(
                ADMIN,
                vfiler,
                &format!("<{api}><max-records>{size}</max-records>{tag_el}</{api}>"),
            )
            .await;
        let r = assert_passed_api(&body, api);
        let recs = records(&r);
        assert!(recs.len() as u64 <= size, "{api}");
        out.extend(recs.iter().map(|e| e.to_xml()));
        match r.child_text("next-tag") {
            Some(t) => tag = Some(t.to_string()),
            None => return out,
        }
    }
    panic!("{api}: paging does not end");
}

#[tokio::test]
async fn every_iterator_pages_to_the_same_records_as_one_page() {
    let mut z = Z::start(Some(PAGING_CONFIG)).await;
    // Something in every table.
    for (v, aggr) in [("v_b", "aggr1"), ("v_a", "aggr2"), ("v_c", "aggr0")] {
        z.create(v, aggr, "1g", "none").await;
        z.ok(&format!(
            "<snapshot-create><snapshot>s2</snapshot><volume>{v}</volume></snapshot-create>"
        ))
        .await;
        z.ok(&format!(
            "<snapshot-create><snapshot>s1</snapshot><volume>{v}</volume></snapshot-create>"
        ))
        .await;
        z.ok(&format!(
            "<qtree-create><qtree>qb</qtree><volume>{v}</volume></qtree-create>"
        ))
        .await;
        z.ok(&format!(
            "<qtree-create><qtree>qa</qtree><volume>{v}</volume></qtree-create>"
        ))
        .await;
    }
    for p in ["pb", "pa"] {
        z.ok(&format!(
            "<export-policy-create><policy-name>{p}</policy-name></export-policy-create>"
        ))
        .await;
        for i in 1..=3 {
            z.ok(&format!("<export-rule-create><client-match>10.0.0.{i}</client-match><policy-name>{p}</policy-name></export-rule-create>"))
                .await;
        }
    }
    z.create("gone_b", "aggr1", "1g", "none").await;
    z.create("gone_a", "aggr1", "1g", "none").await;
    for v in ["gone_b", "gone_a"] {
        z.ok(&format!("<volume-destroy-async><unmount-and-offline>true</unmount-and-offline><volume-name>{v}</volume-name></volume-destroy-async>"))
            .await;
    }
    let iterators: &[(&str, Option<&str>)] = &[
        ("aggr-get-iter", None),
        ("aggr-space-get-iter", None),
        ("system-node-get-iter", None),
        ("vserver-get-iter", None),
        ("vserver-show-aggr-get-iter", None),
        ("vserver-show-aggr-get-iter", Some("svm1")),
        ("net-interface-get-iter", None),
        ("sis-get-iter", Some("svm1")),
        ("job-get-iter", None),
        ("job-schedule-get-iter", None),
        ("snapmirror-policy-get-iter", None),
        ("volume-get-iter", None),
        ("snapshot-get-iter", Some("svm1")),
        ("qtree-list-iter", Some("svm1")),
        ("export-policy-get-iter", None),
        ("export-rule-get-iter", Some("svm1")),
        ("volume-recovery-queue-get-iter", None),
    ];
    let mut wrong = Vec::new();
    for (api, vfiler) in iterators {
        let all = paged(&mut z, api, *vfiler, 100_000).await;
        assert!(all.len() > 1, "{api} should list several records");
        for size in [1, 2, 3] {
            let pages = paged(&mut z, api, *vfiler, size).await;
            if pages != all {
                let lost = all.iter().filter(|r| !pages.contains(r)).count();
                wrong.push(format!(
                    "{api} ({vfiler:?}) by {size}: {} records instead of {}, {lost} lost",
                    pages.len(),
                    all.len()
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "paging differs from one page: {wrong:#?}");
}
