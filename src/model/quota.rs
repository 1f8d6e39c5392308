//! Quotas: the rules of each volume (tree, user and group rules; a rule with an empty target is
//! the default for its type), each volume's quota state (off, initializing, on, resizing) and the
//! limits in force, and what the quota report lists.
//!
//! As on ONTAP, a rule is policy and its limits are enforced only after quotas are turned on or
//! resized: `quota-on` (a job) puts every rule of the volume in force; `quota-resize` (a job, only
//! while quotas are on) brings changed limits into force, and new rules for targets a default rule
//! of the same type covers; `quota-off` stops all enforcement. Invariants: a tree rule names a
//! qtree of its volume (or none, the default), a user or group rule's qtree exists, rules go with
//! their volume (rename moves them, destroy removes them) and with their qtree.

use super::volume::VolumeState;
use super::{Cluster, ModelError};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The quota policy every SVM is made with, and assigned.
pub const DEFAULT_POLICY: &str = "default";
/// How many quota policies an SVM may have (`volume quota policy create`).
pub const MAX_POLICIES: usize = 5;
/// The longest quota policy name.
pub const MAX_POLICY_NAME: usize = 32;

/// An SVM's quota policies: named sets of rules, one of them assigned (the one quota on and
/// resize take their rules from). Saved with the SVM; an SVM saved before policies existed has
/// only `default`, assigned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SvmQuota {
    /// The policies, in the order they were made.
    pub policies: Vec<String>,
    /// The assigned policy (`vserver modify -quota-policy`).
    pub policy: String,
}

impl Default for SvmQuota {
    fn default() -> Self {
        SvmQuota {
            policies: vec![DEFAULT_POLICY.to_string()],
            policy: DEFAULT_POLICY.to_string(),
        }
    }
}

fn default_policy() -> String {
    DEFAULT_POLICY.to_string()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QuotaType {
    Tree,
    User,
    Group,
}

impl QuotaType {
    pub fn as_str(&self) -> &'static str {
        match self {
            QuotaType::Tree => "tree",
            QuotaType::User => "user",
            QuotaType::Group => "group",
        }
    }

    pub fn parse(s: &str) -> Result<QuotaType, ModelError> {
        match s {
            "tree" => Ok(QuotaType::Tree),
            "user" => Ok(QuotaType::User),
            "group" => Ok(QuotaType::Group),
            o => Err(ModelError::InvalidInput(format!(
                "Invalid value specified for \"quota-type\": \"{o}\" (tree, user or group)"
            ))),
        }
    }
}

/// A rule's limits. Disk sizes are in KiB, as ZAPI states them; None is unlimited ("-").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub disk: Option<u64>,
    pub soft_disk: Option<u64>,
    pub files: Option<u64>,
    pub soft_files: Option<u64>,
    pub threshold: Option<u64>,
}

/// A change of some limits: the outer None leaves a limit as it is, `Some(None)` removes it.
#[derive(Debug, Clone, Copy, Default)]
pub struct LimitsChange {
    pub disk: Option<Option<u64>>,
    pub soft_disk: Option<Option<u64>>,
    pub files: Option<Option<u64>>,
    pub soft_files: Option<Option<u64>>,
    pub threshold: Option<Option<u64>>,
    pub user_mapping: Option<bool>,
}

impl LimitsChange {
    fn apply(&self, l: &mut Limits) {
        let set = |slot: &mut Option<u64>, v: Option<Option<u64>>| {
            if let Some(v) = v {
                *slot = v;
            }
        };
        set(&mut l.disk, self.disk);
        set(&mut l.soft_disk, self.soft_disk);
        set(&mut l.files, self.files);
        set(&mut l.soft_files, self.soft_files);
        set(&mut l.threshold, self.threshold);
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaRule {
    pub svm: String,
    /// The quota policy the rule belongs to (rules saved before policies existed: `default`).
    #[serde(default = "default_policy")]
    pub policy: String,
    pub volume: String,
    pub quota_type: QuotaType,
    /// "" for the default rule of its type; a qtree name (tree), user names joined by ','
    /// (user) or a group name (group).
    pub target: String,
    /// The qtree a user or group rule applies in ("" for the whole volume); "" for tree rules.
    pub qtree: String,
    pub uuid: Uuid,
    pub limits: Limits,
    pub user_mapping: bool,
    /// The limits in force (None: not enforced yet, or quotas are off).
    pub active: Option<Limits>,
}

impl QuotaRule {
    pub fn is_default(&self) -> bool {
        self.target.is_empty()
    }
}

/// (SVM, policy, volume, type, target, qtree).
pub type RuleKey = (String, String, String, QuotaType, String, String);

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QuotaStatus {
    #[default]
    Off,
    Initializing,
    On,
    Resizing,
}

impl QuotaStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            QuotaStatus::Off => "off",
            QuotaStatus::Initializing => "initializing",
            QuotaStatus::On => "on",
            QuotaStatus::Resizing => "resizing",
        }
    }
}

/// A volume's quota state, saved with the volume.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaState {
    pub status: QuotaStatus,
    /// The job initializing or resizing quotas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<u64>,
    /// What the last initialization or resize could not apply (`quota-errors`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub errors: String,
    /// The quota policy whose rules are in force ("" while off; state saved before policies
    /// existed: `default`). Changing the SVM's assigned policy changes it only at the next
    /// initialization or resize, as on ONTAP.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub policy: String,
}

impl QuotaState {
    pub fn is_off(&self) -> bool {
        *self == QuotaState::default()
    }

    /// Quotas are enforced (also while a resize runs).
    pub fn enforced(&self) -> bool {
        matches!(self.status, QuotaStatus::On | QuotaStatus::Resizing)
    }

    /// The policy whose rules are in force (or were, while a resize runs).
    pub fn policy_in_force(&self) -> &str {
        if self.policy.is_empty() {
            DEFAULT_POLICY
        } else {
            &self.policy
        }
    }
}

/// What identifies a rule in a request.
#[derive(Debug, Clone)]
pub struct RuleId {
    pub volume: String,
    pub quota_type: QuotaType,
    pub target: String,
    pub qtree: String,
    pub policy: Option<String>,
}

