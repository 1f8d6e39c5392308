//! Export policies over NFS, with a second client address (127.0.0.2 is loopback on Linux, no
//! alias needed): who may mount, ro versus rw, root squash, AUTH_NONE, changes through ZAPI
//! taking effect at once, and POSIX permission checks for AUTH_SYS identities.

mod common;
mod nfs_support;
use nfs3_client::nfs3_types::nfs3::nfsstat3;
use nfs_support::*;

const ACCESS_ALL: u32 = 0x3f;
const MODIFY: u32 = 0x04;

#[tokio::test(flavor = "multi_thread")]
async fn client_match_decides_who_mounts() {
    let lab = Lab::start(None);
    lab.policy("only1").await;
    lab.rule("only1", "127.0.0.1", "sys", "sys", "none").await;
    lab.volume("v", "100m", "only1").await;

    assert!(Nfs::mount(&lab, "127.0.0.1", "/v", Some((1000, 1000)))
        .await
        .is_ok());
    assert_eq!(
        Nfs::mount(&lab, "127.0.0.2", "/v", Some((1000, 1000)))
            .await
            .err(),
        Some(MNT3ERR_ACCES)
    );
    // A CIDR, then a comma list, open it to the second address.
    lab.policy("net").await;
    lab.rule("net", "127.0.0.0/30", "sys", "sys", "none").await;
    lab.ok("<volume-modify-iter><query><volume-attributes><volume-id-attributes><name>v</name></volume-id-attributes></volume-attributes></query><attributes><volume-attributes><volume-export-attributes><policy>net</policy></volume-export-attributes></volume-attributes></attributes></volume-modify-iter>").await;
    assert!(Nfs::mount(&lab, "127.0.0.2", "/v", Some((1000, 1000)))
        .await
        .is_ok());
    lab.policy("list").await;
    lab.rule("list", "10.1.1.1, 127.0.0.5", "sys", "sys", "none")
        .await;
    lab.ok("<volume-modify-iter><query><volume-attributes><volume-id-attributes><name>v</name></volume-id-attributes></volume-attributes></query><attributes><volume-attributes><volume-export-attributes><policy>list</policy></volume-export-attributes></volume-attributes></attributes></volume-modify-iter>").await;
    assert!(Nfs::mount(&lab, "127.0.0.5", "/v", Some((1000, 1000)))
        .await
        .is_ok());
    assert_eq!(
        Nfs::mount(&lab, "127.0.0.2", "/v", Some((1000, 1000)))
            .await
            .err(),
        Some(MNT3ERR_ACCES)
    );
    // A host name is resolved: localhost is 127.0.0.1.
    lab.policy("byname").await;
    lab.rule("byname", "localhost", "sys", "sys", "none").await;
    lab.volume("named", "100m", "byname").await;
    assert!(Nfs::mount(&lab, "127.0.0.1", "/named", Some((1, 1)))
        .await
        .is_ok());
    // A policy without rules denies everyone.
    lab.policy("empty").await;
    lab.volume("closed", "100m", "empty").await;
    assert_eq!(
        Nfs::mount(&lab, "127.0.0.1", "/closed", Some((0, 0)))
            .await
            .err(),
        Some(MNT3ERR_ACCES)
    );
    // Unknown paths, and unmounted or offline volumes, are not there.
    assert_eq!(
        Nfs::mount(&lab, "127.0.0.1", "/nope", Some((0, 0)))
            .await
            .err(),
        Some(MNT3ERR_NOENT)
    );
    lab.ok("<volume-unmount><volume-name>named</volume-name></volume-unmount>")
        .await;
    assert_eq!(
        Nfs::mount(&lab, "127.0.0.1", "/named", Some((0, 0)))
            .await
            .err(),
        Some(MNT3ERR_NOENT)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn removing_the_rule_denies_at_once_and_ro_refuses_writes() {
    let lab = Lab::start(None);
    lab.policy("p").await;
    let idx = lab.rule("p", "127.0.0.1", "sys", "sys", "sys").await;
    lab.volume("v", "100m", "p").await;
    let mut c = Nfs::mount(&lab, "127.0.0.1", "/v", Some((0, 0)))
        .await
        .expect("mount");
    let root = c.root.clone();
    let f = c.create(&root, "f", 0o644).await.expect("create");
    c.write_all(&f, 0, b"hello").await.expect("write");
    assert_eq!(c.access(&root, ACCESS_ALL).await.unwrap() & MODIFY, MODIFY);

    // Read-only for this client: reads work, writes are refused, ACCESS says so.
    lab.ok("<export-rule-modify><policy-name>p</policy-name><rule-index>1</rule-index><rw-rule><security-flavor>never</security-flavor></rw-rule></export-rule-modify>").await;
    assert_eq!(c.read_all(&f).await.unwrap(), b"hello");
    assert_eq!(c.write(&f, 0, b"x").await, Err(nfsstat3::NFS3ERR_ACCES));
    assert_eq!(
        c.create(&root, "g", 0o644).await,
        Err(nfsstat3::NFS3ERR_ACCES)
    );
    assert_eq!(c.access(&root, ACCESS_ALL).await.unwrap() & MODIFY, 0);

    // Remove the rule: the mounted client is refused on its next call.
    lab.drop_rule("p", idx).await;
    assert_eq!(c.getattr(&f).await.err(), Some(nfsstat3::NFS3ERR_ACCES));
    assert_eq!(c.read(&f, 0, 10).await.err(), Some(nfsstat3::NFS3ERR_ACCES));
    // And back.
    lab.rule("p", "127.0.0.0/24", "sys", "sys", "sys").await;
    assert_eq!(c.read_all(&f).await.unwrap(), b"hello");
}

#[tokio::test(flavor = "multi_thread")]
async fn root_is_squashed_unless_superuser_allows() {
    let lab = Lab::start(None);
    lab.policy("squash").await;
    lab.rule("squash", "127.0.0.1", "sys", "sys", "none").await;
    lab.rule("squash", "127.0.0.2", "sys", "sys", "sys").await;
    lab.volume("v", "100m", "squash").await;

    let mut squashed = Nfs::mount(&lab, "127.0.0.1", "/v", Some((0, 0)))
        .await
        .expect("mount");
    let root = squashed.root.clone();
    let f = squashed.create(&root, "by-root", 0o644).await.unwrap();
    let a = squashed.getattr(&f).await.unwrap();
    assert_eq!((a.uid, a.gid), (65534, 65534), "root is squashed to anon");

    let mut kept = Nfs::mount(&lab, "127.0.0.2", "/v", Some((0, 0)))
        .await
        .expect("mount");
    let f = kept.create(&root, "by-real-root", 0o644).await.unwrap();
    let a = kept.getattr(&f).await.unwrap();
    assert_eq!((a.uid, a.gid), (0, 0), "super-user-security sys keeps root");

    // A squashed root cannot read a file only its owner may read.
    let mut owner = Nfs::mount(&lab, "127.0.0.1", "/v", Some((1000, 1000)))
        .await
        .unwrap();
    let p = owner.create(&root, "private", 0o600).await.unwrap();
    owner.write_all(&p, 0, b"secret").await.unwrap();
    assert_eq!(
        squashed.read(&p, 0, 10).await.err(),
        Some(nfsstat3::NFS3ERR_ACCES)
    );
    assert_eq!(kept.read_all(&p).await.unwrap(), b"secret");

    // AUTH_NONE is refused by sys-only rules, and accepted as anon by `none`.
    assert_eq!(
        Nfs::mount(&lab, "127.0.0.1", "/v", None).await.err(),
        Some(MNT3ERR_ACCES)
    );
    lab.rule("squash", "127.0.0.3", "any", "any", "none").await;
    let mut anon = Nfs::mount(&lab, "127.0.0.3", "/v", None)
        .await
        .expect("AUTH_NONE mount");
    let f = anon.create(&root, "by-nobody", 0o644).await.unwrap();
    assert_eq!(anon.getattr(&f).await.unwrap().uid, 65534);
}

#[tokio::test(flavor = "multi_thread")]
async fn posix_permissions_and_the_volume_root() {
    let lab = Lab::start(None);
    lab.policy("p").await;
    lab.rule("p", "127.0.0.1", "sys", "sys", "sys").await;
    lab.volume("v", "100m", "p").await;
    lab.ok("<volume-modify-iter><query><volume-attributes><volume-id-attributes><name>v</name></volume-id-attributes></volume-attributes></query><attributes><volume-attributes><volume-security-attributes><volume-security-unix-attributes><permissions>0755</permissions><user-id>1000</user-id><group-id>100</group-id></volume-security-unix-attributes></volume-security-attributes></volume-attributes></attributes></volume-modify-iter>").await;

    let mut alice = Nfs::mount(&lab, "127.0.0.1", "/v", Some((1000, 100)))
        .await
        .unwrap();
    let root = alice.root.clone();
    let a = alice.getattr(&root).await.unwrap();
    assert_eq!(
        (a.mode & 0o7777, a.uid, a.gid),
        (0o755, 1000, 100),
        "the root shows the volume's unix permissions and owner"
    );
    let mut bob = Nfs::mount(&lab, "127.0.0.1", "/v", Some((1001, 101)))
        .await
        .unwrap();
    assert_eq!(
        bob.create(&root, "x", 0o644).await.err(),
        Some(nfsstat3::NFS3ERR_ACCES),
        "0755 root owned by 1000: others cannot create"
    );
    let d = alice.mkdir(&root, "shared", 0o777).await.unwrap();
    let a = alice.getattr(&d).await.unwrap();
    assert_eq!((a.uid, a.gid, a.mode & 0o777), (1000, 100, 0o777));
    let f = bob.create(&d, "bobs", 0o640).await.unwrap();
    bob.write_all(&f, 0, b"bob").await.unwrap();
    assert_eq!(
        alice.write(&f, 0, b"x").await.err(),
        Some(nfsstat3::NFS3ERR_ACCES)
    );
    // The owner writes a file created read-only (tar, git), as on a Linux server; others not.
    let ro = alice.create(&d, "readonly", 0o444).await.unwrap();
    alice.write_all(&ro, 0, b"owner writes").await.unwrap();
    assert_eq!(
        bob.write(&ro, 0, b"x").await.err(),
        Some(nfsstat3::NFS3ERR_ACCES)
    );
    assert_eq!(bob.read_all(&ro).await.unwrap(), b"owner writes");
    assert_eq!(
        alice.setattr(&f, mode_sattr(0o777)).await.err(),
        Some(nfsstat3::NFS3ERR_PERM),
        "only the owner may chmod"
    );
    assert_eq!(
        bob.setattr(&f, owner_sattr(Some(1000), None)).await.err(),
        Some(nfsstat3::NFS3ERR_PERM),
        "only root gives files away"
    );
    // chmod of the root changes the volume's unix-permissions in ZAPI.
    alice.setattr(&root, mode_sattr(0o750)).await.unwrap();
    let perms = lab
        .ok("<volume-get-iter><query><volume-attributes><volume-id-attributes><name>v</name></volume-id-attributes></volume-attributes></query></volume-get-iter>")
        .await;
    let p = perms
        .path(&[
            "attributes-list",
            "volume-attributes",
            "volume-security-attributes",
            "volume-security-unix-attributes",
            "permissions",
        ])
        .map(|e| e.text.clone())
        .unwrap_or_default();
    assert_eq!(p.trim_start_matches('0'), "750");
    assert_eq!(
        bob.lookup(&root, "shared").await.err(),
        Some(nfsstat3::NFS3ERR_ACCES),
        "0750: others cannot search the root"
    );
}
