//! `/api/cluster`, `/api/cluster/nodes`, `/api/cluster/jobs`: identity, the version Trident picks
//! REST or ZAPI by, nodes, and the jobs asynchronous verbs leave behind.

use super::super::error::RestError;
use super::super::query::{links, select, Fields, Schema};
use super::super::{get, Call, Ctx, Reply, Route};
use super::{instance, svm_ref, time};
use crate::model::{Cluster, Job, JobState, Node};
use serde_json::{json, Value};

pub static ROUTES: &[Route] = &[
    get("/cluster", cluster),
    get("/cluster/software", software),
    get("/cluster/nodes", nodes),
    get("/cluster/nodes/{uuid}", node),
    get("/cluster/jobs", jobs),
    get("/cluster/jobs/{uuid}", job),
];

pub const CLUSTER: Schema = Schema {
    keys: &["name", "uuid"],
    defaults: &[],
    order: &["name"],
    fields: &[
        "name",
        "uuid",
        "version",
        "version.full",
        "version.generation",
        "version.major",
        "version.minor",
        "location",
        "contact",
        "san_optimized",
        "disaggregated",
        "management_interfaces",
        "management_interfaces.name",
        "management_interfaces.uuid",
        "management_interfaces.ip",
        "management_interfaces.ip.address",
        "_links",
    ],
};

fn version(c: &Cluster) -> Value {
    let v = &c.version;
    json!({"full": v.banner(), "generation": v.generation, "major": v.major, "minor": v.minor})
}

fn cluster_record(c: &Cluster) -> Value {
    let mgmt: Vec<Value> = c
        .svms
        .values()
        .flat_map(|s| s.lifs.iter())
        .filter(|l| l.role != "data")
        .map(|l| json!({"name": l.name, "uuid": l.uuid.to_string(), "ip": {"address": l.address.to_string()}}))
        .collect();
    json!({
        "name": c.name,
        "uuid": c.uuid.to_string(),
        "version": version(c),
        "location": c.location,
        "contact": c.contact,
        // Not an ASA r2 and not disaggregated: Trident keeps the plain ontap-nas personality.
        "san_optimized": false,
        "disaggregated": false,
        "management_interfaces": mgmt,
        "_links": links("/api/cluster".into()),
    })
}

fn cluster(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    call.query.finish()?;
    let c = ctx.sim.read();
    let fields = match call.query.fields(&CLUSTER)? {
        Fields::Default => Fields::All,
        f => f,
    };
    Ok(Reply::ok(select(&cluster_record(&c), &fields, &CLUSTER)))
}

pub const SOFTWARE: Schema = Schema {
    keys: &[],
    defaults: &[],
    order: &["version"],
    fields: &[
        "version",
        "state",
        "nodes",
        "nodes.name",
        "nodes.version",
        "nodes.model",
        "_links",
    ],
};

/// `/cluster/software`: the ONTAP release the cluster and every node run (no update in progress:
/// `state` is `completed`). Ansible's na_ontap_rest_info gathers it by default.
fn software(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let c = ctx.sim.read();
    let mut nodes: Vec<&Node> = c.nodes.iter().collect();
    nodes.sort_by(|a, b| a.name.cmp(&b.name));
    let nodes: Vec<Value> = nodes
        .into_iter()
        .map(|n| json!({"name": n.name, "version": c.version.release, "model": n.model}))
        .collect();
    let record = json!({
        "version": c.version.release,
        "state": "completed",
        "nodes": nodes,
        "_links": links("/api/cluster/software".into()),
    });
    Ok(Reply::ok(instance(
        &call.query,
        &SOFTWARE,
        record,
        "cluster software",
    )?))
}

pub const NODE: Schema = Schema {
    keys: &["uuid", "name"],
    defaults: &[],
    order: &["name"],
    fields: &[
        "uuid",
        "name",
        "serial_number",
        "model",
        "system_id",
        "state",
        "membership",
        "version",
        "version.full",
        "version.generation",
        "version.major",
        "version.minor",
        "location",
        "_links",
    ],
};

fn node_record(c: &Cluster, n: &Node) -> Value {
    json!({
        "uuid": n.uuid.to_string(),
        "name": n.name,
        "serial_number": n.serial_number,
        "model": n.model,
        "system_id": n.system_id,
        "state": "up",
        "membership": "available",
        "version": version(c),
        "location": c.location,
        "_links": links(format!("/api/cluster/nodes/{}", n.uuid)),
    })
}

fn nodes(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let c = ctx.sim.read();
    let mut all: Vec<&Node> = c.nodes.iter().collect();
    all.sort_by(|a, b| a.name.cmp(&b.name));
    let records = all.into_iter().map(|n| node_record(&c, n));
    call.collection(&NODE, records)
}

fn node(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let c = ctx.sim.read();
    let n = c
        .nodes
        .iter()
        .find(|n| n.uuid.to_string() == call.var(0))
        .ok_or_else(|| RestError::not_found(&format!("node {}", call.var(0))))?;
    let body = instance(&call.query, &NODE, node_record(&c, n), call.var(0))?;
    Ok(Reply::ok(body))
}

/// An instance GET without `fields` returns every field, as ONTAP does.
pub fn instance_fields(f: &Fields) -> Fields {
    match f {
        Fields::Default => Fields::All,
        other => other.clone(),
    }
}

pub const JOB: Schema = Schema {
    keys: &["uuid"],
    defaults: &[],
    order: &["uuid"],
    fields: &[
        "uuid",
        "description",
        "state",
        "message",
        "code",
        "start_time",
        "end_time",
        "svm",
        "svm.name",
        "svm.uuid",
        "_links",
    ],
};

fn job_record(c: &Cluster, j: &Job) -> Value {
    let mut r = json!({
        "uuid": j.uuid.to_string(),
        "description": j.description,
        "state": j.state.as_str(),
        "message": match j.state {
            JobState::Success => "success".to_string(),
            JobState::Failure => j.completion.clone(),
            JobState::Queued => "Queued".to_string(),
            JobState::Running => "Running".to_string(),
        },
        "code": j.error_code,
        "start_time": time(j.start_time),
        "_links": links(format!("/api/cluster/jobs/{}", j.uuid)),
    });
    if let Some(e) = j.end_time {
        r["end_time"] = json!(time(e));
    }
    if let Some(s) = &j.svm {
        r["svm"] = svm_ref(c, s);
    }
    r
}

fn visible(ctx: &Ctx, j: &Job) -> bool {
    ctx.scope().is_none() || j.svm.as_deref().is_some_and(|s| ctx.sees(s))
}

fn jobs(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let c = ctx.sim.read();
    let mut all: Vec<(String, &Job)> = c
        .jobs
        .values()
        .filter(|j| visible(ctx, j))
        .map(|j| (j.uuid.to_string(), j))
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    let records = all.into_iter().map(|(_, j)| job_record(&c, j));
    call.collection(&JOB, records)
}

fn job(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let c = ctx.sim.read();
    let j = c
        .job_by_uuid(call.var(0))
        .filter(|j| visible(ctx, j))
        .ok_or_else(|| RestError::not_found(&format!("job {}", call.var(0))).target("uuid"))?;
    let body = instance(&call.query, &JOB, job_record(&c, j), call.var(0))?;
    Ok(Reply::ok(body))
}