/// One line of the quota report; usage is measured by the caller from the data.
#[derive(Debug, Clone)]
pub struct ReportRow {
    pub svm: String,
    pub volume: String,
    pub volume_uuid: Uuid,
    pub quota_type: QuotaType,
    /// The qtree the row counts ("" for the whole volume).
    pub tree: String,
    /// What the row counts for: the qtree (tree) or the user or group names.
    pub target: String,
    pub limits: Limits,
    /// The rule that applies (the default rule for a derived row).
    pub rule: Uuid,
    /// The users (user rows) or the group (group rows) the row counts for, resolved through the
    /// SVM's UNIX users and groups; empty for tree rows.
    pub who: Vec<Who>,
}

impl ReportRow {
    /// The uid or gid whose files the row counts (a user rule naming several users counts the
    /// first one's).
    pub fn owner(&self) -> Option<u32> {
        self.who.first().and_then(|w| w.id)
    }
}

/// A user or group quota in force where a file grows ([`Cluster::owner_quotas`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerQuota {
    pub quota_type: QuotaType,
    /// The scope it counts in: "" for the whole volume, else a qtree.
    pub tree: String,
    /// The rule's target (the ID, for a default rule), for the error.
    pub target: String,
    /// The IDs whose files count together (a user rule may name several users).
    pub ids: Vec<u32>,
    /// Its limits in force (disk in KiB).
    pub limits: Limits,
}

impl OwnerQuota {
    /// Growth by `bytes` and `files` where its IDs hold `held` (bytes, entries): refused with
    /// `QuotaExceeded` past a hard limit.
    pub fn check_growth(
        &self,
        volume: &str,
        (b, f): (u64, u64),
        bytes: i64,
        files: i64,
    ) -> Result<(), ModelError> {
        let who = self.quota_type.as_str();
        let scope = if self.tree.is_empty() {
            format!("volume \"{volume}\"")
        } else {
            format!("qtree \"{}\" of volume \"{volume}\"", self.tree)
        };
        if let Some(kib) = self.limits.disk.filter(|_| bytes > 0) {
            let (now, max) = (b.saturating_add(bytes as u64), kib.saturating_mul(1024));
            if now > max {
                return Err(ModelError::QuotaExceeded(format!(
                    "Disk quota of {who} \"{}\" in {scope} exceeded: {now} of {max} bytes",
                    self.target
                )));
            }
        }
        if let Some(max) = self.limits.files.filter(|_| files > 0) {
            let now = f.saturating_add(files as u64);
            if now > max {
                return Err(ModelError::QuotaExceeded(format!(
                    "File quota of {who} \"{}\" in {scope} exceeded: {now} of {max} files",
                    self.target
                )));
            }
        }
        Ok(())
    }
}

/// A report row with its usage, measured from the data by the simulator (`Sim::quota_report`).
#[derive(Debug, Clone)]
pub struct Measured {
    pub row: ReportRow,
    pub bytes: u64,
    pub files: u64,
}

fn no_rule(svm: &str, id: &RuleId) -> ModelError {
    ModelError::NotFound {
        kind: "Quota rule",
        name: format!(
            "{} {}\" for volume \"{}\" in Vserver \"{svm}",
            id.quota_type.as_str(),
            if id.target.is_empty() {
                "\"\" (default)".to_string()
            } else {
                id.target.clone()
            },
            id.volume
        ),
    }
}

/// Check a target for its type and return it in the form the model keeps.
fn check_target(t: QuotaType, target: &str) -> Result<String, ModelError> {
    let target = target.trim();
    if target.len() > 255 || target.chars().any(char::is_control) {
        return Err(ModelError::InvalidInput(format!(
            "Invalid quota target \"{}\"",
            target.escape_debug()
        )));
    }
    match t {
        QuotaType::Tree => {
            if !target.is_empty() {
                super::qtree::check_qtree_name(target)?;
            }
            Ok(target.to_string())
        }
        QuotaType::User => {
            let names: Vec<&str> = target.split(',').map(str::trim).collect();
            if !target.is_empty() && names.iter().any(|n| n.is_empty() || n.contains(' ')) {
                return Err(ModelError::InvalidInput(format!(
                    "Invalid quota target \"{target}\": user names or IDs separated by ','"
                )));
            }
            Ok(names.join(","))
        }
        QuotaType::Group => {
            if target.contains([',', ' ']) {
                return Err(ModelError::InvalidInput(format!(
                    "Invalid quota target \"{target}\": one group name or ID"
                )));
            }
            Ok(target.to_string())
        }
    }
}

/// One user or group a report row counts for: the name shown (the local name when the ID has
/// one) and the ID, when the name resolves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Who {
    pub name: String,
    pub id: Option<u32>,
}

/// A quota policy name: 1 to 32 characters, letters, digits, `_`, `-` and `.`, starting with a
/// letter or `_`.
fn check_policy_name(name: &str) -> Result<(), ModelError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_POLICY_NAME
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(ModelError::InvalidInput(format!(
            "Invalid quota policy name \"{}\": 1 to {MAX_POLICY_NAME} characters, letters, digits, \"_\", \"-\" and \".\", starting with a letter or \"_\"",
            name.escape_debug()
        )))
    }
}

fn no_policy(svm: &str, policy: &str) -> ModelError {
    ModelError::NotFound {
        kind: "Quota policy",
        name: format!("{policy}\" in Vserver \"{svm}"),
    }
}

