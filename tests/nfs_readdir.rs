//! READDIR and READDIRPLUS on big and changing directories: complete, duplicate-free listings,
//! cookie verifiers, NFS3ERR_BAD_COOKIE for a verifier the server never issued for the directory.

mod common;
mod nfs_support;
use nfs3_client::nfs3_types::nfs3::{self, cookieverf3, nfs_fh3, nfsstat3, Nfs3Option};
use nfs_support::*;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

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

/// The directory on the server's disk that holds an entry named `marker`.
fn on_disk(root: &Path, marker: &str) -> PathBuf {
    let mut todo = vec![root.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.file_name() == marker {
                return d;
            }
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                todo.push(e.path());
            }
        }
    }
    panic!("{marker} not found under {}", root.display());
}

struct Page {
    names: Vec<(String, u64)>,
    verf: [u8; 8],
    eof: bool,
}

async fn readdir(
    c: &mut Nfs,
    dir: &nfs_fh3,
    cookie: u64,
    verf: [u8; 8],
    count: u32,
) -> Result<Page, nfsstat3> {
    let r = within(
        "READDIR",
        c.conn.readdir(&nfs3::READDIR3args {
            dir: dir.clone(),
            cookie,
            cookieverf: cookieverf3(verf),
            count,
        }),
    )
    .await
    .expect("READDIR");
    match r {
        nfs3::Nfs3Result::Ok(ok) => Ok(Page {
            names: ok
                .reply
                .entries
                .0
                .into_iter()
                .map(|e| {
                    (
                        String::from_utf8_lossy(e.name.0.as_ref()).into_owned(),
                        e.cookie,
                    )
                })
                .collect(),
            verf: ok.cookieverf.0,
            eof: ok.reply.eof,
        }),
        nfs3::Nfs3Result::Err((s, _)) => Err(s),
    }
}

async fn readdirplus(
    c: &mut Nfs,
    dir: &nfs_fh3,
    cookie: u64,
    verf: [u8; 8],
) -> Result<Page, nfsstat3> {
    let r = within(
        "READDIRPLUS",
        c.conn.readdirplus(&nfs3::READDIRPLUS3args {
            dir: dir.clone(),
            cookie,
            cookieverf: cookieverf3(verf),
            dircount: 8192,
            maxcount: 32768,
        }),
    )
    .await
    .expect("READDIRPLUS");
    match r {
        nfs3::Nfs3Result::Ok(ok) => {
            let mut names = Vec::new();
            for e in ok.reply.entries.0 {
                let name = String::from_utf8_lossy(e.name.0.as_ref()).into_owned();
                if name != "." && name != ".." {
                    assert!(
                        matches!(e.name_attributes, Nfs3Option::Some(_)),
                        "{name}: no attributes"
                    );
                    assert!(
                        matches!(e.name_handle, Nfs3Option::Some(_)),
                        "{name}: no handle"
                    );
                }
                names.push((name, e.cookie));
            }
            Ok(Page {
                names,
                verf: ok.cookieverf.0,
                eof: ok.reply.eof,
            })
        }
        nfs3::Nfs3Result::Err((s, _)) => Err(s),
    }
}

/// A whole listing as a client does it (resuming with the last cookie and verifier); the names
/// with how often each came, and the verifiers seen.
async fn list_all(c: &mut Nfs, dir: &nfs_fh3, plus: bool) -> (HashMap<String, u32>, usize) {
    let (mut cookie, mut verf) = (0, [0u8; 8]);
    let mut seen = HashMap::new();
    let mut verfs = HashSet::new();
    for _ in 0..100_000 {
        let p = if plus {
            readdirplus(c, dir, cookie, verf).await
        } else {
            readdir(c, dir, cookie, verf, 32768).await
        }
        .unwrap_or_else(|s| panic!("listing at cookie {cookie}: {s}"));
        verfs.insert(p.verf);
        verf = p.verf;
        for (n, ck) in p.names {
            cookie = ck;
            *seen.entry(n).or_insert(0) += 1;
        }
        if p.eof {
            return (seen, verfs.len());
        }
    }
    panic!("the listing never reached eof");
}

