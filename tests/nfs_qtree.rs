//! Qtrees as NFS exports: a client mounts `/<junction>/<qtree>` and sees only the qtree; the
//! qtree's export policy (or its volume's, when it inherits) decides every call; a tree quota's
//! hard limits refuse growth with NFS3ERR_DQUOT, FSSTAT inside the qtree reports the quota, and
//! the quota report's usage matches the bytes written; user and group quotas refuse growth of
//! what their IDs own in their scope (the volume or a qtree), counting files made before quotas
//! were on and following chowns; qtrees cannot be removed, renamed into or linked across over NFS.

mod common;
mod nfs_support;
use nfs3_client::nfs3_types::nfs3::{self, nfsstat3};
use nfs_support::*;
use std::time::{Duration, Instant};

async fn quota_on(lab: &Lab, volume: &str) {
    lab.ok(&format!("<quota-on><volume>{volume}</volume></quota-on>"))
        .await;
    let start = Instant::now();
    loop {
        let r = lab
            .ok(&format!(
                "<quota-status><volume>{volume}</volume></quota-status>"
            ))
            .await;
        if r.child_text("status") == Some("on") {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "quotas never on");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A write of `len` bytes at the end of `f` (`at` bytes long) is refused with DQUOT and writes
/// nothing.
async fn refused_past_quota(c: &mut Nfs, f: &nfs3::nfs_fh3, at: u64, len: usize, why: &str) {
    assert_eq!(
        c.write(f, at, &vec![1u8; len]).await.err(),
        Some(nfsstat3::NFS3ERR_DQUOT),
        "{why}"
    );
    assert_eq!(
        c.read_all(f).await.unwrap().len() as u64,
        at,
        "nothing written"
    );
}

/// (disk-used KB, files-used) of the report row of `/vol/<volume>/<qtree>`.
async fn report(lab: &Lab, volume: &str, qtree: &str) -> (u64, u64) {
    let r = lab
        .ok(&format!(
            "<quota-report-iter><path>/vol/{volume}/{qtree}</path></quota-report-iter>"
        ))
        .await;
    let row = r
        .path(&["attributes-list", "quota"])
        .unwrap_or_else(|| panic!("no report row for {qtree}: {r:?}"));
    let n = |f: &str| -> u64 { row.child_text(f).unwrap_or("").parse().unwrap() };
    (n("disk-used"), n("files-used"))
}

#[tokio::test(flavor = "multi_thread")]
async fn qtree_mounts_policies_and_tree_quotas() {
    let lab = Lab::start(None);
    lab.policy("open").await;
    lab.rule("open", "127.0.0.0/24", "sys", "sys", "sys").await;
    lab.policy("only1").await;
    lab.rule("only1", "127.0.0.1", "sys", "sys", "sys").await;
    lab.volume("eco", "1g", "open").await;
    lab.ok("<qtree-create><export-policy>only1</export-policy><mode>0777</mode><qtree>q1</qtree><volume>eco</volume></qtree-create>").await;
    lab.ok("<qtree-create><mode>0777</mode><qtree>q2</qtree><volume>eco</volume></qtree-create>")
        .await;

    // Mount the qtree: only its own policy's clients; an inheriting qtree follows the volume.
    let mut c1 = Nfs::mount(&lab, "127.0.0.1", "/eco/q1", Some((0, 0)))
        .await
        .expect("mount /eco/q1");
    assert_eq!(
        Nfs::mount(&lab, "127.0.0.2", "/eco/q1", Some((0, 0)))
            .await
            .err(),
        Some(MNT3ERR_ACCES)
    );
    let mut c2 = Nfs::mount(&lab, "127.0.0.2", "/eco/q2", Some((0, 0)))
        .await
        .expect("mount /eco/q2");
    let (q1, q2) = (c1.root.clone(), c2.root.clone());
    let f = c1.create(&q1, "f", 0o644).await.unwrap();
    assert_eq!(
        c1.list(&q1).await.unwrap(),
        [".", "..", "f"].map(String::from)
    );
    // Through the volume, 127.0.0.2 is refused every call inside q1, even with a handle.
    let mut v2 = Nfs::mount(&lab, "127.0.0.2", "/eco", Some((0, 0)))
        .await
        .expect("mount /eco");
    let vroot = v2.root.clone();
    assert_eq!(
        v2.lookup(&vroot, "q1").await.err(),
        Some(nfsstat3::NFS3ERR_ACCES)
    );
    assert!(v2.lookup(&vroot, "q2").await.is_ok());
    assert_eq!(v2.getattr(&f).await.err(), Some(nfsstat3::NFS3ERR_ACCES));
    assert_eq!(v2.read(&f, 0, 1).await.err(), Some(nfsstat3::NFS3ERR_ACCES));
    // The qtree's policy changes take effect at once.
    lab.ok("<qtree-modify><export-policy>open</export-policy><qtree>q1</qtree><volume>eco</volume></qtree-modify>").await;
    assert!(v2.getattr(&f).await.is_ok());
    lab.ok("<qtree-modify><export-policy>only1</export-policy><qtree>q1</qtree><volume>eco</volume></qtree-modify>").await;
    assert_eq!(v2.getattr(&f).await.err(), Some(nfsstat3::NFS3ERR_ACCES));

    // Qtrees are the server's: not removed, replaced or crossed over NFS.
    assert_eq!(
        v2.rmdir(&vroot, "q2").await.err(),
        Some(nfsstat3::NFS3ERR_ACCES)
    );
    assert_eq!(
        v2.mkdir(&vroot, "q2", 0o755).await.err(),
        Some(nfsstat3::NFS3ERR_EXIST)
    );
    let g = c2.create(&q2, "g", 0o644).await.unwrap();
    let mut v1 = Nfs::mount(&lab, "127.0.0.1", "/eco", Some((0, 0)))
        .await
        .unwrap();
    let vq1 = v1.lookup(&vroot, "q1").await.unwrap();
    let vq2 = v1.lookup(&vroot, "q2").await.unwrap();
    assert_eq!(
        v1.rename(&vq2, "g", &vq1, "g").await.err(),
        Some(nfsstat3::NFS3ERR_XDEV)
    );
    assert_eq!(
        v1.link(&g, &vq1, "g2").await.err(),
        Some(nfsstat3::NFS3ERR_XDEV)
    );

    // A tree quota on q1: 64 KB and 4 files, in force after quota-on.
    lab.ok("<quota-set-entry><qtree></qtree><quota-target></quota-target><quota-type>tree</quota-type><volume>eco</volume></quota-set-entry>").await;
    lab.ok("<quota-set-entry><disk-limit>64</disk-limit><file-limit>4</file-limit><qtree></qtree><quota-target>/vol/eco/q1</quota-target><quota-type>tree</quota-type><volume>eco</volume></quota-set-entry>").await;
    // Not yet in force: FSSTAT shows the volume.
    let st = c1.fsstat(&q1).await.unwrap();
    assert!(st.tbytes > 64 << 10);
    quota_on(&lab, "eco").await;
    let st = c1.fsstat(&q1).await.unwrap();
    assert_eq!(st.tbytes, 64 << 10, "the quota is the qtree's size");
    assert_eq!(st.tfiles, 4);
    assert_eq!(st.ffiles, 2, "the qtree directory and f");

    let data = vec![0x5au8; 60_000];
    c1.write_all(&f, 0, &data).await.expect("within the quota");
    refused_past_quota(&mut c1, &f, 60_000, 8_000, "past the hard disk limit").await;
    let st = c1.fsstat(&q1).await.unwrap();
    assert_eq!(st.fbytes, (64 << 10) - 60_000);
    // Files: two more fit (4 in all), the next is refused.
    c1.create(&q1, "a", 0o644).await.unwrap();
    c1.mkdir(&q1, "d", 0o755).await.unwrap();
    assert_eq!(
        c1.create(&q1, "b", 0o644).await.err(),
        Some(nfsstat3::NFS3ERR_DQUOT)
    );
    // The report measures what was written: 60000 bytes (59 KB), 4 files.
    assert_eq!(report(&lab, "eco", "q1").await, (59, 4));
    // q2 is under the default rule (no limit): writes go on.
    c2.write_all(&g, 0, &vec![1u8; 100_000]).await.unwrap();
    assert_eq!(report(&lab, "eco", "q2").await, (98, 2));
    // Freeing space lets writes in again.
    c1.remove(&q1, "a").await.unwrap();
    c1.create(&q1, "b", 0o644).await.expect("a file was freed");
    // Quotas off: no limit.
    lab.ok("<quota-off><volume>eco</volume></quota-off>").await;
    c1.write_all(&f, 60_000, &[1u8; 8_000])
        .await
        .expect("quotas off");
    assert!(c1.fsstat(&q1).await.unwrap().tbytes > 64 << 10);
}

#[tokio::test(flavor = "multi_thread")]
async fn user_and_group_quotas_refuse_growth_over_nfs() {
    let lab = Lab::start(None);
    lab.policy("open").await;
    lab.rule("open", "127.0.0.0/24", "sys", "sys", "sys").await;
    lab.volume("eco", "1g", "open").await;
    lab.ok("<qtree-create><mode>0777</mode><qtree>q1</qtree><volume>eco</volume></qtree-create>")
        .await;
    let mut root = Nfs::mount(&lab, "127.0.0.1", "/eco", Some((0, 0)))
        .await
        .unwrap();
    let vroot = root.root.clone();
    root.setattr(&vroot, mode_sattr(0o777)).await.unwrap();
    let mut alice = Nfs::mount(&lab, "127.0.0.1", "/eco", Some((1001, 100)))
        .await
        .unwrap();
    let mut bob = Nfs::mount(&lab, "127.0.0.1", "/eco", Some((1002, 100)))
        .await
        .unwrap();
    let mut carol = Nfs::mount(&lab, "127.0.0.1", "/eco/q1", Some((1003, 200)))
        .await
        .unwrap();
    let q1 = carol.root.clone();
    // Alice's first file is written before quotas are on: it counts all the same.
    let a1 = alice.create(&vroot, "a1", 0o644).await.unwrap();
    alice.write_all(&a1, 0, &[1u8; 10_000]).await.unwrap();

    // Alice: 64 KB and 3 files in the whole volume. Group 200: 32 KB inside q1. Every other
    // user: 16 KB inside q1 (the default user rule there), nothing elsewhere.
    for (target, kind, qtree, limits) in [
        (
            "1001",
            "user",
            "",
            "<disk-limit>64</disk-limit><file-limit>3</file-limit>",
        ),
        ("200", "group", "q1", "<disk-limit>32</disk-limit>"),
        ("", "user", "q1", "<disk-limit>16</disk-limit>"),
    ] {
        lab.ok(&format!("<quota-set-entry>{limits}<qtree>{qtree}</qtree><quota-target>{target}</quota-target><quota-type>{kind}</quota-type><volume>eco</volume></quota-set-entry>")).await;
    }
    quota_on(&lab, "eco").await;

    alice.write_all(&a1, 10_000, &[2u8; 50_000]).await.unwrap();
    refused_past_quota(&mut alice, &a1, 60_000, 8_000, "past alice's 64 KB").await;
    alice.create(&vroot, "a2", 0o644).await.unwrap();
    alice.mkdir(&vroot, "ad", 0o755).await.unwrap();
    assert_eq!(
        alice.create(&vroot, "a3", 0o644).await.err(),
        Some(nfsstat3::NFS3ERR_DQUOT),
        "alice's fourth file"
    );
    // Bob has no quota outside q1.
    let b1 = bob.create(&vroot, "b1", 0o644).await.unwrap();
    bob.write_all(&b1, 0, &vec![4u8; 100_000]).await.unwrap();
    // Removing one of alice's files lets her make another.
    alice.remove(&vroot, "a2").await.unwrap();
    alice
        .create(&vroot, "a3", 0o644)
        .await
        .expect("a file was freed");

    // Inside q1: carol (group 200) up to 32 KB, and 16 KB as herself (the default user rule).
    let c1 = carol.create(&q1, "c1", 0o644).await.unwrap();
    carol.write_all(&c1, 0, &[5u8; 15_000]).await.unwrap();
    assert_eq!(
        carol.write(&c1, 15_000, &[5u8; 1_500]).await.err(),
        Some(nfsstat3::NFS3ERR_DQUOT),
        "past carol's 16 KB in q1"
    );
    carol.write_all(&c1, 15_000, &[5u8; 1_000]).await.unwrap();
    // Root is held by tree quotas only: its 20,000 bytes in q1 pass the default user rule. Given
    // to group 200, they count for the group: 16,000 + 20,000 bytes, past its 32 KB.
    let mut rq1 = Nfs::mount(&lab, "127.0.0.1", "/eco/q1", Some((0, 0)))
        .await
        .unwrap();
    let r1 = rq1.create(&q1, "r1", 0o644).await.unwrap();
    rq1.write_all(&r1, 0, &[6u8; 20_000]).await.unwrap();
    rq1.setattr(&r1, owner_sattr(None, Some(200)))
        .await
        .unwrap();
    assert_eq!(
        carol.write(&c1, 16_000, &[5u8; 100]).await.err(),
        Some(nfsstat3::NFS3ERR_DQUOT),
        "group 200 holds 36,000 bytes in q1 after the chown"
    );
    // Outside q1 neither the group's nor the default user rule applies.
    let c2 = carol.create(&vroot, "c2", 0o644).await.unwrap();
    carol.write_all(&c2, 0, &vec![7u8; 40_000]).await.unwrap();

    // Giving bob's 100,000 bytes to alice puts her over 64 KB: her next growth is refused.
    root.setattr(&b1, owner_sattr(Some(1001), None))
        .await
        .unwrap();
    let a3 = alice.lookup(&vroot, "a3").await.unwrap();
    assert_eq!(
        alice.write(&a3, 0, &[8u8; 1]).await.err(),
        Some(nfsstat3::NFS3ERR_DQUOT),
        "alice owns b1 now"
    );
    // Shrinking is always allowed, and quotas off lift every limit.
    root.setattr(&b1, size_sattr(0)).await.unwrap();
    alice
        .write_all(&a3, 0, &[8u8; 1])
        .await
        .expect("b1 is empty");
    // Root may grow alice's file past her limit; then she may not.
    root.write_all(&a1, 60_000, &[3u8; 8_000]).await.unwrap();
    assert_eq!(
        alice.write(&a3, 1, &[8u8; 1]).await.err(),
        Some(nfsstat3::NFS3ERR_DQUOT)
    );
    lab.ok("<quota-off><volume>eco</volume></quota-off>").await;
    alice
        .write_all(&a1, 60_000, &vec![9u8; 100_000])
        .await
        .expect("quotas off");
}

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
async fn qtree_usage_and_quotas_survive_restarts() {
    let mut lab = Lab::start(None);
    lab.policy("open").await;
    lab.rule("open", "127.0.0.1", "sys", "sys", "sys").await;
    lab.volume("eco", "1g", "open").await;
    lab.ok("<qtree-create><mode>0777</mode><qtree>q1</qtree><volume>eco</volume></qtree-create>")
        .await;
    lab.ok("<quota-set-entry><disk-limit>100</disk-limit><qtree></qtree><quota-target>q1</quota-target><quota-type>tree</quota-type><volume>eco</volume></quota-set-entry>").await;
    quota_on(&lab, "eco").await;
    for clean in [true, false] {
        let mut c = Nfs::mount(&lab, "127.0.0.1", "/eco/q1", Some((0, 0)))
            .await
            .unwrap();
        let q1 = c.root.clone();
        let name = format!("f{clean}");
        let f = c.create(&q1, &name, 0o644).await.unwrap();
        c.write_all(&f, 0, &vec![7u8; 40_000]).await.unwrap();
        drop(c);
        lab = restart(lab, clean);
        let mut c = Nfs::mount(&lab, "127.0.0.1", "/eco/q1", Some((0, 0)))
            .await
            .unwrap();
        let st = c.fsstat(&c.root.clone()).await.unwrap();
        assert_eq!(st.tbytes, 100 << 10, "the quota is still in force");
        assert_eq!(
            st.fbytes,
            (100 << 10) - 40_000 * if clean { 1 } else { 2 },
            "usage {} restart kept",
            if clean { "a clean" } else { "a killed" }
        );
    }
    // 80000 of 102400 bytes used: 30000 more are refused.
    let mut c = Nfs::mount(&lab, "127.0.0.1", "/eco/q1", Some((0, 0)))
        .await
        .unwrap();
    let q1 = c.root.clone();
    let f = c.create(&q1, "more", 0o644).await.unwrap();
    assert_eq!(
        c.write(&f, 0, &vec![1u8; 30_000]).await.err(),
        Some(nfsstat3::NFS3ERR_DQUOT)
    );
}

/// A qtree's snapshots are below the qtree, `/<junction>/<qtree>/.snapshot/<snapshot>`: mounted
/// (as Trident's ontap-nas-economy driver publishes a read-only clone) or looked up from the
/// mounted qtree, the qtree's directory as it was in the snapshot, read-only, behind the qtree's
/// export policy.
#[tokio::test(flavor = "multi_thread")]
async fn qtree_snapshot_mounts() {
    let lab = Lab::start(None);
    lab.policy("open").await;
    lab.rule("open", "127.0.0.0/24", "sys", "sys", "sys").await;
    lab.policy("only1").await;
    lab.rule("only1", "127.0.0.1", "sys", "sys", "sys").await;
    lab.volume("eco", "1g", "open").await;
    lab.ok("<qtree-create><export-policy>only1</export-policy><mode>0777</mode><qtree>q1</qtree><volume>eco</volume></qtree-create>").await;
    let mut c = Nfs::mount(&lab, "127.0.0.1", "/eco/q1", Some((0, 0)))
        .await
        .expect("mount /eco/q1");
    let q1 = c.root.clone();
    let before = c.create(&q1, "before", 0o644).await.unwrap();
    c.write_all(&before, 0, b"in the snapshot").await.unwrap();
    let d = c.mkdir(&q1, "d", 0o755).await.unwrap();
    c.create(&d, "inner", 0o644).await.unwrap();
    lab.ok("<snapshot-create><volume>eco</volume><snapshot>s1</snapshot></snapshot-create>")
        .await;
    c.create(&q1, "after", 0o644).await.unwrap();
    c.write_all(&before, 0, b"changed since!!").await.unwrap();
    lab.ok("<qtree-create><mode>0777</mode><qtree>q2</qtree><volume>eco</volume></qtree-create>")
        .await;

    let mut s = Nfs::mount(&lab, "127.0.0.1", "/eco/q1/.snapshot/s1", Some((0, 0)))
        .await
        .expect("mount the qtree in the snapshot");
    let sroot = s.root.clone();
    assert_eq!(
        s.list(&sroot).await.unwrap(),
        [".", "..", "before", "d"].map(String::from),
        "the qtree as it was, nothing of the rest of the volume"
    );
    let f = s.lookup(&sroot, "before").await.unwrap();
    assert_eq!(s.read_all(&f).await.unwrap(), b"in the snapshot");
    assert_eq!(
        s.create(&sroot, "x", 0o644).await.err(),
        Some(nfsstat3::NFS3ERR_ROFS)
    );
    // A directory below it mounts too.
    let mut sd = Nfs::mount(&lab, "127.0.0.1", "/eco/q1/.snapshot/s1/d", Some((0, 0)))
        .await
        .expect("mount below the qtree in the snapshot");
    let sdroot = sd.root.clone();
    assert_eq!(
        sd.list(&sdroot).await.unwrap(),
        [".", "..", "inner"].map(String::from)
    );

    // Inside the mounted qtree, `.snapshot` is there (hidden from listings, as below a volume
    // root on ONTAP), lists the volume's snapshots and leads to the qtree's image in each.
    assert!(!c
        .list(&q1)
        .await
        .unwrap()
        .contains(&".snapshot".to_string()));
    let snapdir = c
        .lookup(&q1, ".snapshot")
        .await
        .expect("LOOKUP .snapshot in a qtree");
    assert_eq!(
        c.list(&snapdir).await.unwrap(),
        [".", "..", "s1"].map(String::from)
    );
    let q1_s1 = c.lookup(&snapdir, "s1").await.unwrap();
    assert_eq!(
        c.list(&q1_s1).await.unwrap(),
        [".", "..", "before", "d"].map(String::from)
    );
    let f = c.lookup(&q1_s1, "before").await.unwrap();
    assert_eq!(c.read_all(&f).await.unwrap(), b"in the snapshot");
    assert_eq!(
        c.mkdir(&snapdir, "x", 0o755).await.err(),
        Some(nfsstat3::NFS3ERR_ROFS)
    );
    assert_eq!(
        c.create(&q1, ".snapshot", 0o644).await.err(),
        Some(nfsstat3::NFS3ERR_EXIST),
        "the name is the server's in a qtree too"
    );
    let up = c.lookup(&snapdir, "..").await.unwrap();
    assert_eq!(
        c.getattr(&up).await.unwrap().fileid,
        c.getattr(&q1).await.unwrap().fileid
    );
    assert_eq!(
        c.lookup(&snapdir, "nosuch").await.err(),
        Some(nfsstat3::NFS3ERR_NOENT)
    );
    // Only a qtree's directory has one: a plain directory does not.
    assert_eq!(
        c.lookup(&d, ".snapshot").await.err(),
        Some(nfsstat3::NFS3ERR_NOENT)
    );

    // The qtree's policy decides; unknown snapshots, qtrees younger than the snapshot and a
    // hidden snapshot directory are not there.
    let refused = |path: &'static str, ip: &'static str| {
        let lab = &lab;
        async move { Nfs::mount(lab, ip, path, Some((0, 0))).await.err() }
    };
    assert_eq!(
        refused("/eco/q1/.snapshot/s1", "127.0.0.2").await,
        Some(MNT3ERR_ACCES)
    );
    assert_eq!(
        refused("/eco/q1/.snapshot/nosuch", "127.0.0.1").await,
        Some(MNT3ERR_NOENT)
    );
    assert_eq!(
        refused("/eco/q2/.snapshot/s1", "127.0.0.1").await,
        Some(MNT3ERR_NOENT)
    );
    assert_eq!(
        refused("/eco/q1/.snapshot/s1/before", "127.0.0.1").await,
        Some(20), // MNT3ERR_NOTDIR
    );
    lab.ok("<volume-modify-iter><query><volume-attributes><volume-id-attributes><name>eco</name></volume-id-attributes></volume-attributes></query><attributes><volume-attributes><volume-snapshot-attributes><snapdir-access-enabled>false</snapdir-access-enabled></volume-snapshot-attributes></volume-attributes></attributes></volume-modify-iter>").await;
    assert_eq!(
        refused("/eco/q1/.snapshot/s1", "127.0.0.1").await,
        Some(MNT3ERR_NOENT)
    );
    assert_eq!(
        c.getattr(&snapdir).await.err(),
        Some(nfsstat3::NFS3ERR_STALE)
    );
    assert_eq!(
        c.lookup(&q1, ".snapshot").await.err(),
        Some(nfsstat3::NFS3ERR_NOENT)
    );
}
