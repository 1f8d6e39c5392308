//! The state dir's formats: state dirs written by older builds still load exactly, a snapshot is
//! read the same however its lines come, and the data directories are reconciled with the model.

use ontap_sim::config::Topology;
use ontap_sim::model::{Cluster, Guarantee, Listeners, QtreeChange, VolumeSpec};
use ontap_sim::store::data::DataDirs;
use ontap_sim::store::{records, Batch, StateDoc, Store, FORMAT_VERSION};
use std::path::Path;

fn fresh() -> Cluster {
    let listen = Listeners {
        management: "127.0.0.1:0".parse().unwrap(),
        nfs: "127.0.0.1:0".parse().unwrap(),
    };
    Cluster::from_topology(&Topology::builtin_default(), &listen)
}

fn volume(c: &mut Cluster, name: &str, junction: bool) {
    let spec = VolumeSpec {
        name: name.into(),
        aggregate: "aggr1".into(),
        size: 1 << 30,
        guarantee: Some(Guarantee::None),
        junction_path: junction.then(|| format!("/{name}")),
        ..Default::default()
    };
    c.create_volume("svm1", spec).unwrap();
}

/// A cluster with one of every kind of record: volumes (mounted or not), a snapshot and a clone
/// of it, an export policy, a qtree, a job and a recovery-queue entry.
fn rich(volumes: usize) -> Cluster {
    let mut c = fresh();
    for i in 0..volumes {
        volume(&mut c, &format!("vol{i:05}"), i % 3 != 0);
    }
    c.create_snapshot("svm1", "vol00001", "snap1", "first", "")
        .unwrap();
    c.clone_volume("svm1", "vol00001", Some("snap1"), "clone1", None, None)
        .unwrap();
    c.create_export_policy("svm1", "pol1").unwrap();
    c.create_qtree("svm1", "vol00002", "q1", QtreeChange::default())
        .unwrap();
    c.record_job("job1", "a job".into(), Some("svm1"), Ok("done".into()));
    volume(&mut c, "gone", false);
    c.destroy_volume("svm1", "gone", true).unwrap();
    c.commit();
    c
}

/// Everything saved about a cluster, as text to compare.
fn dump(c: &Cluster) -> String {
    serde_json::to_string(&StateDoc::of(c)).unwrap()
}

fn crc_hex(bytes: &[u8]) -> String {
    format!("{:08x}", crc32fast::hash(bytes))
}

/// A snapshot file as the store writes it: body, then its checksum and length.
fn write_snapshot(dir: &Path, body: &str) {
    let text = format!(
        "{body}\ncrc {} len {}\n",
        crc_hex(body.as_bytes()),
        body.len()
    );
    std::fs::write(dir.join("state.snap"), text).unwrap();
}

/// Open a state dir and load it over a fresh cluster, as a start does.
fn load(dir: &Path) -> (Store, Cluster) {
    let (store, loaded) = Store::open(dir).unwrap();
    let mut c = fresh();
    records::load_into(&mut c, loaded.expect("a saved state")).unwrap();
    (store, c)
}

/// The lines of the operation in progress as journal lines (the store's framing).
fn journal_line(c: &Cluster, seq: u64) -> String {
    let (put, del) = records::changes(c);
    let json = serde_json::to_string(&Batch {
        seq,
        counters: c.counters,
        put,
        del,
    })
    .unwrap();
    format!("{} {json}\n", crc_hex(json.as_bytes()))
}

#[test]
fn format_1_state_dirs_load_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = rich(20);
    // Format 1: the snapshot is one JSON document laid out as the state document.
    let mut doc = StateDoc::of(&c);
    doc.version = 1;
    write_snapshot(dir.path(), &serde_json::to_string(&doc).unwrap());
    let header = r#"{"format":"ontap-sim-journal","version":1}"#;
    let mut journal = format!("{} {header}\n", crc_hex(header.as_bytes()));
    volume(&mut c, "aaa_late", true);
    journal.push_str(&journal_line(&c, 1));
    c.commit();
    c.destroy_volume("svm1", "vol00007", true).unwrap();
    journal.push_str(&journal_line(&c, 2));
    c.commit();
    std::fs::write(dir.path().join("journal.log"), journal).unwrap();

    let (mut store, loaded) = load(dir.path());
    assert_eq!(dump(&loaded), dump(&c));
    // The next snapshot is written in the current format, and reads back the same.
    store.compact(&loaded).unwrap();
    drop(store);
    let snap = std::fs::read_to_string(dir.path().join("state.snap")).unwrap();
    assert!(
        snap.starts_with(&format!(
            r#"{{"format":"ontap-sim-state","version":{FORMAT_VERSION},"#
        )),
        "{}",
        &snap[..80]
    );
    assert_eq!(dump(&load(dir.path()).1), dump(&c));
}

