//! The handle every front shares: the model behind one lock, and the store that makes each change
//! durable before it is acknowledged.

use crate::model::{Cluster, ModelError};
use crate::store::Store;
use std::sync::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use tracing::{error, warn};

pub struct Sim {
    cluster: RwLock<Cluster>,
    store: Option<Mutex<Store>>,
}

impl Sim {
    /// A simulator that keeps everything in memory (`--ephemeral`).
    pub fn ephemeral(cluster: Cluster) -> Sim {
        Sim {
            cluster: RwLock::new(cluster),
            store: None,
        }
    }

    pub fn durable(cluster: Cluster, store: Store) -> Sim {
        Sim {
            cluster: RwLock::new(cluster),
            store: Some(Mutex::new(store)),
        }
    }

    /// A consistent read view. A poisoned lock still holds a consistent model (operations that
    /// panic are rolled back before the lock is released), so it is recovered, not propagated.
    pub fn read(&self) -> RwLockReadGuard<'_, Cluster> {
        self.cluster.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Cluster> {
        self.cluster.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Run one operation at the single serialisation point. It applies completely or not at all:
    /// an error from `f`, or a failure to journal what it did, undoes every change it made.
    pub fn mutate<T, E: From<ModelError>>(
        &self,
        f: impl FnOnce(&mut Cluster) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut c = self.write();
        let sp = c.savepoint();
        let out = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut c))) {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => {
                c.rollback(sp);
                return Err(e);
            }
            Err(panic) => {
                c.rollback(sp);
                error!("an operation panicked; its changes were undone");
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                return Err(ModelError::Internal(format!(
                    "internal error: {what}; nothing was changed"
                ))
                .into());
            }
        };
        if let Some(store) = &self.store {
            let mut st = store.lock().unwrap_or_else(|e| e.into_inner());
            if let Err(e) = st.commit(&c) {
                c.rollback(sp);
                error!(error = %format!("{e:#}"), "a change could not be saved; it was undone");
                return Err(ModelError::Internal(format!(
                    "The change could not be saved ({e:#}); nothing was changed"
                ))
                .into());
            }
            c.commit();
            if st.wants_compaction() {
                if let Err(e) = st.compact(&c) {
                    warn!(error = %format!("{e:#}"), "compaction failed; the journal keeps growing");
                }
            }
        } else {
            c.commit();
        }
        Ok(out)
    }
}