impl Cluster {
    /// The rules of `policy` for `volume`.
    pub fn policy_rules_of<'a>(
        &'a self,
        svm: &'a str,
        policy: &'a str,
        volume: &'a str,
    ) -> impl Iterator<Item = &'a QuotaRule> + 'a {
        self.quota_rules
            .range(
                (
                    svm.to_string(),
                    policy.to_string(),
                    volume.to_string(),
                    QuotaType::Tree,
                    String::new(),
                    String::new(),
                )..,
            )
            .take_while(move |((s, p, v, ..), _)| s == svm && p == policy && v == volume)
            .map(|(_, r)| r)
    }

    /// The rules of `policy` (every volume).
    pub fn rules_of_policy<'a>(
        &'a self,
        svm: &'a str,
        policy: &'a str,
    ) -> impl Iterator<Item = &'a QuotaRule> + 'a {
        self.quota_rules
            .range(
                (
                    svm.to_string(),
                    policy.to_string(),
                    String::new(),
                    QuotaType::Tree,
                    String::new(),
                    String::new(),
                )..,
            )
            .take_while(move |((s, p, ..), _)| s == svm && p == policy)
            .map(|(_, r)| r)
    }

    /// The rules for `volume` in the SVM's assigned policy: what quota on and resize apply, and
    /// what REST's quota rules show.
    pub fn quota_rules_of<'a>(
        &'a self,
        svm: &'a str,
        volume: &'a str,
    ) -> impl Iterator<Item = &'a QuotaRule> + 'a {
        self.policy_rules_of(svm, self.assigned_quota_policy(svm), volume)
    }

    /// The keys of every rule for `volume`, in any policy of its SVM.
    fn volume_rule_keys(&self, svm: &str, volume: &str) -> Vec<RuleKey> {
        let policies = self
            .svms
            .get(&svm.to_string())
            .map(|s| s.quota.policies.clone())
            .unwrap_or_default();
        policies
            .iter()
            .flat_map(|p| self.policy_rules_of(svm, p, volume).map(rule_key_of))
            .collect()
    }

    /// The SVM's assigned quota policy (`default` for an SVM that does not exist).
    pub fn assigned_quota_policy(&self, svm: &str) -> &str {
        self.svms
            .get(&svm.to_string())
            .map_or(DEFAULT_POLICY, |s| s.quota.policy.as_str())
    }

    /// The SVM's quota policies, in the order they were made.
    pub fn quota_policies(&self, svm: &str) -> Result<&[String], ModelError> {
        Ok(&self.svm(svm)?.quota.policies)
    }

    /// `volume quota policy create`.
    pub fn create_quota_policy(&mut self, svm: &str, name: &str) -> Result<(), ModelError> {
        check_policy_name(name)?;
        let q = &self.svm(svm)?.quota;
        if q.policies.iter().any(|p| p == name) {
            return Err(ModelError::Duplicate {
                kind: "Quota policy",
                name: format!("{name}\" in Vserver \"{svm}"),
            });
        }
        if q.policies.len() >= MAX_POLICIES {
            return Err(ModelError::Conflict(format!(
                "Cannot create quota policy \"{name}\": Vserver \"{svm}\" already has the maximum of {MAX_POLICIES} quota policies; delete one first"
            )));
        }
        self.svm_mut(svm)?.quota.policies.push(name.to_string());
        Ok(())
    }

    /// `volume quota policy copy`: a new policy with a copy of every rule (not in force).
    pub fn copy_quota_policy(&mut self, svm: &str, from: &str, to: &str) -> Result<(), ModelError> {
        if !self.quota_policies(svm)?.iter().any(|p| p == from) {
            return Err(no_policy(svm, from));
        }
        self.create_quota_policy(svm, to)?;
        let copies: Vec<QuotaRule> = self.rules_of_policy(svm, from).cloned().collect();
        for mut r in copies {
            self.counters.next_quota_rule += 1;
            r.uuid = self.uuid_for(&format!("quota-rule/{}", self.counters.next_quota_rule));
            r.policy = to.to_string();
            r.active = None;
            self.quota_rules.insert(rule_key_of(&r), r);
        }
        Ok(())
    }

    /// `volume quota policy rename`: its rules, the SVM's assignment and the volumes enforcing
    /// it follow.
    pub fn rename_quota_policy(
        &mut self,
        svm: &str,
        from: &str,
        to: &str,
    ) -> Result<(), ModelError> {
        let policies = self.quota_policies(svm)?;
        let Some(at) = policies.iter().position(|p| p == from) else {
            return Err(no_policy(svm, from));
        };
        if from == to {
            return Ok(());
        }
        check_policy_name(to)?;
        if policies.iter().any(|p| p == to) {
            return Err(ModelError::Duplicate {
                kind: "Quota policy",
                name: format!("{to}\" in Vserver \"{svm}"),
            });
        }
        let moved: Vec<QuotaRule> = self.rules_of_policy(svm, from).cloned().collect();
        for mut r in moved {
            self.quota_rules.remove(&rule_key_of(&r));
            r.policy = to.to_string();
            self.quota_rules.insert(rule_key_of(&r), r);
        }
        let vols: Vec<String> = self
            .volumes_of(svm)
            .filter(|v| v.quota.status != QuotaStatus::Off && v.quota.policy_in_force() == from)
            .map(|v| v.name.clone())
            .collect();
        for v in vols {
            if let Some(v) = self.volumes.get_mut(&(svm.to_string(), v)) {
                v.quota.policy = to.to_string();
            }
        }
        let q = &mut self.svm_mut(svm)?.quota;
        q.policies[at] = to.to_string();
        if q.policy == from {
            q.policy = to.to_string();
        }
        Ok(())
    }

    /// `volume quota policy delete`: the policy and every rule in it; refused for the assigned
    /// policy.
    pub fn delete_quota_policy(&mut self, svm: &str, name: &str) -> Result<(), ModelError> {
        let q = &self.svm(svm)?.quota;
        if !q.policies.iter().any(|p| p == name) {
            return Err(no_policy(svm, name));
        }
        if q.policy == name {
            return Err(ModelError::Busy(format!(
                "Cannot delete quota policy \"{name}\" because it is assigned to Vserver \"{svm}\". Assign another quota policy to the Vserver first"
            )));
        }
        let keys: Vec<RuleKey> = self.rules_of_policy(svm, name).map(rule_key_of).collect();
        for k in keys {
            self.quota_rules.remove(&k);
        }
        self.svm_mut(svm)?.quota.policies.retain(|p| p != name);
        Ok(())
    }

    /// `vserver modify -quota-policy`: the policy quota on and resize take rules from from now
    /// on (the limits in force stay until then).
    pub fn assign_quota_policy(&mut self, svm: &str, name: &str) -> Result<(), ModelError> {
        if !self.quota_policies(svm)?.iter().any(|p| p == name) {
            return Err(no_policy(svm, name));
        }
        self.svm_mut(svm)?.quota.policy = name.to_string();
        Ok(())
    }

    pub fn quota_rule_by_uuid(&self, uuid: &str) -> Option<&QuotaRule> {
        self.quota_rules
            .values()
            .find(|r| r.uuid.to_string() == uuid)
    }

    /// The policy a request names, or the assigned one when it names none.
    fn check_policy(&self, svm: &str, policy: Option<&str>) -> Result<String, ModelError> {
        match policy.filter(|p| !p.is_empty()) {
            None => Ok(self.assigned_quota_policy(svm).to_string()),
            Some(p) if self.quota_policies(svm)?.iter().any(|x| x == p) => Ok(p.to_string()),
            Some(p) => Err(no_policy(svm, p)),
        }
    }

    /// A user or group target must name local UNIX users (or a group) of the SVM, or IDs.
    fn check_names(&self, svm: &str, t: QuotaType, target: &str) -> Result<(), ModelError> {
        if target.is_empty() || t == QuotaType::Tree {
            return Ok(());
        }
        let names = self.unix_names(svm)?;
        for n in target.split(',') {
            let (known, kind) = match t {
                QuotaType::User => (names.uid(n).is_some(), "user"),
                _ => (names.gid(n).is_some(), "group"),
            };
            if !known {
                return Err(ModelError::InvalidInput(format!(
                    "Invalid quota target \"{target}\": \"{n}\" is not a UNIX {kind} of Vserver \"{svm}\" (a local UNIX {kind} name or a numeric ID)"
                )));
            }
        }
        Ok(())
    }

    /// Check a rule's identity against the volume and its qtrees; the key it is filed under.
    fn rule_key(&self, svm: &str, id: &RuleId) -> Result<RuleKey, ModelError> {
        let policy = self.check_policy(svm, id.policy.as_deref())?;
        let v = self.volume(svm, &id.volume)?;
        if v.is_svm_root {
            return Err(ModelError::InvalidInput(format!(
                "Quota rules cannot be set on volume \"{}\": it is the root volume of Vserver \"{svm}\"",
                id.volume
            )));
        }
        let target = check_target(id.quota_type, &id.target)?;
        let qtree = id.qtree.trim().to_string();
        let exists = |q: &str| {
            self.qtrees
                .contains_key(&(svm.to_string(), id.volume.clone(), q.to_string()))
        };
        match id.quota_type {
            QuotaType::Tree if !qtree.is_empty() => {
                return Err(ModelError::InvalidInput(format!(
                    "Invalid value specified for \"qtree\": \"{qtree}\"; a tree rule names its qtree in quota-target and qtree must be \"\""
                )))
            }
            QuotaType::Tree if !target.is_empty() && !exists(&target) => {
                return Err(ModelError::NotFound {
                    kind: "Qtree",
                    name: format!("{target}\" in volume \"{}", id.volume),
                })
            }
            _ if !qtree.is_empty() && !exists(&qtree) => {
                return Err(ModelError::NotFound {
                    kind: "Qtree",
                    name: format!("{qtree}\" in volume \"{}", id.volume),
                })
            }
            _ => {}
        }
        self.check_names(svm, id.quota_type, &target)?;
        Ok((
            svm.to_string(),
            policy,
            id.volume.clone(),
            id.quota_type,
            target,
            qtree,
        ))
    }

    /// `quota-set-entry` (replace = true: the rule is created or all its limits replaced) and
    /// REST's rule POST (replace = false: a rule that exists is a duplicate).
    pub fn set_quota_rule(
        &mut self,
        svm: &str,
        id: &RuleId,
        limits: Limits,
        user_mapping: bool,
        replace: bool,
    ) -> Result<Uuid, ModelError> {
        let key = self.rule_key(svm, id)?;
        check_limits(&limits)?;
        if let Some(r) = self.quota_rules.get_mut(&key) {
            if !replace {
                return Err(ModelError::Duplicate {
                    kind: "Quota rule",
                    name: format!("{} {}\" for volume \"{}", key.3.as_str(), key.4, key.2),
                });
            }
            r.limits = limits;
            r.user_mapping = user_mapping;
            return Ok(r.uuid);
        }
        self.counters.next_quota_rule += 1;
        let uuid = self.uuid_for(&format!("quota-rule/{}", self.counters.next_quota_rule));
        self.quota_rules.insert(
            key.clone(),
            QuotaRule {
                svm: svm.to_string(),
                policy: key.1,
                volume: key.2,
                quota_type: key.3,
                target: key.4,
                qtree: key.5,
                uuid,
                limits,
                user_mapping,
                active: None,
            },
        );
        Ok(uuid)
    }

    /// `quota-modify-entry`: only the limits given change.
    pub fn modify_quota_rule(
        &mut self,
        svm: &str,
        id: &RuleId,
        change: LimitsChange,
    ) -> Result<(), ModelError> {
        let key = self.rule_key(svm, id)?;
        let r = self.quota_rules.get(&key).ok_or_else(|| no_rule(svm, id))?;
        let mut limits = r.limits;
        change.apply(&mut limits);
        check_limits(&limits)?;
        if let Some(r) = self.quota_rules.get_mut(&key) {
            r.limits = limits;
            if let Some(m) = change.user_mapping {
                r.user_mapping = m;
            }
        }
        Ok(())
    }

    /// REST's rule PATCH: the rule named by its uuid.
    pub fn modify_quota_rule_by_uuid(
        &mut self,
        uuid: &str,
        change: LimitsChange,
    ) -> Result<(), ModelError> {
        let r = self.rule_by_uuid_or_not_found(uuid)?;
        let (svm, id) = (r.svm.clone(), rule_id(r));
        self.modify_quota_rule(&svm, &id, change)
    }

    fn rule_by_uuid_or_not_found(&self, uuid: &str) -> Result<&QuotaRule, ModelError> {
        self.quota_rule_by_uuid(uuid)
            .ok_or_else(|| ModelError::NotFound {
                kind: "Quota rule",
                name: uuid.to_string(),
            })
    }

    /// `quota-delete-entry`. The rule's enforcement ends with it.
    pub fn delete_quota_rule(&mut self, svm: &str, id: &RuleId) -> Result<(), ModelError> {
        let policy = self.check_policy(svm, id.policy.as_deref())?;
        self.volume(svm, &id.volume)?;
        let target = check_target(id.quota_type, &id.target)?;
        let key = (
            svm.to_string(),
            policy,
            id.volume.clone(),
            id.quota_type,
            target,
            id.qtree.trim().to_string(),
        );
        self.quota_rules
            .remove(&key)
            .map(|_| ())
            .ok_or_else(|| no_rule(svm, id))
    }

    /// REST's rule DELETE.
    pub fn delete_quota_rule_by_uuid(&mut self, uuid: &str) -> Result<(), ModelError> {
        let r = self.rule_by_uuid_or_not_found(uuid)?;
        let (svm, id) = (r.svm.clone(), rule_id(r));
        self.delete_quota_rule(&svm, &id)
    }

    fn quota_volume(&self, svm: &str, volume: &str) -> Result<(), ModelError> {
        let v = self.volume(svm, volume)?;
        if v.state != VolumeState::Online {
            return Err(super::volume::offline(v));
        }
        Ok(())
    }

    fn set_quota_state(&mut self, svm: &str, volume: &str, state: QuotaState) {
        if let Some(v) = self.volumes.get_mut(&(svm.to_string(), volume.to_string())) {
            v.quota = state;
        }
    }

    fn no_valid_rules(&self, svm: &str, volume: &str) -> Result<(), ModelError> {
        if self.quota_rules_of(svm, volume).next().is_none() {
            return Err(ModelError::QuotaNoRules(format!(
                "No valid quota rules found in quota policy {} for volume {volume} in Vserver {svm}.",
                self.assigned_quota_policy(svm)
            )));
        }
        Ok(())
    }

    /// `quota-on`: quotas start initializing; the returned job ends it ([`Cluster::finish_quota_job`]).
    pub fn quota_on(&mut self, svm: &str, volume: &str) -> Result<u64, ModelError> {
        self.quota_volume(svm, volume)?;
        let state = &self.volume(svm, volume)?.quota;
        if state.status != QuotaStatus::Off {
            return Err(ModelError::Conflict(format!(
                "Quotas are already {} on volume \"{volume}\" in Vserver \"{svm}\"",
                state.status.as_str()
            )));
        }
        self.no_valid_rules(svm, volume)?;
        let job = self.queue_job(
            "Quota Initialize",
            format!("Quota initialize for volume \"{volume}\" in Vserver \"{svm}\""),
            Some(svm),
        );
        self.set_quota_state(
            svm,
            volume,
            QuotaState {
                status: QuotaStatus::Initializing,
                job: Some(job),
                errors: String::new(),
                policy: String::new(),
            },
        );
        Ok(job)
    }

    /// `quota-resize`: only while quotas are on.
    pub fn quota_resize(&mut self, svm: &str, volume: &str) -> Result<u64, ModelError> {
        self.quota_volume(svm, volume)?;
        let state = &self.volume(svm, volume)?.quota;
        if state.status != QuotaStatus::On {
            return Err(ModelError::Conflict(format!(
                "Quotas cannot be resized on volume \"{volume}\" in Vserver \"{svm}\": they are {}",
                state.status.as_str()
            )));
        }
        let policy = state.policy.clone();
        self.no_valid_rules(svm, volume)?;
        let job = self.queue_job(
            "Quota Resize",
            format!("Quota resize for volume \"{volume}\" in Vserver \"{svm}\""),
            Some(svm),
        );
        self.set_quota_state(
            svm,
            volume,
            QuotaState {
                status: QuotaStatus::Resizing,
                job: Some(job),
                errors: String::new(),
                policy,
            },
        );
        Ok(job)
    }

    /// `quota-off`: enforcement stops at once; a running initialization or resize is cancelled.
    /// Returns the (finished) job.
    pub fn quota_off(&mut self, svm: &str, volume: &str) -> Result<u64, ModelError> {
        self.quota_volume(svm, volume)?;
        let state = self.volume(svm, volume)?.quota.clone();
        if state.status == QuotaStatus::Off {
            return Err(ModelError::Conflict(format!(
                "Quotas are already off on volume \"{volume}\" in Vserver \"{svm}\""
            )));
        }
        if let Some(j) = state.job {
            self.finish_job(
                j,
                Err((
                    super::job::CANCELLED,
                    "The quota job was cancelled by quota off.".into(),
                )),
            );
        }
        self.stop_enforcing(svm, volume);
        self.set_quota_state(svm, volume, QuotaState::default());
        Ok(self.record_job(
            "Quota Off",
            format!("Quota off for volume \"{volume}\" in Vserver \"{svm}\""),
            Some(svm),
            Ok("Quotas are off".into()),
        ))
    }

    fn stop_enforcing(&mut self, svm: &str, volume: &str) {
        for k in self.volume_rule_keys(svm, volume) {
            if let Some(r) = self.quota_rules.get_mut(&k) {
                r.active = None;
            }
        }
    }

    /// The quota job `job` ends: an initialization puts every rule of the SVM's assigned policy
    /// in force; a resize brings the limits of rules in force up to date, and new rules whose
    /// type has a default rule in force. A rule of a newly assigned policy counts as in force
    /// when the policy in force has an active rule for the same target, so a resize after a
    /// policy change moves enforcement to the new policy. Rules it cannot bring into force are
    /// named in the volume's `quota-errors`.
    pub fn finish_quota_job(&mut self, job: u64) {
        let Some((svm, volume, status, old_policy)) = self
            .volumes
            .values()
            .find(|v| v.quota.job == Some(job))
            .map(|v| {
                (
                    v.svm.clone(),
                    v.name.clone(),
                    v.quota.status,
                    v.quota.policy_in_force().to_string(),
                )
            })
        else {
            return;
        };
        let policy = self.assigned_quota_policy(&svm).to_string();
        let initializing = status == QuotaStatus::Initializing;
        // What is in force now, by (type, target, qtree).
        let in_force: Vec<(QuotaType, String, String)> = if initializing {
            Vec::new()
        } else {
            self.policy_rules_of(&svm, &old_policy, &volume)
                .filter(|r| r.active.is_some())
                .map(|r| (r.quota_type, r.target.clone(), r.qtree.clone()))
                .collect()
        };
        let defaults: Vec<QuotaType> = if initializing {
            self.quota_rules_of(&svm, &volume)
                .filter(|r| r.is_default())
                .map(|r| r.quota_type)
                .collect()
        } else {
            in_force
                .iter()
                .filter(|(_, t, _)| t.is_empty())
                .map(|(q, ..)| *q)
                .collect()
        };
        // Enforcement leaves every other policy's rules.
        for k in self.volume_rule_keys(&svm, &volume) {
            if k.1 != policy {
                if let Some(r) = self.quota_rules.get_mut(&k) {
                    r.active = None;
                }
            }
        }
        let mut skipped = Vec::new();
        let keys: Vec<RuleKey> = self
            .policy_rules_of(&svm, &policy, &volume)
            .map(rule_key_of)
            .collect();
        for k in keys {
            let Some(r) = self.quota_rules.get_mut(&k) else {
                continue;
            };
            let was = in_force
                .iter()
                .any(|(q, t, tree)| *q == r.quota_type && *t == r.target && *tree == r.qtree);
            if initializing || was || defaults.contains(&r.quota_type) {
                r.active = Some(r.limits);
            } else {
                r.active = None;
                skipped.push(format!("{} {}", r.quota_type.as_str(), r.target));
            }
        }
        let errors = if skipped.is_empty() {
            String::new()
        } else {
            format!(
                "quota resize could not activate rules without a default rule of their type ({}); reinitialize quotas (off, then on)",
                skipped.join(", ")
            )
        };
        self.set_quota_state(
            &svm,
            &volume,
            QuotaState {
                status: QuotaStatus::On,
                job: None,
                errors,
                policy,
            },
        );
        self.start_job(job);
        let what = if initializing {
            "Quota initialization"
        } else {
            "Quota resize"
        };
        self.finish_job(job, Ok(format!("{what} completed")));
    }

    /// At a start, before interrupted jobs are failed: a quota job the stop interrupted ends as
    /// ONTAP's do when the volume comes back after a reboot (quotas are initialized again, so on).
    /// Returns how many there were.
    pub fn settle_quotas(&mut self) -> usize {
        let jobs: Vec<u64> = self.volumes.values().filter_map(|v| v.quota.job).collect();
        for &job in &jobs {
            self.finish_quota_job(job);
        }
        jobs.len()
    }

    /// The quota report of `svm` (all SVMs when None): one row per target quotas count for on
    /// volumes whose quotas are in force. A default tree rule yields a derived row for each qtree
    /// without a tree rule of its own.
    pub fn quota_report(&self, svm: Option<&str>) -> Vec<ReportRow> {
        let mut rows = Vec::new();
        let volumes: Box<dyn Iterator<Item = &super::Volume>> = match svm {
            Some(s) => Box::new(self.volumes_of(s)),
            None => Box::new(self.volumes.values()),
        };
        for v in volumes.filter(|v| v.quota.enforced()) {
            let names = self.svms.get(&v.svm).map(|s| &s.unix);
            let who = |t: QuotaType, target: &str| -> Vec<Who> {
                let Some(names) = names else {
                    return Vec::new();
                };
                match t {
                    QuotaType::Tree => Vec::new(),
                    QuotaType::User => target
                        .split(',')
                        .map(|n| {
                            let id = names.uid(n);
                            // A number shows its local name when it has one.
                            let name = match n.parse::<u32>() {
                                Ok(i) => names.user_name(i).unwrap_or(n),
                                Err(_) => n,
                            };
                            Who {
                                name: name.to_string(),
                                id,
                            }
                        })
                        .collect(),
                    QuotaType::Group => {
                        let id = names.gid(target);
                        let name = match target.parse::<u32>() {
                            Ok(i) => names.group_name(i).unwrap_or(target),
                            Err(_) => target,
                        };
                        vec![Who {
                            name: name.to_string(),
                            id,
                        }]
                    }
                }
            };
            let row = |r: &QuotaRule, limits: Limits, tree: &str, target: &str| ReportRow {
                svm: v.svm.clone(),
                volume: v.name.clone(),
                volume_uuid: v.uuid,
                quota_type: r.quota_type,
                tree: tree.to_string(),
                target: target.to_string(),
                limits,
                rule: r.uuid,
                who: who(r.quota_type, target),
            };
            let rules: Vec<&QuotaRule> = self
                .policy_rules_of(&v.svm, v.quota.policy_in_force(), &v.name)
                .collect();
            for r in &rules {
                let Some(limits) = r.active else { continue };
                match (r.quota_type, r.is_default()) {
                    (QuotaType::Tree, false) => rows.push(row(r, limits, &r.target, &r.target)),
                    (QuotaType::Tree, true) => {
                        for q in self
                            .qtrees
                            .range((v.svm.clone(), v.name.clone(), String::new())..)
                            .take_while(|((s, vol, _), _)| *s == v.svm && *vol == v.name)
                            .map(|(_, q)| q)
                        {
                            let own = rules.iter().any(|o| {
                                o.quota_type == QuotaType::Tree
                                    && o.target == q.name
                                    && o.active.is_some()
                            });
                            if !own {
                                rows.push(row(r, limits, &q.name, &q.name));
                            }
                        }
                    }
                    (_, false) => rows.push(row(r, limits, &r.qtree, &r.target)),
                    // Default user and group rules are listed through the targets they derive
                    // (the simulator knows no user names), so they have no row of their own.
                    (_, true) => {}
                }
            }
        }
        rows
    }

    /// The hard limits in force for a qtree (disk KiB, files): what NFS enforces.
    pub fn tree_limits(&self, svm: &str, volume: &str, qtree: &str) -> Option<Limits> {
        let v = self.volume(svm, volume).ok()?;
        if !v.quota.enforced() || qtree.is_empty() {
            return None;
        }
        let key = |t: &str| {
            (
                svm.to_string(),
                v.quota.policy_in_force().to_string(),
                volume.to_string(),
                QuotaType::Tree,
                t.to_string(),
                String::new(),
            )
        };
        self.quota_rules
            .get(&key(qtree))
            .and_then(|r| r.active)
            .or_else(|| self.quota_rules.get(&key("")).and_then(|r| r.active))
    }

    /// The user and group quotas in force where a file of `uid` and `gid` in `qtree` ("" for
    /// none) grows: for each of the two and each scope (the whole volume, and the qtree), the
    /// rule naming the ID (by name or number) or else the default rule of its type. Only rules
    /// with a hard limit count: what NFS enforces.
    pub fn owner_quotas(
        &self,
        svm: &str,
        volume: &str,
        qtree: &str,
        uid: u32,
        gid: u32,
    ) -> Vec<OwnerQuota> {
        let Ok(v) = self.volume(svm, volume) else {
            return Vec::new();
        };
        if !v.quota.enforced() {
            return Vec::new();
        }
        let Some(names) = self.svms.get(svm).map(|s| &s.unix) else {
            return Vec::new();
        };
        let ids = |t: QuotaType, target: &str| -> Vec<u32> {
            target
                .split(',')
                .filter_map(|n| match t {
                    QuotaType::User => names.uid(n),
                    _ => names.gid(n),
                })
                .collect()
        };
        let rules: Vec<&QuotaRule> = self
            .policy_rules_of(svm, v.quota.policy_in_force(), volume)
            .filter(|r| r.quota_type != QuotaType::Tree)
            .filter(|r| matches!(r.active, Some(l) if l.disk.is_some() || l.files.is_some()))
            .collect();
        let scopes: &[&str] = if qtree.is_empty() {
            &[""]
        } else {
            &["", qtree]
        };
        let mut out = Vec::new();
        for (t, id) in [(QuotaType::User, uid), (QuotaType::Group, gid)] {
            for &scope in scopes {
                let here = || {
                    rules
                        .iter()
                        .filter(|r| r.quota_type == t && r.qtree == scope)
                };
                let own = here().find(|r| !r.is_default() && ids(t, &r.target).contains(&id));
                let found = own
                    .map(|r| (*r, ids(t, &r.target)))
                    .or_else(|| here().find(|r| r.is_default()).map(|r| (*r, vec![id])));
                if let Some((r, ids)) = found {
                    out.push(OwnerQuota {
                        quota_type: t,
                        tree: scope.to_string(),
                        target: if r.is_default() {
                            id.to_string()
                        } else {
                            r.target.clone()
                        },
                        ids,
                        limits: r.active.unwrap_or_default(),
                    });
                }
            }
        }
        out
    }

    /// Rules follow their volume's rename.
    pub(crate) fn rename_quota_volume(&mut self, svm: &str, from: &str, to: &str) {
        let moved: Vec<QuotaRule> = self
            .volume_rule_keys(svm, from)
            .iter()
            .filter_map(|k| self.quota_rules.get(k).cloned())
            .collect();
        for mut r in moved {
            self.quota_rules.remove(&rule_key_of(&r));
            r.volume = to.to_string();
            self.quota_rules.insert(rule_key_of(&r), r);
        }
    }

    /// Rules go with their volume.
    pub(crate) fn drop_quota_volume(&mut self, svm: &str, volume: &str) {
        for k in self.volume_rule_keys(svm, volume) {
            self.quota_rules.remove(&k);
        }
    }

    /// Rules follow their qtree's rename (`to` Some) or go with it (None).
    pub(crate) fn quota_qtree_changed(
        &mut self,
        svm: &str,
        volume: &str,
        from: &str,
        to: Option<&str>,
    ) {
        let touched: Vec<QuotaRule> = self
            .volume_rule_keys(svm, volume)
            .iter()
            .filter_map(|k| self.quota_rules.get(k))
            .filter(|r| {
                (r.quota_type == QuotaType::Tree && r.target == from)
                    || (r.quota_type != QuotaType::Tree && r.qtree == from)
            })
            .cloned()
            .collect();
        for mut r in touched {
            self.quota_rules.remove(&rule_key_of(&r));
            let Some(to) = to else { continue };
            if r.quota_type == QuotaType::Tree {
                r.target = to.to_string();
            } else {
                r.qtree = to.to_string();
            }
            self.quota_rules.insert(rule_key_of(&r), r);
        }
    }

    /// Every rule's volume and qtree exist.
    pub(crate) fn check_quota_invariants(&self) -> Result<(), String> {
        for s in self.svms.values() {
            if !s.quota.policies.contains(&s.quota.policy) {
                return Err(format!(
                    "Vserver {} is assigned quota policy {}, which it does not have",
                    s.name, s.quota.policy
                ));
            }
        }
        for (k, r) in self.quota_rules.iter() {
            if *k != rule_key_of(r) {
                return Err(format!(
                    "quota rule {} is filed under the wrong key",
                    r.uuid
                ));
            }
            self.volume(&r.svm, &r.volume)
                .map_err(|e| format!("quota rule {}: {e}", r.uuid))?;
            if !self
                .svm(&r.svm)
                .is_ok_and(|s| s.quota.policies.contains(&r.policy))
            {
                return Err(format!(
                    "quota rule {} belongs to quota policy {} of {}, which does not exist",
                    r.uuid, r.policy, r.svm
                ));
            }
            let q = if r.quota_type == QuotaType::Tree {
                &r.target
            } else {
                &r.qtree
            };
            if !q.is_empty()
                && !self
                    .qtrees
                    .contains_key(&(r.svm.clone(), r.volume.clone(), q.clone()))
            {
                return Err(format!(
                    "quota rule {} names qtree {q} of {}, which does not exist",
                    r.uuid, r.volume
                ));
            }
        }
        Ok(())
    }
}

