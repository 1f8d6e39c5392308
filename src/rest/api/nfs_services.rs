//! `/api/protocols/nfs/services`: each SVM's NFS server (enabled, NFS versions, transports),
//! keyed by the SVM's UUID. The NFS front obeys it (see `model::nfs_access`).

use super::super::body::Body;
use super::super::error::RestError;
use super::super::query::{links, Schema};
use super::super::{delete, get, patch, post, Call, Ctx, Reply, Route};
use super::{instance, svm_ref};
use crate::model::{Cluster, NfsChange, NfsService, Svm};
use serde_json::{json, Value};

pub static ROUTES: &[Route] = &[
    get("/protocols/nfs/services", services),
    post("/protocols/nfs/services", create),
    get("/protocols/nfs/services/{svm.uuid}", service),
    patch("/protocols/nfs/services/{svm.uuid}", modify),
    delete("/protocols/nfs/services/{svm.uuid}", remove),
];

pub const SERVICE: Schema = Schema {
    keys: &["svm.uuid", "svm.name"],
    defaults: &["svm", "svm.name", "svm.uuid", "_links"],
    order: &["svm.name"],
    fields: &[
        "svm",
        "svm.name",
        "svm.uuid",
        "enabled",
        "state",
        "protocol",
        "protocol.v3_enabled",
        "protocol.v40_enabled",
        "protocol.v41_enabled",
        "protocol.v4_id_domain",
        "protocol.v40_features",
        "protocol.v41_features",
        "protocol.v3_features",
        "protocol.v42_features",
        "protocol.v3_64bit_identifiers_enabled",
        "protocol.v4_64bit_identifiers_enabled",
        "protocol.v4_fsid_change",
        "protocol.v4_lease_seconds",
        "protocol.v4_grace_seconds",
        "transport",
        "transport.tcp_enabled",
        "transport.udp_enabled",
        "transport.tcp_max_transfer_size",
        "showmount_enabled",
        "vstorage_enabled",
        "root",
        "security",
        "windows",
        "_links",
    ],
};

fn record(c: &Cluster, s: &Svm, n: &NfsService) -> Value {
    json!({
        "svm": svm_ref(c, &s.name),
        "enabled": n.enabled,
        "state": if n.enabled { "online" } else { "offline" },
        "protocol": {
            "v3_enabled": n.v3,
            "v40_enabled": n.v40,
            "v41_enabled": n.v41,
            "v4_id_domain": n.v4_id_domain,
        },
        "transport": {"tcp_enabled": n.tcp, "udp_enabled": n.udp},
        "showmount_enabled": n.showmount,
        "_links": links(format!("/api/protocols/nfs/services/{}", s.uuid)),
    })
}

fn services(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let c = ctx.sim.read();
    let records = c
        .svms
        .values()
        .filter(|s| ctx.sees(&s.name))
        .filter_map(|s| s.nfs.as_ref().map(|n| record(&c, s, n)));
    call.collection(&SERVICE, records)
}

fn service(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let c = ctx.sim.read();
    let s = super::svm_by_uuid(ctx, &c, call.var(0))?;
    let n = s
        .nfs
        .as_ref()
        .ok_or_else(|| RestError::not_found(&format!("NFS service of SVM {}", s.name)))?;
    let body = instance(&call.query, &SERVICE, record(&c, s, n), call.var(0))?;
    Ok(Reply::ok(body).svm(s.name.clone()))
}

/// A boolean field; ONTAP also takes the strings `"true"` and `"false"` (Ansible's na_ontap_nfs
/// sends those).
fn flag(b: &Body, path: &str) -> Result<Option<bool>, RestError> {
    match b.value(path) {
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(Value::String(_)) => b.bool(path),
        _ => b.bool(path),
    }
}

fn change(b: &Body) -> Result<NfsChange, RestError> {
    Ok(NfsChange {
        enabled: flag(b, "enabled")?,
        v3: flag(b, "protocol.v3_enabled")?,
        v40: flag(b, "protocol.v40_enabled")?,
        v41: flag(b, "protocol.v41_enabled")?,
        tcp: flag(b, "transport.tcp_enabled")?,
        udp: flag(b, "transport.udp_enabled")?,
        showmount: flag(b, "showmount_enabled")?,
        v4_id_domain: b.str("protocol.v4_id_domain")?,
    })
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
    let ch = change(b)?;
    b.finish()?;
    call.query.finish()?;
    let uuid = ctx.sim.mutate(|c| {
        c.create_nfs_service(&svm, ch)?;
        Ok::<_, RestError>(c.svm(&svm)?.uuid.to_string())
    })?;
    let mut body = json!({});
    if call.query.wants_records() {
        body = json!({"num_records": 1, "records": [{"svm": {"name": svm, "uuid": uuid},
            "_links": links(format!("/api/protocols/nfs/services/{uuid}"))}]});
    }
    Ok(Reply::created(body)
        .svm(svm)
        .location(format!("/api/protocols/nfs/services/{uuid}")))
}

fn modify(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let svm = super::svm_by_uuid(ctx, &ctx.sim.read(), call.var(0))?
        .name
        .clone();
    let ch = change(&call.body)?;
    call.body.finish()?;
    call.query.finish()?;
    ctx.sim
        .mutate(|c| c.modify_nfs_service(&svm, ch).map_err(RestError::from))?;
    Ok(Reply::ok(json!({})).svm(svm))
}

fn remove(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let svm = super::svm_by_uuid(ctx, &ctx.sim.read(), call.var(0))?
        .name
        .clone();
    call.body.finish()?;
    call.query.finish()?;
    ctx.sim
        .mutate(|c| c.delete_nfs_service(&svm).map_err(RestError::from))?;
    Ok(Reply::ok(json!({})).svm(svm))
}
