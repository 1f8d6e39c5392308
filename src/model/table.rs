//! A map that remembers what one operation changed, so the operation can be journaled as a unit
//! or undone as a unit.
//!
//! Reads go through `Deref` to the inner `BTreeMap`; every mutation goes through a method here that
//! first records the key's original value. [`Table::changed`] lists the touched keys with their
//! current values (what the journal writes), [`Table::commit`] forgets the undo log, and
//! [`Table::rollback`] restores the original values.

use std::collections::BTreeMap;
use std::ops::Deref;

#[derive(Debug, Clone)]
pub struct Table<K: Ord + Clone, V: Clone> {
    map: BTreeMap<K, V>,
    undo: BTreeMap<K, Option<V>>,
}

impl<K: Ord + Clone, V: Clone> Default for Table<K, V> {
    fn default() -> Self {
        Table {
            map: BTreeMap::new(),
            undo: BTreeMap::new(),
        }
    }
}

impl<K: Ord + Clone, V: Clone> Deref for Table<K, V> {
    type Target = BTreeMap<K, V>;
    fn deref(&self) -> &Self::Target {
        &self.map
    }
}

impl<K: Ord + Clone, V: Clone> Table<K, V> {
    fn touch(&mut self, k: &K) {
        if !self.undo.contains_key(k) {
            self.undo.insert(k.clone(), self.map.get(k).cloned());
        }
    }

    pub fn insert(&mut self, k: K, v: V) -> Option<V> {
        self.touch(&k);
        self.map.insert(k, v)
    }

    pub fn remove(&mut self, k: &K) -> Option<V> {
        if !self.map.contains_key(k) {
            return None;
        }
        self.touch(k);
        self.map.remove(k)
    }

    pub fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        if self.map.contains_key(k) {
            self.touch(k);
        }
        self.map.get_mut(k)
    }

    /// Remove every entry `keep` refuses.
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &V) -> bool) {
        let gone: Vec<K> = self
            .map
            .iter()
            .filter(|(k, v)| !keep(k, v))
            .map(|(k, _)| k.clone())
            .collect();
        for k in gone {
            self.remove(&k);
        }
    }

    /// Change every entry `pick` selects; only those are recorded as changed.
    pub fn update_where(&mut self, pick: impl Fn(&V) -> bool, mut change: impl FnMut(&mut V)) {
        let keys: Vec<K> = self
            .map
            .iter()
            .filter(|(_, v)| pick(v))
            .map(|(k, _)| k.clone())
            .collect();
        for k in keys {
            if let Some(v) = self.get_mut(&k) {
                change(v);
            }
        }
    }

    /// Insert without recording a change: for loading saved state.
    pub fn load(&mut self, k: K, v: V) {
        self.map.insert(k, v);
    }

    /// Load saved entries without recording a change: they replace entries under the same key
    /// (the last of equal keys wins); entries whose key they lack are kept, and their keys
    /// returned in order. The map is built in bulk, in linear time when `items` come sorted (as
    /// a snapshot holds them), instead of one insertion per entry.
    pub fn load_all(&mut self, items: impl IntoIterator<Item = (K, V)>) -> Vec<K> {
        let before = std::mem::replace(&mut self.map, items.into_iter().collect());
        let mut kept = Vec::new();
        for (k, v) in before {
            if let std::collections::btree_map::Entry::Vacant(e) = self.map.entry(k) {
                kept.push(e.key().clone());
                e.insert(v);
            }
        }
        kept
    }

    /// The keys this operation touched, with their values now (None: removed).
    pub fn changed(&self) -> impl Iterator<Item = (&K, Option<&V>)> {
        self.undo.keys().map(|k| (k, self.map.get(k)))
    }

    /// The value a touched key had before this operation.
    pub fn original(&self, k: &K) -> Option<&V> {
        self.undo.get(k).and_then(|v| v.as_ref())
    }

    pub fn commit(&mut self) {
        self.undo.clear();
    }

    pub fn rollback(&mut self) {
        for (k, v) in std::mem::take(&mut self.undo) {
            match v {
                Some(v) => {
                    self.map.insert(k, v);
                }
                None => {
                    self.map.remove(&k);
                }
            }
        }
    }
}

/// Bring `index` (a secondary key -> the table's key) up to date with what the operation in
/// progress changed in `table`. Idempotent, so it may run both before the invariant check and at
/// commit; the index records its own undo, so a rollback restores it with the table.
pub fn follow<K, V, IK>(index: &mut Table<IK, K>, table: &Table<K, V>, key: impl Fn(&V) -> IK)
where
    K: Ord + Clone,
    V: Clone,
    IK: Ord + Clone,
{
    follow_some(index, table, |v| Some(key(v)))
}

/// [`follow`] for an index of some entries only (`key` gives None for the others).
pub fn follow_some<K, V, IK>(
    index: &mut Table<IK, K>,
    table: &Table<K, V>,
    key: impl Fn(&V) -> Option<IK>,
) where
    K: Ord + Clone,
    V: Clone,
    IK: Ord + Clone,
{
    for (k, now) in table.changed() {
        let new = now.and_then(&key);
        if let Some(old) = table.original(k).and_then(&key) {
            if new.as_ref() != Some(&old) && index.get(&old) == Some(k) {
                index.remove(&old);
            }
        }
        if let Some(ik) = new {
            if index.get(&ik) != Some(k) {
                index.insert(ik, k.clone());
            }
        }
    }
}

/// An index built afresh from every entry of `table` (after loading saved state).
pub fn rebuild<K, V, IK>(table: &Table<K, V>, key: impl Fn(&V) -> IK) -> Table<IK, K>
where
    K: Ord + Clone,
    V: Clone,
    IK: Ord + Clone,
{
    rebuild_some(table, |v| Some(key(v)))
}

/// [`rebuild`] for an index of some entries only.
pub fn rebuild_some<K, V, IK>(table: &Table<K, V>, key: impl Fn(&V) -> Option<IK>) -> Table<IK, K>
where
    K: Ord + Clone,
    V: Clone,
    IK: Ord + Clone,
{
    let mut index = Table::default();
    index.load_all(
        table
            .iter()
            .filter_map(|(k, v)| key(v).map(|ik| (ik, k.clone()))),
    );
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_undoes() {
        let mut t: Table<u32, &str> = Table::default();
        t.load(1, "a");
        t.load(2, "b");
        t.insert(3, "c");
        *t.get_mut(&1).unwrap() = "A";
        t.remove(&2);
        t.remove(&9);
        let changed: Vec<_> = t.changed().map(|(k, v)| (*k, v.copied())).collect();
        assert_eq!(changed, [(1, Some("A")), (2, None), (3, Some("c"))]);
        assert_eq!(t.original(&1), Some(&"a"));
        t.rollback();
        assert_eq!(
            t.iter().map(|(k, v)| (*k, *v)).collect::<Vec<_>>(),
            [(1, "a"), (2, "b")]
        );
        assert_eq!(t.changed().count(), 0);
    }

    #[test]
    fn loads_in_bulk_over_existing_entries() {
        let mut t: Table<u32, &str> = Table::default();
        t.load(1, "seeded");
        t.load(5, "seeded");
        let kept = t.load_all([(3, "c"), (1, "a"), (4, "x"), (4, "d")]);
        assert_eq!(kept, [5]);
        assert_eq!(
            t.iter().map(|(k, v)| (*k, *v)).collect::<Vec<_>>(),
            [(1, "a"), (3, "c"), (4, "d"), (5, "seeded")]
        );
        assert_eq!(t.changed().count(), 0);
    }
}
