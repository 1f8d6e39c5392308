//! FlexVol volumes: their attributes, space accounting and lifecycle (create, resize, modify, mount,
//! state changes, rename, clone, split, destroy into the recovery queue).
//!
//! Space rule: an aggregate's `used` is the sum of its volumes' footprints. A volume with
//! `space-guarantee` `volume` reserves its whole size; with `none` it uses what is written (minus
//! what a clone still shares with its parent). Every operation here keeps that sum exact.

use super::{Cluster, ModelError, Qtree, Refusal};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// Volume names: a letter or '_' first, then letters, digits and '_', at most 203 characters.
pub const MAX_NAME: usize = 203;
/// ONTAP's smallest FlexVol.
pub const MIN_SIZE: u64 = 20 << 20;
/// ONTAP's largest FlexVol (without large-volume support).
pub const MAX_SIZE: u64 = 100 << 40;
/// Bytes per inode ONTAP uses to size a new volume's inode file.
const BYTES_PER_INODE: u64 = 32 << 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VolumeState {
    Online,
    Offline,
    Restricted,
}

impl VolumeState {
    pub fn as_str(&self) -> &'static str {
        match self {
            VolumeState::Online => "online",
            VolumeState::Offline => "offline",
            VolumeState::Restricted => "restricted",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Guarantee {
    Volume,
    None,
}

impl Guarantee {
    pub fn as_str(&self) -> &'static str {
        match self {
            Guarantee::Volume => "volume",
            Guarantee::None => "none",
        }
    }

    pub fn parse(s: &str) -> Result<Guarantee, ModelError> {
        match s {
            "volume" => Ok(Guarantee::Volume),
            "none" => Ok(Guarantee::None),
            other => Err(ModelError::InvalidInput(format!(
                "Invalid value specified for \"space-guarantee\": \"{other}\" (volume or none)"
            ))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloneParent {
    pub volume: String,
    pub snapshot: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    pub name: String,
    pub uuid: Uuid,
    /// Unix seconds; what `access-time` and `create-time` report.
    pub create_time: u64,
    pub comment: String,
    pub snapmirror_label: String,
    /// Creation order within the volume (several snapshots can share a second).
    pub seq: u64,
    /// The volume's used bytes when the snapshot was taken (what a restore returns to).
    pub data_at_create: u64,
    /// Bytes held only by this snapshot.
    pub size: u64,
    /// The volume's qtrees when the snapshot was taken (their directories are in its data): what
    /// a restore brings back and what a clone of it has.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub qtrees: Vec<Qtree>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Volume {
    pub name: String,
    pub uuid: Uuid,
    pub svm: String,
    pub aggregate: String,
    /// `rw` or `dp`.
    pub vtype: String,
    /// `flexvol` or `flexgroup` (a FlexGroup is modelled as one constituent on its first aggregate).
    pub style: String,
    pub state: VolumeState,
    pub junction_path: Option<String>,
    pub comment: String,
    pub size: u64,
    pub snapshot_reserve_percent: u64,
    pub guarantee: Guarantee,
    /// Bytes written to the active file system.
    pub data_used: u64,
    /// Bytes a clone still shares with its parent snapshot (not charged to the aggregate).
    pub shared: u64,
    pub export_policy: String,
    pub security_style: String,
    /// Mode bits, e.g. 0o755.
    pub unix_permissions: u32,
    pub user_id: u32,
    pub group_id: u32,
    pub snapshot_policy: String,
    pub snapdir_access: bool,
    pub autosize_mode: String,
    pub tiering_policy: String,
    pub encrypt: bool,
    pub qos_policy_group: Option<String>,
    pub qos_adaptive_policy_group: Option<String>,
    pub files_total: u64,
    pub files_used: u64,
    pub clone_parent: Option<CloneParent>,
    pub creation_time: u64,
    pub language: String,
    pub is_svm_root: bool,
    /// NVFAIL: fence the volume after an NVRAM failure.
    #[serde(default)]
    pub nvfail: bool,
    /// `none`, `thick` or `semi-thick`.
    #[serde(default = "default_space_slo")]
    pub space_slo: String,
    /// `protected` or `unprotected` in SVM DR.
    #[serde(default = "default_dr_protection")]
    pub dr_protection: String,
    /// Data set id, unique in the cluster; names recovery-queue entries.
    pub dsid: u64,
    pub snapshots: BTreeMap<String, Snapshot>,
    /// Quotas on this volume (off unless turned on; see `model::quota`).
    #[serde(default, skip_serializing_if = "super::QuotaState::is_off")]
    pub quota: super::QuotaState,
}

impl Volume {
    pub fn snapshot_reserve(&self) -> u64 {
        ((self.size as u128 * self.snapshot_reserve_percent as u128) / 100) as u64
    }

    /// The size clients see: the volume less its snapshot reserve.
    pub fn size_total(&self) -> u64 {
        self.size - self.snapshot_reserve()
    }

    pub fn size_used_by_snapshots(&self) -> u64 {
        self.snapshots.values().map(|s| s.size).sum()
    }

    /// Snapshot data beyond the reserve spills into the active file system's space.
    fn snapshot_spill(&self) -> u64 {
        self.size_used_by_snapshots()
            .saturating_sub(self.snapshot_reserve())
    }

    pub fn size_used(&self) -> u64 {
        self.data_used + self.snapshot_spill()
    }

    pub fn size_available(&self) -> u64 {
        self.size_total().saturating_sub(self.size_used())
    }

    pub fn percent_used(&self) -> u64 {
        match self.size_total() {
            0 => 0,
            t => ((self.size_used() as u128 * 100) / t as u128) as u64,
        }
    }

    /// What the volume takes from its aggregate.
    pub fn footprint(&self) -> u64 {
        match self.guarantee {
            Guarantee::Volume => self.size,
            Guarantee::None => {
                (self.data_used + self.size_used_by_snapshots()).saturating_sub(self.shared)
            }
        }
    }

    pub fn is_clone(&self) -> bool {
        self.clone_parent.is_some()
    }
}

/// What `volume-create` asks for; unset fields take ONTAP's defaults.
#[derive(Debug, Clone, Default)]
pub struct VolumeSpec {
    pub name: String,
    pub aggregate: String,
    pub size: u64,
    pub vtype: Option<String>,
    pub style: Option<String>,
    pub state: Option<VolumeState>,
    pub junction_path: Option<String>,
    pub comment: Option<String>,
    pub snapshot_reserve_percent: Option<u64>,
    pub guarantee: Option<Guarantee>,
    pub export_policy: Option<String>,
    pub security_style: Option<String>,
    pub unix_permissions: Option<u32>,
    pub user_id: Option<u32>,
    pub group_id: Option<u32>,
    pub snapshot_policy: Option<String>,
    pub tiering_policy: Option<String>,
    pub encrypt: Option<bool>,
    pub qos_policy_group: Option<String>,
    pub qos_adaptive_policy_group: Option<String>,
    pub language: Option<String>,
    pub nvfail: Option<bool>,
    pub space_slo: Option<String>,
    pub dr_protection: Option<String>,
}

/// The attributes `volume-modify-iter` may change; None leaves one as it is.
#[derive(Debug, Clone, Default)]
pub struct VolumeChange {
    pub comment: Option<String>,
    pub export_policy: Option<String>,
    pub security_style: Option<String>,
    pub unix_permissions: Option<u32>,
    pub user_id: Option<u32>,
    pub group_id: Option<u32>,
    pub snapshot_policy: Option<String>,
    pub snapdir_access: Option<bool>,
    pub snapshot_reserve_percent: Option<u64>,
    pub guarantee: Option<Guarantee>,
    pub autosize_mode: Option<String>,
    pub tiering_policy: Option<String>,
    pub qos_policy_group: Option<String>,
    pub qos_adaptive_policy_group: Option<String>,
    pub files_total: Option<u64>,
    pub size: Option<u64>,
}

/// A destroyed volume kept for `volume-delete-retention-hours`, as ONTAP 9.8+ does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoveryEntry {
    /// `<volume>_<dsid>`.
    pub name: String,
    pub svm: String,
    pub volume: String,
    /// The destroyed volume's identity (its data directory is named after it).
    pub uuid: Uuid,
    pub size: u64,
    pub deleted_at: u64,
    /// The space it still holds on its aggregate until it is purged or expires.
    pub aggregate: String,
    pub footprint: u64,
}

/// How long a destroyed volume waits in the recovery queue (`volume-delete-retention-hours`).
pub const RETENTION_SECS: u64 = 12 * 3600;

fn default_space_slo() -> String {
    "none".into()
}

fn default_dr_protection() -> String {
    "protected".into()
}

pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub fn check_volume_name(name: &str) -> Result<(), ModelError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ModelError::InvalidInput(format!(
            "Invalid volume name \"{}\": it must start with a letter or '_', hold only letters, digits and '_', and be at most {MAX_NAME} characters",
            super::text::shown(name)
        )))
    }
}

fn check_size(size: u64) -> Result<(), ModelError> {
    if size < MIN_SIZE {
        return Err(ModelError::refused(
            Refusal::SizeTooSmall,
            format!(
                "Invalid volume size {size} bytes: the minimum FlexVol size is 20MB ({MIN_SIZE} bytes)"
            ),
        ));
    }
    if size > MAX_SIZE {
        return Err(ModelError::InvalidInput(format!(
            "Invalid volume size {size} bytes: the maximum FlexVol size is 100TB ({MAX_SIZE} bytes)"
        )));
    }
    Ok(())
}

fn check_reserve(pct: u64) -> Result<(), ModelError> {
    if pct > 90 {
        return Err(ModelError::InvalidInput(format!(
            "Invalid value specified for \"percentage-snapshot-reserve\": {pct} (0 to 90)"
        )));
    }
    Ok(())
}

pub fn check_security_style(s: &str) -> Result<(), ModelError> {
    if ["unix", "ntfs", "mixed", "unified"].contains(&s) {
        Ok(())
    } else {
        Err(ModelError::InvalidInput(format!(
            "Invalid security style \"{s}\" (unix, ntfs, mixed)"
        )))
    }
}

fn check_tiering(s: &str) -> Result<(), ModelError> {
    if ["none", "snapshot-only", "auto", "all", "backup"].contains(&s) {
        Ok(())
    } else {
        Err(ModelError::InvalidInput(format!(
            "Invalid tiering policy \"{s}\" (none, snapshot-only, auto, all)"
        )))
    }
}

fn check_autosize(s: &str) -> Result<(), ModelError> {
    if ["off", "grow", "grow_shrink"].contains(&s) {
        Ok(())
    } else {
        Err(ModelError::InvalidInput(format!(
            "Invalid autosize mode \"{s}\" (off, grow, grow_shrink)"
        )))
    }
}

/// Parse ONTAP's unix permission forms: octal (`755`, `0755`) or symbolic (`rwxr-xr-x`,
/// `---rwxrwxrwx` with the three special bits first).
pub fn parse_permissions(s: &str) -> Result<u32, ModelError> {
    let bad = || {
        ModelError::InvalidInput(format!(
            "Invalid unix permissions \"{s}\": use octal (0755) or symbolic (---rwxr-xr-x)"
        ))
    };
    let t = s.trim();
    if !t.is_empty() && t.len() <= 4 && t.chars().all(|c| ('0'..='7').contains(&c)) {
        return u32::from_str_radix(t, 8).map_err(|_| bad());
    }
    let bits = match t.len() {
        9 => format!("---{t}"),
        12 => t.to_string(),
        _ => return Err(bad()),
    };
    let mut mode = 0u32;
    for (i, c) in bits.chars().enumerate() {
        let on = match (i, c) {
            (_, '-') => false,
            (0, 's') | (1, 's') | (2, 't') => true,
            (i, 'r') if i >= 3 && (i - 3) % 3 == 0 => true,
            (i, 'w') if i >= 3 && (i - 3) % 3 == 1 => true,
            (i, 'x') if i >= 3 && (i - 3) % 3 == 2 => true,
            _ => return Err(bad()),
        };
        if on {
            mode |= 1 << (11 - i);
        }
    }
    Ok(mode)
}

fn check_comment(c: &str) -> Result<(), ModelError> {
    super::text::check_field("comment", c)?;
    if c.chars().count() > 1023 {
        return Err(ModelError::InvalidInput(
            "Invalid volume comment: at most 1023 characters".into(),
        ));
    }
    Ok(())
}

pub fn check_junction_path(path: &str) -> Result<(), ModelError> {
    super::text::check_name("junction-path", path)?;
    let ok = path.starts_with('/')
        && (path == "/" || !path.ends_with('/'))
        && !path.contains("//")
        && path.len() <= 1024
        && !path.split('/').any(|c| c == "." || c == "..");
    if ok {
        Ok(())
    } else {
        Err(ModelError::InvalidInput(format!(
            "Invalid junction path \"{}\": it must be an absolute path such as \"/vol1\"",
            super::text::shown(path)
        )))
    }
}

pub(super) fn not_found(svm: &str, name: &str) -> ModelError {
    ModelError::NotFound {
        kind: "Volume",
        name: format!("{name}\" in Vserver \"{svm}"),
    }
}

impl Cluster {
    pub fn volume(&self, svm: &str, name: &str) -> Result<&Volume, ModelError> {
        self.volumes
            .get(&(svm.to_string(), name.to_string()))
            .ok_or_else(|| not_found(svm, name))
    }

