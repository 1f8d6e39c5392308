//! The NFS front's protocol edges through raw RPC records and `nfs3_client`: malformed and
//! unexpected calls, oversized records, the portmapper, LIFs that are down or unknown, names and
//! symlinks that try to leave the volume, nested junctions, and the directory procedures.

mod common;
mod nfs_support;
use nfs3_client::nfs3_types::nfs3::{self, nfsstat3};
use nfs_support::*;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

// ---- a minimal RPC client for records no well-behaved client would send ----

fn word(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_be_bytes());
}

fn opaque(v: &mut Vec<u8>, b: &[u8]) {
    word(v, b.len() as u32);
    v.extend_from_slice(b);
    v.extend(std::iter::repeat_n(0u8, (4 - b.len() % 4) % 4));
}

fn auth_sys_body(uid: u32, gid: u32) -> Vec<u8> {
    let mut b = Vec::new();
    word(&mut b, 0);
    opaque(&mut b, b"raw");
    word(&mut b, uid);
    word(&mut b, gid);
    word(&mut b, 0);
    b
}

/// A record-marked call: header (rpcvers 2 unless given), AUTH_SYS root credential, `args`.
fn call(xid: u32, prog: u32, vers: u32, proc_: u32, args: &[u8]) -> Vec<u8> {
    call_with(xid, 2, prog, vers, proc_, 1, &auth_sys_body(0, 0), args)
}

#[allow(clippy::too_many_arguments)]
fn call_with(
    xid: u32,
    rpcvers: u32,
    prog: u32,
    vers: u32,
    proc_: u32,
    flavor: u32,
    cred: &[u8],
    args: &[u8],
) -> Vec<u8> {
    let mut m = Vec::new();
    for x in [xid, 0, rpcvers, prog, vers, proc_, flavor] {
        word(&mut m, x);
    }
    opaque(&mut m, cred);
    word(&mut m, 0);
    word(&mut m, 0);
    m.extend_from_slice(args);
    let mut r = Vec::new();
    word(&mut r, 0x8000_0000 | m.len() as u32);
    r.extend(m);
    r
}

/// Read one reply record, or None when the server closed the connection or said nothing.
async fn reply(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut mark = [0u8; 4];
    // Long enough for a loaded machine; a server that says nothing is a failure either way.
    match tokio::time::timeout(Duration::from_secs(30), s.read_exact(&mut mark)).await {
        Ok(Ok(_)) => {}
        _ => return None,
    }
    let len = (u32::from_be_bytes(mark) & 0x7fff_ffff) as usize;
    let mut b = vec![0u8; len];
    s.read_exact(&mut b).await.ok()?;
    Some(b)
}

fn w(b: &[u8], i: usize) -> u32 {
    u32::from_be_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]])
}

/// (xid, reply_stat, accept_stat or reject_stat) of a reply, and the words after it.
fn parse(b: &[u8]) -> (u32, u32, u32, Vec<u32>) {
    assert_eq!(w(b, 1), 1, "a REPLY");
    let (stat, at) = if w(b, 2) == 0 {
        // accepted: verifier flavor, verifier length (0), accept_stat
        (w(b, 5), 6)
    } else {
        (w(b, 3), 4)
    };
    let rest = (at..b.len() / 4).map(|i| w(b, i)).collect();
    (w(b, 0), w(b, 2), stat, rest)
}

