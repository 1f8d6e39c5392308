//! Snapshots: point-in-time images of a volume. A snapshot a clone was made from is busy until the
//! clone is split or destroyed.

use super::volume::{now_secs, offline, Snapshot, VolumeState};
use super::{Cluster, DataAction, ModelError, Qtree, Refusal};

/// ONTAP's per-volume snapshot limit.
pub const MAX_SNAPSHOTS: usize = 1023;

pub fn check_snapshot_name(name: &str) -> Result<(), ModelError> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.:+".contains(c));
    if ok {
        Ok(())
    } else {
        Err(ModelError::InvalidInput(format!(
            "Invalid snapshot name \"{name}\": use at most 255 letters, digits, '_', '-', '.', ':' or '+'"
        )))
    }
}

fn snapshot_not_found(volume: &str, name: &str) -> ModelError {
    ModelError::NotFound {
        kind: "Snapshot",
        name: format!("{name}\" in volume \"{volume}"),
    }
}

impl Cluster {
    /// `snapshot-create`.
    pub fn create_snapshot(
        &mut self,
        svm: &str,
        volume: &str,
        name: &str,
        comment: &str,
        snapmirror_label: &str,
    ) -> Result<(), ModelError> {
        check_snapshot_name(name)?;
        let uuid = self.uuid_for(&format!(
            "snapshot/{svm}/{volume}/{name}/{}",
            self.volume(svm, volume)?.dsid
        ));
        let qtrees = self.qtrees_of_volume(svm, volume);
        self.change_volume(svm, volume, |v| {
            if v.state != VolumeState::Online {
                return Err(offline(v));
            }
            if v.snapshots.contains_key(name) {
                return Err(ModelError::Duplicate {
                    kind: "Snapshot",
                    name: format!("{name}\" in volume \"{volume}"),
                });
            }
            if v.snapshots.len() >= MAX_SNAPSHOTS {
                return Err(ModelError::refused(
                    Refusal::TooManySnapshots,
                    format!(
                        "Volume \"{volume}\" already has the maximum of {MAX_SNAPSHOTS} snapshots"
                    ),
                ));
            }
            let seq = v.snapshots.values().map(|s| s.seq).max().unwrap_or(0) + 1;
            v.snapshots.insert(
                name.to_string(),
                Snapshot {
                    seq,
                    name: name.to_string(),
                    uuid,
                    create_time: now_secs(),
                    comment: comment.to_string(),
                    snapmirror_label: snapmirror_label.to_string(),
                    data_at_create: v.data_used,
                    size: 0,
                    qtrees,
                },
            );
            Ok(v.uuid)
        })
        .map(|volume| {
            self.data_actions.push(DataAction::CreateSnapshot {
                volume,
                snapshot: uuid,
            })
        })
    }

    /// A snapshot is busy while a clone depends on it.
    pub fn snapshot_busy_with(&self, svm: &str, volume: &str, name: &str) -> Option<String> {
        self.clones_of(svm, volume, Some(name))
            .next()
            .map(|c| c.name.clone())
    }

    /// `snapshot-delete`.
    pub fn delete_snapshot(
        &mut self,
        svm: &str,
        volume: &str,
        name: &str,
    ) -> Result<(), ModelError> {
        if !self.volume(svm, volume)?.snapshots.contains_key(name) {
            return Err(snapshot_not_found(volume, name));
        }
        if let Some(clone) = self.snapshot_busy_with(svm, volume, name) {
            return Err(ModelError::SnapshotBusy(format!(
                "Snapshot \"{name}\" of volume \"{volume}\" in Vserver \"{svm}\" is busy: FlexClone volume \"{clone}\" depends on it"
            )));
        }
        self.change_volume(svm, volume, |v| {
            if v.state != VolumeState::Online {
                return Err(offline(v));
            }
            let s = v
                .snapshots
                .remove(name)
                .ok_or_else(|| snapshot_not_found(volume, name))?;
            Ok((v.uuid, s.uuid))
        })
        .map(|(volume, snapshot)| {
            self.data_actions
                .push(DataAction::DeleteSnapshot { volume, snapshot })
        })
    }

    /// `snapshot-rename`.
    pub fn rename_snapshot(
        &mut self,
        svm: &str,
        volume: &str,
        name: &str,
        new_name: &str,
    ) -> Result<(), ModelError> {
        check_snapshot_name(new_name)?;
        if self.snapshot_busy_with(svm, volume, name).is_some() {
            return Err(ModelError::SnapshotBusy(format!(
                "Snapshot \"{name}\" of volume \"{volume}\" is busy: a FlexClone volume depends on it"
            )));
        }
        self.change_volume(svm, volume, |v| {
            if v.state != VolumeState::Online {
                return Err(offline(v));
            }
            if name == new_name && v.snapshots.contains_key(name) {
                return Ok(());
            }
            if v.snapshots.contains_key(new_name) {
                return Err(ModelError::Duplicate {
                    kind: "Snapshot",
                    name: format!("{new_name}\" in volume \"{volume}"),
                });
            }
            let mut s = v
                .snapshots
                .remove(name)
                .ok_or_else(|| snapshot_not_found(volume, name))?;
            s.name = new_name.to_string();
            v.snapshots.insert(new_name.to_string(), s);
            Ok(())
        })
    }

