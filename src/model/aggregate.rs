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
    /// Space taken by something outside the volumes (a "filled" aggregate, for rehearsals).
    pub reserved: u64,
}

impl Aggregate {
    pub fn available(&self) -> u64 {
        self.size.saturating_sub(self.used + self.reserved)
    }

    /// Used space as clients see it: the volumes' footprints plus what is reserved.
    pub fn used_total(&self) -> u64 {
        self.used + self.reserved
    }

    pub fn percent_used(&self) -> u64 {
        if self.size == 0 {
            return 0;
        }
        ((self.used_total() as u128 * 100) / self.size as u128) as u64
    }
}

impl super::Cluster {
    /// Grow or shrink an aggregate; it cannot shrink below what its volumes take.
    pub fn resize_aggregate(&mut self, name: &str, size: u64) -> Result<(), super::ModelError> {
        let a = self.aggregate(name)?;
        if size < a.used {
            return Err(super::ModelError::InvalidInput(format!(
                "Aggregate \"{name}\" cannot shrink to {size} bytes: its volumes take {}",
                a.used
            )));
        }
        let a = self.aggregates.get_mut(name).expect("checked above");
        a.size = size;
        a.reserved = a.reserved.min(size - a.used);
        Ok(())
    }

    /// Fill an aggregate to `percent` of its size with space outside the volumes (100: full).
    pub fn fill_aggregate(&mut self, name: &str, percent: u64) -> Result<(), super::ModelError> {
        if percent > 100 {
            return Err(super::ModelError::InvalidInput(format!(
                "fill percentage {percent} is over 100"
            )));
        }
        let a = self.aggregate(name)?;
        let target = ((a.size as u128 * percent as u128) / 100) as u64;
        let reserved = target.saturating_sub(a.used);
        self.aggregates
            .get_mut(name)
            .expect("checked above")
            .reserved = reserved;
        Ok(())
    }
}
