//! Measures how start-up time grows with the saved state: builds state dirs of 1k, 10k and 100k
//! volumes through the model and the store, then times `ontap-sim serve` from launch to `ready`.
//! Run: `cargo run --release --example state_load` (after `cargo build --release`).

use ontap_sim::config::Topology;
use ontap_sim::model::{Cluster, Guarantee, Listeners, VolumeSpec};
use ontap_sim::store::data::DataDirs;
use ontap_sim::store::Store;
use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::Instant;

fn build(dir: &std::path::Path, n: usize) -> f64 {
    let listen = Listeners {
        management: "127.0.0.1:0".parse().unwrap(),
        nfs: "127.0.0.1:0".parse().unwrap(),
    };
    let (mut store, _) = Store::open(dir).unwrap();
    let mut cluster = Cluster::from_topology(&Topology::builtin_default(), &listen);
    let t = Instant::now();
    for i in 0..n {
        let spec = VolumeSpec {
            name: format!("trident_pvc_{i:06}"),
            aggregate: "aggr1".into(),
            size: 1 << 30,
            guarantee: Some(Guarantee::None),
            junction_path: Some(format!("/trident_pvc_{i:06}")),
            ..Default::default()
        };
        cluster.create_volume("svm1", spec).unwrap();
    }
    cluster.commit();
    store.compact(&cluster).unwrap();
    DataDirs::at(store.volumes_dir())
        .unwrap()
        .reconcile(&cluster, true)
        .unwrap();
    t.elapsed().as_secs_f64()
}

fn start_time(bin: &str, dir: &std::path::Path) -> f64 {
    let t = Instant::now();
    let mut child = Command::new(bin)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--nfs-listen",
            "127.0.0.1:0",
            "--state-dir",
        ])
        .arg(dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run target/release/ontap-sim (cargo build --release first)");
    for line in std::io::BufReader::new(child.stdout.take().unwrap()).lines() {
        if line.unwrap() == "ready" {
            break;
        }
    }
    let secs = t.elapsed().as_secs_f64();
    child.kill().ok();
    child.wait().ok();
    secs
}

fn main() {
    let bin = std::env::var("ONTAP_SIM_BIN").unwrap_or_else(|_| "target/release/ontap-sim".into());
    println!(
        "{:>9} {:>12} {:>12} {:>14}",
        "volumes", "state MiB", "start s", "vs 1k volumes"
    );
    let mut base = None;
    for n in [1_000, 10_000, 100_000] {
        let dir = tempfile::tempdir().unwrap();
        build(dir.path(), n);
        let size = std::fs::metadata(dir.path().join("state.snap"))
            .unwrap()
            .len() as f64
            / (1 << 20) as f64;
        let secs = start_time(&bin, dir.path());
        let b = *base.get_or_insert(secs);
        println!("{n:>9} {size:>12.1} {secs:>12.3} {:>13.1}x", secs / b);
    }
}
