//! Nothing lost: the model survives restart exactly, bad state on disk is refused with a message
//! naming the file and the problem (and left untouched), and data directories are reconciled.

mod common;
use common::*;
use std::path::Path;
use std::process::Command;

const SETUP: &[&str] = &[
    "<volume-create><volume>vol1</volume><containing-aggr-name>aggr1</containing-aggr-name><size>1g</size><junction-path>/vol1</junction-path><volume-comment>lab</volume-comment><unix-permissions>0750</unix-permissions><snapshot-policy>none</snapshot-policy><space-reserve>none</space-reserve><percentage-snapshot-reserve>10</percentage-snapshot-reserve></volume-create>",
    "<snapshot-create><volume>vol1</volume><snapshot>snap1</snapshot><comment>first</comment></snapshot-create>",
    "<volume-clone-create><volume>clone1</volume><parent-volume>vol1</parent-volume><parent-snapshot>snap1</parent-snapshot></volume-clone-create>",
    "<export-policy-create><policy-name>pol1</policy-name></export-policy-create>",
    "<export-rule-create><policy-name>pol1</policy-name><client-match>10.0.0.0/8</client-match><ro-rule><security-flavor>sys</security-flavor></ro-rule><rw-rule><security-flavor>none</security-flavor></rw-rule></export-rule-create>",
    "<volume-modify-iter><query><volume-attributes><volume-id-attributes><name>vol1</name></volume-id-attributes></volume-attributes></query><attributes><volume-attributes><volume-export-attributes><policy>pol1</policy></volume-export-attributes></volume-attributes></attributes></volume-modify-iter>",
    "<qtree-create><volume>vol1</volume><qtree>q1</qtree><mode>0700</mode></qtree-create>",
    "<volume-create-async><volume-name>fg1</volume-name><size>1073741824</size><aggr-list><aggr-name>aggr1</aggr-name></aggr-list></volume-create-async>",
    "<volume-create><volume>gone</volume><containing-aggr-name>aggr1</containing-aggr-name><size>1g</size></volume-create>",
    "<volume-destroy><name>gone</name><unmount-and-offline>true</unmount-and-offline></volume-destroy>",
];

/// Everything a client can read back, as the raw answers.
const READS: &[(&str, bool)] = &[
    (
        "<volume-get-iter><max-records>1000</max-records></volume-get-iter>",
        true,
    ),
    (
        "<snapshot-get-iter><max-records>1000</max-records></snapshot-get-iter>",
        true,
    ),
    ("<export-rule-get-iter/>", true),
    ("<export-policy-get-iter/>", true),
    ("<qtree-list-iter/>", true),
    ("<volume-recovery-queue-get-iter/>", true),
    ("<job-get-iter/>", false),
    ("<aggr-get-iter/>", false),
];

async fn snapshot_of_everything(sim: &Sim) -> Vec<String> {
    let mut out = Vec::new();
    for (api, tunnel) in READS {
        let body = if *tunnel {
            zapi_vfiler("svm1", api)
        } else {
            zapi(api)
        };
        out.push(sim.call(&body).await);
    }
    out
}

fn restart(mut sim: Sim) -> Sim {
    assert!(sim.terminate().success());
    let dir = std::mem::replace(&mut sim.dir, tempfile::tempdir().unwrap());
    Sim::start_in(dir, None, &[])
}

