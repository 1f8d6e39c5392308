//! The crash test: clients storm the simulator with creates, clones, snapshots, renames, rule
//! changes and deletes while it is killed with SIGKILL at random moments and restarted. After each
//! restart every acknowledged change must be there, the one change in flight per client must be
//! wholly applied or wholly absent, and every model invariant must hold (the simulator refuses to
//! start on a state that breaks one, so a successful restart proves it too).

mod common;
use common::*;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CLIENTS: usize = 4;
const KILLS: usize = 8;

/// A small deterministic generator (xorshift); the seed is printed so a failure can be replayed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Vol {
    clone_of: Option<(String, String)>,
    snapshots: BTreeSet<String>,
}

/// What one client believes its corner of the cluster holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct World {
    volumes: BTreeMap<String, Vol>,
    rules: BTreeSet<String>,
}

#[derive(Clone, Debug)]
enum Op {
    Create(String),
    Snapshot(String, String),
    Clone(String, String, String),
    Rename(String, String),
    Split(String),
    Destroy(String),
    AddRule(String),
    RemoveRule(String),
}

impl Op {
    fn apply(&self, w: &mut World) {
        match self {
            Op::Create(v) => {
                w.volumes.insert(v.clone(), Vol::default());
            }
            Op::Snapshot(v, s) => {
                if let Some(vol) = w.volumes.get_mut(v) {
                    vol.snapshots.insert(s.clone());
                }
            }
            Op::Clone(parent, snap, clone) => {
                w.volumes.insert(
                    clone.clone(),
                    Vol {
                        clone_of: Some((parent.clone(), snap.clone())),
                        snapshots: BTreeSet::new(),
                    },
                );
            }
            Op::Rename(from, to) => {
                if let Some(v) = w.volumes.remove(from) {
                    w.volumes.insert(to.clone(), v);
                }
                for v in w.volumes.values_mut() {
                    if let Some((p, _)) = &mut v.clone_of {
                        if p == from {
                            *p = to.clone();
                        }
                    }
                }
            }
            Op::Split(v) => {
                if let Some(vol) = w.volumes.get_mut(v) {
                    vol.clone_of = None;
                }
            }
            Op::Destroy(v) => {
                w.volumes.remove(v);
            }
            Op::AddRule(r) => {
                w.rules.insert(r.clone());
            }
            Op::RemoveRule(r) => {
                w.rules.remove(r);
            }
        }
    }

    fn request(&self, policy: &str, rule_index: Option<u32>) -> String {
        let body = match self {
            Op::Create(v) => format!("<volume-create><volume>{v}</volume><containing-aggr-name>aggr1</containing-aggr-name><size>{}</size><space-reserve>none</space-reserve><junction-path>/{v}</junction-path></volume-create>", 20 << 20),
            Op::Snapshot(v, s) => format!("<snapshot-create><volume>{v}</volume><snapshot>{s}</snapshot></snapshot-create>"),
            Op::Clone(p, s, c) => format!("<volume-clone-create><volume>{c}</volume><parent-volume>{p}</parent-volume><parent-snapshot>{s}</parent-snapshot></volume-clone-create>"),
            Op::Rename(f, t) => format!("<volume-rename><volume>{f}</volume><new-volume-name>{t}</new-volume-name></volume-rename>"),
            Op::Split(v) => format!("<volume-clone-split-start><volume>{v}</volume></volume-clone-split-start>"),
            Op::Destroy(v) => format!("<volume-destroy><name>{v}</name><unmount-and-offline>true</unmount-and-offline></volume-destroy>"),
            Op::AddRule(r) => format!("<export-rule-create><policy-name>{policy}</policy-name><client-match>{r}</client-match><ro-rule><security-flavor>sys</security-flavor></ro-rule><rw-rule><security-flavor>sys</security-flavor></rw-rule><return-record>true</return-record></export-rule-create>"),
            Op::RemoveRule(_) => format!("<export-rule-destroy><policy-name>{policy}</policy-name><rule-index>{}</rule-index></export-rule-destroy>", rule_index.unwrap_or(0)),
        };
        zapi_vfiler("svm1", &body)
    }
}

