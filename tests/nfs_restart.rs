//! Data and file handles survive a restart of the simulator (clean or killed), as on a real
//! filer; a deleted file, an offline volume and a destroyed volume answer NFS3ERR_STALE.

mod common;
mod nfs_support;
use nfs3_client::nfs3_types::nfs3::nfsstat3;
use nfs_support::*;

/// Stop the simulator (SIGTERM when `clean`, else SIGKILL) and start it again on the same state.
fn restart(mut lab: Lab, clean: bool) -> Lab {
    if clean {
        assert!(lab.sim.terminate().success());
    } else {
        lab.sim.child.kill().unwrap();
        lab.sim.child.wait().unwrap();
    }
    let dir = std::mem::replace(&mut lab.sim.dir, tempfile::tempdir().unwrap());
    drop(lab);
    Lab::start_in(dir, None, &[])
}

#[tokio::test(flavor = "multi_thread")]
async fn restart_keeps_data_and_handles() {
    let mut lab = Lab::start(None);
    lab.policy("p").await;
    lab.rule("p", "127.0.0.1", "sys", "sys", "sys").await;
    lab.volume("v", "100m", "p").await;
    lab.volume("w", "100m", "p").await;
    let mut c = Nfs::mount(&lab, "127.0.0.1", "/v", Some((0, 0)))
        .await
        .unwrap();
    let root = c.root.clone();
    let d = c.mkdir(&root, "a", 0o755).await.unwrap();
    let d2 = c.mkdir(&d, "b", 0o755).await.unwrap();
    let f = c.create(&d2, "file", 0o644).await.unwrap();
    c.write_all(&f, 0, b"kept across restarts").await.unwrap();
    let gone = c.create(&root, "gone", 0o644).await.unwrap();
    let used = lab.size_used("v").await;
    let mut cw = Nfs::mount(&lab, "127.0.0.1", "/w", Some((0, 0)))
        .await
        .unwrap();
    let wroot = cw.root.clone();
    let wf = cw.create(&wroot, "x", 0o644).await.unwrap();
    let handles: Vec<Vec<u8>> = [&root, &d, &d2, &f, &gone, &wroot, &wf]
        .iter()
        .map(|h| fh_bytes(h))
        .collect();
    drop((c, cw));

    for clean in [true, false] {
        lab = restart(lab, clean);
        let mut c = Nfs::mount(&lab, "127.0.0.1", "/v", Some((0, 0)))
            .await
            .unwrap();
        assert_eq!(fh_bytes(&c.root), handles[0], "the root handle is stable");
        // Old handles, never looked up in this life of the server, still work.
        let f = fh_from(&handles[3]);
        assert_eq!(
            c.read_all(&f).await.unwrap(),
            b"kept across restarts",
            "after a {} restart",
            if clean { "clean" } else { "killed" }
        );
        let d2 = fh_from(&handles[2]);
        assert_eq!(c.list(&d2).await.unwrap(), vec![".", "..", "file"]);
        assert!(c.getattr(&fh_from(&handles[1])).await.is_ok());
        assert_eq!(lab.size_used("v").await, used, "size-used is kept");
    }

    let mut c = Nfs::mount(&lab, "127.0.0.1", "/v", Some((0, 0)))
        .await
        .unwrap();
    let root = c.root.clone();
    c.remove(&root, "gone").await.unwrap();
    assert_eq!(
        c.getattr(&fh_from(&handles[4])).await.err(),
        Some(nfsstat3::NFS3ERR_STALE),
        "a deleted file's handle is stale"
    );
    // A new file may reuse the inode number; the old handle stays stale.
    let _n = c.create(&root, "newer", 0o644).await.unwrap();
    assert_eq!(
        c.getattr(&fh_from(&handles[4])).await.err(),
        Some(nfsstat3::NFS3ERR_STALE)
    );

    lab.ok("<volume-unmount><volume-name>w</volume-name></volume-unmount>")
        .await;
    assert_eq!(
        c.getattr(&fh_from(&handles[6])).await.err(),
        Some(nfsstat3::NFS3ERR_STALE),
        "an unmounted volume's handles are stale"
    );
    lab.ok("<volume-offline><name>w</name></volume-offline>")
        .await;
    lab.ok("<volume-destroy><name>w</name></volume-destroy>")
        .await;
    assert_eq!(
        c.getattr(&fh_from(&handles[5])).await.err(),
        Some(nfsstat3::NFS3ERR_STALE),
        "a destroyed volume's handles are stale"
    );
    // A handle this server never made.
    assert_eq!(
        c.getattr(&fh_from(b"not a handle of ours")).await.err(),
        Some(nfsstat3::NFS3ERR_BADHANDLE)
    );
}

/// NFS writes are not journaled: after a kill, the volumes written since the last snapshot (and
/// only those) are measured from disk again, so their usage is right and the start stays fast.
#[tokio::test(flavor = "multi_thread")]
async fn usage_written_over_nfs_survives_a_kill() {
    let mut lab = Lab::start(None);
    lab.policy("p").await;
    lab.rule("p", "127.0.0.1", "sys", "sys", "sys").await;
    lab.volume("v", "100m", "p").await;
    lab.volume("w", "100m", "p").await;
    let before_w = lab.size_used("w").await;
    let mut c = Nfs::mount(&lab, "127.0.0.1", "/v", Some((0, 0)))
        .await
        .unwrap();
    let root = c.root.clone();
    let f = c.create(&root, "blob", 0o644).await.unwrap();
    c.write_all(&f, 0, &vec![7u8; 1 << 20]).await.unwrap();
    let used = lab.size_used("v").await;
    assert!(used >= 1 << 20, "{used}");
    drop(c);
    let dirty = std::fs::read_to_string(lab.sim.dir.path().join("state/dirty.log")).unwrap();
    assert_eq!(
        dirty.lines().count(),
        1,
        "only the written volume is noted: {dirty}"
    );
    lab = restart(lab, false);
    assert_eq!(
        lab.size_used("v").await,
        used,
        "measured again after the kill"
    );
    assert_eq!(lab.size_used("w").await, before_w);
    // A clean stop saves exact figures and forgets the list.
    lab = restart(lab, true);
    assert_eq!(lab.size_used("v").await, used);
    let dirty = std::fs::read_to_string(lab.sim.dir.path().join("state/dirty.log")).unwrap();
    assert!(dirty.is_empty(), "{dirty}");
}