#[tokio::test]
async fn restart_restores_the_exact_model() {
    let sim = Sim::start(None);
    for req in SETUP {
        assert_passed(&sim.call(&zapi_vfiler("svm1", req)).await);
    }
    let before = snapshot_of_everything(&sim).await;
    let sim = restart(sim);
    assert!(sim
        .banner
        .iter()
        .any(|l| l.contains("state") && l.contains("volumes")));
    let after = snapshot_of_everything(&sim).await;
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        assert_eq!(b, a, "answer to {} changed across a restart", READS[i].0);
    }
    // The restored model still enforces its invariants: the snapshot is busy with the clone.
    assert_failed(
        &sim.call(&zapi_vfiler(
            "svm1",
            "<snapshot-delete><volume>vol1</volume><snapshot>snap1</snapshot></snapshot-delete>",
        ))
        .await,
        13024,
        "clone1",
    );
    // And it goes on numbering where it stopped: a restart after more changes still agrees.
    assert_passed(&sim.call(&zapi_vfiler("svm1", "<volume-create><volume>vol2</volume><containing-aggr-name>aggr1</containing-aggr-name><size>1g</size></volume-create>")).await);
    let before = snapshot_of_everything(&sim).await;
    let sim = restart(sim);
    assert_eq!(before, snapshot_of_everything(&sim).await);
}

