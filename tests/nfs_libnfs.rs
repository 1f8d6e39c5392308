//! NFS end to end with the libnfs command-line clients (`nfs-cp`, `nfs-cat`, `nfs-ls`): a volume
//! made through ZAPI is written and read back at its junction path, ZAPI's size-used follows the
//! bytes stored, and a full volume refuses more.

mod common;
mod nfs_support;
use nfs3_client::nfs3_types::nfs3;
use nfs_support::*;

fn payload(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

async fn aggr_used(lab: &Lab) -> u64 {
    let body = lab
        .sim
        .call(&common::zapi(
            "<aggr-get-iter><query><aggr-attributes><aggregate-name>aggr1</aggregate-name></aggr-attributes></query></aggr-get-iter>",
        ))
        .await;
    let r = common::assert_passed(&body);
    r.path(&[
        "attributes-list",
        "aggr-attributes",
        "aggr-space-attributes",
        "size-used",
    ])
    .and_then(|e| e.text.parse().ok())
    .unwrap_or_else(|| panic!("aggregate size-used in {body}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn write_read_back_and_size_used_grows() {
    require_libnfs();
    let lab = Lab::start(None);
    lab.policy("lab").await;
    lab.rule("lab", "127.0.0.1", "sys", "sys", "sys").await;
    lab.volume("vol1", "200m", "lab").await;
    let before = lab.size_used("vol1").await;
    let aggr_before = aggr_used(&lab).await;

    let dir = tempfile::tempdir().unwrap();
    let data = payload(3 << 20, 7);
    let local = dir.path().join("data.bin");
    std::fs::write(&local, &data).unwrap();
    let put = nfs_put(&local, &lab.url("/vol1/data.bin", 0, 0));
    assert!(put.ok, "nfs-cp upload failed: {}", put.stderr);

    let got = nfs_cat(&lab.url("/vol1/data.bin", 0, 0));
    assert!(got.ok, "nfs-cat failed: {}", got.stderr);
    assert_eq!(got.stdout.len(), data.len());
    assert!(got.stdout == data, "the bytes read back differ");

    // The request journal shows the NFS procedures too.
    let journal = lab
        .sim
        .control()
        .call("GET", "/journal?front=nfs&limit=10000", vec![])
        .await
        .unwrap();
    for p in ["\"MNT\"", "\"WRITE\"", "\"READ\""] {
        assert!(journal.contains(p), "no {p} in the NFS journal");
    }

    let ls = nfs_ls(&lab.url("/vol1", 0, 0));
    assert!(ls.ok, "nfs-ls failed: {}", ls.stderr);
    assert!(
        String::from_utf8_lossy(&ls.stdout).contains("data.bin"),
        "{}",
        ls.stderr
    );

    let after = lab.size_used("vol1").await;
    assert!(
        after >= before + data.len() as u64,
        "size-used {before} -> {after} after writing {} bytes",
        data.len()
    );
    // The volume has no space guarantee: its aggregate's used space follows the bytes stored.
    let aggr_after = aggr_used(&lab).await;
    assert!(
        aggr_after >= aggr_before + data.len() as u64,
        "aggregate size-used {aggr_before} -> {aggr_after}"
    );
    // A second volume's data is its own.
    lab.volume("vol2", "200m", "lab").await;
    let other = nfs_cat(&lab.url("/vol2/data.bin", 0, 0));
    assert!(!other.ok, "vol2 must not show vol1's file");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_volume_refuses_with_enospc() {
    require_libnfs();
    let lab = Lab::start(None);
    lab.policy("lab").await;
    lab.rule("lab", "127.0.0.1", "sys", "sys", "sys").await;
    lab.volume("small", "20m", "lab").await;
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("big.bin");
    std::fs::write(&local, payload(24 << 20, 1)).unwrap();
    let put = nfs_put(&local, &lab.url("/small/big.bin", 0, 0));
    assert!(!put.ok, "a 24 MiB file fit in a 20 MiB volume");
    // nfs-cp only says "Failed to write"; the status on the wire is NFS3ERR_NOSPC.
    let mut c = Nfs::mount(&lab, "127.0.0.1", "/small", Some((0, 0)))
        .await
        .expect("mount");
    let root = c.root.clone();
    let f = c.create(&root, "more.bin", 0o644).await.expect("create");
    let r = c.write_all(&f, 0, &payload(24 << 20, 3)).await;
    assert_eq!(r, Err(nfs3::nfsstat3::NFS3ERR_NOSPC));
    let used = lab.size_used("small").await;
    let total = lab
        .vol_num("small", &["volume-space-attributes", "size-total"])
        .await;
    assert!(used <= total, "size-used {used} exceeds size-total {total}");
    // What fits still fits.
    let ok = dir.path().join("ok.bin");
    std::fs::write(&ok, payload(1 << 20, 2)).unwrap();
    lab.ok("<volume-size><volume>small</volume><new-size>100m</new-size></volume-size>")
        .await;
    let put = nfs_put(&local, &lab.url("/small/again.bin", 0, 0));
    assert!(
        put.ok,
        "after growing the volume the write fits: {}",
        put.stderr
    );
}
