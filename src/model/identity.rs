//! The cluster's identity (name, location, contact), changed by `cluster-identity-modify` or
//! `PATCH /api/cluster`. The cluster's fields are the state; a change is also kept as one record
//! so that it survives a restart.

use super::ModelError;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub name: String,
    pub location: String,
    pub contact: String,
}

impl super::Cluster {
    /// Change the cluster's name, location or contact (only those given).
    pub fn modify_identity(
        &mut self,
        name: Option<&str>,
        location: Option<&str>,
        contact: Option<&str>,
    ) -> Result<(), ModelError> {
        if let Some(n) = name.filter(|n| *n != self.name) {
            crate::config::check_name(n, crate::config::NameKind::Svm).map_err(|r| {
                ModelError::InvalidInput(format!("Invalid cluster name \"{n}\": {r}"))
            })?;
            if self.svms.contains_key(n) || self.node(n).is_some() {
                return Err(ModelError::Duplicate {
                    kind: "Vserver",
                    name: n.to_string(),
                });
            }
        }
        for (what, v) in [("location", location), ("contact", contact)] {
            if v.is_some_and(|v| v.len() > 255) {
                return Err(ModelError::InvalidInput(format!(
                    "The cluster {what} is longer than 255 characters"
                )));
            }
        }
        if let Some(n) = name {
            self.name = n.to_string();
        }
        if let Some(l) = location {
            self.location = l.to_string();
        }
        if let Some(c) = contact {
            self.contact = c.to_string();
        }
        let id = Identity {
            name: self.name.clone(),
            location: self.location.clone(),
            contact: self.contact.clone(),
        };
        self.identity.insert((), id);
        Ok(())
    }

    /// Take a saved identity (after loading saved state).
    pub fn apply_identity(&mut self) {
        if let Some(id) = self.identity.get(&()).cloned() {
            self.name = id.name;
            self.location = id.location;
            self.contact = id.contact;
        }
    }
}