async fn connect(addr: SocketAddr) -> TcpStream {
    TcpStream::connect(addr).await.expect("connect")
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_and_unexpected_calls_are_answered_never_fatal() {
    let lab = Lab::start(None);
    let mut s = connect(lab.nfs).await;

    // NFS NULL works.
    s.write_all(&call(1, 100_003, 3, 0, &[])).await.unwrap();
    let (xid, rs, st, _) = parse(&reply(&mut s).await.unwrap());
    assert_eq!((xid, rs, st), (1, 0, 0));
    // GETATTR with its handle cut short: GARBAGE_ARGS.
    s.write_all(&call(2, 100_003, 3, 1, &[0, 0, 0, 40, 1, 2]))
        .await
        .unwrap();
    assert_eq!(parse(&reply(&mut s).await.unwrap()).2, 4);
    // A hostile length inside the arguments: GARBAGE_ARGS, nothing allocated.
    s.write_all(&call(3, 100_003, 3, 3, &[0xff, 0xff, 0xff, 0xff]))
        .await
        .unwrap();
    assert_eq!(parse(&reply(&mut s).await.unwrap()).2, 4);
    // Unknown program: PROG_UNAVAIL; NFS v2 and v4: PROG_MISMATCH 3..3; procedure 99: PROC_UNAVAIL.
    s.write_all(&call(4, 123_456, 1, 0, &[])).await.unwrap();
    assert_eq!(parse(&reply(&mut s).await.unwrap()).2, 1);
    for v in [2, 4] {
        s.write_all(&call(5, 100_003, v, 0, &[])).await.unwrap();
        let (_, _, st, rest) = parse(&reply(&mut s).await.unwrap());
        assert_eq!((st, rest[0], rest[1]), (2, 3, 3));
    }
    s.write_all(&call(6, 100_003, 3, 99, &[])).await.unwrap();
    assert_eq!(parse(&reply(&mut s).await.unwrap()).2, 3);
    // RPC version 3: denied, RPC_MISMATCH (2..2).
    s.write_all(&call_with(7, 3, 100_003, 3, 0, 0, &[], &[]))
        .await
        .unwrap();
    let (_, rs, st, rest) = parse(&reply(&mut s).await.unwrap());
    assert_eq!((rs, st, rest[0], rest[1]), (1, 0, 2, 2));
    // An unknown credential flavor (RPCSEC_GSS) and a broken AUTH_SYS body: AUTH_ERROR/BADCRED.
    for (flavor, cred) in [(6u32, vec![0u8; 8]), (1, vec![0, 0, 0, 1])] {
        s.write_all(&call_with(8, 2, 100_003, 3, 0, flavor, &cred, &[]))
            .await
            .unwrap();
        let (_, rs, st, rest) = parse(&reply(&mut s).await.unwrap());
        assert_eq!((rs, st, rest[0]), (1, 1, 1));
    }
    // A record that is not a call is dropped; the connection goes on.
    s.write_all(&[0x80, 0, 0, 4, 0, 0, 0, 9]).await.unwrap();
    s.write_all(&call(9, 100_003, 3, 0, &[])).await.unwrap();
    assert_eq!(parse(&reply(&mut s).await.unwrap()).0, 9);
    // A record over the limit closes the connection.
    s.write_all(&[0xff, 0xff, 0xff, 0xff]).await.unwrap();
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(30), s.read(&mut buf))
        .await
        .expect("the server should close the connection");
    assert_eq!(n.unwrap_or(0), 0);
    // Fragments of one record are joined.
    let mut s = connect(lab.nfs).await;
    let whole = call(10, 100_003, 3, 0, &[]);
    let body = &whole[4..];
    let mut frags = Vec::new();
    word(&mut frags, 8);
    frags.extend_from_slice(&body[..8]);
    word(&mut frags, 0x8000_0000 | (body.len() - 8) as u32);
    frags.extend_from_slice(&body[8..]);
    s.write_all(&frags).await.unwrap();
    assert_eq!(parse(&reply(&mut s).await.unwrap()).0, 10);
    // And the server still mounts.
    assert!(Nfs::mount(&lab, "127.0.0.1", "/", Some((0, 0)))
        .await
        .is_ok());
}

