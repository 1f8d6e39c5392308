//! Measures how start-up time grows with the saved state: builds state dirs of 1k, 10k and 100k
//! volumes through the model and the store, then times `ontap-sim serve` from launch to `ready`,
//! in two cases:
//! - "after kill": the last tenth of the volumes (at most 10,000) exist only in the journal, and
//!   100 volumes are in `dirty.log` with data to measure, as a SIGKILL leaves a state dir;
//! - "snapshot": the same volumes folded into `state.snap`, the journal empty.
//!
//! Each start is killed with SIGKILL once `ready`, which leaves the state as it was, so the start
//! is repeated (`--runs N`, default 3) and the median shown.
//!
//! Then, per size, how long writers wait for the fold every 20,000 changes: a whole snapshot
//! written under their lock (a clean stop's fold) against a fold in the background, where they
//! wait only while the records are written into memory.
//!
//! Run: `cargo run --release --example state_load -- [--runs N] [--keep DIR] [SIZES...]` (after
//! `cargo build --release`). With `--keep DIR` the state dirs are built once under DIR and reused.

use ontap_sim::config::Topology;
use ontap_sim::model::{Cluster, Guarantee, Listeners, VolumeSpec};
use ontap_sim::store::data::DataDirs;
use ontap_sim::store::Store;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// Volumes whose data changed since the snapshot, in the "after kill" case.
const DIRTY: usize = 100;

fn spec(i: usize) -> VolumeSpec {
    VolumeSpec {
        name: format!("trident_pvc_{i:06}"),
        aggregate: "aggr1".into(),
        size: 1 << 30,
        guarantee: Some(Guarantee::None),
        junction_path: Some(format!("/trident_pvc_{i:06}")),
        ..Default::default()
    }
}

/// A state dir of `n` volumes as a SIGKILL leaves it: most in the snapshot, the rest journaled,
/// some with data written since the snapshot.
fn build_killed(dir: &Path, n: usize) {
    let listen = Listeners {
        management: "127.0.0.1:0".parse().unwrap(),
        nfs: "127.0.0.1:0".parse().unwrap(),
    };
    let (mut store, _) = Store::open(dir).unwrap();
    let mut cluster = Cluster::from_topology(&Topology::builtin_default(), &listen);
    let journaled = (n / 10).min(10_000);
    for i in 0..n - journaled {
        cluster.create_volume("svm1", spec(i)).unwrap();
    }
    cluster.commit();
    store.compact(&cluster).unwrap();
    for i in n - journaled..n {
        cluster.create_volume("svm1", spec(i)).unwrap();
        store.append(&cluster).unwrap();
        cluster.commit();
    }
    let data = DataDirs::at(store.volumes_dir()).unwrap();
    data.reconcile(&cluster, true).unwrap();
    let dirty: Vec<uuid::Uuid> = cluster
        .volumes
        .values()
        .step_by((n / DIRTY).max(1))
        .map(|v| v.uuid)
        .collect();
    store.mark_dirty(&dirty).unwrap();
    for v in &dirty {
        std::fs::write(data.volume_dir(v).join("file"), [7u8; 4096]).unwrap();
    }
}

/// Open a state dir and load its model.
fn open(dir: &Path) -> (Store, Cluster) {
    let listen = Listeners {
        management: "127.0.0.1:0".parse().unwrap(),
        nfs: "127.0.0.1:0".parse().unwrap(),
    };
    let (store, loaded) = Store::open(dir).unwrap();
    let mut cluster = Cluster::from_topology(&Topology::builtin_default(), &listen);
    ontap_sim::store::records::load_into(&mut cluster, loaded.unwrap()).unwrap();
    (store, cluster)
}

/// Fold the journal into the snapshot, as a clean stop or a compaction does.
fn fold(dir: &Path) {
    let (mut store, cluster) = open(dir);
    store.compact(&cluster).unwrap();
}

