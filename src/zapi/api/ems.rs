//! `ems-*`: applications (Trident's heartbeat among them) write to the event log.

use super::{boolean, int, req, text, Access, Api, Ctx, Exposure, Kind};
use crate::model::EmsMessage;
use crate::zapi::errno::ZapiError;
use crate::zapi::xml::Element;

pub static APIS: &[Api] = &[Api {
    name: "ems-autosupport-log",
    access: Access::Write,
    exposure: Exposure::Both,
    inputs: &[
        req("app-version", Kind::Str),
        req("auto-support", Kind::Bool),
        req("category", Kind::Str),
        req("computer-name", Kind::Str),
        req("event-description", Kind::Str),
        req("event-id", Kind::Int),
        req("event-source", Kind::Str),
        req("log-level", Kind::Int),
    ],
    handler: autosupport_log,
}];

fn autosupport_log(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let s = |n: &str| text(el, n).unwrap_or_default().to_string();
    let event_id = int(el, "event-id").unwrap_or_default();
    let log_level = int(el, "log-level").unwrap_or_default();
    let msg = EmsMessage {
        time: std::time::SystemTime::now(),
        svm: ctx.svm.clone(),
        computer_name: s("computer-name"),
        event_source: s("event-source"),
        event_id: u64::try_from(event_id).map_err(|_| {
            ZapiError::invalid(format!(
                "Invalid value specified for \"event-id\": {event_id} (must not be negative)"
            ))
        })?,
        category: s("category"),
        app_version: s("app-version"),
        log_level: u32::try_from(log_level).unwrap_or(u32::MAX),
        auto_support: boolean(el, "auto-support").unwrap_or(false),
        description: s("event-description"),
    };
    ctx.sim.mutate(|c| c.log_ems(msg))?;
    Ok(vec![])
}