pub fn rule_key_of(r: &QuotaRule) -> RuleKey {
    (
        r.svm.clone(),
        r.policy.clone(),
        r.volume.clone(),
        r.quota_type,
        r.target.clone(),
        r.qtree.clone(),
    )
}

fn rule_id(r: &QuotaRule) -> RuleId {
    RuleId {
        volume: r.volume.clone(),
        quota_type: r.quota_type,
        target: r.target.clone(),
        qtree: r.qtree.clone(),
        policy: Some(r.policy.clone()),
    }
}

/// Soft limits and the threshold may not exceed the hard limit.
fn check_limits(l: &Limits) -> Result<(), ModelError> {
    let over =
        |soft: Option<u64>, hard: Option<u64>| matches!((soft, hard), (Some(s), Some(h)) if s > h);
    if over(l.soft_disk, l.disk) || over(l.threshold, l.disk) {
        return Err(ModelError::InvalidInput(
            "The soft disk limit and the threshold cannot be more than the disk limit".into(),
        ));
    }
    if over(l.soft_files, l.files) {
        return Err(ModelError::InvalidInput(
            "The soft file limit cannot be more than the file limit".into(),
        ));
    }
    // 1 PiB in KiB: the largest limit ONTAP takes.
    const MAX_KB: u64 = 1 << 40;
    if [l.disk, l.soft_disk, l.threshold]
        .into_iter()
        .flatten()
        .any(|k| k > MAX_KB)
    {
        return Err(ModelError::InvalidInput(format!(
            "A disk limit cannot be more than {MAX_KB} KB"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::records::{Record, RecordKey};

    fn cluster() -> Cluster {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/deploy/topologies/empty-cluster.toml"
        ))
        .unwrap();
        let t = crate::config::Topology::parse(&text, "empty-cluster.toml").unwrap();
        let l = crate::model::Listeners {
            management: "127.0.0.1:8443".parse().unwrap(),
            nfs: "127.0.0.1:2049".parse().unwrap(),
        };
        let mut c = Cluster::from_topology(&t, &l);
        c.create_svm(crate::model::SvmSpec {
            name: "s1".into(),
            aggregates: vec!["aggr2".into()],
            ..Default::default()
        })
        .unwrap();
        c.commit();
        c
    }

    /// Volume `v` (1 GiB) in `s1`.
    fn volume_v(c: &mut Cluster) {
        c.create_volume(
            "s1",
            crate::model::VolumeSpec {
                name: "v".into(),
                aggregate: "aggr2".into(),
                size: 1 << 30,
                ..Default::default()
            },
        )
        .unwrap();
    }

    #[test]
    fn an_svm_starts_with_default_assigned_and_policies_keep_their_invariants() {
        let mut c = cluster();
        assert_eq!(c.quota_policies("s1").unwrap(), ["default"]);
        assert_eq!(c.assigned_quota_policy("s1"), "default");
        c.create_quota_policy("s1", "p1").unwrap();
        c.assign_quota_policy("s1", "p1").unwrap();
        c.check_invariants().unwrap();
        assert!(matches!(
            c.delete_quota_policy("s1", "p1"),
            Err(ModelError::Busy(_))
        ));
        c.rename_quota_policy("s1", "p1", "p2").unwrap();
        assert_eq!(c.assigned_quota_policy("s1"), "p2");
        // A volume whose quotas were turned on before policies were saved enforces `default`
        // (its saved state names none): renaming `default` keeps them in force.
        volume_v(&mut c);
        c.volumes
            .get_mut(&("s1".to_string(), "v".to_string()))
            .unwrap()
            .quota
            .status = QuotaStatus::On;
        c.rename_quota_policy("s1", "default", "old").unwrap();
        assert_eq!(c.volume("s1", "v").unwrap().quota.policy_in_force(), "old");
        assert_eq!(c.quota_policies("s1").unwrap(), ["old", "p2"]);
        c.commit();
        c.check_invariants().unwrap();
    }

    #[test]
    fn owner_quotas_pick_the_named_rule_else_the_default_in_each_scope() {
        let mut c = cluster();
        volume_v(&mut c);
        c.create_qtree("s1", "v", "q", Default::default()).unwrap();
        c.create_unix_user(
            "s1",
            crate::model::unix_name::UnixUser {
                name: "alice".into(),
                id: 1001,
                primary_gid: 100,
                full_name: String::new(),
            },
        )
        .unwrap();
        let rule = |t, target: &str, qtree: &str, disk| {
            let id = RuleId {
                volume: "v".into(),
                quota_type: t,
                target: target.into(),
                qtree: qtree.into(),
                policy: None,
            };
            (
                id,
                Limits {
                    disk,
                    ..Default::default()
                },
            )
        };
        for (id, limits) in [
            rule(QuotaType::User, "alice,1002", "", Some(64)),
            rule(QuotaType::User, "", "", Some(8)),
            rule(QuotaType::User, "", "q", Some(16)),
            rule(QuotaType::Group, "100", "q", Some(32)),
            // No hard limit: nothing to enforce.
            rule(QuotaType::Group, "", "", None),
        ] {
            c.set_quota_rule("s1", &id, limits, false, false).unwrap();
        }
        assert!(
            c.owner_quotas("s1", "v", "q", 1001, 100).is_empty(),
            "not in force before quota-on"
        );
        let job = c.quota_on("s1", "v").unwrap();
        c.finish_quota_job(job);
        let oq = |quota_type, tree: &str, target: &str, ids: &[u32], disk| OwnerQuota {
            quota_type,
            tree: tree.into(),
            target: target.into(),
            ids: ids.to_vec(),
            limits: Limits {
                disk: Some(disk),
                ..Default::default()
            },
        };
        let user = QuotaType::User;
        // Alice by name, counted with 1002, in the volume; the default user rule in q; her
        // group in q.
        assert_eq!(
            c.owner_quotas("s1", "v", "q", 1001, 100),
            [
                oq(user, "", "alice,1002", &[1001, 1002], 64),
                oq(user, "q", "1001", &[1001], 16),
                oq(QuotaType::Group, "q", "100", &[100], 32),
            ]
        );
        // Anyone else outside q: the volume's default user rule only.
        assert_eq!(
            c.owner_quotas("s1", "v", "", 7, 7),
            [oq(user, "", "7", &[7], 8)]
        );
        c.quota_off("s1", "v")
            .map(|j| c.finish_quota_job(j))
            .unwrap();
        assert!(
            c.owner_quotas("s1", "v", "q", 1001, 100).is_empty(),
            "quotas off"
        );
    }

    #[test]
    fn state_saved_before_quota_policies_loads_into_default() {
        let c = cluster();
        // An SVM record without its quota policies.
        let mut svm = serde_json::to_value(c.svm("s1").unwrap()).unwrap();
        svm.as_object_mut().unwrap().remove("quota");
        let svm: crate::model::Svm = serde_json::from_value(svm).unwrap();
        assert_eq!(svm.quota, SvmQuota::default());
        // A rule without a policy belongs to `default`.
        let rule: QuotaRule = serde_json::from_value(serde_json::json!({
            "svm": "s1", "volume": "v", "quota_type": "tree", "target": "", "qtree": "",
            "uuid": "00000000-0000-0000-0000-000000000001", "limits": {"disk": 5, "soft_disk": null,
            "files": null, "soft_files": null, "threshold": null}, "user_mapping": false,
            "active": null
        }))
        .unwrap();
        assert_eq!(rule.policy, DEFAULT_POLICY);
        // A journal's delete of a rule, written before policies, names the `default` rule.
        let old: RecordKey = serde_json::from_value(serde_json::json!({
            "kind": "quota_rule", "key": ["s1", "v", "tree", "", ""]
        }))
        .unwrap();
        let record = Record::QuotaRule(Box::new(rule));
        assert_eq!(old.clone().normalized(), record.key());
        assert_eq!(old.key_ref(), record.key_ref());
    }
}
