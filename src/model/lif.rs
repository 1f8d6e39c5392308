//! Logical interfaces: the addresses clients reach an SVM's data and management services at.

use std::net::IpAddr;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperStatus {
    Up,
    Down,
}

impl OperStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            OperStatus::Up => "up",
            OperStatus::Down => "down",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lif {
    pub name: String,
    pub uuid: Uuid,
    pub address: IpAddr,
    pub netmask: String,
    /// `data`, `cluster_mgmt`, `node_mgmt`, `intercluster`.
    pub role: String,
    pub protocols: Vec<String>,
    pub status: OperStatus,
    pub home_node: String,
}

impl super::Cluster {
    /// Take a LIF down or bring it up (a switch for rehearsing a lost data path).
    pub fn set_lif_status(
        &mut self,
        name: &str,
        status: OperStatus,
    ) -> Result<(), super::ModelError> {
        let lif = self
            .svms
            .values_mut()
            .flat_map(|s| s.lifs.iter_mut())
            .find(|l| l.name == name)
            .ok_or_else(|| super::ModelError::NotFound {
                kind: "LIF",
                name: name.to_string(),
            })?;
        lif.status = status;
        Ok(())
    }
}
