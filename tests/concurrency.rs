//! Twenty clients at once (Trident's in-flight limit per management LIF), each on its own TLS
//! connection, mixing volume create (unique and deliberately colliding names), snapshots, clones,
//! splits, renames, resizes, export rule add/remove, snapshot delete and destroy. Each client keeps
//! a ledger of what the simulator acknowledged and predicts every answer about its own objects;
//! afterwards the whole cluster is read back through the ZAPI and checked against the ledgers:
//! every acknowledged volume exists exactly once with the right attributes, nothing is doubled or
//! lost, aggregate accounting matches the volumes' footprints, and busy snapshots have live clones.
#![allow(dead_code)]

mod common;
use common::*;
use ontap_sim::zapi::xml::Element;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CONFIG: &str = r#"
seed = "concurrency"
[[aggregates]]
name = "aggr1"
size = "2TiB"
[[aggregates]]
name = "aggr2"
size = "40GiB"

[[svms]]
name = "svm1"
aggregates = ["aggr1", "aggr2"]
[[svms.lifs]]
name = "svm1_data"
address = "127.0.0.1"

[[users]]
name = "admin"
"#;

const CLIENTS: usize = 20;
const READERS: usize = 2;
const WRITERS: usize = CLIENTS - READERS;
const ITERATIONS: usize = 30;
const SHARED_NAMES: u64 = 4;
const POLICY: &str = "conc";
const GIB: u64 = 1 << 30;
const AUTH: Option<(&str, &str)> = Some(("admin", PASSWORD));

/// A small deterministic generator, one stream per client.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Debug, Clone)]
struct Vol {
    name: String,
    aggr: String,
    size: u64,
    guarantee: &'static str,
    comment: String,
    /// (parent volume, snapshot) while the clone is not split.
    clone_of: Option<(String, String)>,
    snapshots: Vec<String>,
}

/// What one client was told succeeded, and what it still owns.
#[derive(Debug, Default)]
struct Ledger {
    vols: Vec<Vol>,
    rules: Vec<(u64, String)>,
    acked: usize,
    refused_space: usize,
    refused_collision: usize,
}

struct Answer {
    status: String,
    errno: Option<u32>,
    reason: String,
    results: Element,
}

async fn call(c: &mut Client, api: &str) -> Answer {
    let r = c.post(&zapi_vfiler("svm1", api), AUTH).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (status, errno, reason) = results(&r.body);
    Answer {
        status,
        errno,
        reason: reason.unwrap_or_default(),
        results: results_el(&r.body),
    }
}

fn must_pass(a: &Answer, what: &str) {
    assert_eq!(
        a.status, "passed",
        "{what}: errno {:?} {}",
        a.errno, a.reason
    );
}

fn must_fail(a: &Answer, errno: u32, reason: &str, what: &str) {
    assert_eq!(a.status, "failed", "{what} should have failed with {errno}");
    assert_eq!(a.errno, Some(errno), "{what}: {}", a.reason);
    assert!(
        a.reason.contains(reason),
        "{what}: reason {:?} should name {reason:?}",
        a.reason
    );
}

fn records(r: &Element) -> Vec<Element> {
    r.child("attributes-list")
        .map(|l| l.children.clone())
        .unwrap_or_default()
}

fn txt<'a>(e: &'a Element, path: &str) -> &'a str {
    let parts: Vec<&str> = path.split('/').collect();
    e.path(&parts)
        .map(|x| x.text.as_str())
        .unwrap_or_else(|| panic!("no {path} in {}", e.to_xml()))
}

fn opt_txt<'a>(e: &'a Element, path: &str) -> Option<&'a str> {
    let parts: Vec<&str> = path.split('/').collect();
    e.path(&parts).map(|x| x.text.as_str())
}

fn num(e: &Element, path: &str) -> u64 {
    txt(e, path)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{path} is not an integer"))
}

fn create_body(name: &str, aggr: &str, size: u64, guarantee: &str, comment: &str) -> String {
    format!(
        "<volume-create><containing-aggr-name>{aggr}</containing-aggr-name><export-policy>default</export-policy>\
         <percentage-snapshot-reserve>0</percentage-snapshot-reserve><size>{size}</size><snapshot-policy>none</snapshot-policy>\
         <space-reserve>{guarantee}</space-reserve><unix-permissions>---rwxrwxrwx</unix-permissions><volume>{name}</volume>\
         <volume-comment>{comment}</volume-comment><volume-security-style>unix</volume-security-style></volume-create>"
    )
}