    fn volume_mut(&mut self, svm: &str, name: &str) -> Result<&mut Volume, ModelError> {
        self.volumes
            .get_mut(&(svm.to_string(), name.to_string()))
            .ok_or_else(|| not_found(svm, name))
    }

    /// Apply `f` to a volume, keeping its aggregate's `used` exact and refusing any change that
    /// would push the aggregate past its size. Nothing changes when `f` or the space check fails.
    pub(crate) fn change_volume<T>(
        &mut self,
        svm: &str,
        name: &str,
        f: impl FnOnce(&mut Volume) -> Result<T, ModelError>,
    ) -> Result<T, ModelError> {
        let before = self.volume(svm, name)?.clone();
        let mut after = before.clone();
        let out = f(&mut after)?;
        let aggr = self.aggregate(&after.aggregate)?;
        let (old, new) = (before.footprint(), after.footprint());
        if new > old && new - old > aggr.available() {
            return Err(ModelError::NoSpace(format!(
                "Aggregate \"{}\" has {} bytes available; the change to volume \"{name}\" needs {} more",
                aggr.name,
                aggr.available(),
                new - old
            )));
        }
        let aggr_name = after.aggregate.clone();
        *self.volume_mut(svm, name)? = after;
        if let Some(a) = self.aggregates.get_mut(&aggr_name) {
            a.used = a.used - old + new;
        }
        Ok(out)
    }

