//! `/api/name-services/dns`: each SVM's DNS configuration, keyed by the SVM's UUID.

use super::super::error::RestError;
use super::super::query::{links, Schema};
use super::super::{delete, get, patch, post, Call, Ctx, Reply, Route};
use super::{instance, svm_ref};
use crate::model::{Cluster, Dns, ModelError, Svm};
use serde_json::{json, Value};

pub static ROUTES: &[Route] = &[
    get("/name-services/dns", list),
    post("/name-services/dns", create),
    get("/name-services/dns/{svm.uuid}", show),
    patch("/name-services/dns/{svm.uuid}", modify),
    delete("/name-services/dns/{svm.uuid}", remove),
];

pub const DNS: Schema = Schema {
    keys: &["svm.uuid", "svm.name"],
    defaults: &[
        "svm", "svm.name", "svm.uuid", "domains", "servers", "_links",
    ],
    order: &["svm.name"],
    fields: &[
        "svm", "svm.name", "svm.uuid", "domains", "servers", "scope", "timeout", "attempts",
        "_links",
    ],
};

fn record(c: &Cluster, s: &Svm, d: &Dns) -> Value {
    json!({
        "svm": svm_ref(c, &s.name),
        "domains": d.domains,
        "servers": d.servers,
        "scope": "svm",
        "timeout": 2,
        "attempts": 1,
        "_links": links(format!("/api/name-services/dns/{}", s.uuid)),
    })
}

fn list(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let c = ctx.sim.read();
    let records = c
        .svms
        .values()
        .filter(|s| ctx.sees(&s.name))
        .filter_map(|s| s.dns.as_ref().map(|d| record(&c, s, d)));
    call.collection(&DNS, records)
}

fn show(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let c = ctx.sim.read();
    let s = super::svm_by_uuid(ctx, &c, call.var(0))?;
    let d = s
        .dns
        .as_ref()
        .ok_or_else(|| RestError::not_found(&format!("DNS configuration of SVM {}", s.name)))?;
    let body = instance(&call.query, &DNS, record(&c, s, d), call.var(0))?;
    Ok(Reply::ok(body).svm(s.name.clone()))
}

fn create(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let b = &call.body;
    let svm = {
        let c = ctx.sim.read();
        ctx.svm_named(
            &c,
            b.str("svm.name")?.as_deref(),
            b.str("svm.uuid")?.as_deref(),
        )?
    };
    let dns = Dns {
        domains: b.strs("domains")?.unwrap_or_default(),
        servers: b.strs("servers")?.unwrap_or_default(),
    };
    // The simulator has no name servers to reach, so there is nothing to validate against.
    b.bool("skip_config_validation")?;
    b.finish()?;
    call.query.finish()?;
    let uuid = ctx.sim.mutate(|c| {
        c.set_dns(&svm, Some(dns), true)?;
        Ok::<_, RestError>(c.svm(&svm)?.uuid.to_string())
    })?;
    let mut body = json!({});
    if call.query.wants_records() {
        body = json!({"num_records": 1, "records": [{"svm": {"name": svm, "uuid": uuid},
            "_links": links(format!("/api/name-services/dns/{uuid}"))}]});
    }
    Ok(Reply::created(body)
        .svm(svm)
        .location(format!("/api/name-services/dns/{uuid}")))
}

fn modify(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let svm = super::svm_by_uuid(ctx, &ctx.sim.read(), call.var(0))?
        .name
        .clone();
    let b = &call.body;
    let domains = b.strs("domains")?;
    let servers = b.strs("servers")?;
    b.bool("skip_config_validation")?;
    b.finish()?;
    call.query.finish()?;
    ctx.sim.mutate(|c| {
        let cur = c
            .svm(&svm)?
            .dns
            .clone()
            .ok_or_else(|| ModelError::NotFound {
                kind: "DNS configuration of Vserver",
                name: svm.clone(),
            })?;
        let dns = Dns {
            domains: domains.unwrap_or(cur.domains),
            servers: servers.unwrap_or(cur.servers),
        };
        c.set_dns(&svm, Some(dns), false).map_err(RestError::from)
    })?;
    Ok(Reply::ok(json!({})).svm(svm))
}

fn remove(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let svm = super::svm_by_uuid(ctx, &ctx.sim.read(), call.var(0))?
        .name
        .clone();
    call.body.finish()?;
    call.query.finish()?;
    ctx.sim
        .mutate(|c| c.set_dns(&svm, None, false).map_err(RestError::from))?;
    Ok(Reply::ok(json!({})).svm(svm))
}
