//! `/api/network/ip/interfaces`: the LIFs. Trident takes its NFS server address from the data LIFs
//! whose `state` is `up` (`ontap-sim lif down` makes one disappear from its list).

use super::super::body::Body;
use super::super::error::RestError;
use super::super::query::{links, Schema};
use super::super::{delete, get, patch, post, Call, Ctx, Reply, Route};
use super::instance;
use super::svm::services;
use super::{node_ref, svm_ref};
use crate::model::{Cluster, Lif, LifChange, LifSpec, Svm};
use serde_json::{json, Value};

pub static ROUTES: &[Route] = &[
    get("/network/ip/interfaces", interfaces),
    post("/network/ip/interfaces", create),
    get("/network/ip/interfaces/{uuid}", interface),
    patch("/network/ip/interfaces/{uuid}", modify),
    delete("/network/ip/interfaces/{uuid}", remove),
];

pub const INTERFACE: Schema = Schema {
    keys: &["uuid", "name"],
    defaults: &[],
    order: &["svm.name", "name"],
    fields: &[
        "uuid",
        "name",
        "ip",
        "ip.address",
        "ip.netmask",
        "ip.family",
        "state",
        "enabled",
        "services",
        "svm",
        "svm.name",
        "svm.uuid",
        "scope",
        "ipspace",
        "ipspace.name",
        "location",
        "location.home_node",
        "location.home_node.name",
        "location.home_node.uuid",
        "location.node",
        "location.node.name",
        "location.node.uuid",
        "location.home_port",
        "location.home_port.name",
        "location.port",
        "location.port.name",
        "location.is_home",
        "service_policy",
        "service_policy.name",
        "_links",
    ],
};

fn record(c: &Cluster, s: &Svm, l: &Lif) -> Value {
    json!({
        "uuid": l.uuid.to_string(),
        "name": l.name,
        "ip": {
            "address": l.address.to_string(),
            // Output is always the prefix length, as ONTAP answers.
            "netmask": prefix_len(&l.netmask).to_string(),
            "family": if l.address.is_ipv4() { "ipv4" } else { "ipv6" },
        },
        "state": l.status.as_str(),
        "enabled": l.status == crate::model::OperStatus::Up,
        "services": services(&l.role, &l.protocols),
        "svm": svm_ref(c, &s.name),
        "scope": "svm",
        "ipspace": {"name": "Default"},
        "location": {
            "home_node": node_ref(c, &l.home_node),
            "node": node_ref(c, &l.home_node),
            "home_port": {"name": l.home_port, "node": {"name": l.home_node}},
            "port": {"name": l.home_port, "node": {"name": l.home_node}},
            "is_home": true,
        },
        "service_policy": {"name": l.service_policy()},
        "_links": links(format!("/api/network/ip/interfaces/{}", l.uuid)),
    })
}

fn all<'a>(ctx: &'a Ctx, c: &'a Cluster) -> impl Iterator<Item = (&'a Svm, &'a Lif)> + 'a {
    c.svms.values().filter(|s| ctx.sees(&s.name)).flat_map(|s| {
        let mut lifs: Vec<&Lif> = s.lifs.iter().collect();
        lifs.sort_by(|a, b| a.name.cmp(&b.name));
        lifs.into_iter().map(move |l| (s, l))
    })
}

fn interfaces(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let c = ctx.sim.read();
    let records = all(ctx, &c).map(|(s, l)| record(&c, s, l));
    call.collection(&INTERFACE, records)
}

fn interface(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let c = ctx.sim.read();
    let (s, l) = all(ctx, &c)
        .find(|(_, l)| l.uuid.to_string() == call.var(0))
        .ok_or_else(|| {
            RestError::not_found(&format!("interface {}", call.var(0))).target("uuid")
        })?;
    let body = instance(&call.query, &INTERFACE, record(&c, s, l), call.var(0))?;
    Ok(Reply::ok(body))
}

fn prefix_len(netmask: &str) -> u32 {
    match netmask.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(m)) => u32::from(m).count_ones(),
        Ok(std::net::IpAddr::V6(m)) => u128::from(m).count_ones(),
        Err(_) => 0,
    }
}