/// Choose an operation that the client's world allows (so refusals are rare and meaningful).
fn choose(rng: &mut Rng, w: &World, id: usize, counter: &mut u64) -> Op {
    *counter += 1;
    let n = *counter;
    let names: Vec<&String> = w.volumes.keys().collect();
    let has_clones = |v: &str| {
        w.volumes
            .values()
            .any(|x| x.clone_of.as_ref().is_some_and(|(p, _)| p == v))
    };
    loop {
        match rng.below(10) {
            0..=2 => return Op::Create(format!("c{id}_v{n}")),
            3 if !names.is_empty() => {
                let v = names[rng.below(names.len() as u64) as usize].clone();
                return Op::Snapshot(v, format!("s{n}"));
            }
            4 => {
                let with_snaps: Vec<(&String, &Vol)> = w
                    .volumes
                    .iter()
                    .filter(|(_, v)| !v.snapshots.is_empty())
                    .collect();
                if let Some((p, v)) = with_snaps.get(rng.below(with_snaps.len() as u64) as usize) {
                    let s = v.snapshots.iter().next().unwrap().clone();
                    return Op::Clone((*p).clone(), s, format!("c{id}_k{n}"));
                }
            }
            5 if !names.is_empty() => {
                let v = names[rng.below(names.len() as u64) as usize].clone();
                return Op::Rename(v, format!("c{id}_r{n}"));
            }
            6 => {
                let clones: Vec<&String> = w
                    .volumes
                    .iter()
                    .filter(|(_, v)| v.clone_of.is_some())
                    .map(|(k, _)| k)
                    .collect();
                if let Some(c) = clones.get(rng.below(clones.len() as u64) as usize) {
                    return Op::Split((*c).clone());
                }
            }
            7 => {
                let leaves: Vec<&&String> = names.iter().filter(|v| !has_clones(v)).collect();
                if let Some(v) = leaves.get(rng.below(leaves.len() as u64) as usize) {
                    return Op::Destroy((**v).clone());
                }
            }
            8 => return Op::AddRule(format!("10.{id}.{}.{}", (n / 250) % 250, n % 250 + 1)),
            9 if !w.rules.is_empty() => {
                let r = w
                    .rules
                    .iter()
                    .nth(rng.below(w.rules.len() as u64) as usize)
                    .unwrap()
                    .clone();
                return Op::RemoveRule(r);
            }
            _ => {}
        }
    }
}

fn start(state: &Path) -> (Child, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ontap-sim"))
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
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    use std::io::BufRead;
    let mut addr = None;
    let out = child.stdout.take().unwrap();
    let mut lines = std::io::BufReader::new(out).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(z) = line.trim().strip_prefix("ZAPI") {
            addr = Some(
                z.trim()
                    .trim_start_matches("https://")
                    .trim_end_matches(ZAPI_PATH)
                    .parse()
                    .unwrap(),
            );
        }
        if line == "ready" {
            break;
        }
    }
    let Some(addr) = addr else {
        let mut err = String::new();
        use std::io::Read;
        child.stderr.take().unwrap().read_to_string(&mut err).ok();
        panic!("restart failed: {err}");
    };
    std::thread::spawn(move || for _ in lines {});
    (child, addr)
}

async fn read_world(c: &mut Client, id: usize, policy: &str) -> (World, BTreeMap<String, u32>) {
    let auth = Some(("admin", PASSWORD));
    let mut w = World::default();
    let body = zapi_vfiler("svm1", &format!("<volume-get-iter><max-records>10000</max-records><query><volume-attributes><volume-id-attributes><name>c{id}_*</name></volume-id-attributes></volume-attributes></query></volume-get-iter>"));
    let r = assert_passed(&c.post(&body, auth).await.body);
    for v in r
        .child("attributes-list")
        .map(|l| l.children.clone())
        .unwrap_or_default()
    {
        let name = v
            .path(&["volume-id-attributes", "name"])
            .unwrap()
            .text
            .clone();
        let clone_of = v
            .path(&["volume-clone-attributes", "volume-clone-parent-attributes"])
            .map(|p| {
                (
                    p.child_text("name").unwrap().to_string(),
                    p.child_text("snapshot-name").unwrap().to_string(),
                )
            });
        w.volumes.insert(
            name,
            Vol {
                clone_of,
                snapshots: BTreeSet::new(),
            },
        );
    }
    let body = zapi_vfiler("svm1", &format!("<snapshot-get-iter><max-records>100000</max-records><query><snapshot-info><volume>c{id}_*</volume></snapshot-info></query></snapshot-get-iter>"));
    let r = assert_passed(&c.post(&body, auth).await.body);
    for s in r
        .child("attributes-list")
        .map(|l| l.children.clone())
        .unwrap_or_default()
    {
        let vol = s.child_text("volume").unwrap();
        if let Some(v) = w.volumes.get_mut(vol) {
            v.snapshots
                .insert(s.child_text("name").unwrap().to_string());
        }
    }
    let body = zapi_vfiler("svm1", &format!("<export-rule-get-iter><max-records>10000</max-records><query><export-rule-info><policy-name>{policy}</policy-name></export-rule-info></query></export-rule-get-iter>"));
    let r = assert_passed(&c.post(&body, auth).await.body);
    let mut indexes = BTreeMap::new();
    for rule in r
        .child("attributes-list")
        .map(|l| l.children.clone())
        .unwrap_or_default()
    {
        let m = rule.child_text("client-match").unwrap().to_string();
        indexes.insert(
            m.clone(),
            rule.child_text("rule-index").unwrap().parse().unwrap(),
        );
        w.rules.insert(m);
    }
    (w, indexes)
}

struct ClientRun {
    world: World,
    pending: Option<Op>,
    acked: u64,
}

