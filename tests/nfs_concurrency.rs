//! Several NFS clients writing at once while snapshots are taken through ZAPI: every byte reads
//! back, the volume's size-used is exactly the bytes stored (and agrees with what a restart
//! measures from disk), and every snapshot holds whole writes.

mod common;
mod nfs_support;
use nfs_support::*;

const WRITERS: usize = 4;
const FILE: usize = 2 << 20;
const CHUNK: usize = 64 << 10;

fn pattern(writer: usize, len: usize) -> Vec<u8> {
    (0..len).map(|i| (i / CHUNK + writer * 7) as u8).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_and_snapshots_keep_exact_accounting() {
    let mut lab = Lab::start(None);
    lab.policy("p").await;
    lab.rule("p", "127.0.0.0/24", "sys", "sys", "sys").await;
    lab.volume("v", "200m", "p").await;
    let base = lab.size_used("v").await;

    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let server = lab.nfs;
        tasks.push(tokio::spawn(async move {
            let mut c = Nfs::mount_at(server, "127.0.0.1", "/v", Some((0, 0)))
                .await
                .expect("mount");
            let root = c.root.clone();
            let f = c.create(&root, &format!("w{w}"), 0o644).await.unwrap();
            let data = pattern(w, FILE);
            for (i, chunk) in data.chunks(CHUNK).enumerate() {
                c.write(&f, (i * CHUNK) as u64, chunk).await.unwrap();
            }
            // Overwrite the first half: no growth, no new charge.
            c.write_all(&f, 0, &data[..FILE / 2]).await.unwrap();
        }));
    }
    for s in 0..5 {
        lab.ok(&format!(
            "<snapshot-create><volume>v</volume><snapshot>s{s}</snapshot></snapshot-create>"
        ))
        .await;
    }
    for t in tasks {
        t.await.unwrap();
    }

    let mut c = Nfs::mount(&lab, "127.0.0.1", "/v", Some((0, 0)))
        .await
        .unwrap();
    let root = c.root.clone();
    for w in 0..WRITERS {
        let f = c.lookup(&root, &format!("w{w}")).await.unwrap();
        assert!(c.read_all(&f).await.unwrap() == pattern(w, FILE), "w{w}");
    }
    let used = lab.size_used("v").await;
    assert_eq!(
        used - base,
        (WRITERS * FILE) as u64,
        "size-used grew by exactly the bytes written"
    );
    // Each snapshot holds whole 64 KiB writes: a file there is a prefix of the final one.
    for s in 0..5 {
        for w in 0..WRITERS {
            if let Ok(f) = c.walk(&format!(".snapshot/s{s}/w{w}")).await {
                let got = c.read_all(&f).await.unwrap();
                assert_eq!(got.len() % CHUNK, 0, "s{s}/w{w}: a torn write");
                assert!(got == pattern(w, got.len()), "s{s}/w{w}");
            }
        }
    }
    // Killed, the simulator measures usage from the disk at start: the same figure.
    drop(c);
    lab.sim.child.kill().unwrap();
    lab.sim.child.wait().unwrap();
    let dir = std::mem::replace(&mut lab.sim.dir, tempfile::tempdir().unwrap());
    drop(lab);
    let lab = Lab::start_in(dir, None, &[]);
    assert_eq!(
        lab.size_used("v").await,
        used,
        "measured after an unclean stop"
    );
}