#[test]
fn a_large_state_with_a_journal_loads_exactly() {
    // Large enough for the snapshot to be read and decoded by several threads.
    let dir = tempfile::tempdir().unwrap();
    let mut c = rich(3000);
    let (mut store, _) = Store::open(dir.path()).unwrap();
    store.compact(&c).unwrap();
    assert!(
        std::fs::metadata(dir.path().join("state.snap"))
            .unwrap()
            .len()
            > 2 << 20
    );
    // Changes after the snapshot: a new first and last key, a change and a removal between.
    volume(&mut c, "aaa_first", true);
    volume(&mut c, "zzz_last", false);
    store.append(&c).unwrap();
    c.commit();
    c.destroy_volume("svm1", "vol01234", true).unwrap();
    c.create_snapshot("svm1", "vol02000", "s2", "", "").unwrap();
    store.append(&c).unwrap();
    c.commit();
    drop(store);
    assert_eq!(dump(&load(dir.path()).1), dump(&c));
}

/// Compact `c` into a fresh state dir; the snapshot's lines without the trailer.
fn snapshot_lines(dir: &Path, c: &Cluster) -> Vec<String> {
    let (mut store, _) = Store::open(dir).unwrap();
    store.compact(c).unwrap();
    drop(store);
    let text = std::fs::read_to_string(dir.join("state.snap")).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines.pop(); // the trailer
    lines
}

#[test]
fn snapshot_lines_in_any_order_load_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let c = rich(50);
    let mut lines = snapshot_lines(dir.path(), &c);
    lines[1..].reverse();
    write_snapshot(dir.path(), &lines.join("\n"));
    assert_eq!(dump(&load(dir.path()).1), dump(&c));
}

#[test]
fn a_damaged_record_is_refused_naming_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = snapshot_lines(dir.path(), &rich(50));
    lines[30] = lines[30].replacen("\"size\":", "\"sighs\":", 1);
    write_snapshot(dir.path(), &lines.join("\n"));
    let err = format!("{:#}", Store::open(dir.path()).err().expect("refused"));
    assert!(
        err.contains("state.snap") && err.contains("line 31") && err.contains("sighs"),
        "{err}"
    );
}

#[test]
fn data_directories_follow_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let c = rich(5);
    let root = dir.path().join("volumes");
    let data = DataDirs::at(root.clone()).unwrap();
    data.reconcile(&c, true).unwrap();
    let uuid = |name: &str| c.volumes[&("svm1".to_string(), name.to_string())].uuid;
    let (plain, with_snap) = (uuid("vol00000"), uuid("vol00001"));
    let snap = c.volumes[&("svm1".to_string(), "vol00001".to_string())].snapshots["snap1"].uuid;
    assert!(data.volume_dir(&plain).is_dir());
    assert!(data.snapshot_dir(&with_snap, &snap).is_dir());
    assert_eq!(data.reconcile(&c, false).unwrap(), (0, 0), "nothing to do");

    // A volume without its data/, a snapshot without its copy, a snapshot copy of no snapshot,
    // a directory of no volume, and one that spells a volume's UUID in capitals.
    std::fs::remove_dir(data.volume_dir(&plain)).unwrap();
    std::fs::remove_dir(data.snapshot_dir(&with_snap, &snap)).unwrap();
    std::fs::create_dir_all(root.join(plain.to_string()).join("snapshots/left-over")).unwrap();
    std::fs::create_dir_all(root.join("not-a-volume")).unwrap();
    let upper = uuid("vol00002").to_string().to_uppercase();
    std::fs::create_dir_all(root.join(&upper)).unwrap();
    assert_eq!(data.reconcile(&c, false).unwrap(), (3, 2));
    assert!(data.volume_dir(&plain).is_dir());
    assert!(data.snapshot_dir(&with_snap, &snap).is_dir());
    assert!(!root
        .join(plain.to_string())
        .join("snapshots/left-over")
        .exists());
    assert!(!root.join("not-a-volume").exists() && !root.join(&upper).exists());
    let kept = std::fs::read_dir(dir.path().join("orphans"))
        .unwrap()
        .count();
    assert_eq!(kept, 3, "moved aside, not deleted");
    assert_eq!(data.reconcile(&c, false).unwrap(), (0, 0));
}

