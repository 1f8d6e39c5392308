//! The units of saved state: one record per volume, export policy, qtree, job and recovery-queue
//! entry. Aggregate space is not saved: it is derived from the volumes on load.

use super::Loaded;
use crate::model::identity::Identity;
use crate::model::license::License;
use crate::model::quota::QuotaType;
use crate::model::table::Table;
use crate::model::{
    Cluster, ExportPolicy, Job, Qtree, QuotaRule, RecoveryEntry, Role, Scope, Svm, User, Volume,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Boxed, so that a record is two words: loading 100k of them moves pointers, not objects.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Record {
    Volume(Box<Volume>),
    ExportPolicy(Box<ExportPolicy>),
    Qtree(Box<Qtree>),
    Job(Box<Job>),
    Recovery(Box<RecoveryEntry>),
    QuotaRule(Box<QuotaRule>),
    /// An SVM with its LIFs, NFS service and DNS configuration.
    Svm(Box<Svm>),
    /// The cluster's name, location and contact as changed at runtime.
    Identity(Box<Identity>),
    License(Box<License>),
    User(Box<User>),
    Role(Box<Role>),
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", content = "key", rename_all = "snake_case")]
pub enum RecordKey {
    Volume(String, String),
    ExportPolicy(String, String),
    Qtree(String, String, String),
    Job(u64),
    Recovery(String, String),
    /// A rule of the `default` quota policy, as journals written before quota policies name it
    /// (read only: [`RecordKey::normalized`] turns it into a [`RecordKey::QuotaPolicyRule`]).
    QuotaRule(String, String, QuotaType, String, String),
    Svm(String),
    Identity,
    License(String),
    User(Scope, String),
    Role(Scope, String),
    /// A quota rule: (SVM, policy, volume, type, target, qtree).
    QuotaPolicyRule(String, String, String, QuotaType, String, String),
}

/// A record's key borrowed from it, to order and compare records without copying their names.
/// Orders exactly as [`RecordKey`] does (same variants in the same order, `str` as `String`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum KeyRef<'a> {
    Volume(&'a str, &'a str),
    ExportPolicy(&'a str, &'a str),
    Qtree(&'a str, &'a str, &'a str),
    Job(u64),
    Recovery(&'a str, &'a str),
    Svm(&'a str),
    Identity,
    License(&'a str),
    User(&'a Scope, &'a str),
    Role(&'a Scope, &'a str),
    QuotaPolicyRule(&'a str, &'a str, &'a str, QuotaType, &'a str, &'a str),
}

impl RecordKey {
    /// The key in today's form: a quota rule key of an old journal names the `default` policy.
    pub fn normalized(self) -> RecordKey {
        match self {
            RecordKey::QuotaRule(s, v, t, target, q) => RecordKey::QuotaPolicyRule(
                s,
                crate::model::quota::DEFAULT_POLICY.to_string(),
                v,
                t,
                target,
                q,
            ),
            k => k,
        }
    }

    pub fn key_ref(&self) -> KeyRef<'_> {
        match self {
            RecordKey::Volume(a, b) => KeyRef::Volume(a, b),
            RecordKey::ExportPolicy(a, b) => KeyRef::ExportPolicy(a, b),
            RecordKey::Qtree(a, b, c) => KeyRef::Qtree(a, b, c),
            RecordKey::Job(id) => KeyRef::Job(*id),
            RecordKey::Recovery(a, b) => KeyRef::Recovery(a, b),
            RecordKey::QuotaRule(a, b, t, c, d) => {
                KeyRef::QuotaPolicyRule(a, crate::model::quota::DEFAULT_POLICY, b, *t, c, d)
            }
            RecordKey::Svm(a) => KeyRef::Svm(a),
            RecordKey::Identity => KeyRef::Identity,
            RecordKey::License(p) => KeyRef::License(p),
            RecordKey::User(s, n) => KeyRef::User(s, n),
            RecordKey::Role(s, n) => KeyRef::Role(s, n),
            RecordKey::QuotaPolicyRule(a, p, b, t, c, d) => {
                KeyRef::QuotaPolicyRule(a, p, b, *t, c, d)
            }
        }
    }
}

impl Record {
    pub fn key_ref(&self) -> KeyRef<'_> {
        match self {
            Record::Volume(v) => KeyRef::Volume(&v.svm, &v.name),
            Record::ExportPolicy(p) => KeyRef::ExportPolicy(&p.svm, &p.name),
            Record::Qtree(q) => KeyRef::Qtree(&q.svm, &q.volume, &q.name),
            Record::Job(j) => KeyRef::Job(j.id),
            Record::Recovery(e) => KeyRef::Recovery(&e.svm, &e.name),
            Record::QuotaRule(r) => KeyRef::QuotaPolicyRule(
                &r.svm,
                &r.policy,
                &r.volume,
                r.quota_type,
                &r.target,
                &r.qtree,
            ),
            Record::Svm(s) => KeyRef::Svm(&s.name),
            Record::Identity(_) => KeyRef::Identity,
            Record::License(l) => KeyRef::License(&l.package),
            Record::User(u) => KeyRef::User(&u.scope, &u.name),
            Record::Role(r) => KeyRef::Role(&r.scope, &r.name),
        }
    }

    /// The record in words, for messages (`volume "vol1" in Vserver "svm1"`).
    pub fn describe(&self) -> String {
        use crate::model::text::Described;
        match self {
            Record::Volume(v) => v.described(),
            Record::ExportPolicy(p) => p.described(),
            Record::Qtree(q) => q.described(),
            Record::Job(j) => j.described(),
            Record::Recovery(e) => e.described(),
            Record::QuotaRule(r) => r.described(),
            Record::Svm(s) => s.described(),
            Record::Identity(i) => i.described(),
            Record::License(l) => l.described(),
            Record::User(u) => u.described(),
            Record::Role(r) => r.described(),
        }
    }

    /// Refuse a saved record holding text XML cannot carry (see [`crate::model::text`]),
    /// naming the record and the field.
    pub fn check_text(&self) -> Result<(), String> {
        match crate::model::text::first_forbidden(self) {
            None => Ok(()),
            Some((field, c)) => {
                // The path starts at the record's envelope (`value.`).
                let field = field.strip_prefix("value.").unwrap_or(&field);
                Err(crate::model::text::record_error(&self.describe(), field, c).to_string())
            }
        }
    }

    pub fn key(&self) -> RecordKey {
        match self {
            Record::Volume(v) => RecordKey::Volume(v.svm.clone(), v.name.clone()),
            Record::ExportPolicy(p) => RecordKey::ExportPolicy(p.svm.clone(), p.name.clone()),
            Record::Qtree(q) => RecordKey::Qtree(q.svm.clone(), q.volume.clone(), q.name.clone()),
            Record::Job(j) => RecordKey::Job(j.id),
            Record::Recovery(e) => RecordKey::Recovery(e.svm.clone(), e.name.clone()),
            Record::QuotaRule(r) => {
                let k = crate::model::quota::rule_key_of(r);
                RecordKey::QuotaPolicyRule(k.0, k.1, k.2, k.3, k.4, k.5)
            }
            Record::Svm(s) => RecordKey::Svm(s.name.clone()),
            Record::Identity(_) => RecordKey::Identity,
            Record::License(l) => RecordKey::License(l.package.clone()),
            Record::User(u) => RecordKey::User(u.scope.clone(), u.name.clone()),
            Record::Role(r) => RecordKey::Role(r.scope.clone(), r.name.clone()),
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
        |p| Record::ExportPolicy(Box::new(p)),
        |k| RecordKey::ExportPolicy(k.0.clone(), k.1.clone()),
    );
    table_changes(
        &c.qtrees,
        &mut put,
        &mut del,
        |q| Record::Qtree(Box::new(q)),
        |k| RecordKey::Qtree(k.0.clone(), k.1.clone(), k.2.clone()),
    );
    table_changes(
        &c.jobs,
        &mut put,
        &mut del,
        |j| Record::Job(Box::new(j)),
        |k| RecordKey::Job(*k),
    );
    table_changes(
        &c.recovery_queue,
        &mut put,
        &mut del,
        |e| Record::Recovery(Box::new(e)),
        |k| RecordKey::Recovery(k.0.clone(), k.1.clone()),
    );
    table_changes(
        &c.quota_rules,
        &mut put,
        &mut del,
        |r| Record::QuotaRule(Box::new(r)),
        |k| {
            RecordKey::QuotaPolicyRule(
                k.0.clone(),
                k.1.clone(),
                k.2.clone(),
                k.3,
                k.4.clone(),
                k.5.clone(),
            )
        },
    );
    table_changes(
        &c.svms,
        &mut put,
        &mut del,
        |s| Record::Svm(Box::new(s)),
        |k| RecordKey::Svm(k.clone()),
    );
    table_changes(
        &c.identity,
        &mut put,
        &mut del,
        |i| Record::Identity(Box::new(i)),
        |_| RecordKey::Identity,
    );
    table_changes(
        &c.licenses,
        &mut put,
        &mut del,
        |l| Record::License(Box::new(l)),
        |k| RecordKey::License(k.clone()),
    );
    // A topology user is saved once changed; a seeded one the topology makes again.
    for (k, v) in c.users.changed() {
        match v {
            Some(u) if !u.seeded => put.push(Record::User(Box::new((**u).clone()))),
            Some(_) => {}
            None => del.push(RecordKey::User(k.0.clone(), k.1.clone())),
        }
    }
    table_changes(
        &c.roles,
        &mut put,
        &mut del,
        |r| Record::Role(Box::new(r)),
        |k| RecordKey::Role(k.0.clone(), k.1.clone()),
    );
    (put, del)
}

/// A record borrowed from the model: serialises exactly as [`Record`] does, without a copy.
#[derive(Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum RecordRef<'a> {
    Volume(&'a Volume),
    ExportPolicy(&'a ExportPolicy),
    Qtree(&'a Qtree),
    Job(&'a Job),
    Recovery(&'a RecoveryEntry),
    QuotaRule(&'a QuotaRule),
    Svm(&'a Svm),
    Identity(&'a Identity),
    License(&'a License),
    User(&'a User),
    Role(&'a Role),
}

/// Every record of a cluster borrowed from the model, in key order (the order of
/// [`RecordKey`]): a snapshot of 100k volumes is written without copying the model first, and
/// reads back already sorted.
pub fn refs(c: &Cluster) -> impl Iterator<Item = RecordRef<'_>> {
    c.volumes
        .values()
        .map(RecordRef::Volume)
        .chain(c.export_policies.values().map(RecordRef::ExportPolicy))
        .chain(c.qtrees.values().map(RecordRef::Qtree))
        .chain(c.jobs.values().map(RecordRef::Job))
        .chain(c.recovery_queue.values().map(RecordRef::Recovery))
        .chain(c.svms.values().map(RecordRef::Svm))
        .chain(c.identity.values().map(RecordRef::Identity))
        .chain(c.licenses.values().map(RecordRef::License))
        .chain(
            c.users
                .values()
                .filter(|u| !u.seeded)
                .map(|u| RecordRef::User(u)),
        )
        .chain(c.roles.values().map(RecordRef::Role))
        // Keyed by policy since quota policies came, so they sort last.
        .chain(c.quota_rules.values().map(RecordRef::QuotaRule))
}

/// Every saved record of the cluster, copied (the state document).
pub fn all(c: &Cluster) -> Vec<Record> {
    c.volumes
        .values()
        .map(|v| Record::Volume(Box::new(v.clone())))
        .chain(
            c.export_policies
                .values()
                .map(|p| Record::ExportPolicy(Box::new(p.clone()))),
        )
        .chain(
            c.qtrees
                .values()
                .map(|q| Record::Qtree(Box::new(q.clone()))),
        )
        .chain(c.jobs.values().map(|j| Record::Job(Box::new(j.clone()))))
        .chain(
            c.recovery_queue
                .values()
                .map(|e| Record::Recovery(Box::new(e.clone()))),
        )
        .chain(
            c.quota_rules
                .values()
                .map(|r| Record::QuotaRule(Box::new(r.clone()))),
        )
        .chain(c.svms.values().map(|s| Record::Svm(Box::new(s.clone()))))
        .chain(
            c.identity
                .values()
                .map(|i| Record::Identity(Box::new(i.clone()))),
        )
        .chain(
            c.licenses
                .values()
                .map(|l| Record::License(Box::new(l.clone()))),
        )
        .chain(
            c.users
                .values()
                .filter(|u| !u.seeded)
                .map(|u| Record::User(Box::new((**u).clone()))),
        )
        .chain(c.roles.values().map(|r| Record::Role(Box::new(r.clone()))))
        .collect()
}

/// Put saved state into a cluster freshly built from its topology. Objects the topology makes
/// that the state lacks (an SVM added to the config since) keep their new identities. Returns how
/// many such objects there were, so the caller can save them.
pub fn load_into(c: &mut Cluster, loaded: Loaded) -> Result<usize, String> {
    c.counters = loaded.counters;
    let mut volumes = Vec::new();
    let mut policies = Vec::new();
    let mut qtrees = Vec::new();
    let mut jobs = Vec::new();
    let mut recovery = Vec::new();
    let mut quota_rules = Vec::new();
    let mut svms = Vec::new();
    let mut users = Vec::new();
    let mut roles = Vec::new();
    for r in loaded.records {
        match r {
            Record::Volume(v) => volumes.push(((v.svm.clone(), v.name.clone()), *v)),
            Record::ExportPolicy(p) => policies.push(((p.svm.clone(), p.name.clone()), *p)),
            Record::Qtree(q) => {
                qtrees.push(((q.svm.clone(), q.volume.clone(), q.name.clone()), *q));
            }
            Record::Job(j) => jobs.push((j.id, *j)),
            Record::Recovery(e) => recovery.push(((e.svm.clone(), e.name.clone()), *e)),
            Record::QuotaRule(r) => quota_rules.push((crate::model::quota::rule_key_of(&r), *r)),
            Record::Svm(s) => svms.push((s.name.clone(), *s)),
            Record::Identity(i) => {
                c.identity.load((), *i);
            }
            Record::License(l) => {
                c.licenses.load(l.package.clone(), *l);
            }
            Record::User(u) => users.push(((u.scope.clone(), u.name.clone()), Arc::new(*u))),
            Record::Role(r) => roles.push(((r.scope.clone(), r.name.clone()), *r)),
        }
    }
    c.apply_identity();
    // Saved SVMs (made at runtime, or changed since the topology made them) replace the seeded
    // ones; the volumes must then all belong to one.
    c.svms.load_all(svms);
    if let Some((_, v)) = volumes.iter().find(|(_, v)| !c.svms.contains_key(&v.svm)) {
        return Err(format!(
            "volume \"{}\" belongs to Vserver \"{}\", which the topology no longer has",
            v.name, v.svm
        ));
    }
    // Each table is built in one go from the saved records (sorted as a snapshot holds them).
    let new_volumes = c.volumes.load_all(volumes);
    let new_policies = c.export_policies.load_all(policies);
    c.qtrees.load_all(qtrees);
    c.jobs.load_all(jobs);
    c.recovery_queue.load_all(recovery);
    c.quota_rules.load_all(quota_rules);
    // Saved users replace the topology's of the same name; the others stay as seeded.
    c.users.load_all(users);
    c.roles.load_all(roles);
    // Objects the topology seeded that the state does not know get fresh numbers after the saved ones.
    let added = new_volumes.len() + new_policies.len();
    for k in new_volumes {
        c.counters.next_dsid += 1;
        let dsid = c.counters.next_dsid;
        if let Some(v) = c.volumes.get_mut(&k) {
            v.dsid = dsid;
        }
    }
    for k in new_policies {
        c.counters.next_policy_id += 1;
        let id = c.counters.next_policy_id;
        if let Some(p) = c.export_policies.get_mut(&k) {
            p.id = id;
        }
    }
    c.commit();
    c.reindex();
    c.recompute_space();
    c.check_invariants()?;
    Ok(added)
}
