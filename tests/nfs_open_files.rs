//! The files the NFS shim keeps open for READ and WRITE never serve the wrong data: after a
//! remove, a rename over, a snapshot restore, an offline volume or a deleted and recreated volume,
//! a handle reads what its object holds now or is NFS3ERR_STALE, never a replaced file's bytes.

mod common;
mod nfs_support;
use nfs3_client::nfs3_types::nfs3::nfsstat3;
use nfs_support::*;

async fn lab_with_volume() -> (Lab, Nfs) {
    let lab = Lab::start(None);
    lab.policy("p").await;
    lab.rule("p", "127.0.0.1", "sys", "sys", "sys").await;
    lab.volume("v", "1g", "p").await;
    let c = Nfs::mount(&lab, "127.0.0.1", "/v", Some((0, 0)))
        .await
        .unwrap();
    (lab, c)
}

#[tokio::test]
async fn remove_and_rename_over_never_serve_the_old_file() {
    let (_lab, mut c) = lab_with_volume().await;
    let root = c.root.clone();

    // A file written and read (so kept open), removed, and a new one made under its name.
    let a = c.create(&root, "a", 0o644).await.unwrap();
    c.write_all(&a, 0, b"first life").await.unwrap();
    assert_eq!(c.read_all(&a).await.unwrap(), b"first life");
    c.remove(&root, "a").await.unwrap();
    assert_eq!(c.read_all(&a).await.err(), Some(nfsstat3::NFS3ERR_STALE));
    let a2 = c.create(&root, "a", 0o644).await.unwrap();
    assert_eq!(
        c.read_all(&a2).await.unwrap(),
        b"",
        "a new file starts empty"
    );
    c.write_all(&a2, 0, b"second").await.unwrap();
    assert_eq!(c.read_all(&a2).await.unwrap(), b"second");
    assert_eq!(c.read_all(&a).await.err(), Some(nfsstat3::NFS3ERR_STALE));
    assert_eq!(
        c.write(&a, 0, b"late").await.err(),
        Some(nfsstat3::NFS3ERR_STALE),
        "a write through the removed file's handle goes nowhere"
    );
    assert_eq!(c.read_all(&a2).await.unwrap(), b"second");

    // Rename over a file kept open: its name now reads the renamed file; its handle is stale.
    let x = c.create(&root, "x", 0o644).await.unwrap();
    let y = c.create(&root, "y", 0o644).await.unwrap();
    c.write_all(&x, 0, b"xxxx").await.unwrap();
    c.write_all(&y, 0, b"yy").await.unwrap();
    assert_eq!(c.read_all(&x).await.unwrap(), b"xxxx");
    assert_eq!(c.read_all(&y).await.unwrap(), b"yy");
    c.rename(&root, "y", &root, "x").await.unwrap();
    let now = c.lookup(&root, "x").await.unwrap();
    assert_eq!(c.read_all(&now).await.unwrap(), b"yy");
    assert_eq!(
        c.read_all(&y).await.unwrap(),
        b"yy",
        "the renamed file keeps its handle"
    );
    assert_eq!(c.read_all(&x).await.err(), Some(nfsstat3::NFS3ERR_STALE));
    // Written through one handle, read through the other: one file.
    c.write_all(&y, 2, b"zz").await.unwrap();
    assert_eq!(c.read_all(&now).await.unwrap(), b"yyzz");

    // Many files in turn (more than are kept open): each reads its own bytes.
    let mut files = Vec::new();
    for i in 0..300 {
        let f = c.create(&root, &format!("many-{i}"), 0o644).await.unwrap();
        c.write_all(&f, 0, format!("file {i}").as_bytes())
            .await
            .unwrap();
        files.push(f);
    }
    for (i, f) in files.iter().enumerate().rev() {
        assert_eq!(c.read_all(f).await.unwrap(), format!("file {i}").as_bytes());
    }
}