/// Copy the files of a state dir (not its volumes) into another.
fn copy_state(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() && e.file_name() != "state.lock" {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// Journal `n` new volumes named `prefix_i`, one change each.
fn journal_volumes(store: &mut Store, c: &mut Cluster, prefix: &str, n: usize) {
    for i in 0..n {
        volume(c, &format!("{prefix}_{i:03}"), i % 2 == 0);
        store.append(c).unwrap();
        c.commit();
    }
}

#[test]
fn a_background_fold_writes_the_snapshot_a_foreground_one_does() {
    let (fg, bg) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let c = rich(50);
    let mut snaps = Vec::new();
    for (dir, background) in [(fg.path(), false), (bg.path(), true)] {
        let mut c = c.clone();
        let (mut store, _) = Store::open(dir).unwrap();
        journal_volumes(&mut store, &mut c, "late", 5);
        if background {
            store.compact_in_background(&c).unwrap();
            store.finish_folding();
        } else {
            store.compact(&c).unwrap();
        }
        drop(store);
        snaps.push(std::fs::read(dir.join("state.snap")).unwrap());
        for set_aside in ["journal.prev", "dirty.prev"] {
            assert!(!dir.join(set_aside).exists(), "{set_aside} left behind");
        }
    }
    assert!(
        snaps[0] == snaps[1],
        "the two folds wrote different snapshots"
    );
    assert_eq!(dump(&load(bg.path()).1), dump(&load(fg.path()).1));
}

#[test]
fn folds_happen_every_so_many_changes_and_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = rich(20);
    let (mut store, _) = Store::open(dir.path()).unwrap();
    store.compact(&c).unwrap();
    store.set_compact_every(4);
    let mut folds = 0;
    for i in 0..30 {
        volume(&mut c, &format!("many_{i:03}"), false);
        store.append(&c).unwrap();
        c.commit();
        if store.wants_compaction() {
            store.compact_in_background(&c).unwrap();
            folds += 1;
        }
    }
    assert_eq!(folds, 7);
    drop(store); // waits for the last fold
    assert!(!dir.path().join("journal.prev").exists());
    assert_eq!(dump(&load(dir.path()).1), dump(&c));
}

#[test]
fn a_fold_cut_short_by_a_crash_loses_nothing_and_is_finished_later() {
    let dir = tempfile::tempdir().unwrap();
    let before = tempfile::tempdir().unwrap();
    let mut c = rich(30);
    let (mut store, _) = Store::open(dir.path()).unwrap();
    store.compact(&c).unwrap();
    journal_volumes(&mut store, &mut c, "before", 6);
    // What the dir held when the fold began: the old snapshot and the journal it sets aside.
    copy_state(dir.path(), before.path());
    store.compact_in_background(&c).unwrap();
    journal_volumes(&mut store, &mut c, "after", 4);
    c.destroy_volume("svm1", "before_002", true).unwrap();
    store.append(&c).unwrap();
    c.commit();
    store.finish_folding();
    drop(store);
    // The crash: the new snapshot never landed, the journal set aside is still there.
    let crashed = tempfile::tempdir().unwrap();
    copy_state(dir.path(), crashed.path());
    std::fs::copy(
        before.path().join("state.snap"),
        crashed.path().join("state.snap"),
    )
    .unwrap();
    std::fs::copy(
        before.path().join("journal.log"),
        crashed.path().join("journal.prev"),
    )
    .unwrap();
    let (mut store, loaded) = load(crashed.path());
    assert_eq!(dump(&loaded), dump(&c));
    // The next fold cannot set its journal aside over the unfinished one: it folds both now.
    let mut c = loaded;
    journal_volumes(&mut store, &mut c, "later", 2);
    store.compact_in_background(&c).unwrap();
    assert!(!crashed.path().join("journal.prev").exists());
    drop(store);
    assert_eq!(dump(&load(crashed.path()).1), dump(&c));
}
