//! PATCH and DELETE of a collection by query (`PATCH /api/storage/volumes?name=tmp*` with a
//! body, `DELETE /api/storage/qtrees?volume.name=v1&name=q*`), as ONTAP serves them: the query
//! picks the records exactly as the collection GET would (same filters, `order_by`,
//! `max_records` with a `next` link to the rest), and each record is changed by the record's own
//! PATCH or DELETE handler, so the model operations, checks and error codes are those of the
//! single-record call.
//!
//! - A query is required: a bare PATCH or DELETE of a collection is refused.
//! - `continue_on_failure` (default false): stop at the first record that fails; what was
//!   changed before stays changed.
//! - `serial_records` (default false): wait for each record's job to end before starting the
//!   next (bounded by `return_timeout`, 15 s when not given), so a failure stops the rest.
//!   Without it, jobs that take time run side by side and report their own failure.
//! - The answer: `{"num_records", "jobs": [...]}` (202) for endpoints that run jobs,
//!   `{"num_records"}` (200) for synchronous ones; when a record failed, the error of the first
//!   failure with a message naming every failed record and how many were changed.

use super::error::{self, RestError};
use super::{Call, Ctx, Handler, Reply};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// How long `serial_records` waits for a job when the caller gave no `return_timeout`.
const SERIAL_WAIT: Duration = Duration::from_secs(15);

/// Answer a PATCH or DELETE of the collection `call` names, listing its records with `list` (the
/// collection GET handler). `pass` names the query parameters that belong to each record's call
/// (`force` of a volume DELETE), not to the selection.
pub fn by_query(
    ctx: &Ctx,
    call: &mut Call,
    list: Handler,
    pass: &[&str],
) -> Result<Reply, RestError> {
    let keep_going = call
        .query
        .take_bool("continue_on_failure")?
        .unwrap_or(false);
    let serial = call.query.take_bool("serial_records")?.unwrap_or(false);
    let passed: Vec<String> = pass
        .iter()
        .filter_map(|n| {
            call.query
                .take(n)
                .map(|v| format!("{n}={}", super::query::encode(&v)))
        })
        .collect();
    if !call.query.has_filters() {
        return Err(RestError::new(
            400,
            error::INVALID_VALUE,
            format!(
                "A {} of the collection \"{}\" needs a query that selects its records (for example ?name=<pattern>).",
                call.method, call.path
            ),
        ));
    }
    // The records, as the collection GET selects them (keys and `_links` only).
    let mut listing = Call {
        method: "GET",
        path: call.path.clone(),
        vars: call.vars.clone(),
        query: call.query.clone(),
        body: Default::default(),
        fail_job: None,
    };
    let listed = list(ctx, &mut listing)?.body;
    let records = listed["records"].as_array().cloned().unwrap_or_default();
    let wait = call
        .query
        .return_timeout
        .map(Duration::from_secs)
        .unwrap_or(SERIAL_WAIT);
    let mut jobs = Vec::new();
    let mut done = 0usize;
    let mut failed: Vec<(String, RestError)> = Vec::new();
    for rec in &records {
        let href = rec["_links"]["self"]["href"].as_str().unwrap_or_default();
        let label = rec["name"]
            .as_str()
            .map(|n| format!("\"{n}\""))
            .unwrap_or_else(|| href.to_string());
        let outcome = one(ctx, call, href, &passed).and_then(|reply| {
            let Some(job) = reply.body.get("job").cloned() else {
                return Ok(());
            };
            jobs.push(job.clone());
            let id = job["uuid"]
                .as_str()
                .and_then(|u| super::job::by_uuid(ctx.sim, u));
            match id {
                Some(id) if serial => finished(ctx, id, Instant::now() + wait),
                Some(id) => super::job::outcome(ctx.sim, id).unwrap_or(Ok(())),
                None => Ok(()),
            }
        });
        match outcome {
            Ok(()) => done += 1,
            Err(e) => {
                failed.push((label, e));
                if !keep_going {
                    break;
                }
            }
        }
    }
    if let Some((_, first)) = failed.first() {
        let list: Vec<String> = failed
            .iter()
            .map(|(l, e)| format!("{l}: {}", e.message))
            .collect();
        let not_tried = records.len() - done - failed.len();
        let mut message = format!(
            "The {} failed on {} of {} records ({done} changed",
            call.method,
            failed.len(),
            records.len()
        );
        if not_tried > 0 {
            message.push_str(&format!(", {not_tried} not attempted"));
        }
        message.push_str(&format!("): {}", list.join("; ")));
        return Err(RestError::new(first.status, first.code, message));
    }
    let mut body = json!({"num_records": done});
    if let Some(next) = listed["_links"].get("next") {
        body["_links"] = json!({ "next": next });
    }
    if jobs.is_empty() {
        Ok(Reply::ok(body))
    } else {
        body["jobs"] = Value::Array(jobs);
        Ok(Reply {
            status: 202,
            ..Reply::ok(body)
        })
    }
}

/// One record's own PATCH or DELETE, on its instance path.
fn one(ctx: &Ctx, call: &Call, href: &str, passed: &[String]) -> Result<Reply, RestError> {
    let path = href.strip_prefix("/api").unwrap_or(href);
    let (route, vars) = super::find(call.method, path)?;
    let mut each = Call {
        method: route.method,
        path: href.to_string(),
        vars,
        query: super::query::Query::parse(Some(&passed.join("&")))?,
        body: call.body.again(),
        fail_job: call.fail_job.clone(),
    };
    (route.handler)(ctx, &mut each)
}

/// Wait (up to `deadline`) for a job to end: its failure, if it failed; a job still running at
/// the deadline counts as not failed.
fn finished(ctx: &Ctx, id: u64, deadline: Instant) -> Result<(), RestError> {
    loop {
        match super::job::outcome(ctx.sim, id) {
            Some(r) => return r,
            None if Instant::now() >= deadline => return Ok(()),
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}