/// One writer: a bounded, seeded mix of operations, each answer predicted from the ledger.
async fn writer(t: usize, mut c: Client, start: Arc<tokio::sync::Barrier>) -> Ledger {
    let mut rng = Rng::new(t as u64 + 1);
    let mut l = Ledger::default();
    let me = format!("t{t}");
    start.wait().await;
    for i in 0..ITERATIONS {
        let mut op = rng.below(13);
        if l.vols.is_empty() && op >= 3 && op != 8 {
            op = 0;
        }
        match op {
            // A unique volume, thick or thin, on either aggregate.
            0..=2 => {
                let name = format!("t{t}_v{i}");
                let aggr = if rng.below(2) == 0 { "aggr1" } else { "aggr2" };
                let size = (1 + rng.below(4)) * GIB;
                let guarantee = if rng.below(2) == 0 { "volume" } else { "none" };
                let a = call(&mut c, &create_body(&name, aggr, size, guarantee, &me)).await;
                if guarantee == "volume" && a.status == "failed" {
                    // Only space may refuse a thick volume, and only on the small aggregate.
                    must_fail(&a, 13001, aggr, &name);
                    assert_eq!(aggr, "aggr2", "{name}: {}", a.reason);
                    l.refused_space += 1;
                    continue;
                }
                must_pass(&a, &name);
                l.acked += 1;
                l.vols.push(Vol {
                    name,
                    aggr: aggr.into(),
                    size,
                    guarantee,
                    comment: me.clone(),
                    clone_of: None,
                    snapshots: vec![],
                });
            }
            // A name every writer races for: exactly one may hold it at a time.
            3 => {
                let name = format!("shared_{}", rng.below(SHARED_NAMES));
                let a = call(&mut c, &create_body(&name, "aggr1", GIB, "none", &me)).await;
                if a.status == "failed" {
                    must_fail(&a, 13130, &name, &name);
                    l.refused_collision += 1;
                    continue;
                }
                l.acked += 1;
                l.vols.push(Vol {
                    name,
                    aggr: "aggr1".into(),
                    size: GIB,
                    guarantee: "none",
                    comment: me.clone(),
                    clone_of: None,
                    snapshots: vec![],
                });
            }
            4 => {
                let v = rng.below(l.vols.len() as u64) as usize;
                let snap = format!("s{i}");
                let vol = l.vols[v].name.clone();
                let a = call(&mut c, &format!("<snapshot-create><snapshot>{snap}</snapshot><volume>{vol}</volume></snapshot-create>")).await;
                must_pass(&a, &format!("snapshot {vol}/{snap}"));
                l.acked += 1;
                l.vols[v].snapshots.push(snap);
            }
            // A thin clone from a named snapshot or from an implicit one.
            5 => {
                let p = rng.below(l.vols.len() as u64) as usize;
                let parent = l.vols[p].clone();
                let snap = if !parent.snapshots.is_empty() && rng.below(2) == 0 {
                    Some(
                        parent.snapshots[rng.below(parent.snapshots.len() as u64) as usize].clone(),
                    )
                } else {
                    None
                };
                let name = format!("t{t}_c{i}");
                let snap_el = snap
                    .as_ref()
                    .map(|s| format!("<parent-snapshot>{s}</parent-snapshot>"))
                    .unwrap_or_default();
                let a = call(
                    &mut c,
                    &format!("<volume-clone-create>{snap_el}<parent-volume>{}</parent-volume><space-reserve>none</space-reserve><volume>{name}</volume></volume-clone-create>", parent.name),
                )
                .await;
                must_pass(&a, &format!("clone {name} of {}", parent.name));
                l.acked += 1;
                let snap = match snap {
                    Some(s) => s,
                    None => {
                        // Learn the implicit snapshot's name from the clone, as a client would.
                        let r = call(&mut c, &format!("<volume-get-iter><query><volume-attributes><volume-id-attributes><name>{name}</name></volume-id-attributes></volume-attributes></query></volume-get-iter>")).await;
                        must_pass(&r, "read clone");
                        let recs = records(&r.results);
                        assert_eq!(recs.len(), 1);
                        let s = txt(
                            &recs[0],
                            "volume-clone-attributes/volume-clone-parent-attributes/snapshot-name",
                        )
                        .to_string();
                        l.vols[p].snapshots.push(s.clone());
                        s
                    }
                };
                l.vols.push(Vol {
                    name,
                    aggr: parent.aggr.clone(),
                    size: parent.size,
                    guarantee: "none",
                    comment: parent.comment.clone(),
                    clone_of: Some((parent.name.clone(), snap)),
                    snapshots: vec![],
                });
            }
            6 => {
                let clones: Vec<usize> = (0..l.vols.len())
                    .filter(|&k| l.vols[k].clone_of.is_some())
                    .collect();
                if clones.is_empty() {
                    continue;
                }
                let k = clones[rng.below(clones.len() as u64) as usize];
                let name = l.vols[k].name.clone();
                let a = call(&mut c, &format!("<volume-clone-split-start><volume>{name}</volume></volume-clone-split-start>")).await;
                must_pass(&a, &format!("split {name}"));
                l.acked += 1;
                l.vols[k].clone_of = None;
            }
            7 => {
                let v = rng.below(l.vols.len() as u64) as usize;
                let old = l.vols[v].name.clone();
                let new = format!("t{t}_r{i}");
                let a = call(&mut c, &format!("<volume-rename><new-volume-name>{new}</new-volume-name><volume>{old}</volume></volume-rename>")).await;
                must_pass(&a, &format!("rename {old} -> {new}"));
                l.acked += 1;
                l.vols[v].name = new.clone();
                for o in &mut l.vols {
                    if let Some((p, _)) = &mut o.clone_of {
                        if *p == old {
                            *p = new.clone();
                        }
                    }
                }
            }
            8 => {
                let client = format!("10.{t}.{i}.0/24");
                let a = call(
                    &mut c,
                    &format!(
                        "<export-rule-create><client-match>{client}</client-match><policy-name>{POLICY}</policy-name>\
                         <protocol><access-protocol>nfs</access-protocol></protocol><ro-rule><security-flavor>any</security-flavor></ro-rule>\
                         <rw-rule><security-flavor>any</security-flavor></rw-rule><super-user-security><security-flavor>any</security-flavor></super-user-security>\
                         <return-record>true</return-record></export-rule-create>"
                    ),
                )
                .await;
                must_pass(&a, &format!("rule {client}"));
                l.acked += 1;
                let rec = a
                    .results
                    .path(&["result", "export-rule-info"])
                    .expect("return-record");
                assert_eq!(txt(rec, "client-match"), client);
                l.rules.push((num(rec, "rule-index"), client));
            }
            9 => {
                if l.rules.is_empty() {
                    continue;
                }
                let (index, client) = l.rules.remove(rng.below(l.rules.len() as u64) as usize);
                let a = call(&mut c, &format!("<export-rule-destroy><policy-name>{POLICY}</policy-name><rule-index>{index}</rule-index></export-rule-destroy>")).await;
                must_pass(&a, &format!("destroy rule {index} ({client})"));
                l.acked += 1;
            }
            10 => {
                let with: Vec<usize> = (0..l.vols.len())
                    .filter(|&k| !l.vols[k].snapshots.is_empty())
                    .collect();
                if with.is_empty() {
                    continue;
                }
                let v = with[rng.below(with.len() as u64) as usize];
                let s = rng.below(l.vols[v].snapshots.len() as u64) as usize;
                let (vol, snap) = (l.vols[v].name.clone(), l.vols[v].snapshots[s].clone());
                let busy_with = l
                    .vols
                    .iter()
                    .find(|o| o.clone_of.as_ref() == Some(&(vol.clone(), snap.clone())))
                    .map(|o| o.name.clone());
                let a = call(&mut c, &format!("<snapshot-delete><snapshot>{snap}</snapshot><volume>{vol}</volume></snapshot-delete>")).await;
                match busy_with {
                    Some(clone) => {
                        must_fail(&a, 13024, &clone, &format!("delete busy {vol}/{snap}"))
                    }
                    None => {
                        must_pass(&a, &format!("delete {vol}/{snap}"));
                        l.acked += 1;
                        l.vols[v].snapshots.remove(s);
                    }
                }
            }
            11 => {
                let v = rng.below(l.vols.len() as u64) as usize;
                let name = l.vols[v].name.clone();
                let child = l
                    .vols
                    .iter()
                    .find(|o| o.clone_of.as_ref().is_some_and(|(p, _)| *p == name))
                    .map(|o| o.name.clone());
                let a = call(&mut c, &format!("<volume-destroy><name>{name}</name><unmount-and-offline>true</unmount-and-offline></volume-destroy>")).await;
                match child {
                    Some(child) => must_fail(&a, 13001, &child, &format!("destroy parent {name}")),
                    None => {
                        must_pass(&a, &format!("destroy {name}"));
                        l.acked += 1;
                        l.vols.remove(v);
                    }
                }
            }
            _ => {
                let v = rng.below(l.vols.len() as u64) as usize;
                let name = l.vols[v].name.clone();
                let a = call(&mut c, &format!("<volume-size><volume>{name}</volume><new-size>+1g</new-size></volume-size>")).await;
                if l.vols[v].guarantee == "volume" && a.status == "failed" {
                    must_fail(&a, 13001, &l.vols[v].aggr, &format!("grow {name}"));
                    l.refused_space += 1;
                    continue;
                }
                must_pass(&a, &format!("grow {name}"));
                l.acked += 1;
                l.vols[v].size += GIB;
            }
        }
    }
    l
}

