//! Snapshots and clones seen through NFS: a snapshot keeps the data of its moment and is readable
//! under `.snapshot/<name>/` (read-only), a restore brings it back, a clone starts with its parent
//! snapshot's data, and hiding the snapshot directory hides it.

mod common;
mod nfs_support;
use nfs3_client::nfs3_types::nfs3::nfsstat3;
use nfs_support::*;

#[tokio::test(flavor = "multi_thread")]
async fn snapshot_change_read_old_restore_and_clone() {
    require_libnfs();
    let lab = Lab::start(None);
    lab.policy("p").await;
    lab.rule("p", "127.0.0.1", "sys", "sys", "sys").await;
    lab.volume("v", "100m", "p").await;

    let mut c = Nfs::mount(&lab, "127.0.0.1", "/v", Some((0, 0)))
        .await
        .unwrap();
    let root = c.root.clone();
    let d = c.mkdir(&root, "dir", 0o755).await.unwrap();
    let f = c.create(&d, "file.txt", 0o644).await.unwrap();
    c.write_all(&f, 0, b"version one").await.unwrap();

    lab.ok("<snapshot-create><volume>v</volume><snapshot>s1</snapshot></snapshot-create>")
        .await;
    // Change after the snapshot: rewrite, add, remove.
    c.setattr(&f, size_sattr(0)).await.unwrap();
    c.write_all(&f, 0, b"version two").await.unwrap();
    let n = c.create(&root, "new.txt", 0o644).await.unwrap();
    c.write_all(&n, 0, b"new").await.unwrap();

    // The snapshot still has the old bytes, through libnfs and through nfs3_client.
    let old = nfs_cat(&lab.url("/v/.snapshot/s1/dir/file.txt", 0, 0));
    assert!(
        old.ok,
        "nfs-cat of the snapshot copy failed: {}",
        old.stderr
    );
    assert_eq!(old.stdout, b"version one");
    let snapfile = c.walk(".snapshot/s1/dir/file.txt").await.unwrap();
    assert_eq!(c.read_all(&snapfile).await.unwrap(), b"version one");
    assert_eq!(c.read_all(&f).await.unwrap(), b"version two");
    let snaproot = c.walk(".snapshot/s1").await.unwrap();
    assert_eq!(c.list(&snaproot).await.unwrap(), vec![".", "..", "dir"]);
    let snapdir = c.walk(".snapshot").await.unwrap();
    assert_eq!(c.list(&snapdir).await.unwrap(), vec![".", "..", "s1"]);
    // Read-only.
    assert_eq!(
        c.write(&snapfile, 0, b"x").await.err(),
        Some(nfsstat3::NFS3ERR_ROFS)
    );
    assert_eq!(
        c.create(&snaproot, "x", 0o644).await.err(),
        Some(nfsstat3::NFS3ERR_ROFS)
    );

    // A clone starts with the snapshot's data and then goes its own way.
    lab.ok("<volume-clone-create><volume>cl</volume><parent-volume>v</parent-volume><parent-snapshot>s1</parent-snapshot><junction-path>/cl</junction-path></volume-clone-create>").await;
    let cl = nfs_cat(&lab.url("/cl/dir/file.txt", 0, 0));
    assert!(cl.ok, "nfs-cat from the clone failed: {}", cl.stderr);
    assert_eq!(cl.stdout, b"version one");
    let mut cc = Nfs::mount(&lab, "127.0.0.1", "/cl", Some((0, 0)))
        .await
        .unwrap();
    assert_eq!(
        cc.walk("new.txt").await.err(),
        Some(nfsstat3::NFS3ERR_NOENT),
        "the clone does not see later changes of its parent"
    );
    let cf = cc.walk("dir/file.txt").await.unwrap();
    cc.write_all(&cf, 0, b"CLONE").await.unwrap();
    assert_eq!(c.read_all(&f).await.unwrap(), b"version two");

    // Restore: the active file system is the snapshot again; the root handle stays valid.
    lab.ok("<volume-clone-split-start><volume>cl</volume></volume-clone-split-start>")
        .await;
    lab.ok("<snapshot-restore-volume><volume>v</volume><snapshot>s1</snapshot></snapshot-restore-volume>").await;
    assert_eq!(
        c.list(&root).await.unwrap(),
        vec![".", "..", ".snapshot", "dir"]
    );
    let f2 = c.walk("dir/file.txt").await.unwrap();
    assert_eq!(c.read_all(&f2).await.unwrap(), b"version one");
    let restored = nfs_cat(&lab.url("/v/dir/file.txt", 0, 0));
    assert_eq!(restored.stdout, b"version one", "{}", restored.stderr);

    // snapdir-access off hides .snapshot.
    lab.ok("<volume-modify-iter><query><volume-attributes><volume-id-attributes><name>v</name></volume-id-attributes></volume-attributes></query><attributes><volume-attributes><volume-snapshot-attributes><snapdir-access-enabled>false</snapdir-access-enabled></volume-snapshot-attributes></volume-attributes></attributes></volume-modify-iter>").await;
    assert_eq!(
        c.walk(".snapshot").await.err(),
        Some(nfsstat3::NFS3ERR_NOENT)
    );
    assert_eq!(
        c.getattr(&snapfile).await.err(),
        Some(nfsstat3::NFS3ERR_STALE)
    );
    assert_eq!(c.list(&root).await.unwrap(), vec![".", "..", "dir"]);
}
