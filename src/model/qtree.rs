//! Qtrees: directories at a volume's root with their own security style, mode and export policy.

use super::volume::{check_security_style, offline, VolumeState};
use super::{Cluster, ModelError};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Qtree {
    pub name: String,
    pub svm: String,
    pub volume: String,
    pub id: u32,
    pub security_style: String,
    pub mode: u32,
    /// None: inherits the volume's policy.
    pub export_policy: Option<String>,
    pub oplocks: bool,
    /// The QoS policy group of the qtree (Trident's economy driver sets one when its backend
    /// has a QoS policy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qos_policy_group: Option<String>,
    /// Bytes and files under the qtree (its directory included), charged by NFS as the
    /// volume's are; measured again from the data after an unclean stop.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub data_used: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub files_used: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Default)]
pub struct QtreeChange {
    pub security_style: Option<String>,
    pub mode: Option<u32>,
    pub export_policy: Option<String>,
    pub oplocks: Option<bool>,
    /// Some(""): none.
    pub qos_policy_group: Option<String>,
}

pub fn check_qtree_name(name: &str) -> Result<(), ModelError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\', ',', '"', '*'])
        && !name.chars().any(char::is_control);
    if ok {
        Ok(())
    } else {
        Err(ModelError::InvalidInput(format!(
            "Invalid qtree name \"{name}\": at most 64 characters without '/', '\\', ',', '\"' or '*'"
        )))
    }
}

fn qtree_not_found(volume: &str, name: &str) -> ModelError {
    ModelError::NotFound {
        kind: "Qtree",
        name: format!("{name}\" in volume \"{volume}"),
    }
}

