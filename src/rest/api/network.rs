//! `/api/network/ip/interfaces`: the LIFs. Trident takes its NFS server address from the data LIFs
//! whose `state` is `up` (`ontap-sim lif down` makes one disappear from its list).

use super::super::error::RestError;
use super::super::query::{links, Schema};
use super::super::{get, Call, Ctx, Reply, Route};
use super::instance;
use super::svm::services;
use super::{node_ref, svm_ref};
use crate::model::{Cluster, Lif, Svm};
use serde_json::{json, Value};

pub static ROUTES: &[Route] = &[
    get("/network/ip/interfaces", interfaces),
    get("/network/ip/interfaces/{uuid}", interface),
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
            "netmask": l.netmask,
            "family": if l.address.is_ipv4() { "ipv4" } else { "ipv6" },
        },
        "state": l.status.as_str(),
        "enabled": true,
        "services": services(&l.role, &l.protocols),
        "svm": svm_ref(c, &s.name),
        "scope": "svm",
        "ipspace": {"name": "Default"},
        "location": {
            "home_node": node_ref(c, &l.home_node),
            "node": node_ref(c, &l.home_node),
            "home_port": {"name": "e0a"},
            "port": {"name": "e0a"},
            "is_home": true,
        },
        "service_policy": {"name": if l.role == "data" { "default-data-files" } else { "default-management" }},
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