/// `service_policy` as ONTAP takes it: `{"name": ...}` or the name alone.
fn service_policy(b: &Body) -> Result<Option<String>, RestError> {
    match b.value("service_policy") {
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Object(_)) => b.str("service_policy.name"),
        Some(v) => Err(RestError::invalid(
            "service_policy",
            format!("The value \"{v}\" is invalid for field \"service_policy\"."),
        )),
        None => Ok(None),
    }
}

/// The home node, from `location.home_node` or the node of `location.home_port`.
fn home_node(b: &Body) -> Result<Option<String>, RestError> {
    let a = b.str("location.home_node.name")?;
    let p = b.str("location.home_port.node.name")?;
    match (a, p) {
        (Some(a), Some(p)) if a != p => Err(RestError::invalid(
            "location.home_port.node.name",
            "The home port's node is not the home node.",
        )),
        (a, p) => Ok(a.or(p)),
    }
}

fn check_scope(b: &Body) -> Result<(), RestError> {
    if let Some(s) = b.str("scope")?.filter(|s| s != "svm") {
        return Err(RestError::invalid(
            "scope",
            format!("Interfaces of scope \"{s}\" are not supported by the simulator (svm)."),
        ));
    }
    if let Some(i) = b.str("ipspace.name")?.filter(|i| i != "Default") {
        return Err(RestError::from(crate::model::ModelError::NotFound {
            kind: "IPspace",
            name: i,
        }));
    }
    Ok(())
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
    check_scope(b)?;
    let spec = LifSpec {
        name: b.req_str("name")?,
        address: Some(b.req_str("ip.address")?),
        netmask: Some(b.req_str("ip.netmask")?),
        role: None,
        protocols: None,
        service_policy: service_policy(b)?,
        home_node: home_node(b)?,
        home_port: b.str("location.home_port.name")?,
        admin_up: b.bool("enabled")?,
    };
    b.finish()?;
    call.query.finish()?;
    let name = spec.name.clone();
    let uuid = ctx.sim.mutate(|c| {
        c.create_lif(&svm, spec)?;
        Ok::<_, RestError>(c.lif(&svm, &name)?.uuid.to_string())
    })?;
    let mut body = json!({});
    if call.query.wants_records() {
        body = json!({"num_records": 1, "records": [{"uuid": uuid, "name": name,
            "_links": links(format!("/api/network/ip/interfaces/{uuid}"))}]});
    }
    Ok(Reply::created(body)
        .svm(svm)
        .location(format!("/api/network/ip/interfaces/{uuid}")))
}

fn find(ctx: &Ctx, c: &Cluster, uuid: &str) -> Result<(String, String), RestError> {
    c.lif_by_uuid(uuid)
        .filter(|(s, _)| ctx.sees(&s.name))
        .map(|(s, l)| (s.name.clone(), l.name.clone()))
        .ok_or_else(|| RestError::not_found(&format!("interface {uuid}")).target("uuid"))
}

fn modify(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let (svm, name) = find(ctx, &ctx.sim.read(), call.var(0))?;
    let b = &call.body;
    check_scope(b)?;
    let new_name = b.str("name")?.filter(|n| *n != name);
    let ch = LifChange {
        address: b.str("ip.address")?,
        netmask: b.str("ip.netmask")?,
        home_node: home_node(b)?,
        home_port: b.str("location.home_port.name")?,
        admin_up: b.bool("enabled")?,
        service_policy: service_policy(b)?,
        protocols: None,
    };
    b.finish()?;
    call.query.finish()?;
    ctx.sim.mutate(|c| {
        c.modify_lif(&svm, &name, ch)?;
        if let Some(n) = &new_name {
            c.rename_lif(&svm, &name, n)?;
        }
        Ok::<_, RestError>(())
    })?;
    Ok(Reply::ok(json!({})).svm(svm))
}

fn remove(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let (svm, name) = find(ctx, &ctx.sim.read(), call.var(0))?;
    call.body.finish()?;
    call.query.finish()?;
    ctx.sim
        .mutate(|c| c.delete_lif(&svm, &name).map_err(RestError::from))?;
    Ok(Reply::ok(json!({})).svm(svm))
}
