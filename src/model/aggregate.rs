//! Aggregates: the space pools volumes are carved from.

use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aggregate {
    pub name: String,
    pub uuid: Uuid,
    /// Owning node.
    pub node: String,
    /// Usable size in bytes.
    pub size: u64,
    /// Bytes reserved or written by the volumes on it.
    pub used: u64,
    /// `ssd`, `hdd`, `hybrid`, ...: what Trident maps to a pool's media.
    pub media: String,
}

impl Aggregate {
    pub fn available(&self) -> u64 {
        self.size.saturating_sub(self.used)
    }

    pub fn percent_used(&self) -> u64 {
        if self.size == 0 {
            return 0;
        }
        ((self.used as u128 * 100) / self.size as u128) as u64
    }
}