/// Where each rule client-match sits in the client's policy.
type Indexes = BTreeMap<String, u32>;

#[allow(clippy::too_many_arguments)]
async fn storm(
    addr: SocketAddr,
    ca: PathBuf,
    id: usize,
    mut world: World,
    mut indexes: Indexes,
    seed: u64,
    deadline: Instant,
    counter: &mut u64,
) -> ClientRun {
    let policy = format!("p{id}");
    let mut rng = Rng(seed | 1);
    let mut acked = 0;
    let Ok(mut c) = Client::connect(addr, &ca, None, None).await else {
        return ClientRun {
            world,
            pending: None,
            acked,
        };
    };
    while Instant::now() < deadline + Duration::from_secs(5) {
        let op = choose(&mut rng, &world, id, counter);
        let index = match &op {
            Op::RemoveRule(r) => indexes.get(r).copied(),
            _ => None,
        };
        let body = op.request(&policy, index);
        match c
            .request(
                "POST",
                ZAPI_PATH,
                body.into_bytes(),
                Some(("admin", PASSWORD)),
            )
            .await
        {
            Ok(r) if r.status == 200 => {
                let (status, errno, reason) = results(&r.body);
                if status == "passed" {
                    op.apply(&mut world);
                    acked += 1;
                    if let Op::AddRule(m) = &op {
                        // Learn the index the rule got, for a later removal.
                        let rec = results_el(&r.body);
                        let idx = rec
                            .path(&["result", "export-rule-info", "rule-index"])
                            .and_then(|i| i.text.parse().ok())
                            .expect("return-record gives the rule index");
                        indexes.insert(m.clone(), idx);
                    }
                } else {
                    panic!("client {id}: {op:?} refused with {errno:?} {reason:?}: the world model and the simulator disagree");
                }
            }
            Ok(r) => panic!("client {id}: HTTP {}", r.status),
            // The simulator died under us: this op may or may not have been applied.
            Err(_) => {
                return ClientRun {
                    world,
                    pending: Some(op),
                    acked,
                }
            }
        }
    }
    ClientRun {
        world,
        pending: None,
        acked,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_changes_survive_sigkill() {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    println!("crash test seed {seed}");
    let mut rng = Rng(seed | 1);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let ca = state.join("certs/ca.pem");
    let (mut child, mut addr) = start(&state);
    {
        let mut c = Client::connect(addr, &ca, None, None).await.unwrap();
        for id in 0..CLIENTS {
            let b = zapi_vfiler(
                "svm1",
                &format!(
                    "<export-policy-create><policy-name>p{id}</policy-name></export-policy-create>"
                ),
            );
            assert_passed(&c.post(&b, Some(("admin", PASSWORD))).await.body);
        }
    }
    let mut worlds: Vec<World> = vec![World::default(); CLIENTS];
    let mut all_indexes: Vec<Indexes> = vec![Indexes::new(); CLIENTS];
    let mut counters = [0u64; CLIENTS];
    let (mut kills, mut acked_total, mut checks) = (0, 0u64, 0u64);
    for _round in 0..KILLS {
        let run_for = Duration::from_millis(150 + rng.below(400));
        let deadline = Instant::now() + run_for;
        let mut tasks = Vec::new();
        for id in 0..CLIENTS {
            let (w, s, ca, mut counter) =
                (worlds[id].clone(), rng.next(), ca.clone(), counters[id]);
            let idx = all_indexes[id].clone();
            tasks.push(tokio::spawn(async move {
                let r = storm(addr, ca, id, w, idx, s, deadline, &mut counter).await;
                (r, counter)
            }));
        }
        tokio::time::sleep(run_for).await;
        child.kill().unwrap();
        child.wait().unwrap();
        kills += 1;
        let mut runs = Vec::new();
        for t in tasks {
            runs.push(t.await.unwrap());
        }
        let (c2, a2) = start(&state);
        child = c2;
        addr = a2;
        let mut c = Client::connect(addr, &ca, None, None).await.unwrap();
        for (id, (run, counter)) in runs.into_iter().enumerate() {
            counters[id] = counter;
            acked_total += run.acked;
            let (actual, idx) = read_world(&mut c, id, &format!("p{id}")).await;
            all_indexes[id] = idx;
            let mut with_pending = run.world.clone();
            if let Some(op) = &run.pending {
                op.apply(&mut with_pending);
            }
            assert!(
                actual == run.world || actual == with_pending,
                "client {id} after kill {kills}: state differs from every acknowledged history\nexpected {:#?}\nor (with {:?}) {:#?}\nactual {:#?}",
                run.world, run.pending, with_pending, actual
            );
            checks += 1;
            worlds[id] = actual;
        }
    }
    child.kill().ok();
    child.wait().ok();
    println!("crash test: {kills} SIGKILLs, {acked_total} acknowledged changes, {checks} state checks, all consistent");
    assert!(
        acked_total > 20,
        "the storm made too few changes to mean anything"
    );
}
