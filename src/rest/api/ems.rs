//! `/api/support/ems/application-logs`: applications (Trident's heartbeat) log EMS messages; they
//! are kept with the ones `ems-autosupport-log` sends over ZAPI.

use super::super::error::RestError;
use super::super::{post, Call, Ctx, Reply, Route};
use crate::model::EmsMessage;
use serde_json::json;

pub static ROUTES: &[Route] = &[post("/support/ems/application-logs", log)];

fn severity_level(s: &str) -> Option<u32> {
    Some(match s {
        "emergency" => 0,
        "alert" => 1,
        "error" => 3,
        "notice" => 5,
        "informational" => 6,
        "debug" => 7,
        _ => return None,
    })
}

fn log(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let b = &call.body;
    let severity = b.str("severity")?.unwrap_or_else(|| "notice".into());
    let log_level = severity_level(&severity).ok_or_else(|| {
        RestError::invalid(
            "severity",
            format!("The value \"{severity}\" is invalid for field \"severity\" (emergency, alert, error, notice, informational, debug)."),
        )
    })?;
    let msg = EmsMessage {
        time: std::time::SystemTime::now(),
        svm: ctx.scope().map(str::to_string),
        computer_name: b.req_str("computer_name")?,
        event_source: b.req_str("event_source")?,
        event_id: b
            .u64("event_id")?
            .ok_or_else(|| RestError::missing("event_id"))?,
        category: b.str("category")?.unwrap_or_default(),
        app_version: b.str("app_version")?.unwrap_or_default(),
        log_level,
        auto_support: b.bool("autosupport_required")?.unwrap_or(false),
        description: b.str("event_description")?.unwrap_or_default(),
    };
    b.finish()?;
    // `return_records` is accepted; the answer has nothing to return.
    call.query.finish()?;
    ctx.sim.mutate(|c| c.log_ems(msg))?;
    Ok(Reply::created(json!({})))
}