    fn check_policy_exists(&self, svm: &str, policy: &str) -> Result<(), ModelError> {
        self.export_policy(svm, policy).map(|_| ())
    }

    fn check_junction_free(&self, svm: &str, path: &str) -> Result<(), ModelError> {
        check_junction_path(path)?;
        if let Some(v) = self.junctions.get(&(svm.to_string(), path.to_string())) {
            return Err(ModelError::Duplicate {
                kind: "Junction path",
                name: format!("{path}\" is already used by volume \"{v}"),
            });
        }
        if path != "/" {
            let parent = path.rsplit_once('/').map(|(p, _)| p).unwrap_or("");
            let parent = if parent.is_empty() { "/" } else { parent };
            // The parent must be a mounted volume's junction. (Directories inside volumes are
            // data, not model; mounting below one is not supported.)
            if !self
                .junctions
                .contains_key(&(svm.to_string(), parent.to_string()))
            {
                return Err(ModelError::InvalidInput(format!(
                    "Junction path \"{path}\" cannot be created: its parent \"{parent}\" is not in the namespace of Vserver \"{svm}\""
                )));
            }
        }
        Ok(())
    }

    /// A junction mounted below `path` in the SVM's namespace, if any: (its path, its volume).
    fn junction_below(&self, svm: &str, path: &str) -> Option<(String, String)> {
        let prefix = if path == "/" {
            "/".to_string()
        } else {
            format!("{path}/")
        };
        self.junctions
            .range((svm.to_string(), prefix.clone())..)
            .take_while(|((s, p), _)| s == svm && p.starts_with(&prefix))
            .find(|((_, p), _)| p != path)
            .map(|((_, p), v)| (p.clone(), v.clone()))
    }

    pub fn volumes_of<'a>(&'a self, svm: &'a str) -> impl Iterator<Item = &'a Volume> + 'a {
        self.volumes
            .range((svm.to_string(), String::new())..)
            .take_while(move |((s, _), _)| s == svm)
            .map(|(_, v)| v)
    }