#[tokio::test]
async fn restore_offline_and_a_new_volume_close_what_was_kept_open() {
    let (lab, mut c) = lab_with_volume().await;
    let root = c.root.clone();
    let f = c.create(&root, "f", 0o644).await.unwrap();
    c.write_all(&f, 0, b"version one").await.unwrap();
    lab.ok("<snapshot-create><volume>v</volume><snapshot>s1</snapshot></snapshot-create>")
        .await;
    c.write_all(&f, 0, b"VERSION TWO").await.unwrap();
    assert_eq!(c.read_all(&f).await.unwrap(), b"VERSION TWO");

    // Restore: the name reads the snapshot's bytes; the old handle never reads version two.
    lab.ok("<snapshot-restore-volume><volume>v</volume><snapshot>s1</snapshot></snapshot-restore-volume>").await;
    let f2 = c.lookup(&root, "f").await.unwrap();
    assert_eq!(c.read_all(&f2).await.unwrap(), b"version one");
    match c.read_all(&f).await {
        Ok(d) => assert_eq!(d, b"version one", "the old handle reads the restored file"),
        Err(s) => assert_eq!(s, nfsstat3::NFS3ERR_STALE),
    }
    // Writes after the restore land in the restored file.
    c.write_all(&f2, 0, b"VERSION 3").await.unwrap();
    let out = nfs_cat(&lab.url("/v/f", 0, 0));
    assert_eq!(out.stdout, b"VERSION 3ne", "{}", out.stderr);

    // Offline: stale while offline; online and mounted again, the same handle reads the file.
    lab.ok("<volume-offline><name>v</name></volume-offline>")
        .await;
    assert_eq!(c.read_all(&f2).await.err(), Some(nfsstat3::NFS3ERR_STALE));
    assert_eq!(
        c.write(&f2, 0, b"x").await.err(),
        Some(nfsstat3::NFS3ERR_STALE)
    );
    lab.ok("<volume-online><name>v</name></volume-online>")
        .await;
    lab.ok("<volume-mount><volume-name>v</volume-name><junction-path>/v</junction-path></volume-mount>").await;
    assert_eq!(c.read_all(&f2).await.unwrap(), b"VERSION 3ne");

    // Deleted and made again under the same name and junction: the old handle is stale, and the
    // new volume's file of the same name is its own.
    lab.ok("<volume-unmount><volume-name>v</volume-name></volume-unmount>")
        .await;
    lab.ok("<volume-offline><name>v</name></volume-offline>")
        .await;
    lab.ok("<volume-destroy><name>v</name></volume-destroy>")
        .await;
    lab.volume("v", "1g", "p").await;
    let mut c2 = Nfs::mount(&lab, "127.0.0.1", "/v", Some((0, 0)))
        .await
        .unwrap();
    let root2 = c2.root.clone();
    let g = c2.create(&root2, "f", 0o644).await.unwrap();
    c2.write_all(&g, 0, b"new volume").await.unwrap();
    assert_eq!(c2.read_all(&g).await.unwrap(), b"new volume");
    assert_eq!(c.read_all(&f2).await.err(), Some(nfsstat3::NFS3ERR_STALE));
}

/// The directories kept open for LOOKUP, CREATE and REMOVE follow their directory through a
/// rename, are let go with it when it is removed (its handle is then stale, and a new directory
/// of the same name has only its own entries) and never outlive a restore.
#[tokio::test]
async fn kept_directories_follow_renames_and_go_with_remove_and_restore() {
    let (lab, mut c) = lab_with_volume().await;
    let root = c.root.clone();
    let d = c.mkdir(&root, "d", 0o755).await.unwrap();
    let f = c.create(&d, "f", 0o644).await.unwrap();
    c.write_all(&f, 0, b"in d").await.unwrap();
    assert!(c.lookup(&d, "f").await.is_ok());

    // Renamed: the directory's handle still looks up and makes entries in it.
    c.rename(&root, "d", &root, "e").await.unwrap();
    let f1 = c.lookup(&d, "f").await.unwrap();
    assert_eq!(c.read_all(&f1).await.unwrap(), b"in d");
    c.create(&d, "g", 0o644).await.unwrap();
    let mut names = c.list(&d).await.unwrap();
    names.retain(|n| n != "." && n != "..");
    names.sort();
    assert_eq!(names, ["f", "g"]);

    // Removed: its handle is stale; a new directory of the same name has only its own entries.
    c.remove(&d, "f").await.unwrap();
    c.remove(&d, "g").await.unwrap();
    c.rmdir(&root, "e").await.unwrap();
    assert_eq!(c.lookup(&d, "f").await.err(), Some(nfsstat3::NFS3ERR_STALE));
    assert_eq!(
        c.create(&d, "h", 0o644).await.err(),
        Some(nfsstat3::NFS3ERR_STALE)
    );
    let e = c.mkdir(&root, "e", 0o755).await.unwrap();
    assert_eq!(c.lookup(&e, "f").await.err(), Some(nfsstat3::NFS3ERR_NOENT));
    c.create(&e, "only", 0o644).await.unwrap();

    // A restore replaces the tree: the directory's name finds the snapshot's directory, and what
    // was made in it after the snapshot is gone.
    lab.ok("<snapshot-create><volume>v</volume><snapshot>s1</snapshot></snapshot-create>")
        .await;
    c.create(&e, "later", 0o644).await.unwrap();
    assert!(c.lookup(&e, "later").await.is_ok());
    lab.ok("<snapshot-restore-volume><volume>v</volume><snapshot>s1</snapshot></snapshot-restore-volume>").await;
    let e2 = c.lookup(&root, "e").await.unwrap();
    assert!(c.lookup(&e2, "only").await.is_ok());
    assert_eq!(
        c.lookup(&e2, "later").await.err(),
        Some(nfsstat3::NFS3ERR_NOENT)
    );
    match c.lookup(&e, "later").await {
        Err(s) => assert!(
            s == nfsstat3::NFS3ERR_STALE || s == nfsstat3::NFS3ERR_NOENT,
            "{s:?}"
        ),
        Ok(_) => panic!("a name made after the snapshot is found after the restore"),
    }
}
