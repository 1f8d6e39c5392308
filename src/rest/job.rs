//! Asynchronous REST verbs: the change runs as a job, answered with 202 and
//! `{"job": {"uuid", "_links"}}`, polled at `/api/cluster/jobs/{uuid}`. A job is queued, then
//! running, then `success` or `failure` (with ONTAP's integer `code` and a `message`); the time it
//! takes is `cluster.job_duration_ms` (0: it has ended before the 202 is sent). Model errors end
//! the job in `failure`, as ONTAP reports them, rather than failing the request.

use super::error::{Endpoint, RestError};
use super::{Call, Ctx, Reply};
use crate::model::{Cluster, JobState, ModelError};
use crate::sim::Sim;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// The change a job makes; it applies completely or not at all (one `Sim::mutate`).
pub type Op = Box<dyn FnOnce(&mut Cluster) -> Result<(), ModelError> + Send>;

/// A job the listener should wait for before answering (the caller sent `return_timeout`).
pub struct Pending {
    pub id: u64,
    pub timeout: Duration,
    /// The status to answer when the job has succeeded in time (201 for POST, 200 otherwise).
    pub done_status: u16,
}

fn failure_of(e: ModelError, at: Option<Endpoint>) -> (u32, String) {
    let r = match at {
        Some(op) => RestError::at(op, e),
        None => RestError::from(e),
    };
    (r.code, r.message)
}

/// Run `op` as a job for `svm`; a model refusal fails the job with the generic code.
pub fn start(ctx: &Ctx, call: &Call, svm: &str, op: Op) -> Result<Reply, RestError> {
    start_at(ctx, call, svm, None, op)
}

/// Run `op` as a job for `svm`; a model refusal fails the job with the code ONTAP documents for
/// `at` (see [`RestError::at`]).
pub fn start_at(
    ctx: &Ctx,
    call: &Call,
    svm: &str,
    at: Option<Endpoint>,
    op: Op,
) -> Result<Reply, RestError> {
    call.body.finish()?;
    call.query.finish()?;
    let sim: Arc<Sim> = ctx.sim.clone();
    let description = format!("{} {}", call.method, call.path);
    let duration = sim.read().job_duration_ms;
    let injected = call.fail_job.clone();
    let svm_name = svm.to_string();
    let id = if duration == 0 {
        match injected {
            Some(f) => sim.mutate(|c| {
                Ok::<_, ModelError>(c.record_job("rest", description, Some(svm), Err(f)))
            })?,
            None => {
                let d = description.clone();
                let done = sim.mutate(|c| {
                    op(c)?;
                    Ok::<_, ModelError>(c.record_job("rest", d, Some(svm), Ok("success".into())))
                });
                match done {
                    Ok(id) => id,
                    Err(e) => {
                        let f = failure_of(e, at);
                        sim.mutate(|c| {
                            Ok::<_, ModelError>(c.record_job(
                                "rest",
                                description,
                                Some(svm),
                                Err(f),
                            ))
                        })?
                    }
                }
            }
        }
    } else {
        let id =
            sim.mutate(|c| Ok::<_, ModelError>(c.queue_job("rest", description, Some(svm))))?;
        let half = Duration::from_millis(duration / 2);
        let sim = sim.clone();
        std::thread::spawn(move || {
            std::thread::sleep(half);
            let _ = sim.mutate(|c| {
                c.start_job(id);
                Ok::<_, ModelError>(())
            });
            std::thread::sleep(half);
            let outcome = match injected {
                Some(f) => Err(f),
                None => sim
                    .mutate(|c| {
                        op(c)?;
                        c.finish_job(id, Ok("success".into()));
                        Ok::<_, ModelError>(())
                    })
                    .map_err(|e| failure_of(e, at)),
            };
            if let Err(f) = outcome {
                let _ = sim.mutate(|c| {
                    c.finish_job(id, Err(f));
                    Ok::<_, ModelError>(())
                });
            }
        });
        id
    };
    let uuid = sim
        .read()
        .jobs
        .get(&id)
        .map(|j| j.uuid.to_string())
        .unwrap_or_default();
    let body = json!({"job": {"uuid": uuid, "_links": {"self": {"href": format!("/api/cluster/jobs/{uuid}")}}}});
    let pending = call
        .query
        .return_timeout
        .filter(|t| *t > 0)
        .map(|t| Pending {
            id,
            timeout: Duration::from_secs(t),
            done_status: if call.method == "POST" { 201 } else { 200 },
        });
    Ok(Reply {
        status: 202,
        body,
        job: pending,
        svm: Some(svm_name),
        location: None,
    })
}

/// Where a job is: `None` while it runs, else its outcome.
pub fn outcome(sim: &Sim, id: u64) -> Option<Result<(), RestError>> {
    let c = sim.read();
    let j = c.jobs.get(&id)?;
    match j.state {
        JobState::Queued | JobState::Running => None,
        JobState::Success => Some(Ok(())),
        JobState::Failure => Some(Err(RestError::new(400, j.error_code, j.completion.clone()))),
    }
}

/// The job with this UUID (as a 202 answer names it).
pub fn by_uuid(sim: &Sim, uuid: &str) -> Option<u64> {
    let c = sim.read();
    c.jobs
        .iter()
        .rev()
        .find(|(_, j)| j.uuid.to_string() == uuid)
        .map(|(id, _)| *id)
}