#[tokio::test(flavor = "multi_thread")]
async fn portmapper_answers_getport_and_dump() {
    let lab = Lab::start_in(
        tempfile::tempdir().unwrap(),
        None,
        &["--portmap-listen", "127.0.0.1:0"],
    );
    let pm: SocketAddr = lab
        .sim
        .banner
        .iter()
        .find_map(|l| l.trim().strip_prefix("portmap")?.trim().parse().ok())
        .expect("a portmap line in the banner");
    let mut s = connect(pm).await;
    let getport = |prog: u32, vers: u32, prot: u32| {
        let mut a = Vec::new();
        for x in [prog, vers, prot, 0] {
            word(&mut a, x);
        }
        call(20, 100_000, 2, 3, &a)
    };
    for (prog, vers, prot, want) in [
        (100_003, 3, 6, u32::from(lab.port())),
        (100_005, 3, 6, u32::from(lab.port())),
        (100_003, 3, 17, 0),
        (100_003, 4, 6, 0),
    ] {
        s.write_all(&getport(prog, vers, prot)).await.unwrap();
        let (_, _, st, rest) = parse(&reply(&mut s).await.unwrap());
        assert_eq!(
            (st, rest[0]),
            (0, want),
            "GETPORT {prog} v{vers} proto {prot}"
        );
    }
    s.write_all(&call(21, 100_000, 2, 4, &[])).await.unwrap();
    let (_, _, st, rest) = parse(&reply(&mut s).await.unwrap());
    assert_eq!(st, 0);
    let maps: Vec<&[u32]> = rest.chunks(5).filter(|c| c[0] == 1).collect();
    assert!(maps
        .iter()
        .any(|m| m[1..] == [100_003, 3, 6, u32::from(lab.port())]));
    // The MOUNT program's EXPORT lists the junction paths.
    lab.policy("p").await;
    lab.volume("exported", "100m", "p").await;
    let mut s = connect(lab.nfs).await;
    s.write_all(&call(22, 100_005, 3, 5, &[])).await.unwrap();
    let r = reply(&mut s).await.unwrap();
    let text = String::from_utf8_lossy(&r);
    assert!(text.contains("/exported"), "{text}");
}

const TWO_SVMS: &str = r#"
[[aggregates]]
name = "aggr1"
size = "1TiB"
[[svms]]
name = "svm1"
aggregates = ["aggr1"]
[[svms.lifs]]
name = "svm1_data1"
address = "127.0.0.1"
[[svms.export_policies]]
name = "default"
[[svms.export_policies.rules]]
client_match = "0.0.0.0/0"
superuser = ["any"]
[[svms]]
name = "svm2"
aggregates = ["aggr1"]
[[svms.lifs]]
name = "svm2_data1"
address = "127.0.0.3"
status = "down"
[[users]]
name = "admin"
"#;

/// POST to the control API (plain HTTP) and return the status line.
async fn admin_post(lab: &Lab, path: &str) -> String {
    admin(lab, "POST", path, "").await
}

