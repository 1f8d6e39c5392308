//! What user and group quotas count over NFS: per volume and scope (the whole volume, or one
//! qtree), the bytes and entries each uid and each gid holds. A scope is measured from the data
//! the first time a quota in force needs it; from then on every NFS charge, which knows the owner
//! of what grows or shrinks, keeps it up to date. It is measured again when the data changed
//! underneath (the simulator's data epoch moved: a restore, a qtree change, a reset) or owners
//! changed (a chown drops the volume's figures).

use crate::model::QuotaType;
use crate::store::data::OwnerUsage;
use std::collections::HashMap;
use std::sync::Mutex;
use uuid::Uuid;

/// Whose file grows or shrinks, and who makes the change.
#[derive(Debug, Clone, Copy)]
pub struct Owner {
    pub uid: u32,
    pub gid: u32,
    /// The caller's uid (after squashing).
    pub by: u32,
}

#[derive(Default)]
pub struct QuotaUsage {
    /// (volume, scope: "" or a qtree) -> the data epoch it was measured under, and the figures.
    scopes: Mutex<HashMap<(Uuid, String), (u64, OwnerUsage)>>,
}

impl QuotaUsage {
    fn scopes(&self) -> std::sync::MutexGuard<'_, HashMap<(Uuid, String), (u64, OwnerUsage)>> {
        self.scopes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The scope's figures are known under `epoch`.
    pub fn has(&self, volume: Uuid, tree: &str, epoch: u64) -> bool {
        matches!(self.scopes().get(&(volume, tree.to_string())), Some((e, _)) if *e == epoch)
    }

    /// Keep a scope's figures, measured under `epoch` (figures of older epochs go: their scopes
    /// may be gone, a renamed qtree's for one).
    pub fn insert(&self, volume: Uuid, tree: &str, epoch: u64, usage: OwnerUsage) {
        let mut scopes = self.scopes();
        scopes.retain(|_, (e, _)| *e >= epoch);
        scopes.insert((volume, tree.to_string()), (epoch, usage));
    }

    /// Bytes and entries that `ids` (uids or gids, by `t`) hold together in the scope; None when
    /// the scope is not known under `epoch`.
    pub fn held(
        &self,
        volume: Uuid,
        tree: &str,
        epoch: u64,
        t: QuotaType,
        ids: &[u32],
    ) -> Option<(u64, u64)> {
        let scopes = self.scopes();
        let (e, u) = scopes.get(&(volume, tree.to_string()))?;
        if *e != epoch {
            return None;
        }
        let map = match t {
            QuotaType::User => &u.users,
            QuotaType::Group => &u.groups,
            QuotaType::Tree => return None,
        };
        Some(
            ids.iter()
                .filter_map(|i| map.get(i))
                .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1)),
        )
    }

    /// An owner's file in `qtree` ("" for none) grew or shrank: the volume's scope and the
    /// qtree's follow.
    pub fn charge(&self, volume: Uuid, qtree: &str, owner: Owner, bytes: i64, files: i64) {
        let mut scopes = self.scopes();
        if scopes.is_empty() {
            return;
        }
        for tree in ["", qtree] {
            if let Some((_, u)) = scopes.get_mut(&(volume, tree.to_string())) {
                for (map, id) in [(&mut u.users, owner.uid), (&mut u.groups, owner.gid)] {
                    let e = map.entry(id).or_default();
                    e.0 = e.0.saturating_add_signed(bytes);
                    e.1 = e.1.saturating_add_signed(files);
                }
            }
            if qtree.is_empty() {
                break;
            }
        }
    }

    /// Owners changed in a volume (a chown): its figures are measured again when next needed.
    pub fn forget(&self, volume: Uuid) {
        self.scopes().retain(|(v, _), _| *v != volume);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_follow_both_scopes_and_ids_count_together() {
        let q = QuotaUsage::default();
        let v = Uuid::from_u128(1);
        let mut u = OwnerUsage::default();
        u.users.insert(100, (10, 1));
        q.insert(v, "", 7, u.clone());
        q.insert(v, "q1", 7, u);
        let owner = |uid| Owner {
            uid,
            gid: 5,
            by: uid,
        };
        q.charge(v, "q1", owner(100), 90, 1);
        q.charge(v, "", owner(101), 4, 1);
        assert_eq!(q.held(v, "", 7, QuotaType::User, &[100]), Some((100, 2)));
        assert_eq!(q.held(v, "q1", 7, QuotaType::User, &[100]), Some((100, 2)));
        assert_eq!(q.held(v, "q1", 7, QuotaType::User, &[101]), Some((0, 0)));
        assert_eq!(
            q.held(v, "", 7, QuotaType::User, &[100, 101]),
            Some((104, 3))
        );
        assert_eq!(q.held(v, "", 7, QuotaType::Group, &[5]), Some((94, 2)));
        q.charge(v, "q1", owner(100), -200, -1);
        assert_eq!(q.held(v, "q1", 7, QuotaType::User, &[100]), Some((0, 1)));
        // A chown, or another epoch, and the figures are gone.
        q.forget(v);
        assert!(!q.has(v, "", 7));
        q.insert(v, "q1", 7, OwnerUsage::default());
        assert_eq!(q.held(v, "q1", 8, QuotaType::User, &[100]), None);
        q.insert(v, "q2", 8, OwnerUsage::default());
        assert!(!q.has(v, "q1", 7), "measured under an older epoch: dropped");
        assert!(q.has(v, "q2", 8));
    }
}
