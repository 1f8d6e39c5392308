//! Jobs: the record an asynchronous API leaves behind, polled by `job-get-iter`.

use super::volume::now_secs;
use super::Cluster;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Running,
    Success,
    Failure,
}

impl JobState {
    pub fn as_str(&self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Success => "success",
            JobState::Failure => "failure",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Job {
    pub id: u64,
    pub uuid: Uuid,
    pub name: String,
    pub description: String,
    pub svm: Option<String>,
    pub state: JobState,
    pub start_time: u64,
    pub end_time: Option<u64>,
    /// What `job-completion` says: "Complete: ..." or the failure reason.
    pub completion: String,
    /// The errno-free outcome code: 0 on success.
    pub error_code: u32,
}

/// Jobs kept for `job-get-iter`; the oldest are dropped first.
const JOBS_KEEP: usize = 10_000;

impl Cluster {
    /// Record a job that has already finished (the simulator completes its work at once).
    pub fn record_job(
        &mut self,
        name: &str,
        description: String,
        svm: Option<&str>,
        outcome: Result<String, (u32, String)>,
    ) -> u64 {
        self.counters.next_job_id += 1;
        let id = self.counters.next_job_id;
        let now = now_secs();
        let (state, completion, error_code) = match outcome {
            Ok(msg) => (JobState::Success, format!("Complete: {msg} [0]"), 0),
            Err((code, reason)) => (JobState::Failure, reason, code),
        };
        let job = Job {
            id,
            uuid: self.uuid_for(&format!("job/{id}")),
            name: name.to_string(),
            description,
            svm: svm.map(str::to_string),
            state,
            start_time: now,
            end_time: Some(now),
            completion,
            error_code,
        };
        if self.jobs.len() >= JOBS_KEEP {
            if let Some(&oldest) = self.jobs.keys().next() {
                self.jobs.remove(&oldest);
            }
        }
        self.jobs.insert(id, job);
        id
    }
}