impl Cluster {
    pub fn qtrees_of<'a>(&'a self, svm: &'a str) -> impl Iterator<Item = &'a Qtree> + 'a {
        self.qtrees
            .range((svm.to_string(), String::new(), String::new())..)
            .take_while(move |((s, _, _), _)| s == svm)
            .map(|(_, q)| q)
    }

    /// `qtree-create`.
    pub fn create_qtree(
        &mut self,
        svm: &str,
        volume: &str,
        name: &str,
        change: QtreeChange,
    ) -> Result<(), ModelError> {
        check_qtree_name(name)?;
        let v = self.volume(svm, volume)?;
        if v.state != VolumeState::Online {
            return Err(offline(v));
        }
        let key = (svm.to_string(), volume.to_string(), name.to_string());
        if self.qtrees.contains_key(&key) {
            return Err(ModelError::Duplicate {
                kind: "Qtree",
                name: format!("{name}\" in volume \"{volume}"),
            });
        }
        let security_style = change
            .security_style
            .unwrap_or_else(|| v.security_style.clone());
        check_security_style(&security_style)?;
        if let Some(p) = &change.export_policy {
            self.export_policy(svm, p)?;
        }
        if let Some(g) = change.qos_policy_group.as_deref().filter(|g| !g.is_empty()) {
            self.check_qos_policy_group(g)?;
        }
        let id = self
            .qtrees
            .values()
            .filter(|q| q.svm == svm && q.volume == volume)
            .map(|q| q.id)
            .max()
            .unwrap_or(0)
            + 1;
        let mode = change.mode.unwrap_or(v.unix_permissions);
        let uuid = v.uuid;
        // The qtree's directory is one of the volume's files.
        self.charge_data(svm, volume, 0, 1)?;
        self.data_actions.push(super::DataAction::CreateQtree {
            volume: uuid,
            name: name.to_string(),
            mode,
        });
        self.qtrees.insert(
            key,
            Qtree {
                name: name.to_string(),
                svm: svm.to_string(),
                volume: volume.to_string(),
                id,
                security_style,
                mode,
                export_policy: change.export_policy,
                oplocks: change.oplocks.unwrap_or(true),
                qos_policy_group: change.qos_policy_group.filter(|g| !g.is_empty()),
                data_used: 0,
                files_used: 1,
            },
        );
        Ok(())
    }

    /// `qtree-delete`.
    /// Its data and its quota rules go with it.
    pub fn delete_qtree(&mut self, svm: &str, volume: &str, name: &str) -> Result<(), ModelError> {
        let uuid = self.volume(svm, volume)?.uuid;
        self.qtrees
            .remove(&(svm.to_string(), volume.to_string(), name.to_string()))
            .ok_or_else(|| qtree_not_found(volume, name))?;
        self.quota_qtree_changed(svm, volume, name, None);
        self.data_actions.push(super::DataAction::RemoveQtree {
            volume: uuid,
            svm: svm.to_string(),
            volume_name: volume.to_string(),
            name: name.to_string(),
        });
        Ok(())
    }

    /// `qtree-rename`.
    pub fn rename_qtree(
        &mut self,
        svm: &str,
        volume: &str,
        name: &str,
        new_name: &str,
    ) -> Result<(), ModelError> {
        check_qtree_name(new_name)?;
        let uuid = self.volume(svm, volume)?.uuid;
        let new_key = (svm.to_string(), volume.to_string(), new_name.to_string());
        if name != new_name && self.qtrees.contains_key(&new_key) {
            return Err(ModelError::Duplicate {
                kind: "Qtree",
                name: format!("{new_name}\" in volume \"{volume}"),
            });
        }
        let mut q = self
            .qtrees
            .remove(&(svm.to_string(), volume.to_string(), name.to_string()))
            .ok_or_else(|| qtree_not_found(volume, name))?;
        q.name = new_name.to_string();
        self.qtrees.insert(new_key, q);
        if name != new_name {
            self.quota_qtree_changed(svm, volume, name, Some(new_name));
            self.data_actions.push(super::DataAction::RenameQtree {
                volume: uuid,
                from: name.to_string(),
                to: new_name.to_string(),
            });
        }
        Ok(())
    }

    /// Bytes and files written or freed through NFS inside qtree `name`: a tree quota's hard
    /// limits in force refuse growth past them (`QuotaExceeded`); then the volume is charged.
    pub fn charge_tree(
        &mut self,
        svm: &str,
        volume: &str,
        name: &str,
        bytes: i64,
        files: i64,
    ) -> Result<(), ModelError> {
        let key = (svm.to_string(), volume.to_string(), name.to_string());
        let q = self
            .qtrees
            .get(&key)
            .ok_or_else(|| qtree_not_found(volume, name))?;
        let data = q.data_used.checked_add_signed(bytes).unwrap_or(0);
        let count = q.files_used.checked_add_signed(files).unwrap_or(0);
        if let Some(l) = self.tree_limits(svm, volume, name) {
            if let Some(kib) = l.disk.filter(|_| bytes > 0) {
                if data > kib.saturating_mul(1024) {
                    return Err(ModelError::QuotaExceeded(format!(
                        "Disk quota of qtree \"{name}\" in volume \"{volume}\" exceeded: {data} of {} bytes",
                        kib.saturating_mul(1024)
                    )));
                }
            }
            if let Some(max) = l.files.filter(|_| files > 0) {
                if count > max {
                    return Err(ModelError::QuotaExceeded(format!(
                        "File quota of qtree \"{name}\" in volume \"{volume}\" exceeded: {count} of {max} files"
                    )));
                }
            }
        }
        self.charge_data(svm, volume, bytes, files)?;
        if let Some(q) = self.qtrees.get_mut(&key) {
            q.data_used = data;
            q.files_used = count;
        }
        Ok(())
    }

    /// `qtree-modify`.
    pub fn modify_qtree(
        &mut self,
        svm: &str,
        volume: &str,
        name: &str,
        c: QtreeChange,
    ) -> Result<(), ModelError> {
        if let Some(s) = &c.security_style {
            check_security_style(s)?;
        }
        if let Some(p) = c.export_policy.as_deref().filter(|p| !p.is_empty()) {
            self.export_policy(svm, p)?;
        }
        if let Some(g) = c.qos_policy_group.as_deref().filter(|g| !g.is_empty()) {
            self.check_qos_policy_group(g)?;
        }
        let q = self
            .qtrees
            .get_mut(&(svm.to_string(), volume.to_string(), name.to_string()))
            .ok_or_else(|| qtree_not_found(volume, name))?;
        if let Some(s) = c.security_style {
            q.security_style = s;
        }
        if let Some(m) = c.mode {
            q.mode = m;
        }
        if let Some(p) = c.export_policy {
            q.export_policy = Some(p).filter(|p| !p.is_empty());
        }
        if let Some(o) = c.oplocks {
            q.oplocks = o;
        }
        if let Some(g) = c.qos_policy_group {
            q.qos_policy_group = Some(g).filter(|g| !g.is_empty());
        }
        Ok(())
    }
}