fn assert_once(seen: &HashMap<String, u32>, want: &HashSet<String>) {
    for (n, k) in seen {
        assert_eq!(*k, 1, "{n} listed {k} times");
    }
    for n in want {
        assert!(seen.contains_key(n), "{n} missing");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_20k_entry_directory_lists_whole_and_once() {
    let (lab, mut c) = lab_with_volume().await;
    let big = c.mkdir(&c.root.clone(), "big", 0o755).await.unwrap();
    c.create(&big, "marker-20k", 0o644).await.unwrap();
    let disk = on_disk(lab.sim.dir.path(), "marker-20k");
    let mut want: HashSet<String> = [".", "..", "marker-20k"].map(String::from).into();
    for i in 0..20_000 {
        let n = format!("file-{i:05}-with-a-longer-name");
        std::fs::File::create(disk.join(&n)).unwrap();
        want.insert(n);
    }
    for plus in [false, true] {
        let (seen, _) = list_all(&mut c, &big, plus).await;
        assert_once(&seen, &want);
        assert_eq!(seen.len(), want.len(), "plus={plus}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn entries_added_and_removed_during_a_listing_are_never_lost_or_repeated() {
    let (lab, mut c) = lab_with_volume().await;
    let dir = c.mkdir(&c.root.clone(), "busy", 0o755).await.unwrap();
    c.create(&dir, "marker-busy", 0o644).await.unwrap();
    let disk = on_disk(lab.sim.dir.path(), "marker-busy");
    let mut keep: HashSet<String> = [".", "..", "marker-busy"].map(String::from).into();
    for i in 0..3000 {
        let n = format!("keep-{i:04}");
        std::fs::File::create(disk.join(&n)).unwrap();
        keep.insert(n);
    }
    for i in 0..400 {
        std::fs::File::create(disk.join(format!("gone-{i:04}"))).unwrap();
    }
    let (mut cookie, mut verf) = (0, [0u8; 8]);
    let mut seen: HashMap<String, u32> = HashMap::new();
    let mut verfs = HashSet::new();
    let mut step = 0;
    loop {
        let p = readdir(&mut c, &dir, cookie, verf, 4096)
            .await
            .unwrap_or_else(|s| panic!("step {step}: {s}"));
        verfs.insert(p.verf);
        verf = p.verf;
        for (n, ck) in p.names {
            cookie = ck;
            *seen.entry(n).or_insert(0) += 1;
        }
        if p.eof {
            break;
        }
        // Between calls: through the shim (create, remove, rename) and behind its back.
        c.create(&dir, &format!("new-{step:04}"), 0o644)
            .await
            .unwrap();
        c.remove(&dir, &format!("gone-{:04}", step % 400))
            .await
            .unwrap_or(());
        let _ = std::fs::remove_file(disk.join(format!("gone-{:04}", (step + 200) % 400)));
        std::fs::File::create(disk.join(format!("disk-{step:04}"))).unwrap();
        step += 1;
        assert!(step < 10_000, "no eof");
    }
    assert!(step > 10, "the listing took {step} calls");
    assert!(verfs.len() > 1, "the verifier never changed");
    assert_once(&seen, &keep);
    // A fresh listing shows every change.
    let (after, _) = list_all(&mut c, &dir, false).await;
    assert!(after.contains_key(&format!("new-{:04}", step - 1)));
    assert!(after.contains_key(&format!("disk-{:04}", step - 1)));
    assert!(!after.contains_key("gone-0000"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_verifier_not_issued_for_the_directory_is_bad_cookie() {
    let (_lab, mut c) = lab_with_volume().await;
    let root = c.root.clone();
    let a = c.mkdir(&root, "a", 0o755).await.unwrap();
    let b = c.mkdir(&root, "b", 0o755).await.unwrap();
    for i in 0..300 {
        c.create(&a, &format!("f{i:03}"), 0o644).await.unwrap();
        c.create(&b, &format!("f{i:03}"), 0o644).await.unwrap();
    }
    let pa = readdir(&mut c, &a, 0, [0; 8], 2048).await.unwrap();
    let pb = readdir(&mut c, &b, 0, [0; 8], 2048).await.unwrap();
    assert!(!pa.eof);
    assert_ne!(pa.verf, [0; 8]);
    assert_ne!(pa.verf, pb.verf);
    let cookie = pa.names.last().unwrap().1;
    // Its own verifier resumes; another directory's, or a made-up one, is refused.
    let next = readdir(&mut c, &a, cookie, pa.verf, 2048).await.unwrap();
    assert!(next
        .names
        .iter()
        .all(|(n, _)| !pa.names.iter().any(|(m, _)| m == n)));
    assert_eq!(
        readdir(&mut c, &a, cookie, pb.verf, 2048).await.err(),
        Some(nfsstat3::NFS3ERR_BAD_COOKIE)
    );
    assert_eq!(
        readdir(&mut c, &a, cookie, *b"madeup!!", 2048).await.err(),
        Some(nfsstat3::NFS3ERR_BAD_COOKIE)
    );
    assert_eq!(
        readdirplus(&mut c, &a, cookie, *b"madeup!!").await.err(),
        Some(nfsstat3::NFS3ERR_BAD_COOKIE)
    );
    // Starting over needs no verifier; a zero verifier resumes by cookie alone.
    assert!(readdir(&mut c, &a, 0, *b"madeup!!", 2048).await.is_ok());
    assert!(readdir(&mut c, &a, cookie, [0; 8], 2048).await.is_ok());
    // After a change the directory has a new verifier; the old one still resumes (cookies are
    // stable), and the listing shows the change.
    c.create(&a, "late", 0o644).await.unwrap();
    let fresh = readdir(&mut c, &a, 0, [0; 8], 2048).await.unwrap();
    assert_ne!(fresh.verf, pa.verf);
    assert!(readdir(&mut c, &a, cookie, pa.verf, 2048).await.is_ok());
    let (all, _) = list_all(&mut c, &a, false).await;
    assert!(all.contains_key("late"));
    assert_eq!(all.len(), 2 + 300 + 1);
}
