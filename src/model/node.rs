//! Cluster nodes: identity only; the simulator has no hardware to report on.

use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    pub uuid: Uuid,
    pub serial_number: String,
    pub system_id: String,
    pub model: String,
}
