//! EMS messages: the event log applications such as Trident write their heartbeat to.

use super::{Cluster, ModelError};
use std::time::SystemTime;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmsMessage {
    pub time: SystemTime,
    /// The SVM the message was logged from; None at cluster level.
    pub svm: Option<String>,
    pub computer_name: String,
    pub event_source: String,
    pub event_id: u64,
    pub category: String,
    pub app_version: String,
    pub log_level: u32,
    pub auto_support: bool,
    pub description: String,
}

/// Messages kept; older ones are dropped as ONTAP rotates its log.
const EMS_KEEP: usize = 1000;

impl Cluster {
    pub fn log_ems(&mut self, msg: EmsMessage) -> Result<(), ModelError> {
        if !(0..=7).contains(&msg.log_level) {
            return Err(ModelError::InvalidInput(format!(
                "Invalid value specified for \"log-level\": {} (0 to 7)",
                msg.log_level
            )));
        }
        for (field, value) in [
            ("computer-name", &msg.computer_name),
            ("event-source", &msg.event_source),
            ("category", &msg.category),
            ("app-version", &msg.app_version),
            ("event-description", &msg.description),
        ] {
            super::text::check_field(field, value)?;
        }
        if let Some(svm) = &msg.svm {
            self.svm(svm)?;
        }
        if self.ems.len() >= EMS_KEEP {
            self.ems.remove(0);
        }
        self.ems.push(msg);
        Ok(())
    }
}