/// A reader paging through every volume while the writers work: within one traversal no name
/// appears twice, pages are consistent, and aggregate space always adds up.
async fn reader(mut c: Client, start: Arc<tokio::sync::Barrier>, done: Arc<AtomicBool>) -> usize {
    start.wait().await;
    let mut traversals = 0;
    loop {
        let finished = done.load(Ordering::SeqCst);
        let mut seen = BTreeSet::new();
        let mut tag: Option<String> = None;
        for pages in 0.. {
            assert!(pages < 1000, "paging does not end");
            let tag_el = tag
                .as_ref()
                .map(|t| format!("<tag>{}</tag>", quick_xml::escape::escape(t)))
                .unwrap_or_default();
            let a = call(&mut c, &format!("<volume-get-iter><max-records>5</max-records>{tag_el}<desired-attributes><volume-attributes><volume-id-attributes><name/></volume-id-attributes></volume-attributes></desired-attributes></volume-get-iter>")).await;
            must_pass(&a, "page");
            let recs = records(&a.results);
            assert_eq!(num(&a.results, "num-records") as usize, recs.len());
            assert!(recs.len() <= 5);
            for r in &recs {
                let n = txt(r, "volume-id-attributes/name").to_string();
                assert!(
                    seen.insert(n.clone()),
                    "{n} returned twice in one traversal"
                );
            }
            match a.results.child_text("next-tag") {
                Some(t) => tag = Some(t.to_string()),
                None => break,
            }
        }
        let r = c.post(&zapi("<aggr-get-iter/>"), AUTH).await;
        let r = assert_passed(&r.body);
        for a in records(&r) {
            let (u, av, t) = (
                num(&a, "aggr-space-attributes/size-used"),
                num(&a, "aggr-space-attributes/size-available"),
                num(&a, "aggr-space-attributes/size-total"),
            );
            assert_eq!(u + av, t, "{}", a.to_xml());
            assert!(u <= t);
        }
        traversals += 1;
        if finished {
            return traversals;
        }
    }
}