/// Seconds writers wait for a fold in the foreground, then for one in the background (median of
/// `runs`), and the seconds the background one took to finish.
fn fold_waits(dir: &Path, runs: usize) -> (f64, f64, f64) {
    let (mut store, cluster) = open(dir);
    let (mut fg, mut bg, mut done) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let t = Instant::now();
        store.compact(&cluster).unwrap();
        fg.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        store.compact_in_background(&cluster).unwrap();
        bg.push(t.elapsed().as_secs_f64());
        store.finish_folding();
        done.push(t.elapsed().as_secs_f64());
    }
    let mid = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    (mid(fg), mid(bg), mid(done))
}

fn start_time(bin: &str, dir: &Path) -> f64 {
    let t = Instant::now();
    let mut child = Command::new(bin)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--nfs-listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
            "--state-dir",
        ])
        .arg(dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run target/release/ontap-sim (cargo build --release first)");
    let mut ready = false;
    for line in std::io::BufReader::new(child.stdout.take().unwrap()).lines() {
        if line.unwrap() == "ready" {
            ready = true;
            break;
        }
    }
    let secs = t.elapsed().as_secs_f64();
    child.kill().ok();
    child.wait().ok();
    assert!(ready, "ontap-sim exited before `ready` ({})", dir.display());
    secs
}

fn median(bin: &str, dir: &Path, runs: usize) -> (f64, Vec<f64>) {
    let mut all: Vec<f64> = (0..runs).map(|_| start_time(bin, dir)).collect();
    let shown = all.clone();
    all.sort_by(f64::total_cmp);
    (all[all.len() / 2], shown)
}

fn mib(p: &Path) -> f64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0) as f64 / (1 << 20) as f64
}

fn main() {
    let bin = std::env::var("ONTAP_SIM_BIN").unwrap_or_else(|_| "target/release/ontap-sim".into());
    let mut runs = 3;
    let mut keep: Option<PathBuf> = None;
    let mut sizes = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--runs" => runs = args.next().and_then(|n| n.parse().ok()).expect("--runs N"),
            "--keep" => keep = Some(args.next().expect("--keep DIR").into()),
            n => sizes.push(n.parse::<usize>().expect("a number of volumes")),
        }
    }
    if sizes.is_empty() {
        sizes = vec![1_000, 10_000, 100_000];
    }
    let _temp;
    let root = match keep {
        Some(d) => d,
        None => {
            _temp = tempfile::tempdir().unwrap();
            _temp.path().to_path_buf()
        }
    };
    println!(
        "{:>9} {:>11} {:>10} {:>9}   runs",
        "volumes", "case", "state MiB", "median s"
    );
    let mut folds = Vec::new();
    for &n in &sizes {
        let killed = root.join(format!("{n}-killed"));
        let clean = root.join(format!("{n}-snapshot"));
        if !killed.join("state.snap").exists() {
            let _ = std::fs::remove_dir_all(&killed);
            let _ = std::fs::remove_dir_all(&clean);
            build_killed(&killed, n);
        }
        if !clean.join("state.snap").exists() {
            let _ = std::fs::remove_dir_all(&clean);
            // The same volumes and data, the journal folded in.
            let status = Command::new("cp")
                .arg("-a")
                .arg(&killed)
                .arg(&clean)
                .status()
                .expect("cp");
            assert!(status.success());
            fold(&clean);
        }
        for (case, dir) in [("after kill", &killed), ("snapshot", &clean)] {
            let size = mib(&dir.join("state.snap")) + mib(&dir.join("journal.log"));
            let (m, all) = median(&bin, dir, runs);
            let all: Vec<String> = all.iter().map(|s| format!("{s:.3}")).collect();
            println!(
                "{n:>9} {case:>11} {size:>10.1} {m:>9.3}   {}",
                all.join(" ")
            );
        }
        folds.push((n, fold_waits(&clean, runs)));
    }
    println!(
        "\n{:>9} {:>22} {:>22} {:>22}",
        "volumes", "fold in foreground ms", "writers wait (bg) ms", "background fold ms"
    );
    for (n, (fg, bg, done)) in folds {
        println!(
            "{n:>9} {:>22.1} {:>22.1} {:>22.1}",
            fg * 1e3,
            bg * 1e3,
            done * 1e3
        );
    }
}
