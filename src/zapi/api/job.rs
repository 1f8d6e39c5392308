//! `job-*`: the jobs asynchronous APIs leave behind, and the cluster's job schedules.

use super::{Access, Api, Ctx, Exposure, ITER_INPUTS};
use crate::model::Job;
use crate::zapi::errno::ZapiError;
use crate::zapi::iter::IterRequest;
use crate::zapi::xml::Element;

pub static APIS: &[Api] = &[
    Api {
        name: "job-get-iter",
        access: Access::Read,
        exposure: Exposure::Both,
        inputs: ITER_INPUTS,
        handler: get_iter,
    },
    Api {
        name: "job-schedule-get-iter",
        access: Access::Read,
        exposure: Exposure::Both,
        inputs: ITER_INPUTS,
        handler: schedule_get_iter,
    },
];

fn info(j: &Job, cluster: &str) -> Element {
    Element::new("job-info")
        .with_leaf("job-completion", &j.completion)
        .with_leaf("job-description", &j.description)
        .with_opt("job-end-time", j.end_time)
        .with_leaf("job-id", j.id)
        .with_leaf("job-name", &j.name)
        .with_leaf("job-start-time", j.start_time)
        .with_leaf("job-state", j.state.as_str())
        .with_leaf("job-status-code", j.error_code)
        .with_leaf("job-uuid", j.uuid)
        .with_leaf("job-vserver", j.svm.as_deref().unwrap_or(cluster))
}

fn get_iter(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let req = IterRequest::parse(el, "job-info")?;
    let c = ctx.sim.read();
    Ok(req.page_tree(
        &el.name,
        c.jobs
            .values()
            .filter(|j| ctx.svm.is_none() || j.svm == ctx.svm),
        |j| vec![format!("{:020}", j.id)],
        |j| info(j, &c.name),
    ))
}

/// The schedules every cluster ships with.
const SCHEDULES: &[(&str, &str)] = &[
    ("5min", "@:00,:05,:10,:15,:20,:25,:30,:35,:40,:45,:50,:55"),
    ("8hour", "@2:15,10:15,18:15"),
    ("daily", "@0:10"),
    ("hourly", "@:05"),
    ("weekly", "Sun@0:15"),
];

fn schedule_get_iter(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let req = IterRequest::parse(el, "job-schedule-info")?;
    let cluster = ctx.sim.read().name.clone();
    Ok(req.page_tree(
        &el.name,
        SCHEDULES.iter(),
        |(n, _)| vec![n.to_string()],
        |(n, d)| {
            Element::new("job-schedule-info")
                .with_leaf("job-schedule-cluster", &cluster)
                .with_leaf("job-schedule-description", d)
                .with_leaf("job-schedule-name", n)
                .with_leaf("job-schedule-type", "cron")
        },
    ))
}
