//! The units of saved state: one record per volume, export policy, qtree, job and recovery-queue
//! entry. Aggregate space is not saved: it is derived from the volumes on load.

use super::Loaded;
use crate::model::table::Table;
use crate::model::{Cluster, ExportPolicy, Job, Qtree, RecoveryEntry, Volume};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Record {
    Volume(Box<Volume>),
    ExportPolicy(ExportPolicy),
    Qtree(Qtree),
    Job(Job),
    Recovery(RecoveryEntry),
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", content = "key", rename_all = "snake_case")]
pub enum RecordKey {
    Volume(String, String),
    ExportPolicy(String, String),
    Qtree(String, String, String),
    Job(u64),
    Recovery(String, String),
}

impl Record {
    pub fn key(&self) -> RecordKey {
        match self {
            Record::Volume(v) => RecordKey::Volume(v.svm.clone(), v.name.clone()),
            Record::ExportPolicy(p) => RecordKey::ExportPolicy(p.svm.clone(), p.name.clone()),
            Record::Qtree(q) => RecordKey::Qtree(q.svm.clone(), q.volume.clone(), q.name.clone()),
            Record::Job(j) => RecordKey::Job(j.id),
            Record::Recovery(e) => RecordKey::Recovery(e.svm.clone(), e.name.clone()),
        }
    }
}

fn table_changes<K: Ord + Clone, V: Clone>(
    t: &Table<K, V>,
    put: &mut Vec<Record>,
    del: &mut Vec<RecordKey>,
    record: fn(V) -> Record,
    key: fn(&K) -> RecordKey,
) {
    for (k, v) in t.changed() {
        match v {
            Some(v) => put.push(record(v.clone())),
            None => del.push(key(k)),
        }
    }
}

/// What the operation in progress changed: records to write and keys to remove.
pub fn changes(c: &Cluster) -> (Vec<Record>, Vec<RecordKey>) {
    let (mut put, mut del) = (Vec::new(), Vec::new());
    table_changes(
        &c.volumes,
        &mut put,
        &mut del,
        |v| Record::Volume(Box::new(v)),
        |k| RecordKey::Volume(k.0.clone(), k.1.clone()),
    );
    table_changes(
        &c.export_policies,
        &mut put,
        &mut del,
        Record::ExportPolicy,
        |k| RecordKey::ExportPolicy(k.0.clone(), k.1.clone()),
    );
    table_changes(&c.qtrees, &mut put, &mut del, Record::Qtree, |k| {
        RecordKey::Qtree(k.0.clone(), k.1.clone(), k.2.clone())
    });
    table_changes(&c.jobs, &mut put, &mut del, Record::Job, |k| {
        RecordKey::Job(*k)
    });
    table_changes(
        &c.recovery_queue,
        &mut put,
        &mut del,
        Record::Recovery,
        |k| RecordKey::Recovery(k.0.clone(), k.1.clone()),
    );
    (put, del)
}

/// Every saved record of the cluster, for a snapshot.
/// A record borrowed from the model: serialises exactly as [`Record`] does, without a copy.
#[derive(Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
enum RecordRef<'a> {
    Volume(&'a Volume),
    ExportPolicy(&'a ExportPolicy),
    Qtree(&'a Qtree),
    Job(&'a Job),
    Recovery(&'a RecoveryEntry),
}

/// Every record of a cluster as one JSON list, written straight from the model (a snapshot of
/// 100k volumes would otherwise copy the whole model first).
pub struct AllRecords<'a>(pub &'a Cluster);

impl Serialize for AllRecords<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.0;
        s.collect_seq(
            c.volumes
                .values()
                .map(RecordRef::Volume)
                .chain(c.export_policies.values().map(RecordRef::ExportPolicy))
                .chain(c.qtrees.values().map(RecordRef::Qtree))
                .chain(c.jobs.values().map(RecordRef::Job))
                .chain(c.recovery_queue.values().map(RecordRef::Recovery)),
        )
    }
}

pub fn all(c: &Cluster) -> Vec<Record> {
    c.volumes
        .values()
        .map(|v| Record::Volume(Box::new(v.clone())))
        .chain(
            c.export_policies
                .values()
                .cloned()
                .map(Record::ExportPolicy),
        )
        .chain(c.qtrees.values().cloned().map(Record::Qtree))
        .chain(c.jobs.values().cloned().map(Record::Job))
        .chain(c.recovery_queue.values().cloned().map(Record::Recovery))
        .collect()
}

/// Put saved state into a cluster freshly built from its topology. Objects the topology makes
/// that the state lacks (an SVM added to the config since) keep their new identities. Returns how
/// many such objects there were, so the caller can save them.
pub fn load_into(c: &mut Cluster, loaded: Loaded) -> Result<usize, String> {
    let saved: std::collections::BTreeSet<RecordKey> =
        loaded.records.iter().map(Record::key).collect();
    c.counters = loaded.counters;
    for r in loaded.records {
        match r {
            Record::Volume(v) => {
                if !c.svms.contains_key(&v.svm) {
                    return Err(format!(
                        "volume \"{}\" belongs to Vserver \"{}\", which the topology no longer has",
                        v.name, v.svm
                    ));
                }
                c.volumes.load((v.svm.clone(), v.name.clone()), *v)
            }
            Record::ExportPolicy(p) => c.export_policies.load((p.svm.clone(), p.name.clone()), p),
            Record::Qtree(q) => c
                .qtrees
                .load((q.svm.clone(), q.volume.clone(), q.name.clone()), q),
            Record::Job(j) => c.jobs.load(j.id, j),
            Record::Recovery(e) => c.recovery_queue.load((e.svm.clone(), e.name.clone()), e),
        }
    }
    // Objects the topology seeded that the state does not know get fresh numbers after the saved ones.
    let mut added = 0;
    let new_volumes: Vec<(String, String)> = c
        .volumes
        .keys()
        .filter(|k| !saved.contains(&RecordKey::Volume(k.0.clone(), k.1.clone())))
        .cloned()
        .collect();
    for k in new_volumes {
        c.counters.next_dsid += 1;
        let dsid = c.counters.next_dsid;
        c.volumes
            .update_where(|v| v.svm == k.0 && v.name == k.1, |v| v.dsid = dsid);
        added += 1;
    }
    let new_policies: Vec<(String, String)> = c
        .export_policies
        .keys()
        .filter(|k| !saved.contains(&RecordKey::ExportPolicy(k.0.clone(), k.1.clone())))
        .cloned()
        .collect();
    for k in new_policies {
        c.counters.next_policy_id += 1;
        let id = c.counters.next_policy_id;
        c.export_policies
            .update_where(|p| p.svm == k.0 && p.name == k.1, |p| p.id = id);
        added += 1;
    }
    c.commit();
    c.reindex_junctions();
    c.recompute_space();
    c.check_invariants()?;
    Ok(added)
}