    /// An SVM's volumes whose names start with `prefix`, in name order, from the name `from`
    /// on when given.
    pub fn volumes_with_prefix<'a>(
        &'a self,
        svm: &'a str,
        prefix: &'a str,
        from: Option<&str>,
    ) -> impl Iterator<Item = &'a Volume> + 'a {
        let start = from.filter(|f| *f > prefix).unwrap_or(prefix);
        self.volumes
            .range((svm.to_string(), start.to_string())..)
            .take_while(move |((s, n), _)| s == svm && n.starts_with(prefix))
            .map(|(_, v)| v)
    }

    fn next_dsid(&mut self) -> u64 {
        self.counters.next_dsid += 1;
        self.counters.next_dsid
    }

    /// `volume-create`.
    pub fn create_volume(&mut self, svm: &str, spec: VolumeSpec) -> Result<&Volume, ModelError> {
        self.expire_recovery_queue(now_secs());
        let s = self.svm(svm)?;
        check_volume_name(&spec.name)?;
        if self
            .volumes
            .contains_key(&(svm.to_string(), spec.name.clone()))
        {
            return Err(ModelError::Duplicate {
                kind: "Volume",
                name: format!("{}\" in Vserver \"{svm}", spec.name),
            });
        }
        let aggr = self.aggregate(&spec.aggregate)?;
        if !s.aggregates.contains(&spec.aggregate) {
            return Err(ModelError::Conflict(format!(
                "Aggregate \"{}\" is not in the list of aggregates assigned to Vserver \"{svm}\"",
                spec.aggregate
            )));
        }
        check_size(spec.size)?;
        if let Some(c) = &spec.comment {
            check_comment(c)?;
        }
        let reserve = spec.snapshot_reserve_percent.unwrap_or(5);
        check_reserve(reserve)?;
        let guarantee = spec.guarantee.unwrap_or(Guarantee::Volume);
        let vtype = spec.vtype.clone().unwrap_or_else(|| "rw".into());
        if !["rw", "dp"].contains(&vtype.as_str()) {
            return Err(ModelError::InvalidInput(format!(
                "Invalid volume type \"{vtype}\" (rw or dp)"
            )));
        }
        let export_policy = spec
            .export_policy
            .clone()
            .unwrap_or_else(|| "default".into());
        self.check_policy_exists(svm, &export_policy)?;
        if let Some(style) = spec
            .style
            .as_deref()
            .filter(|s| !["flexvol", "flexgroup"].contains(s))
        {
            return Err(ModelError::InvalidInput(format!(
                "Invalid volume style \"{style}\" (flexvol or flexgroup)"
            )));
        }
        let security_style = spec.security_style.clone().unwrap_or_else(|| "unix".into());
        check_security_style(&security_style)?;
        let tiering_policy = spec.tiering_policy.clone().unwrap_or_else(|| "none".into());
        check_tiering(&tiering_policy)?;
        let snapshot_policy = spec
            .snapshot_policy
            .clone()
            .unwrap_or_else(|| "default".into());
        self.check_snapshot_policy(&snapshot_policy)?;
        let space_slo = spec.space_slo.clone().unwrap_or_else(default_space_slo);
        if !["none", "thick", "semi-thick"].contains(&space_slo.as_str()) {
            return Err(ModelError::InvalidInput(format!(
                "Invalid value specified for \"space-slo\": \"{space_slo}\" (none, thick, semi-thick)"
            )));
        }
        let dr_protection = spec
            .dr_protection
            .clone()
            .unwrap_or_else(default_dr_protection);
        if !["protected", "unprotected"].contains(&dr_protection.as_str()) {
            return Err(ModelError::InvalidInput(format!(
                "Invalid value specified for \"vserver-dr-protection\": \"{dr_protection}\" (protected, unprotected)"
            )));
        }
        let state = spec.state.unwrap_or(VolumeState::Online);
        if let Some(j) = &spec.junction_path {
            if state != VolumeState::Online {
                return Err(ModelError::InvalidInput(
                    "A volume created offline or restricted cannot be given a junction path".into(),
                ));
            }
            if vtype == "dp" {
                return Err(ModelError::InvalidInput(
                    "A data-protection (dp) volume cannot be mounted until it is initialized"
                        .into(),
                ));
            }
            self.check_junction_free(svm, j)?;
        }
        if let Some(q) = &spec.qos_policy_group {
            self.check_qos_policy_group(q)?;
        }
        if spec.qos_policy_group.is_some() && spec.qos_adaptive_policy_group.is_some() {
            return Err(ModelError::InvalidInput(
                "qos-policy-group-name and qos-adaptive-policy-group-name cannot both be set"
                    .into(),
            ));
        }
        let footprint = if guarantee == Guarantee::Volume {
            spec.size
        } else {
            0
        };
        if footprint > aggr.available() {
            return Err(ModelError::NoSpace(format!(
                "Request to provision a volume of {} bytes with space-guarantee \"volume\" exceeds the {} bytes available on aggregate \"{}\"",
                spec.size,
                aggr.available(),
                aggr.name
            )));
        }
        let dsid = self.next_dsid();
        let uuid = self.uuid_for(&format!("volume/{svm}/{}/{dsid}", spec.name));
        let vol = Volume {
            name: spec.name.clone(),
            uuid,
            svm: svm.to_string(),
            aggregate: spec.aggregate.clone(),
            vtype,
            style: spec.style.clone().unwrap_or_else(|| "flexvol".into()),
            state,
            junction_path: spec.junction_path.clone(),
            comment: spec.comment.clone().unwrap_or_default(),
            size: spec.size,
            snapshot_reserve_percent: reserve,
            guarantee,
            data_used: 0,
            shared: 0,
            export_policy,
            security_style,
            unix_permissions: spec.unix_permissions.unwrap_or(0o755),
            user_id: spec.user_id.unwrap_or(0),
            group_id: spec.group_id.unwrap_or(0),
            snapshot_policy,
            snapdir_access: true,
            autosize_mode: "off".into(),
            tiering_policy,
            encrypt: spec.encrypt.unwrap_or(false),
            qos_policy_group: spec.qos_policy_group.clone(),
            qos_adaptive_policy_group: spec.qos_adaptive_policy_group.clone(),
            files_total: (spec.size / BYTES_PER_INODE).max(566),
            files_used: 96,
            clone_parent: None,
            creation_time: now_secs(),
            language: spec.language.clone().unwrap_or_else(|| "c.utf_8".into()),
            is_svm_root: false,
            nvfail: spec.nvfail.unwrap_or(false),
            space_slo: space_slo.clone(),
            dr_protection: dr_protection.clone(),
            dsid,
            snapshots: BTreeMap::new(),
            quota: Default::default(),
        };
        if let Some(a) = self.aggregates.get_mut(&spec.aggregate) {
            a.used += vol.footprint();
        }
        let key = (svm.to_string(), spec.name.clone());
        self.data_actions
            .push(super::DataAction::CreateVolume { volume: vol.uuid });
        if let Some(j) = &vol.junction_path {
            self.junctions
                .insert((svm.to_string(), j.clone()), vol.name.clone());
        }
        self.volumes.insert(key.clone(), vol);
        Ok(&self.volumes[&key])
    }

    /// `volume-size` with a new size: absolute bytes.
    pub fn resize_volume(
        &mut self,
        svm: &str,
        name: &str,
        new_size: u64,
    ) -> Result<u64, ModelError> {
        check_size(new_size)?;
        self.change_volume(svm, name, |v| {
            if v.state != VolumeState::Online {
                return Err(offline(v));
            }
            let total_after =
                new_size - (new_size as u128 * v.snapshot_reserve_percent as u128 / 100) as u64;
            if v.size_used() > total_after {
                return Err(ModelError::InvalidInput(format!(
                    "Cannot shrink volume \"{}\" to {new_size} bytes: {} bytes are in use",
                    v.name,
                    v.size_used()
                )));
            }
            v.size = new_size;
            Ok(new_size)
        })
    }

    /// `volume-modify-iter` for one volume.
    pub fn modify_volume(
        &mut self,
        svm: &str,
        name: &str,
        c: VolumeChange,
    ) -> Result<(), ModelError> {
        if let Some(p) = &c.export_policy {
            self.check_policy_exists(svm, p)?;
        }
        if let Some(p) = &c.snapshot_policy {
            self.check_snapshot_policy(p)?;
        }
        if let Some(q) = c
            .qos_policy_group
            .as_deref()
            .filter(|q| !q.is_empty() && *q != "none")
        {
            self.check_qos_policy_group(q)?;
        }
        if let Some(s) = &c.security_style {
            check_security_style(s)?;
        }
        if let Some(t) = &c.tiering_policy {
            check_tiering(t)?;
        }
        if let Some(a) = &c.autosize_mode {
            check_autosize(a)?;
        }
        if let Some(p) = c.snapshot_reserve_percent {
            check_reserve(p)?;
        }
        if let Some(s) = c.size {
            check_size(s)?;
        }
        self.change_volume(svm, name, |v| {
            if let Some(x) = c.comment {
                check_comment(&x)?;
                v.comment = x;
            }
            if let Some(x) = c.export_policy {
                v.export_policy = x;
            }
            if let Some(x) = c.security_style {
                v.security_style = x;
            }
            if let Some(x) = c.unix_permissions {
                v.unix_permissions = x;
            }
            if let Some(x) = c.user_id {
                v.user_id = x;
            }
            if let Some(x) = c.group_id {
                v.group_id = x;
            }
            if let Some(x) = c.snapshot_policy {
                v.snapshot_policy = x;
            }
            if let Some(x) = c.snapdir_access {
                v.snapdir_access = x;
            }
            if let Some(x) = c.snapshot_reserve_percent {
                v.snapshot_reserve_percent = x;
            }
            if let Some(x) = c.guarantee {
                v.guarantee = x;
            }
            if let Some(x) = c.autosize_mode {
                v.autosize_mode = x;
            }
            if let Some(x) = c.tiering_policy {
                v.tiering_policy = x;
            }
            if let Some(x) = c.qos_policy_group {
                v.qos_policy_group = Some(x).filter(|q| !q.is_empty() && q != "none");
                if v.qos_policy_group.is_some() {
                    v.qos_adaptive_policy_group = None;
                }
            }
            if let Some(x) = c.qos_adaptive_policy_group {
                v.qos_adaptive_policy_group = Some(x).filter(|q| !q.is_empty() && q != "none");
                if v.qos_adaptive_policy_group.is_some() {
                    v.qos_policy_group = None;
                }
            }
            if let Some(x) = c.files_total {
                if x < v.files_used {
                    return Err(ModelError::InvalidInput(format!(
                        "Cannot set files-total to {x}: {} files are in use",
                        v.files_used
                    )));
                }
                v.files_total = x;
            }
            if let Some(x) = c.size {
                v.size = x;
            }
            if v.size_used() > v.size_total() {
                return Err(ModelError::InvalidInput(format!(
                    "Volume \"{}\" would hold more data ({} bytes) than its size allows ({} bytes)",
                    v.name,
                    v.size_used(),
                    v.size_total()
                )));
            }
            Ok(())
        })
    }

    /// `volume-mount`.
    pub fn mount_volume(&mut self, svm: &str, name: &str, path: &str) -> Result<(), ModelError> {
        let v = self.volume(svm, name)?;
        if v.state != VolumeState::Online {
            return Err(offline(v));
        }
        if v.vtype == "dp" {
            return Err(ModelError::Conflict(format!(
                "Volume \"{name}\" is a data-protection volume and cannot be mounted until it is initialized"
            )));
        }
        if let Some(j) = &v.junction_path {
            if j == path {
                return Ok(());
            }
            return Err(ModelError::InvalidInput(format!(
                "Volume \"{name}\" is already mounted at \"{j}\"; unmount it first"
            )));
        }
        self.check_junction_free(svm, path)?;
        self.volume_mut(svm, name)?.junction_path = Some(path.to_string());
        self.junctions
            .insert((svm.to_string(), path.to_string()), name.to_string());
        Ok(())
    }

    /// `volume-unmount`.
    pub fn unmount_volume(&mut self, svm: &str, name: &str) -> Result<(), ModelError> {
        let v = self.volume(svm, name)?;
        let Some(j) = v.junction_path.clone() else {
            return Err(ModelError::NotMounted(format!(
                "Volume \"{name}\" in Vserver \"{svm}\" is not mounted"
            )));
        };
        if v.is_svm_root {
            return Err(ModelError::InvalidInput(format!(
                "Volume \"{name}\" is the root volume of Vserver \"{svm}\" and cannot be unmounted"
            )));
        }
        if let Some((path, child)) = self.junction_below(svm, &j) {
            return Err(ModelError::Busy(format!(
                "Volume \"{name}\" cannot be unmounted: volume \"{child}\" is mounted beneath it at \"{path}\""
            )));
        }
        self.volume_mut(svm, name)?.junction_path = None;
        self.junctions.remove(&(svm.to_string(), j));
        Ok(())
    }

    /// `volume-offline` / `volume-restrict` / `volume-online`. Taking a volume out of service
    /// unmounts it, as ONTAP does.
    pub fn set_volume_state(
        &mut self,
        svm: &str,
        name: &str,
        state: VolumeState,
    ) -> Result<(), ModelError> {
        let v = self.volume(svm, name)?;
        if v.state == state {
            return match state {
                VolumeState::Offline => Err(offline(v)),
                _ => Ok(()),
            };
        }
        if v.is_svm_root && state != VolumeState::Online {
            return Err(ModelError::InvalidInput(format!(
                "Volume \"{name}\" is the root volume of Vserver \"{svm}\" and must stay online"
            )));
        }
        if state != VolumeState::Online && v.junction_path.is_some() {
            self.unmount_volume(svm, name)?;
        }
        self.volume_mut(svm, name)?.state = state;
        Ok(())
    }

    /// `volume-rename`.
    pub fn rename_volume(
        &mut self,
        svm: &str,
        name: &str,
        new_name: &str,
    ) -> Result<(), ModelError> {
        check_volume_name(new_name)?;
        self.volume(svm, name)?;
        if name == new_name {
            return Ok(());
        }
        if self
            .volumes
            .contains_key(&(svm.to_string(), new_name.to_string()))
        {
            return Err(ModelError::Duplicate {
                kind: "Volume",
                name: format!("{new_name}\" in Vserver \"{svm}"),
            });
        }
        let mut v = self
            .volumes
            .remove(&(svm.to_string(), name.to_string()))
            .ok_or_else(|| not_found(svm, name))?;
        v.name = new_name.to_string();
        if let Some(j) = &v.junction_path {
            self.junctions
                .insert((svm.to_string(), j.clone()), new_name.to_string());
        }
        self.volumes
            .insert((svm.to_string(), new_name.to_string()), v);
        self.volumes.update_where(
            |o| o.svm == svm && o.clone_parent.as_ref().is_some_and(|p| p.volume == name),
            |o| {
                if let Some(p) = &mut o.clone_parent {
                    p.volume = new_name.to_string();
                }
            },
        );
        // Qtrees are keyed by their volume's name: move them to the new key.
        let moved: Vec<Qtree> = self
            .qtrees
            .values()
            .filter(|q| q.svm == svm && q.volume == name)
            .cloned()
            .collect();
        for mut q in moved {
            self.qtrees
                .remove(&(q.svm.clone(), q.volume.clone(), q.name.clone()));
            q.volume = new_name.to_string();
            self.qtrees
                .insert((q.svm.clone(), q.volume.clone(), q.name.clone()), q);
        }
        self.rename_quota_volume(svm, name, new_name);
        Ok(())
    }

    /// The clones that depend on `volume`'s snapshot `snapshot` (or on any of its snapshots).
    pub fn clones_of<'a>(
        &'a self,
        svm: &'a str,
        volume: &'a str,
        snapshot: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Volume> + 'a {
        self.clone_keys(svm, volume, snapshot)
            .filter_map(|k| self.volumes.get(k))
    }

    /// `volume-destroy`: the volume must be offline unless `unmount_and_offline`; a volume with
    /// clones cannot go. The volume moves to the recovery queue and gives back its space.
    pub fn destroy_volume(
        &mut self,
        svm: &str,
        name: &str,
        unmount_and_offline: bool,
    ) -> Result<(), ModelError> {
        let v = self.volume(svm, name)?;
        if v.is_svm_root {
            return Err(ModelError::InvalidInput(format!(
                "Volume \"{name}\" is the root volume of Vserver \"{svm}\" and cannot be deleted while the Vserver exists"
            )));
        }
        if let Some(c) = self.clones_of(svm, name, None).next() {
            return Err(ModelError::refused(
                Refusal::VolumeHasClones,
                format!(
                    "Volume \"{name}\" in Vserver \"{svm}\" has FlexClone volume \"{}\" that depends on it; delete or split the clone first",
                    c.name
                ),
            ));
        }
        if v.state == VolumeState::Online && !unmount_and_offline {
            return Err(ModelError::Conflict(format!(
                "Volume \"{name}\" in Vserver \"{svm}\" must be offline to be deleted (or set unmount-and-offline)"
            )));
        }
        if let Some(j) = v.junction_path.clone() {
            if let Some((_, child)) = self.junction_below(svm, &j) {
                return Err(ModelError::Busy(format!(
                    "Volume \"{name}\" cannot be deleted: volume \"{child}\" is mounted beneath it"
                )));
            }
            self.junctions.remove(&(svm.to_string(), j));
        }
        let v = self
            .volumes
            .remove(&(svm.to_string(), name.to_string()))
            .ok_or_else(|| not_found(svm, name))?;
        // The space stays taken while the volume waits in the recovery queue. Its qtrees go.
        let qtrees: Vec<_> = self
            .qtrees
            .range((svm.to_string(), name.to_string(), String::new())..)
            .take_while(|((s, vol, _), _)| s == svm && vol == name)
            .map(|(k, _)| k.clone())
            .collect();
        for k in qtrees {
            self.qtrees.remove(&k);
        }
        self.drop_quota_volume(svm, name);
        let entry = RecoveryEntry {
            name: format!("{}_{}", v.name, v.dsid),
            svm: svm.to_string(),
            volume: v.name.clone(),
            uuid: v.uuid,
            size: v.size,
            deleted_at: now_secs(),
            aggregate: v.aggregate.clone(),
            footprint: v.footprint(),
        };
        self.recovery_queue
            .insert((svm.to_string(), entry.name.clone()), entry);
        Ok(())
    }

    /// `volume-clone-create`: a writable clone of `parent` at `snapshot` (created now when None).
    pub fn clone_volume(
        &mut self,
        svm: &str,
        parent: &str,
        snapshot: Option<&str>,
        clone: &str,
        junction_path: Option<&str>,
        guarantee: Option<Guarantee>,
    ) -> Result<(), ModelError> {
        check_volume_name(clone)?;
        let p = self.volume(svm, parent)?;
        if p.state != VolumeState::Online {
            return Err(offline(p));
        }
        if self
            .volumes
            .contains_key(&(svm.to_string(), clone.to_string()))
        {
            return Err(ModelError::Duplicate {
                kind: "Volume",
                name: format!("{clone}\" in Vserver \"{svm}"),
            });
        }
        if let Some(s) = snapshot {
            if !p.snapshots.contains_key(s) {
                return Err(ModelError::NotFound {
                    kind: "Snapshot",
                    name: format!("{s}\" in volume \"{parent}"),
                });
            }
        }
        if let Some(j) = junction_path {
            self.check_junction_free(svm, j)?;
        }
        let guarantee = guarantee.unwrap_or(p.guarantee);
        let base_snapshot = match snapshot {
            Some(s) => s.to_string(),
            None => {
                // ONTAP names the implicit snapshot after the clone and the time.
                let name = format!("clone_{clone}.{}", now_secs());
                self.create_snapshot(svm, parent, &name, "", "")?;
                name
            }
        };
        let p = self.volume(svm, parent)?.clone();
        let data = p.snapshots[&base_snapshot].data_at_create;
        let snapshot_qtrees = p.snapshots[&base_snapshot].qtrees.clone();
        let footprint = if guarantee == Guarantee::Volume {
            p.size
        } else {
            0
        };
        let available = self.aggregate(&p.aggregate)?.available();
        if footprint > available {
            if snapshot.is_none() {
                self.delete_snapshot(svm, parent, &base_snapshot)?;
            }
            return Err(ModelError::NoSpace(format!(
                "Aggregate \"{}\" has {available} bytes available; clone \"{clone}\" with space-guarantee \"volume\" needs {}",
                p.aggregate, p.size
            )));
        }
        let dsid = self.next_dsid();
        let v = Volume {
            name: clone.to_string(),
            uuid: self.uuid_for(&format!("volume/{svm}/{clone}/{dsid}")),
            junction_path: junction_path.map(str::to_string),
            guarantee,
            data_used: data,
            shared: data,
            clone_parent: Some(CloneParent {
                volume: parent.to_string(),
                snapshot: base_snapshot,
            }),
            creation_time: now_secs(),
            dsid,
            is_svm_root: false,
            snapshots: BTreeMap::new(),
            quota: Default::default(),
            ..p
        };
        if let Some(a) = self.aggregates.get_mut(&v.aggregate) {
            a.used += v.footprint();
        }
        self.data_actions.push(super::DataAction::CloneVolume {
            parent: p.uuid,
            snapshot: p.snapshots[&v
                .clone_parent
                .as_ref()
                .map(|c| c.snapshot.clone())
                .unwrap_or_default()]
                .uuid,
            clone: v.uuid,
        });
        if let Some(j) = &v.junction_path {
            self.junctions
                .insert((svm.to_string(), j.clone()), clone.to_string());
        }
        self.volumes.insert((svm.to_string(), clone.to_string()), v);
        // The clone's data holds the parent snapshot's qtree directories: it has the qtrees the
        // parent had when the snapshot was taken (its quotas start off, with no rules, as a new
        // volume's).
        for mut q in snapshot_qtrees {
            q.volume = clone.to_string();
            self.qtrees
                .insert((svm.to_string(), clone.to_string(), q.name.clone()), q);
        }
        Ok(())
    }

    /// `volume-clone-split-start`: the clone takes its own copy of the shared data and no longer
    /// depends on the parent snapshot. The copy completes at once here.
    pub fn split_clone(&mut self, svm: &str, name: &str) -> Result<(), ModelError> {
        let v = self.volume(svm, name)?;
        if !v.is_clone() {
            return Err(ModelError::NotClone(format!(
                "Volume \"{name}\" in Vserver \"{svm}\" is not a FlexClone volume"
            )));
        }
        if v.state != VolumeState::Online {
            return Err(offline(v));
        }
        self.change_volume(svm, name, |v| {
            v.clone_parent = None;
            v.shared = 0;
            Ok(())
        })
    }

    /// `volume-recovery-queue-purge`.
    pub fn purge_recovery_queue(&mut self, svm: &str, name: &str) -> Result<(), ModelError> {
        let e = self
            .recovery_queue
            .remove(&(svm.to_string(), name.to_string()))
            .ok_or_else(|| ModelError::NotFound {
                kind: "Recovery queue entry",
                name: format!("{name}\" in Vserver \"{svm}"),
            })?;
        if let Some(a) = self.aggregates.get_mut(&e.aggregate) {
            a.used -= e.footprint;
        }
        self.data_actions
            .push(super::DataAction::RemoveVolume { volume: e.uuid });
        Ok(())
    }

    /// Drop recovery-queue entries past their retention time, giving their space back.
    pub fn expire_recovery_queue(&mut self, now: u64) {
        let expired: Vec<(String, String)> = self
            .recovery_queue
            .values()
            .filter(|e| e.deleted_at + RETENTION_SECS <= now)
            .map(|e| (e.svm.clone(), e.name.clone()))
            .collect();
        for (svm, name) in expired {
            let _ = self.purge_recovery_queue(&svm, &name);
        }
    }

    /// The SVM's root volume, made when the SVM is (it holds the namespace root "/").
    pub(crate) fn create_root_volume(&mut self, svm: &str, aggregate: &str, created: u64) {
        let name = format!("{svm}_root");
        let _ = self.create_root_volume_named(svm, &name, aggregate, created, false);
    }

    /// A root volume named `name`. One made at runtime (`runtime`) takes an identity no earlier
    /// volume had (a seeded one's is derived from its names, so it is the same on every run),
    /// and must fit on its aggregate.
    pub(crate) fn create_root_volume_named(
        &mut self,
        svm: &str,
        name: &str,
        aggregate: &str,
        created: u64,
        runtime: bool,
    ) -> Result<(), ModelError> {
        let dsid = self.next_dsid();
        let name = name.to_string();
        let uuid = if runtime {
            self.uuid_for(&format!("volume/{svm}/{name}/{dsid}"))
        } else {
            self.uuid_for(&format!("volume/{svm}/{name}"))
        };
        if self.volumes.contains_key(&(svm.to_string(), name.clone())) {
            return Err(ModelError::Duplicate {
                kind: "Volume",
                name,
            });
        }
        let v = Volume {
            name: name.clone(),
            uuid,
            svm: svm.to_string(),
            aggregate: aggregate.to_string(),
            vtype: "rw".into(),
            style: "flexvol".into(),
            state: VolumeState::Online,
            junction_path: Some("/".into()),
            comment: String::new(),
            size: 1 << 30,
            snapshot_reserve_percent: 5,
            guarantee: Guarantee::Volume,
            data_used: 0,
            shared: 0,
            export_policy: "default".into(),
            security_style: "unix".into(),
            unix_permissions: 0o755,
            user_id: 0,
            group_id: 1,
            snapshot_policy: "default".into(),
            snapdir_access: true,
            autosize_mode: "off".into(),
            tiering_policy: "none".into(),
            encrypt: false,
            qos_policy_group: None,
            qos_adaptive_policy_group: None,
            files_total: 31122,
            files_used: 101,
            clone_parent: None,
            creation_time: created,
            language: "c.utf_8".into(),
            is_svm_root: true,
            nvfail: false,
            space_slo: default_space_slo(),
            dr_protection: default_dr_protection(),
            dsid,
            snapshots: BTreeMap::new(),
            quota: Default::default(),
        };
        if let Some(a) = self.aggregates.get_mut(aggregate) {
            if runtime && a.available() < v.footprint() {
                return Err(ModelError::NoSpace(format!(
                    "Aggregate \"{aggregate}\" has too little free space for the root volume of Vserver \"{svm}\""
                )));
            }
            a.used += v.footprint();
        }
        self.data_actions
            .push(super::DataAction::CreateVolume { volume: v.uuid });
        self.junctions
            .insert((svm.to_string(), "/".to_string()), name.clone());
        self.volumes.insert((svm.to_string(), name), v);
        Ok(())
    }
}