    /// `snapshot-restore-volume`: the active file system returns to the snapshot, and snapshots
    /// taken after it are deleted (refused while one of those is busy). The volume's qtrees become
    /// the snapshot's (qtrees made since are gone with their quota rules, qtrees deleted since are
    /// back, with the settings and usage of that moment; one whose export policy was deleted since
    /// inherits the volume's).
    pub fn restore_snapshot(
        &mut self,
        svm: &str,
        volume: &str,
        name: &str,
    ) -> Result<(), ModelError> {
        let v = self.volume(svm, volume)?;
        let snap = v
            .snapshots
            .get(name)
            .ok_or_else(|| snapshot_not_found(volume, name))?
            .clone();
        let newer: Vec<String> = v
            .snapshots
            .values()
            .filter(|s| s.seq > snap.seq)
            .map(|s| s.name.clone())
            .collect();
        for n in &newer {
            if let Some(clone) = self.snapshot_busy_with(svm, volume, n) {
                return Err(ModelError::SnapshotBusy(format!(
                    "Cannot restore volume \"{volume}\" to snapshot \"{name}\": newer snapshot \"{n}\" is busy (FlexClone volume \"{clone}\")"
                )));
            }
        }
        self.change_volume(svm, volume, |v| {
            if v.state != VolumeState::Online {
                return Err(offline(v));
            }
            let mut gone = Vec::new();
            for n in &newer {
                if let Some(s) = v.snapshots.remove(n) {
                    gone.push(s.uuid);
                }
            }
            v.data_used = snap.data_at_create;
            Ok((v.uuid, gone))
        })
        .map(|(uuid, gone)| {
            self.restore_qtrees(svm, volume, &snap.qtrees);
            (uuid, gone)
        })
        .map(|(volume, gone)| {
            // Bring the data back first; the newer snapshots' copies go after.
            self.data_actions.push(DataAction::RestoreSnapshot {
                volume,
                snapshot: snap.uuid,
            });
            for snapshot in gone {
                self.data_actions
                    .push(DataAction::DeleteSnapshot { volume, snapshot });
            }
        })
    }
}

impl Cluster {
    /// `snapshot-modify-iter`: the comment and SnapMirror label are the mutable parts.
    pub fn set_snapshot_labels(
        &mut self,
        svm: &str,
        volume: &str,
        name: &str,
        comment: Option<&str>,
        label: Option<&str>,
    ) -> Result<(), ModelError> {
        self.change_volume(svm, volume, |v| {
            let s = v
                .snapshots
                .get_mut(name)
                .ok_or_else(|| snapshot_not_found(volume, name))?;
            if let Some(c) = comment {
                s.comment = c.to_string();
            }
            if let Some(l) = label {
                s.snapmirror_label = l.to_string();
            }
            Ok(())
        })
    }
}

impl Cluster {
    /// The qtrees of one volume, in name order.
    pub(crate) fn qtrees_of_volume(&self, svm: &str, volume: &str) -> Vec<Qtree> {
        self.qtrees
            .range((svm.to_string(), volume.to_string(), String::new())..)
            .take_while(|((s, v, _), _)| s == svm && v == volume)
            .map(|(_, q)| q.clone())
            .collect()
    }

    /// Make the volume's qtree records those of a restored snapshot; the quota rules of qtrees
    /// that are no longer there go with them (as a `qtree-delete` takes them).
    fn restore_qtrees(&mut self, svm: &str, volume: &str, restored: &[Qtree]) {
        for q in self.qtrees_of_volume(svm, volume) {
            if !restored.iter().any(|r| r.name == q.name) {
                self.qtrees
                    .remove(&(svm.to_string(), volume.to_string(), q.name.clone()));
                self.quota_qtree_changed(svm, volume, &q.name, None);
            }
        }
        for q in restored {
            let mut q = q.clone();
            // The records follow the volume through renames; the snapshot kept the old name.
            q.volume = volume.to_string();
            // A policy deleted since (it could be: the snapshot does not hold it in use) leaves
            // the qtree inheriting its volume's.
            if let Some(p) = &q.export_policy {
                if self.export_policy(svm, p).is_err() {
                    q.export_policy = None;
                }
            }
            self.qtrees
                .insert((svm.to_string(), volume.to_string(), q.name.clone()), q);
        }
    }
}
