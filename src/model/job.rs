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
        let id = self.queue_job(name, description, svm);
        self.finish_job(id, outcome);
        id
    }

    /// Record a job that has not started yet (REST jobs that take a configured time).
    pub fn queue_job(&mut self, name: &str, description: String, svm: Option<&str>) -> u64 {
        self.counters.next_job_id += 1;
        let id = self.counters.next_job_id;
        let job = Job {
            id,
            uuid: self.uuid_for(&format!("job/{id}")),
            name: name.to_string(),
            // Descriptions and reasons may quote a client's input: kept with control
            // characters shown escaped, as every text the cluster keeps must be XML-safe.
            description: super::text::shown(&description).into_owned(),
            svm: svm.map(str::to_string),
            state: JobState::Queued,
            start_time: now_secs(),
            end_time: None,
            completion: String::new(),
            error_code: 0,
        };
        if self.jobs.len() >= JOBS_KEEP {
            if let Some(&oldest) = self.jobs.keys().next() {
                self.jobs.remove(&oldest);
            }
        }
        self.jobs.insert(id, job);
        id
    }

    /// A queued job starts running.
    pub fn start_job(&mut self, id: u64) {
        if let Some(j) = self.jobs.get_mut(&id) {
            if j.state == JobState::Queued {
                j.state = JobState::Running;
                j.start_time = now_secs();
            }
        }
    }

    /// A job ends: success with a message, or failure with a code and the reason.
    pub fn finish_job(&mut self, id: u64, outcome: Result<String, (u32, String)>) {
        let Some(j) = self.jobs.get_mut(&id) else {
            return;
        };
        let (state, completion, error_code) = match outcome {
            Ok(msg) => (JobState::Success, format!("Complete: {msg} [0]"), 0),
            Err((code, reason)) => (JobState::Failure, reason, code),
        };
        j.state = state;
        j.completion = super::text::shown(&completion).into_owned();
        j.error_code = error_code;
        j.end_time = Some(now_secs());
    }

    pub fn job_by_uuid(&self, uuid: &str) -> Option<&Job> {
        let uuid = Uuid::parse_str(uuid).ok()?;
        self.job_uuids.get(&uuid).and_then(|id| self.jobs.get(id))
    }

    /// Jobs a stop interrupted never finish: after a restart they read as failed, as ONTAP's do
    /// when their node reboots. Returns how many there were.
    pub fn fail_interrupted_jobs(&mut self) -> usize {
        let open: Vec<u64> = self
            .jobs
            .values()
            .filter(|j| matches!(j.state, JobState::Queued | JobState::Running))
            .map(|j| j.id)
            .collect();
        for &id in &open {
            self.finish_job(
                id,
                Err((
                    INTERRUPTED,
                    "The job was interrupted by a restart of the cluster and did not run.".into(),
                )),
            );
        }
        open.len()
    }
}

/// The failure code of a job a restart interrupted.
pub const INTERRUPTED: u32 = 13001;

/// The failure code of a job a later request cancelled (a quota job ended by `quota-off`).
pub const CANCELLED: u32 = 13001;
