//! `/api/svm/svms`: the SVMs, with their state, aggregates and protocols. Trident takes the SVM's
//! UUID from here and refuses a backend whose SVM has no aggregates or is not running.

use super::super::error::RestError;
use super::super::query::{links, Schema};
use super::super::{get, Call, Ctx, Reply, Route};
use super::aggregate_ref;
use super::instance;
use crate::model::{Cluster, Svm};
use serde_json::{json, Value};

pub static ROUTES: &[Route] = &[
    get("/svm/svms", svms),
    get("/svm/svms/{uuid}", svm),
    get("/svm/peers", peers),
];

/// SVM peer relationships. The simulator peers with no other cluster, so there are none (as
/// `vserver-peer-get-iter` answers); Trident asks at start whether the SVM can be a DR source.
pub const PEER: Schema = Schema {
    keys: &["uuid"],
    defaults: &[],
    order: &["uuid"],
    fields: &[
        "uuid",
        "svm",
        "svm.name",
        "svm.uuid",
        "peer",
        "peer.svm",
        "peer.svm.name",
        "peer.svm.uuid",
        "peer.cluster",
        "peer.cluster.name",
        "state",
        "applications",
        "_links",
    ],
};

fn peers(_ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    call.collection(&PEER, std::iter::empty::<Value>())
}

pub const SVM: Schema = Schema {
    keys: &["uuid", "name"],
    defaults: &[],
    order: &["name"],
    fields: &[
        "uuid",
        "name",
        "state",
        "subtype",
        "language",
        "comment",
        "aggregates",
        "aggregates.name",
        "aggregates.uuid",
        "nfs",
        "nfs.enabled",
        "cifs",
        "cifs.enabled",
        "iscsi",
        "iscsi.enabled",
        "fcp",
        "fcp.enabled",
        "nvme",
        "nvme.enabled",
        "ip_interfaces",
        "ip_interfaces.name",
        "ip_interfaces.uuid",
        "ip_interfaces.ip",
        "ip_interfaces.ip.address",
        "ip_interfaces.services",
        "ipspace",
        "ipspace.name",
        "snapshot_policy",
        "snapshot_policy.name",
        "_links",
    ],
};

fn protocol(s: &Svm, p: &str) -> Value {
    json!({"enabled": s.allowed_protocols.iter().any(|a| a == p)})
}

/// The REST service names of a LIF.
pub fn services(role: &str, protocols: &[String]) -> Vec<String> {
    if role != "data" {
        return vec!["management_https".into()];
    }
    let mut out = vec!["data_core".to_string()];
    for p in protocols {
        match p.as_str() {
            "nfs" => out.push("data_nfs".into()),
            "cifs" => out.push("data_cifs".into()),
            "iscsi" => out.push("data_iscsi".into()),
            "fcp" => out.push("data_fc".into()),
            _ => {}
        }
    }
    out
}

pub fn svm_record(c: &Cluster, s: &Svm) -> Value {
    let aggregates: Vec<Value> = s.aggregates.iter().map(|a| aggregate_ref(c, a)).collect();
    let lifs: Vec<Value> = s
        .lifs
        .iter()
        .map(|l| {
            json!({"name": l.name, "uuid": l.uuid.to_string(), "ip": {"address": l.address.to_string()},
                   "services": services(&l.role, &l.protocols)})
        })
        .collect();
    json!({
        "uuid": s.uuid.to_string(),
        "name": s.name,
        "state": s.state.as_str(),
        "subtype": s.subtype,
        "language": s.language,
        "comment": s.comment,
        "aggregates": aggregates,
        "nfs": protocol(s, "nfs"),
        "cifs": protocol(s, "cifs"),
        "iscsi": protocol(s, "iscsi"),
        "fcp": protocol(s, "fcp"),
        "nvme": protocol(s, "nvme"),
        "ip_interfaces": lifs,
        "ipspace": {"name": "Default"},
        "snapshot_policy": {"name": "default"},
        "_links": links(format!("/api/svm/svms/{}", s.uuid)),
    })
}

fn svms(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let c = ctx.sim.read();
    let records = c
        .svms
        .values()
        .filter(|s| ctx.sees(&s.name))
        .map(|s| svm_record(&c, s));
    call.collection(&SVM, records)
}

fn svm(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let c = ctx.sim.read();
    let s = c
        .svms
        .values()
        .find(|s| s.uuid.to_string() == call.var(0) && ctx.sees(&s.name))
        .ok_or_else(|| RestError::not_found(&format!("SVM {}", call.var(0))).target("uuid"))?;
    let body = instance(&call.query, &SVM, svm_record(&c, s), call.var(0))?;
    Ok(Reply::ok(body).svm(s.name.clone()))
}
