//! What the Linux kernel's NFS client showed the shim answering wrongly (tests/vm runs the
//! kernel itself; these catch the same faults without a VM): MKNOD of FIFOs and devices,
//! `.snapshot` times that change when snapshots come and go (the kernel keeps a cached listing
//! otherwise), the portmapper's RPCBIND v3/v4 and UDP (`rpcinfo -p`, `mountproto=udp`, `umount`),
//! and journal names for programs the simulator does not serve.

mod common;
mod nfs_support;
use nfs3_client::nfs3_types::nfs3::{self, ftype3, nfsstat3, Nfs3Option, Nfs3Result};
use nfs3_client::nfs3_types::xdr_codec::Opaque;
use nfs_support::rpc::{Rpc, R, X};
use nfs_support::*;

const PORTMAP: u32 = 100_000;
const MOUNT: u32 = 100_005;
const NFS: u32 = 100_003;
const NLM: u32 = 100_021;
const NSM: u32 = 100_024;

fn running_as_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

async fn mknod(
    c: &mut Nfs,
    dir: &nfs3::nfs_fh3,
    name: &str,
    what: nfs3::mknoddata3,
) -> Result<nfs3::nfs_fh3, nfsstat3> {
    let r = within(
        "MKNOD",
        c.conn.mknod(&nfs3::MKNOD3args {
            where_: nfs3::diropargs3 {
                dir: dir.clone(),
                name: nfs3::filename3(Opaque::owned(name.as_bytes().to_vec())),
            },
            what,
        }),
    )
    .await
    .expect("MKNOD");
    match r {
        Nfs3Result::Ok(ok) => match ok.obj {
            Nfs3Option::Some(fh) => Ok(fh),
            Nfs3Option::None => panic!("MKNOD returned no handle"),
        },
        Nfs3Result::Err((s, _)) => Err(s),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn mknod_makes_fifos_and_devices() {
    let lab = Lab::start(None);
    lab.volume("v", "100m", "default").await;
    let mut c = Nfs::mount(&lab, "127.0.0.1", "/v", Some((0, 0)))
        .await
        .unwrap();
    let root = c.root.clone();
    let fifo = mknod(
        &mut c,
        &root,
        "fifo",
        nfs3::mknoddata3::NF3FIFO(mode_sattr(0o640)),
    )
    .await
    .expect("a FIFO");
    let a = c.getattr(&fifo).await.unwrap();
    assert_eq!((a.type_, a.mode & 0o7777), (ftype3::NF3FIFO, 0o640));
    // Reading a FIFO over NFS is refused at once (it never blocks the server).
    assert_eq!(
        c.read(&fifo, 0, 10).await.err(),
        Some(nfsstat3::NFS3ERR_INVAL)
    );
    // Its mode can change; a second one by the same name is refused.
    c.setattr(&fifo, mode_sattr(0o600)).await.unwrap();
    assert_eq!(c.getattr(&fifo).await.unwrap().mode & 0o7777, 0o600);
    assert_eq!(
        mknod(
            &mut c,
            &root,
            "fifo",
            nfs3::mknoddata3::NF3FIFO(mode_sattr(0o640))
        )
        .await
        .err(),
        Some(nfsstat3::NFS3ERR_EXIST)
    );
    let dev = |major, minor| {
        nfs3::mknoddata3::NF3CHR(nfs3::devicedata3 {
            dev_attributes: mode_sattr(0o666),
            spec: nfs3::specdata3 {
                specdata1: major,
                specdata2: minor,
            },
        })
    };
    if running_as_root() {
        let null = mknod(&mut c, &root, "null", dev(1, 3))
            .await
            .expect("a device");
        let a = c.getattr(&null).await.unwrap();
        assert_eq!(a.type_, ftype3::NF3CHR);
        assert_eq!((a.rdev.specdata1, a.rdev.specdata2), (1, 3));
        assert_eq!(
            c.read(&null, 0, 10).await.err(),
            Some(nfsstat3::NFS3ERR_INVAL)
        );
    }
    // Devices are root's to make.
    let mut user = Nfs::mount(&lab, "127.0.0.1", "/v", Some((1000, 1000)))
        .await
        .unwrap();
    let uroot = user.root.clone();
    assert_eq!(
        mknod(&mut user, &uroot, "mine", dev(1, 3)).await.err(),
        Some(nfsstat3::NFS3ERR_PERM)
    );
    // MKNOD of a regular file is NFS3ERR_BADTYPE (10007).
    let mut rpc = Rpc::connect(lab.nfs).await;
    let args = X::default().opaque(&fh_bytes(&root)).opaque(b"reg").u32(1);
    let b = rpc.call(NFS, 3, 11, &args).await;
    assert_eq!(R(&b).u32(), 10007);
    // A snapshot keeps the FIFO.
    lab.ok("<snapshot-create><volume>v</volume><snapshot>s</snapshot></snapshot-create>")
        .await;
    let snap = c
        .walk("/.snapshot/s/fifo")
        .await
        .expect("the FIFO in the snapshot");
    assert_eq!(c.getattr(&snap).await.unwrap().type_, ftype3::NF3FIFO);
}

#[tokio::test(flavor = "multi_thread")]
async fn snapshot_dir_times_change_with_its_snapshots() {
    let lab = Lab::start(None);
    lab.volume("v", "100m", "default").await;
    let mut c = Nfs::mount(&lab, "127.0.0.1", "/v", Some((0, 0)))
        .await
        .unwrap();
    let snapdir = c.walk("/.snapshot").await.unwrap();
    let times = |a: &nfs3::fattr3| (a.mtime, a.ctime);
    let before = times(&c.getattr(&snapdir).await.unwrap());
    // File timestamps are coarse (a clock tick): let one pass between changes.
    let tick = || tokio::time::sleep(std::time::Duration::from_millis(20));
    tick().await;
    lab.ok("<snapshot-create><volume>v</volume><snapshot>s1</snapshot></snapshot-create>")
        .await;
    let made = times(&c.getattr(&snapdir).await.unwrap());
    assert_ne!(
        made, before,
        "making a snapshot changes .snapshot's mtime and ctime"
    );
    assert_ne!(made.0, before.0);
    assert_ne!(made.1, before.1);
    assert!(c.list(&snapdir).await.unwrap().contains(&"s1".to_string()));
    // Writing to the volume does not touch .snapshot.
    let root = c.root.clone();
    let f = c.create(&root, "f", 0o644).await.unwrap();
    c.write_all(&f, 0, b"data").await.unwrap();
    assert_eq!(times(&c.getattr(&snapdir).await.unwrap()), made);
    tick().await;
    lab.ok("<snapshot-delete><volume>v</volume><snapshot>s1</snapshot></snapshot-delete>")
        .await;
    let deleted = times(&c.getattr(&snapdir).await.unwrap());
    assert_ne!(deleted, made, "deleting a snapshot changes them again");
}

#[tokio::test(flavor = "multi_thread")]
async fn rpcbind_v3_v4_and_udp() {
    let lab = Lab::start(None);
    lab.volume("v", "100m", "default").await;
    let port = u32::from(lab.port());
    let uaddr = format!("127.0.0.1.{}.{}", port >> 8, port & 0xff);
    let rpcb = |prog: u32, vers: u32, netid: &str| {
        X::default()
            .u32(prog)
            .u32(vers)
            .opaque(netid.as_bytes())
            .opaque(b"")
            .opaque(b"")
    };
    for transport in ["tcp", "udp"] {
        let mut c = if transport == "tcp" {
            Rpc::connect(lab.nfs).await
        } else {
            Rpc::udp(lab.nfs).await
        };
        // v2 GETPORT of MOUNT over this transport's protocol number.
        let proto = if transport == "tcp" { 6 } else { 17 };
        let b = c
            .call(
                PORTMAP,
                2,
                3,
                &X::default().u32(MOUNT).u32(3).u32(proto).u32(0),
            )
            .await;
        assert_eq!(R(&b).u32(), port, "{transport}: GETPORT MOUNT v3");
        // v3 and v4 GETADDR: a universal address; an empty netid means this transport.
        for vers in [3, 4] {
            let b = c.call(PORTMAP, vers, 3, &rpcb(NLM, 4, "")).await;
            assert_eq!(
                R(&b).opaque(),
                uaddr.as_bytes(),
                "{transport}: v{vers} GETADDR"
            );
            let b = c.call(PORTMAP, vers, 3, &rpcb(NFS, 3, "udp")).await;
            assert!(R(&b).opaque().is_empty(), "NFS is not served over UDP");
        }
        // v4 DUMP lists every mapping with its netid and address.
        let b = c.call(PORTMAP, 4, 4, &X::default()).await;
        let mut r = R(&b);
        let mut seen = vec![];
        while r.u32() == 1 {
            let (prog, vers) = (r.u32(), r.u32());
            let netid = String::from_utf8(r.opaque()).unwrap();
            let addr = String::from_utf8(r.opaque()).unwrap();
            r.opaque();
            seen.push((prog, vers, netid, addr));
        }
        for want in [
            (NFS, 3, "tcp"),
            (MOUNT, 3, "udp"),
            (NLM, 4, "tcp"),
            (NSM, 1, "udp"),
        ] {
            assert!(
                seen.iter()
                    .any(|s| (s.0, s.1, s.2.as_str(), s.3.as_str())
                        == (want.0, want.1, want.2, &uaddr)),
                "{want:?} not in {seen:?}"
            );
        }
        // v4 GETADDRLIST: MOUNT v3 over both transports.
        let b = c.call(PORTMAP, 4, 11, &rpcb(MOUNT, 3, "")).await;
        let mut r = R(&b);
        let mut netids = vec![];
        while r.u32() == 1 {
            r.opaque();
            netids.push(String::from_utf8(r.opaque()).unwrap());
            r.u32();
            r.opaque();
            r.opaque();
        }
        assert_eq!(netids, ["tcp", "udp"]);
    }
    // MOUNT over UDP works; NFS over UDP is not served.
    let mut u = Rpc::udp(lab.nfs).await;
    let b = u.call(MOUNT, 3, 1, &X::default().opaque(b"/v")).await;
    let mut r = R(&b);
    assert_eq!(r.u32(), 0, "MNT over UDP");
    assert!(!r.opaque().is_empty());
    assert_eq!(
        u.call_raw(NFS, 3, 0, &X::default()).await.0,
        1,
        "PROG_UNAVAIL"
    );
    // A program the simulator does not serve (NFS_ACL): PROG_UNAVAIL, journaled by number.
    let mut t = Rpc::connect(lab.nfs).await;
    assert_eq!(t.call_raw(100_227, 3, 1, &X::default()).await.0, 1);
    let j = lab
        .sim
        .control()
        .call("GET", "/journal", vec![])
        .await
        .unwrap();
    assert!(j.contains("program 100227 v3 procedure 1"), "{j}");
    assert!(!j.contains("unknown procedure"), "{j}");
}
