//! `/api/cluster/licensing/licenses`: one record per package, licensed or not. Without a `state`
//! filter only licensed packages are listed, as ONTAP answers. POST adds licenses by key; DELETE
//! removes a package's license.

use super::super::error::RestError;
use super::super::query::{links, Schema};
use super::super::{delete, get, post, Call, Ctx, Reply, Route};
use super::instance;
use crate::model::license::PACKAGES;
use crate::model::Cluster;
use serde_json::{json, Value};

pub static ROUTES: &[Route] = &[
    get("/cluster/licensing/licenses", list),
    post("/cluster/licensing/licenses", create),
    get("/cluster/licensing/licenses/{name}", show),
    delete("/cluster/licensing/licenses/{name}", remove),
];

pub const LICENSE: Schema = Schema {
    keys: &["name"],
    defaults: &["name", "_links"],
    order: &["name"],
    fields: &[
        "name",
        "scope",
        "state",
        "description",
        "licenses",
        "licenses.owner",
        "licenses.serial_number",
        "licenses.installed_license",
        "licenses.active",
        "licenses.compliance",
        "licenses.compliance.state",
        "_links",
    ],
};

fn record(c: &Cluster, package: &str, description: &str) -> Value {
    let licenses: Vec<Value> = c
        .licenses
        .get(package)
        .map(|l| {
            json!({"owner": c.name, "serial_number": l.serial_number,
                   "installed_license": "Legacy", "active": true,
                   "compliance": {"state": "compliant"}})
        })
        .into_iter()
        .collect();
    let state = if licenses.is_empty() {
        "unlicensed"
    } else {
        "compliant"
    };
    json!({
        "name": package,
        "scope": if package == "base" { "site" } else { "cluster" },
        "state": state,
        "description": description,
        "licenses": licenses,
        "_links": links(format!("/api/cluster/licensing/licenses/{package}")),
    })
}

fn list(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    // `state` is a filter ONTAP reads itself: a list (`compliant,unlicensed` or with `|`).
    let states: Option<Vec<String>> = call.query.take("state").map(|s| {
        s.split([',', '|'])
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect()
    });
    let c = ctx.sim.read();
    let records: Vec<Value> = PACKAGES
        .iter()
        .map(|(p, d)| record(&c, p, d))
        .filter(|r| {
            let st = r["state"].as_str().unwrap_or("");
            match &states {
                None => st == "compliant",
                Some(list) => list.iter().any(|s| s == st),
            }
        })
        .collect();
    call.collection(&LICENSE, records)
}

fn show(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let c = ctx.sim.read();
    let (p, d) = PACKAGES
        .iter()
        .find(|(p, _)| *p == call.var(0))
        .ok_or_else(|| RestError::not_found(&format!("license package {}", call.var(0))))?;
    let body = instance(&call.query, &LICENSE, record(&c, p, d), call.var(0))?;
    Ok(Reply::ok(body))
}

fn create(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let keys = call
        .body
        .strs("keys")?
        .ok_or_else(|| RestError::missing("keys"))?;
    call.body.finish()?;
    call.query.finish()?;
    let packages = ctx
        .sim
        .mutate(|c| c.add_licenses(&keys).map_err(RestError::from))?;
    let mut body = json!({});
    if call.query.wants_records() {
        let recs: Vec<Value> = packages
            .iter()
            .map(|p| json!({"name": p, "_links": links(format!("/api/cluster/licensing/licenses/{p}"))}))
            .collect();
        body = json!({"num_records": recs.len(), "records": recs});
    }
    Ok(Reply::created(body))
}

fn remove(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let serial = call.query.take("serial_number");
    call.body.finish()?;
    call.query.finish()?;
    let package = call.var(0).to_string();
    ctx.sim.mutate(|c| {
        c.delete_license(&package, serial.as_deref())
            .map_err(RestError::from)
    })?;
    Ok(Reply::ok(json!({})))
}