async fn admin(lab: &Lab, method: &str, path: &str, body: &str) -> String {
    let addr: SocketAddr = lab
        .sim
        .banner
        .iter()
        .find_map(|l| {
            l.trim()
                .strip_prefix("admin")?
                .trim()
                .trim_start_matches("http://")
                .parse()
                .ok()
        })
        .expect("an admin line in the banner");
    let mut s = connect(addr).await;
    s.write_all(
        format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out.lines().next().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn lifs_decide_the_svm_and_a_down_lif_refuses() {
    let lab = Lab::start_in(
        tempfile::tempdir().unwrap(),
        Some(TWO_SVMS),
        &["--nfs-listen", "0.0.0.0:0"],
    );
    let port = lab.port();
    let at = |ip: &str| -> SocketAddr { format!("{ip}:{port}").parse().unwrap() };
    // svm1's LIF serves svm1's namespace.
    assert!(
        Nfs::mount_at(at("127.0.0.1"), "127.0.0.1", "/", Some((0, 0)))
            .await
            .is_ok()
    );
    // A down LIF and an address no LIF has: the connection is closed without an answer.
    for ip in ["127.0.0.3", "127.0.0.9"] {
        let mut s = connect(at(ip)).await;
        let _ = s.write_all(&call(1, 100_005, 3, 0, &[])).await;
        assert!(reply(&mut s).await.is_none(), "{ip} should not answer");
    }
    // Taking svm1's LIF down refuses a connected client at its next call. (A raw connection:
    // nfs3_client spins on a closed socket.)
    let mut s = connect(at("127.0.0.1")).await;
    s.write_all(&call(1, 100_003, 3, 0, &[])).await.unwrap();
    assert!(reply(&mut s).await.is_some());
    let status = admin_post(&lab, "/lif/svm1_data1/down").await;
    assert!(status.contains("200"), "{status}");
    let _ = s.write_all(&call(2, 100_003, 3, 0, &[])).await;
    assert!(
        reply(&mut s).await.is_none(),
        "a call through a down LIF is not answered"
    );
    let mut s = connect(at("127.0.0.1")).await;
    let _ = s.write_all(&call(3, 100_005, 3, 0, &[])).await;
    assert!(reply(&mut s).await.is_none(), "nor is a new connection");
    admin_post(&lab, "/lif/svm1_data1/up").await;
    assert!(
        Nfs::mount_at(at("127.0.0.1"), "127.0.0.1", "/", Some((0, 0)))
            .await
            .is_ok()
    );
}

async fn lab_with_volume() -> (Lab, Nfs) {
    let lab = Lab::start(None);
    lab.policy("p").await;
    lab.rule("p", "127.0.0.1", "sys", "sys", "sys").await;
    lab.volume("v", "100m", "p").await;
    let c = Nfs::mount(&lab, "127.0.0.1", "/v", Some((0, 0)))
        .await
        .unwrap();
    (lab, c)
}

#[tokio::test(flavor = "multi_thread")]
async fn names_and_symlinks_stay_inside_the_volume() {
    let (lab, mut c) = lab_with_volume().await;
    let root = c.root.clone();
    let rootattr = c.getattr(&root).await.unwrap();
    // `..` at the volume root of a top-level mount stays at the namespace root, never the disk.
    let up = c.lookup(&root, "..").await.unwrap();
    assert_ne!(fh_bytes(&up), b"", "a handle");
    let upattr = c.getattr(&up).await.unwrap();
    assert_ne!(
        upattr.fsid, rootattr.fsid,
        ".. of /v is the namespace root (another volume)"
    );
    assert_eq!(
        c.create(&root, "a/b", 0o644).await.err(),
        Some(nfsstat3::NFS3ERR_ACCES)
    );
    assert_eq!(
        c.create(&root, &"x".repeat(256), 0o644).await.err(),
        Some(nfsstat3::NFS3ERR_NAMETOOLONG)
    );
    assert_eq!(
        c.create(&root, "..", 0o644).await.err(),
        Some(nfsstat3::NFS3ERR_EXIST)
    );
    assert_eq!(
        c.mkdir(&root, ".snapshot", 0o755).await.err(),
        Some(nfsstat3::NFS3ERR_EXIST)
    );
    // Symlinks are stored and returned, never followed by the server.
    let l = c.symlink(&root, "esc", "/etc").await.unwrap();
    assert_eq!(c.readlink(&l).await.unwrap(), "/etc");
    assert_eq!(
        c.lookup(&l, "passwd").await.err(),
        Some(nfsstat3::NFS3ERR_NOTDIR)
    );
    assert_eq!(
        c.read(&l, 0, 100).await.err(),
        Some(nfsstat3::NFS3ERR_INVAL)
    );
    let up = c.symlink(&root, "up", "../../../../etc").await.unwrap();
    assert_eq!(c.readlink(&up).await.unwrap(), "../../../../etc");
    assert!(c.list(&root).await.unwrap().contains(&"esc".to_string()));
    // MNT refuses `..`, and a path through a symlink is not a directory.
    assert_eq!(
        Nfs::mount(&lab, "127.0.0.1", "/v/../v", Some((0, 0)))
            .await
            .err(),
        Some(MNT3ERR_NOENT)
    );
    assert_eq!(
        Nfs::mount(&lab, "127.0.0.1", "/v/esc", Some((0, 0)))
            .await
            .err(),
        Some(20)
    );
    let d = c.mkdir(&root, "sub", 0o755).await.unwrap();
    let f = c.create(&d, "deep", 0o644).await.unwrap();
    c.write_all(&f, 0, b"deep").await.unwrap();
    let mut sub = Nfs::mount(&lab, "127.0.0.1", "/v/sub", Some((0, 0)))
        .await
        .expect("a directory below the junction mounts");
    let f2 = sub.walk("deep").await.unwrap();
    assert_eq!(sub.read_all(&f2).await.unwrap(), b"deep");
}

#[tokio::test(flavor = "multi_thread")]
async fn nested_junctions_are_crossed() {
    let lab = Lab::start(None);
    lab.policy("p").await;
    lab.rule("p", "127.0.0.1", "sys", "sys", "sys").await;
    lab.ok("<volume-modify-iter><query><volume-attributes><volume-id-attributes><name>svm1_root</name></volume-id-attributes></volume-attributes></query><attributes><volume-attributes><volume-export-attributes><policy>p</policy></volume-export-attributes></volume-attributes></attributes></volume-modify-iter>").await;
    lab.volume("parent", "100m", "p").await;
    lab.ok("<volume-create><volume>child</volume><containing-aggr-name>aggr1</containing-aggr-name><size>50m</size><junction-path>/parent/child</junction-path><export-policy>p</export-policy><unix-permissions>0777</unix-permissions><space-reserve>none</space-reserve><percentage-snapshot-reserve>0</percentage-snapshot-reserve></volume-create>").await;

    let mut c = Nfs::mount(&lab, "127.0.0.1", "/", Some((0, 0)))
        .await
        .unwrap();
    let root = c.root.clone();
    assert!(c.list(&root).await.unwrap().contains(&"parent".to_string()));
    let p = c.lookup(&root, "parent").await.unwrap();
    let ch = c.lookup(&p, "child").await.unwrap();
    let (pa, ca) = (c.getattr(&p).await.unwrap(), c.getattr(&ch).await.unwrap());
    assert_ne!(pa.fsid, ca.fsid, "each volume is its own file system");
    let f = c.create(&ch, "in-child", 0o644).await.unwrap();
    c.write_all(&f, 0, b"child data").await.unwrap();
    // The same file through a mount of the nested path.
    let mut direct = Nfs::mount(&lab, "127.0.0.1", "/parent/child", Some((0, 0)))
        .await
        .unwrap();
    assert_eq!(fh_bytes(&direct.root), fh_bytes(&ch));
    let f2 = direct.walk("in-child").await.unwrap();
    assert_eq!(direct.read_all(&f2).await.unwrap(), b"child data");
    // `..` from the child's root is the parent's root.
    let back = c.lookup(&ch, "..").await.unwrap();
    assert_eq!(fh_bytes(&back), fh_bytes(&p));
    // FSSTAT describes the volume the handle is in.
    let fs_child = c.fsstat(&ch).await.unwrap();
    let fs_parent = c.fsstat(&p).await.unwrap();
    assert!(fs_child.tbytes <= 50 << 20 && fs_child.tbytes > 40 << 20);
    assert!(fs_parent.tbytes > 90 << 20);
    // Growing a volume shows at once.
    lab.ok("<volume-size><volume>child</volume><new-size>80m</new-size></volume-size>")
        .await;
    assert!(c.fsstat(&ch).await.unwrap().tbytes > 70 << 20);
    // The junction is not a directory the parent can remove.
    assert_eq!(
        c.rmdir(&p, "child").await.err(),
        Some(nfsstat3::NFS3ERR_ACCES)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn directory_procedures_links_and_large_listings() {
    let (lab, mut c) = lab_with_volume().await;
    let root = c.root.clone();
    let d = c.mkdir(&root, "d", 0o755).await.unwrap();
    let f = c.create(&d, "f", 0o644).await.unwrap();
    c.write_all(&f, 0, b"0123456789").await.unwrap();
    // LINK: two names, one file; size-used counts each name as the data layer does.
    c.link(&f, &root, "f-link").await.unwrap();
    assert_eq!(c.getattr(&f).await.unwrap().nlink, 2);
    let fl = c.lookup(&root, "f-link").await.unwrap();
    assert_eq!(c.read_all(&fl).await.unwrap(), b"0123456789");
    assert_eq!(
        c.link(&d, &root, "dir-link").await.err(),
        Some(nfsstat3::NFS3ERR_ISDIR)
    );
    // RENAME across directories keeps the handle; over an existing file replaces it.
    c.rename(&d, "f", &root, "moved").await.unwrap();
    assert_eq!(c.read_all(&f).await.unwrap(), b"0123456789");
    let g = c.create(&root, "g", 0o644).await.unwrap();
    c.rename(&root, "g", &root, "moved").await.unwrap();
    assert_eq!(c.read_all(&g).await.unwrap(), b"");
    assert_eq!(c.getattr(&f).await.unwrap().nlink, 1, "f-link remains");
    // RMDIR of a non-empty directory; REMOVE of a directory.
    let e = c.create(&d, "e", 0o644).await.unwrap();
    let _ = e;
    assert_eq!(
        c.rmdir(&root, "d").await.err(),
        Some(nfsstat3::NFS3ERR_NOTEMPTY)
    );
    assert_eq!(
        c.remove(&root, "d").await.err(),
        Some(nfsstat3::NFS3ERR_ISDIR)
    );
    c.remove(&d, "e").await.unwrap();
    c.rmdir(&root, "d").await.unwrap();
    assert_eq!(c.getattr(&d).await.err(), Some(nfsstat3::NFS3ERR_STALE));
    // A directory of 500 entries comes back whole over many small READDIRPLUS replies.
    let big = c.mkdir(&root, "big", 0o755).await.unwrap();
    let mut want = vec![".".to_string(), "..".to_string()];
    for i in 0..500 {
        let n = format!("entry-{i:04}");
        c.create(&big, &n, 0o644).await.unwrap();
        want.push(n);
    }
    want.sort();
    assert_eq!(c.list(&big).await.unwrap(), want);
    // Sparse writes and truncation follow size-used.
    let before = lab.size_used("v").await;
    let s = c.create(&root, "sparse", 0o644).await.unwrap();
    c.write_all(&s, 5 << 20, b"end").await.unwrap();
    let grown = lab.size_used("v").await;
    assert!(grown >= before + (5 << 20), "{before} -> {grown}");
    c.setattr(&s, size_sattr(0)).await.unwrap();
    assert!(lab.size_used("v").await < grown);
    // FSINFO / PATHCONF / COMMIT answer.
    let fsinfo = c
        .conn
        .fsinfo(&nfs3::FSINFO3args {
            fsroot: root.clone(),
        })
        .await
        .unwrap();
    match fsinfo {
        nfs3::Nfs3Result::Ok(ok) => {
            assert_eq!((ok.rtmax, ok.wtmax), (1 << 20, 1 << 20));
        }
        nfs3::Nfs3Result::Err((s, _)) => panic!("FSINFO {s}"),
    }
    let pc = c
        .conn
        .pathconf(&nfs3::PATHCONF3args {
            object: root.clone(),
        })
        .await
        .unwrap();
    assert!(matches!(pc, nfs3::Nfs3Result::Ok(ref ok) if ok.name_max == 255));
    let cm = c
        .conn
        .commit(&nfs3::COMMIT3args {
            file: s.clone(),
            offset: 0,
            count: 0,
        })
        .await
        .unwrap();
    assert!(matches!(cm, nfs3::Nfs3Result::Ok(_)));
}

#[tokio::test(flavor = "multi_thread")]
async fn injected_faults_reach_nfs_calls_and_the_listener() {
    let (lab, mut c) = lab_with_volume().await;
    let root = c.root.clone();
    let f = c.create(&root, "f", 0o644).await.unwrap();
    c.write_all(&f, 0, b"data").await.unwrap();
    // One READ of volume v answers JUKEBOX, then the rule is spent.
    let r = admin(
        &lab,
        "POST",
        "/faults",
        r#"{"match": {"front": "nfs", "api": "READ", "volume": "v"}, "action": {"type": "nfs_error", "status": "JUKEBOX"}, "fire": {"times": 1}}"#,
    )
    .await;
    assert!(r.contains("201"), "{r}");
    assert_eq!(
        c.read(&f, 0, 10).await.err(),
        Some(nfsstat3::NFS3ERR_JUKEBOX)
    );
    assert_eq!(c.read_all(&f).await.unwrap(), b"data");
    // MNT refused by a rule.
    admin(
        &lab,
        "POST",
        "/faults",
        r#"{"match": {"front": "nfs", "api": "MNT"}, "action": {"type": "nfs_error", "status": "ACCES"}, "fire": {"times": 1}}"#,
    )
    .await;
    assert_eq!(
        Nfs::mount(&lab, "127.0.0.1", "/v", Some((0, 0)))
            .await
            .err(),
        Some(MNT3ERR_ACCES)
    );
    // The NFS listener refuses connections, then serves again.
    let r = admin(&lab, "PUT", "/listeners/nfs", "refuse").await;
    assert!(r.contains("200"), "{r}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(TcpStream::connect(lab.nfs).await.is_err());
    admin(&lab, "PUT", "/listeners/nfs", "normal").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(Nfs::mount(&lab, "127.0.0.1", "/v", Some((0, 0)))
        .await
        .is_ok());
}
