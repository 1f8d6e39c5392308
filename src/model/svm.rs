//! Storage VMs (vservers): the tenants that own LIFs, volumes and policies.

use super::Lif;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SvmState {
    Running,
    Stopped,
}

impl SvmState {
    /// ONTAP's wire word for the state.
    pub fn as_str(&self) -> &'static str {
        match self {
            SvmState::Running => "running",
            SvmState::Stopped => "stopped",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Svm {
    pub name: String,
    pub uuid: Uuid,
    pub state: SvmState,
    /// `default`, or `sync_source` / `sync_destination` in MetroCluster.
    pub subtype: String,
    /// Aggregates volumes of this SVM may be created on.
    pub aggregates: Vec<String>,
    pub allowed_protocols: Vec<String>,
    pub lifs: Vec<Lif>,
    pub comment: String,
    pub language: String,
}

impl Svm {
    pub fn root_volume(&self) -> String {
        format!("{}_root", self.name)
    }
}

impl super::Cluster {
    /// Stop or start an SVM.
    pub fn set_svm_state(&mut self, name: &str, state: SvmState) -> Result<(), super::ModelError> {
        let svm = self
            .svms
            .get_mut(name)
            .ok_or_else(|| super::ModelError::NotFound {
                kind: "Vserver",
                name: name.to_string(),
            })?;
        svm.state = state;
        Ok(())
    }
}

impl super::Cluster {
    /// Where a volume goes when the request names no aggregate: the SVM's first assigned one.
    /// The aggregate `auto-provision-as flexgroup` places a new FlexGroup on: of the SVM's
    /// aggregates (every aggregate when none is assigned), the one with the most free space.
    /// Too little space anywhere is for the create to refuse.
    pub fn auto_provision_aggregate(&self, svm: &str) -> Result<String, super::ModelError> {
        let s = self.svm(svm)?;
        let candidates: Vec<&super::Aggregate> = if s.aggregates.is_empty() {
            self.aggregates.values().collect()
        } else {
            s.aggregates
                .iter()
                .filter_map(|a| self.aggregates.get(a))
                .collect()
        };
        candidates
            .into_iter()
            // Most free first; ties go to the first by name.
            .min_by_key(|a| (std::cmp::Reverse(a.available()), a.name.clone()))
            .map(|a| a.name.clone())
            .ok_or_else(|| {
                super::ModelError::InvalidInput(format!(
                    "Vserver \"{svm}\" has no aggregates to provision a FlexGroup on"
                ))
            })
    }

    pub fn default_aggregate(&self, svm: &str) -> Result<String, super::ModelError> {
        self.svm(svm)?.aggregates.first().cloned().ok_or_else(|| {
            super::ModelError::InvalidInput(format!(
                "Vserver \"{svm}\" has no aggregates assigned; give aggr-list"
            ))
        })
    }
}