fn start_err(state: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_ontap-sim"))
        .args([
            "serve",
            "--admin-listen",
            "127.0.0.1:0",
            "--listen",
            "127.0.0.1:0",
            "--nfs-listen",
            "127.0.0.1:0",
            "--state-dir",
        ])
        .arg(state)
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "start should be refused: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A state dir with some history, stopped cleanly (so its changes sit in the snapshot) or not.
async fn made_state() -> (tempfile::TempDir, std::path::PathBuf) {
    let mut sim = Sim::start(None);
    for req in &SETUP[..4] {
        assert_passed(&sim.call(&zapi_vfiler("svm1", req)).await);
    }
    sim.child.kill().unwrap();
    sim.child.wait().unwrap();
    let dir = std::mem::replace(&mut sim.dir, tempfile::tempdir().unwrap());
    let state = dir.path().join("state");
    (dir, state)
}

#[tokio::test]
async fn bad_state_is_refused_and_left_untouched() {
    // A hand-edited journal line.
    let (_d, state) = made_state().await;
    let j = state.join("journal.log");
    let text = std::fs::read_to_string(&j).unwrap();
    let edited = text.replacen("\"size\":1073741824", "\"size\":2073741824", 1);
    assert_ne!(text, edited);
    std::fs::write(&j, &edited).unwrap();
    let err = start_err(&state);
    assert!(
        err.contains("journal.log line") && err.contains("checksum"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&j).unwrap(),
        edited,
        "the journal must not be rewritten"
    );

    // A truncated snapshot.
    let (_d, state) = made_state().await;
    let s = state.join("state.snap");
    let bytes = std::fs::read(&s).unwrap();
    std::fs::write(&s, &bytes[..bytes.len() / 2]).unwrap();
    let err = start_err(&state);
    assert!(
        err.contains("state.snap") && err.contains("truncated"),
        "{err}"
    );
    assert_eq!(std::fs::read(&s).unwrap(), &bytes[..bytes.len() / 2]);

    // A snapshot written by a newer format, with a valid checksum.
    let (_d, state) = made_state().await;
    let s = state.join("state.snap");
    let text = std::fs::read_to_string(&s).unwrap();
    let body = text.rsplitn(3, '\n').nth(2).unwrap().replacen(
        &format!("\"version\":{}", ontap_sim::store::FORMAT_VERSION),
        "\"version\":7",
        1,
    );
    let crc = format!("{:08x}", crc32(body.as_bytes()));
    std::fs::write(&s, format!("{body}\ncrc {crc} len {}\n", body.len())).unwrap();
    let err = start_err(&state);
    assert!(
        err.contains("state.snap") && err.contains("newer") && err.contains('7'),
        "{err}"
    );

    // A second simulator on a state dir in use.
    let sim = Sim::start(None);
    let err = start_err(&sim.dir.path().join("state"));
    assert!(err.contains("in use"), "{err}");
}

fn crc32(bytes: &[u8]) -> u32 {
    // The same CRC-32 the store writes (IEEE), computed here so the test depends on the format only.
    let mut crc = !0u32;
    for b in bytes {
        crc ^= *b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[tokio::test]
async fn a_torn_last_change_is_dropped_and_kept_aside() {
    let (dir, state) = made_state().await;
    let j = state.join("journal.log");
    let mut text = std::fs::read(&j).unwrap();
    text.extend_from_slice(b"0badc0de {\"seq\":99,\"counters\":");
    std::fs::write(&j, &text).unwrap();
    let sim = Sim::start_in(dir, None, &[]);
    let torn: Vec<_> = std::fs::read_dir(&state)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("torn"))
        .collect();
    assert_eq!(torn.len(), 1, "the unfinished line is kept in a side file");
    let r = assert_passed(
        &sim.call(&zapi_vfiler(
            "svm1",
            "<export-policy-get><policy-name>pol1</policy-name></export-policy-get>",
        ))
        .await,
    );
    assert!(r.child("attributes").is_some());
}

#[tokio::test]
async fn data_directories_are_reconciled() {
    let (dir, state) = made_state().await;
    let vols = state.join("volumes");
    let existing: Vec<_> = std::fs::read_dir(&vols)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(
        existing.len() >= 3,
        "svm1_root, vol1 and clone1 have data directories"
    );
    std::fs::remove_dir_all(&existing[0]).unwrap();
    std::fs::create_dir_all(vols.join("not-a-volume")).unwrap();
    std::fs::write(vols.join("not-a-volume/data.txt"), "keep me").unwrap();
    let _sim = Sim::start_in(dir, None, &[]);
    assert!(
        existing[0].is_dir(),
        "a volume without a directory gets one"
    );
    let orphans: Vec<_> = std::fs::read_dir(state.join("orphans"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(orphans.len(), 1);
    assert_eq!(
        std::fs::read_to_string(orphans[0].join("data.txt")).unwrap(),
        "keep me"
    );
}

#[tokio::test]
async fn ephemeral_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ontap-sim"))
        .args([
            "serve",
            "--admin-listen",
            "127.0.0.1:0",
            "--ephemeral",
            "--listen",
            "127.0.0.1:0",
            "--nfs-listen",
            "127.0.0.1:0",
        ])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    use std::io::BufRead;
    for line in std::io::BufReader::new(child.stdout.take().unwrap()).lines() {
        if line.unwrap() == "ready" {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

async fn volume_uuid(sim: &Sim, name: &str) -> String {
    let r = assert_passed(&sim.call(&zapi_vfiler("svm1", &format!("<volume-get-iter><query><volume-attributes><volume-id-attributes><name>{name}</name></volume-id-attributes></volume-attributes></query></volume-get-iter>"))).await);
    r.path(&[
        "attributes-list",
        "volume-attributes",
        "volume-id-attributes",
        "instance-uuid",
    ])
    .unwrap()
    .text
    .clone()
}

#[tokio::test]
async fn volume_data_follows_snapshots_restores_and_clones() {
    let sim = Sim::start(None);
    let state = sim.dir.path().join("state");
    assert_passed(&sim.call(&zapi_vfiler("svm1", SETUP[0])).await);
    let vol = volume_uuid(&sim, "vol1").await;
    let data = state.join("volumes").join(&vol).join("data");
    assert!(data.is_dir(), "a new volume has a data directory");
    std::fs::write(data.join("f.txt"), "v1").unwrap();
    assert_passed(
        &sim.call(&zapi_vfiler(
            "svm1",
            "<snapshot-create><volume>vol1</volume><snapshot>s1</snapshot></snapshot-create>",
        ))
        .await,
    );
    std::fs::write(data.join("f.txt"), "v2").unwrap();
    std::fs::write(data.join("new.txt"), "x").unwrap();
    // A clone starts with the parent snapshot's data, not the live data.
    assert_passed(&sim.call(&zapi_vfiler("svm1", "<volume-clone-create><volume>c1</volume><parent-volume>vol1</parent-volume><parent-snapshot>s1</parent-snapshot></volume-clone-create>")).await);
    let clone = state
        .join("volumes")
        .join(volume_uuid(&sim, "c1").await)
        .join("data");
    assert_eq!(std::fs::read_to_string(clone.join("f.txt")).unwrap(), "v1");
    assert!(!clone.join("new.txt").exists());
    assert_passed(
        &sim.call(&zapi_vfiler(
            "svm1",
            "<volume-clone-split-start><volume>c1</volume></volume-clone-split-start>",
        ))
        .await,
    );
    // Restore brings the snapshot's data back.
    assert_passed(&sim.call(&zapi_vfiler("svm1", "<snapshot-restore-volume><volume>vol1</volume><snapshot>s1</snapshot></snapshot-restore-volume>")).await);
    assert_eq!(std::fs::read_to_string(data.join("f.txt")).unwrap(), "v1");
    assert!(!data.join("new.txt").exists());
    // Deleting the snapshot removes its copy; purging a destroyed volume removes its data.
    assert_passed(
        &sim.call(&zapi_vfiler(
            "svm1",
            "<snapshot-delete><volume>vol1</volume><snapshot>s1</snapshot></snapshot-delete>",
        ))
        .await,
    );
    assert_eq!(
        std::fs::read_dir(state.join("volumes").join(&vol).join("snapshots"))
            .unwrap()
            .count(),
        0
    );
    assert_passed(&sim.call(&zapi_vfiler("svm1", "<volume-destroy><name>vol1</name><unmount-and-offline>true</unmount-and-offline></volume-destroy>")).await);
    assert!(
        data.is_dir(),
        "a destroyed volume keeps its data while it waits in the recovery queue"
    );
    let r = assert_passed(
        &sim.call(&zapi_vfiler("svm1", "<volume-recovery-queue-get-iter/>"))
            .await,
    );
    let entry = r
        .path(&[
            "attributes-list",
            "volume-recovery-queue-info",
            "volume-name",
        ])
        .unwrap()
        .text
        .clone();
    assert_passed(&sim.call(&zapi_vfiler("svm1", &format!("<volume-recovery-queue-purge><volume-name>{entry}</volume-name></volume-recovery-queue-purge>"))).await);
    assert!(!state.join("volumes").join(&vol).exists());
}

/// The qtrees a snapshot holds are saved with it: after a restart, restoring the snapshot brings
/// back a qtree deleted since, and the restored qtree survives the next restart.
#[tokio::test]
async fn snapshot_qtrees_survive_restarts() {
    let sim = Sim::start(None);
    for req in [
        SETUP[0],
        "<qtree-create><volume>vol1</volume><qtree>q1</qtree><mode>0700</mode></qtree-create>",
        "<snapshot-create><volume>vol1</volume><snapshot>s1</snapshot></snapshot-create>",
        "<qtree-delete><qtree>/vol/vol1/q1</qtree></qtree-delete>",
    ] {
        assert_passed(&sim.call(&zapi_vfiler("svm1", req)).await);
    }
    let list = "<qtree-list-iter><query><qtree-info><volume>vol1</volume></qtree-info></query></qtree-list-iter>";
    let has_q1 = |body: &str| body.contains("<qtree>q1</qtree>");
    let sim = restart(sim);
    assert!(!has_q1(&sim.call(&zapi_vfiler("svm1", list)).await));
    assert_passed(&sim.call(&zapi_vfiler("svm1", "<snapshot-restore-volume><volume>vol1</volume><snapshot>s1</snapshot></snapshot-restore-volume>")).await);
    let restored = sim.call(&zapi_vfiler("svm1", list)).await;
    assert!(has_q1(&restored), "{restored}");
    assert!(restored.contains("<mode>0700</mode>"), "{restored}");
    let sim = restart(sim);
    assert_eq!(sim.call(&zapi_vfiler("svm1", list)).await, restored);
}