pub(crate) fn offline(v: &Volume) -> ModelError {
    ModelError::Offline(format!(
        "Volume \"{}\" in Vserver \"{}\" is {}",
        v.name,
        v.svm,
        v.state.as_str()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions() {
        assert_eq!(parse_permissions("0755").unwrap(), 0o755);
        assert_eq!(parse_permissions("777").unwrap(), 0o777);
        assert_eq!(parse_permissions("---rwxrwxrwx").unwrap(), 0o777);
        assert_eq!(parse_permissions("rwxr-xr-x").unwrap(), 0o755);
        assert_eq!(parse_permissions("--trwxrwxrwx").unwrap(), 0o1777);
        assert!(parse_permissions("rwxrwxrw").is_err());
        assert!(parse_permissions("0999").is_err());
        assert!(parse_permissions("xwrxwrxwr").is_err());
    }

    #[test]
    fn names_and_paths() {
        assert!(check_volume_name("trident_pvc_1").is_ok());
        assert!(check_volume_name("1vol").is_err());
        assert!(check_volume_name("vol-1").is_err());
        assert!(check_volume_name(&"a".repeat(204)).is_err());
        assert!(check_junction_path("/vol1").is_ok());
        assert!(check_junction_path("vol1").is_err());
        assert!(check_junction_path("/vol1/").is_err());
        assert!(check_junction_path("/a/../b").is_err());
    }
}