async fn connect(addr: SocketAddr, ca: &Path) -> Client {
    Client::connect(addr, ca, None, None)
        .await
        .expect("TLS connect")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_clients_at_once_keep_the_cluster_consistent() {
    let sim = Sim::start(Some(CONFIG));
    let ca = sim.ca_path();
    let mut admin = sim.client().await;
    let r = admin
        .post(&zapi_vfiler("svm1", &format!("<export-policy-create><policy-name>{POLICY}</policy-name></export-policy-create>")), AUTH)
        .await;
    assert_passed(&r.body);

    let began = Instant::now();
    let start = Arc::new(tokio::sync::Barrier::new(CLIENTS));
    let done = Arc::new(AtomicBool::new(false));
    let connected = Arc::new(AtomicUsize::new(0));
    let mut writers = Vec::new();
    for t in 0..WRITERS {
        let (start, ca, connected) = (start.clone(), ca.clone(), connected.clone());
        let addr = sim.addr;
        writers.push(tokio::spawn(async move {
            let c = connect(addr, &ca).await;
            connected.fetch_add(1, Ordering::SeqCst);
            writer(t, c, start).await
        }));
    }
    let mut readers = Vec::new();
    for _ in 0..READERS {
        let (start, ca, done, connected) =
            (start.clone(), ca.clone(), done.clone(), connected.clone());
        let addr = sim.addr;
        readers.push(tokio::spawn(async move {
            let c = connect(addr, &ca).await;
            connected.fetch_add(1, Ordering::SeqCst);
            reader(c, start, done).await
        }));
    }
    let all = async {
        let mut ledgers = Vec::new();
        for w in writers {
            ledgers.push(w.await.expect("writer panicked"));
        }
        done.store(true, Ordering::SeqCst);
        let mut traversals = 0;
        for r in readers {
            traversals += r.await.expect("reader panicked");
        }
        (ledgers, traversals)
    };
    let (ledgers, traversals) = tokio::time::timeout(Duration::from_secs(120), all)
        .await
        .expect("the storm did not finish: a hang");
    assert_eq!(connected.load(Ordering::SeqCst), CLIENTS);
    assert!(traversals >= READERS);
    let storm = began.elapsed();

    // ---- Read everything back through the ZAPI. ----
    let mut c = connect(sim.addr, &ca).await;
    let mut listed: Vec<Element> = Vec::new();
    let mut tag: Option<String> = None;
    loop {
        let tag_el = tag
            .as_ref()
            .map(|t| format!("<tag>{}</tag>", quick_xml::escape::escape(t)))
            .unwrap_or_default();
        let a = call(
            &mut c,
            &format!("<volume-get-iter><max-records>50</max-records>{tag_el}</volume-get-iter>"),
        )
        .await;
        must_pass(&a, "final listing");
        listed.extend(records(&a.results));
        match a.results.child_text("next-tag") {
            Some(t) => tag = Some(t.to_string()),
            None => break,
        }
    }
    let mut by_name: BTreeMap<String, Element> = BTreeMap::new();
    for v in &listed {
        let n = txt(v, "volume-id-attributes/name").to_string();
        assert!(
            by_name.insert(n.clone(), v.clone()).is_none(),
            "volume {n} listed twice"
        );
    }

    // Every acknowledged volume exists once, as acknowledged; nothing else exists.
    let mut expected: BTreeMap<String, Vol> = BTreeMap::new();
    for l in &ledgers {
        for v in &l.vols {
            assert!(
                expected.insert(v.name.clone(), v.clone()).is_none(),
                "two clients hold {}",
                v.name
            );
        }
    }
    for (name, want) in &expected {
        let got = by_name
            .get(name)
            .unwrap_or_else(|| panic!("acknowledged volume {name} is lost"));
        assert_eq!(
            txt(got, "volume-id-attributes/containing-aggregate-name"),
            want.aggr,
            "{name}"
        );
        assert_eq!(
            num(got, "volume-space-attributes/size"),
            want.size,
            "{name}"
        );
        assert_eq!(
            txt(got, "volume-space-attributes/space-guarantee"),
            want.guarantee,
            "{name}"
        );
        assert_eq!(
            txt(got, "volume-id-attributes/comment"),
            want.comment,
            "{name}"
        );
        assert_eq!(
            txt(got, "volume-state-attributes/state"),
            "online",
            "{name}"
        );
        let parent = opt_txt(
            got,
            "volume-clone-attributes/volume-clone-parent-attributes/name",
        );
        let snap = opt_txt(
            got,
            "volume-clone-attributes/volume-clone-parent-attributes/snapshot-name",
        );
        match &want.clone_of {
            Some((p, s)) => assert_eq!(
                (parent, snap),
                (Some(p.as_str()), Some(s.as_str())),
                "{name}"
            ),
            None => assert_eq!(parent, None, "{name} should not be a clone"),
        }
    }
    let extra: Vec<&String> = by_name
        .keys()
        .filter(|n| !expected.contains_key(*n) && *n != "svm1_root")
        .collect();
    assert!(extra.is_empty(), "volumes nobody was told exist: {extra:?}");
    // Each colliding name is held by at most one client, with that client's attributes.
    for k in 0..SHARED_NAMES {
        let name = format!("shared_{k}");
        let holders = ledgers
            .iter()
            .filter(|l| l.vols.iter().any(|v| v.name == name))
            .count();
        assert!(holders <= 1, "{name} held by {holders} clients");
    }

    // Snapshots: exactly the acknowledged ones; busy ones have a live clone and vice versa.
    let a = call(
        &mut c,
        "<snapshot-get-iter><max-records>100000</max-records></snapshot-get-iter>",
    )
    .await;
    must_pass(&a, "snapshots");
    let snaps = records(&a.results);
    let mut per_volume: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for s in &snaps {
        let (vol, name) = (txt(s, "volume").to_string(), txt(s, "name").to_string());
        let clone = listed.iter().find(|v| {
            opt_txt(
                v,
                "volume-clone-attributes/volume-clone-parent-attributes/name",
            ) == Some(vol.as_str())
                && opt_txt(
                    v,
                    "volume-clone-attributes/volume-clone-parent-attributes/snapshot-name",
                ) == Some(name.as_str())
        });
        assert_eq!(
            txt(s, "busy") == "true",
            clone.is_some(),
            "snapshot {vol}/{name}: busy {} but clone {:?}",
            txt(s, "busy"),
            clone.map(|c| txt(c, "volume-id-attributes/name"))
        );
        per_volume.entry(vol).or_default().insert(name);
    }
    for (name, want) in &expected {
        let got = per_volume.remove(name).unwrap_or_default();
        let want: BTreeSet<String> = want.snapshots.iter().cloned().collect();
        assert_eq!(got, want, "snapshots of {name}");
    }
    per_volume.retain(|_, s| !s.is_empty());
    assert!(
        per_volume.is_empty(),
        "snapshots on unknown volumes: {per_volume:?}"
    );
    for v in &listed {
        if let Some(p) = opt_txt(
            v,
            "volume-clone-attributes/volume-clone-parent-attributes/name",
        ) {
            assert!(
                by_name.contains_key(p),
                "clone {} has a missing parent {p}",
                txt(v, "volume-id-attributes/name")
            );
        }
    }

    // Destroyed volumes hold their space in the recovery queue until purged: purge them all, as
    // Trident does with skipRecoveryQueue, so the aggregate holds exactly the live volumes.
    let rq = admin
        .post(
            &zapi_vfiler(
                "svm1",
                "<volume-recovery-queue-get-iter><max-records>100000</max-records></volume-recovery-queue-get-iter>",
            ),
            AUTH,
        )
        .await;
    let rq = assert_passed(&rq.body);
    for e in records(&rq) {
        let name = txt(&e, "volume-name");
        let body = format!("<volume-recovery-queue-purge><volume-name>{name}</volume-name></volume-recovery-queue-purge>");
        assert_passed(&admin.post(&zapi_vfiler("svm1", &body), AUTH).await.body);
    }

    // Aggregates: used = sum of footprints read from volume-get-iter, used + available = total.
    let r = admin.post(&zapi("<aggr-get-iter/>"), AUTH).await;
    let r = assert_passed(&r.body);
    for aggr in records(&r) {
        let name = txt(&aggr, "aggregate-name");
        let used = num(&aggr, "aggr-space-attributes/size-used");
        let avail = num(&aggr, "aggr-space-attributes/size-available");
        let total = num(&aggr, "aggr-space-attributes/size-total");
        assert_eq!(used + avail, total, "{name}");
        assert!(used <= total, "{name} over-committed");
        let footprints: u64 = listed
            .iter()
            .filter(|v| txt(v, "volume-id-attributes/containing-aggregate-name") == name)
            .map(
                |v| match txt(v, "volume-space-attributes/space-guarantee") {
                    "volume" => num(v, "volume-space-attributes/size"),
                    _ => num(v, "volume-space-attributes/size-used"),
                },
            )
            .sum();
        assert_eq!(
            used, footprints,
            "aggregate {name}: size-used vs the volumes' footprints"
        );
    }

    // Export rules: exactly the live acknowledged ones, at the indexes they were given.
    let a = call(&mut c, &format!("<export-rule-get-iter><max-records>100000</max-records><query><export-rule-info><policy-name>{POLICY}</policy-name></export-rule-info></query></export-rule-get-iter>")).await;
    must_pass(&a, "rules");
    let got: Vec<(u64, String)> = records(&a.results)
        .iter()
        .map(|r| (num(r, "rule-index"), txt(r, "client-match").to_string()))
        .collect();
    let mut want: Vec<(u64, String)> = ledgers
        .iter()
        .flat_map(|l| l.rules.iter().cloned())
        .collect();
    want.sort();
    assert_eq!(got, want, "export rules");

    // The storm did real work, and the server still answers promptly.
    let acked: usize = ledgers.iter().map(|l| l.acked).sum();
    let collisions: usize = ledgers.iter().map(|l| l.refused_collision).sum();
    assert!(
        acked > WRITERS * ITERATIONS / 2,
        "only {acked} acknowledged operations"
    );
    assert!(collisions > 0, "no name collision happened");
    eprintln!(
        "{CLIENTS} clients: {acked} acknowledged writes, {collisions} collisions, {} space refusals, {traversals} read traversals in {storm:?}",
        ledgers.iter().map(|l| l.refused_space).sum::<usize>()
    );
    assert_passed(&sim.call(&zapi("<system-get-version/>")).await);
}
