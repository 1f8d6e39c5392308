//! The model's lookup indexes (volume UUID, export policy id, job UUID, SVM UUID) agree with the tables
//! after random operation sequences, including refused operations that are rolled back, and after
//! a restart (the state saved and loaded again). Debug builds also check this after every
//! operation; here the test asserts it itself, lookups included.

use ontap_sim::config::Topology;
use ontap_sim::model::{Cluster, Listeners, ModelError, SvmSpec, VolumeSpec};
use ontap_sim::sim::Sim;

fn listeners() -> Listeners {
    Listeners {
        management: "127.0.0.1:8443".parse().unwrap(),
        nfs: "127.0.0.1:2049".parse().unwrap(),
    }
}

/// A small deterministic generator (xorshift), so a failure replays.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn agree(c: &Cluster) {
    c.check_invariants().unwrap();
    assert_eq!(c.volume_uuids.len(), c.volumes.len());
    for v in c.volumes.values() {
        let found = c.volume_by_uuid(&v.uuid).expect("every volume by its UUID");
        assert_eq!((&found.svm, &found.name), (&v.svm, &v.name));
    }
    assert_eq!(c.policy_ids.len(), c.export_policies.len());
    for p in c.export_policies.values() {
        let found = c.policy_by_id(p.id).expect("every policy by its id");
        assert_eq!((&found.svm, &found.name), (&p.svm, &p.name));
    }
    assert_eq!(c.job_uuids.len(), c.jobs.len());
    for j in c.jobs.values() {
        assert_eq!(c.job_by_uuid(&j.uuid.to_string()).unwrap().id, j.id);
    }
    assert_eq!(c.svm_uuids.len(), c.svms.len());
    for s in c.svms.values() {
        assert_eq!(c.svm_by_uuid(&s.uuid.to_string()).unwrap().name, s.name);
    }
    assert!(c.volume_by_uuid(&uuid::Uuid::nil()).is_none());
    assert!(c.svm_by_uuid("not-a-uuid").is_none());
}

#[test]
fn indexes_follow_random_operations_rollbacks_and_a_restart() {
    let topology = Topology::builtin_default();
    let cluster = Cluster::from_topology(&topology, &listeners());
    let sim = Sim::ephemeral(cluster, (topology.clone(), listeners())).unwrap();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut passed, mut refused) = (0, 0);
    for step in 0..600 {
        let a = format!("v{}", rng.below(12));
        let b = format!("v{}", rng.below(12));
        let p = format!("p{}", rng.below(6));
        let q = format!("p{}", rng.below(6));
        let (s, t) = (format!("s{}", rng.below(4)), format!("s{}", rng.below(4)));
        let op = rng.below(12);
        let out = sim.mutate(|c| -> Result<(), ModelError> {
            match op {
                0 | 1 => c
                    .create_volume(
                        "svm1",
                        VolumeSpec {
                            name: a.clone(),
                            aggregate: "aggr1".into(),
                            size: 100 << 20,
                            ..Default::default()
                        },
                    )
                    .map(|_| ()),
                2 => c.rename_volume("svm1", &a, &b),
                3 => c.destroy_volume("svm1", &a, true),
                4 => c.create_snapshot("svm1", &a, "s", "", ""),
                5 => c.clone_volume("svm1", &a, None, &b, None, None),
                6 => c.create_export_policy("svm1", &p),
                7 => c.rename_export_policy("svm1", &p, &q),
                8 => c.create_svm(SvmSpec {
                    name: s.clone(),
                    aggregates: vec!["aggr1".into()],
                    ..Default::default()
                }),
                9 => c.rename_svm(&s, &t),
                10 => c.delete_svm(&s),
                _ => {
                    c.record_job(
                        "test",
                        format!("step {step}"),
                        Some("svm1"),
                        Ok("success".into()),
                    );
                    // Half of these then fail: the job recorded in the same operation is undone.
                    if rng_odd(step) {
                        return Err(ModelError::InvalidInput("refused on purpose".into()));
                    }
                    Ok(())
                }
            }
        });
        match out {
            Ok(()) => passed += 1,
            Err(_) => refused += 1,
        }
        agree(&sim.read());
    }
    assert!(
        passed > 100 && refused > 100,
        "passed {passed}, refused {refused}"
    );
    // A restart: the state as saved, loaded over the seed topology.
    let doc = sim.state();
    let mut fresh = Cluster::from_topology(&topology, &listeners());
    ontap_sim::store::records::load_into(&mut fresh, doc.into_loaded()).unwrap();
    agree(&fresh);
    let before = sim.read();
    assert_eq!(
        fresh.volume_uuids.iter().collect::<Vec<_>>(),
        before.volume_uuids.iter().collect::<Vec<_>>()
    );
}

fn rng_odd(step: u64) -> bool {
    step % 2 == 1
}
