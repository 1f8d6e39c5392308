//! `/api/svm/svms`: the SVMs, with their state, aggregates and protocols. Trident takes the SVM's
//! UUID from here and refuses a backend whose SVM has no aggregates or is not running.

use super::super::body::Body;
use super::super::error::RestError;
use super::super::job::{self, Op};
use super::super::query::{links, Schema};
use super::super::{delete, get, patch, post, Call, Ctx, Reply, Route};
use super::instance;
use super::{aggregate_ref, applied, location_query, observed};
use crate::model::{Cluster, ModelError, NfsChange, Svm, SvmChange, SvmSpec, SvmState};
use serde_json::{json, Value};

pub static ROUTES: &[Route] = &[
    get("/svm/svms", svms),
    post("/svm/svms", create),
    get("/svm/svms/{uuid}", svm),
    patch("/svm/svms/{uuid}", modify),
    delete("/svm/svms/{uuid}", remove),
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
        "nfs.allowed",
        "cifs",
        "cifs.enabled",
        "cifs.allowed",
        "iscsi",
        "iscsi.enabled",
        "iscsi.allowed",
        "fcp",
        "fcp.enabled",
        "fcp.allowed",
        "nvme",
        "nvme.enabled",
        "nvme.allowed",
        "s3",
        "s3.enabled",
        "s3.allowed",
        "ndmp",
        "ndmp.allowed",
        "max_volumes",
        "auto_enable_analytics",
        "auto_enable_activity_tracking",
        "storage",
        "storage.limit",
        "dns",
        "dns.domains",
        "dns.servers",
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

/// Whether the SVM allows a protocol, and whether that protocol's service runs (only the NFS
/// service is modelled: the others are enabled when allowed, as the topology always had them).
fn protocol(s: &Svm, p: &str) -> Value {
    let allowed = s.allows(p);
    let enabled = if p == "nfs" {
        s.nfs.as_ref().is_some_and(|n| n.enabled)
    } else {
        allowed
    };
    json!({"allowed": allowed, "enabled": enabled})
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
    let mut rec = json!({
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
        "s3": protocol(s, "s3"),
        "ndmp": {"allowed": s.allows("ndmp")},
        "max_volumes": "unlimited",
        "auto_enable_analytics": false,
        "auto_enable_activity_tracking": false,
        "ip_interfaces": lifs,
        "ipspace": {"name": "Default"},
        "snapshot_policy": {"name": "default"},
        "_links": links(format!("/api/svm/svms/{}", s.uuid)),
    });
    if let Some(d) = &s.dns {
        rec["dns"] = json!({"domains": d.domains, "servers": d.servers});
    }
    rec
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

const PROTOCOLS: &[&str] = &["nfs", "cifs", "iscsi", "fcp", "nvme", "s3", "ndmp"];

/// `aggregates: [{"name"}|{"uuid"}]` as aggregate names.
fn aggregate_names(c: &Cluster, b: &Body) -> Result<Option<Vec<String>>, RestError> {
    let Some(list) = b.objects("aggregates")? else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for a in list {
        let name = match (a.get("name"), a.get("uuid")) {
            (Some(Value::String(n)), _) => n.clone(),
            (None, Some(Value::String(u))) => c
                .aggregates
                .values()
                .find(|x| x.uuid.to_string() == *u)
                .map(|x| x.name.clone())
                .ok_or_else(|| {
                    RestError::new(
                        404,
                        super::super::error::AGGREGATE_NOT_FOUND,
                        format!("Aggregate \"{u}\" does not exist."),
                    )
                    .target("aggregates.uuid")
                })?,
            _ => return Err(RestError::missing("aggregates.name")),
        };
        out.push(name);
    }
    Ok(Some(out))
}

/// The `<protocol>.allowed` switches of a body applied to a protocol list; `None` when the body
/// has none. Also returns `nfs.enabled`, when given.
fn protocol_switches(
    b: &Body,
    current: &[String],
) -> Result<(Option<Vec<String>>, Option<bool>), RestError> {
    let mut list: Vec<String> = current.to_vec();
    let mut touched = false;
    for p in PROTOCOLS {
        if let Some(allowed) = b.bool(&format!("{p}.allowed"))? {
            touched = true;
            list.retain(|x| x != p);
            if allowed {
                list.push(p.to_string());
            }
        }
    }
    let nfs_enabled = b.bool("nfs.enabled")?;
    for p in PROTOCOLS.iter().filter(|p| **p != "nfs" && **p != "ndmp") {
        // Only the NFS service is modelled: other services cannot be switched here.
        if let Some(v) = b.value(&format!("{p}.enabled")) {
            return Err(RestError::invalid(
                &format!("{p}.enabled"),
                format!("Enabling or disabling the {p} service is not supported by the simulator ({v})."),
            ));
        }
    }
    Ok((touched.then_some(list), nfs_enabled))
}

fn create(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    if ctx.scope().is_some() {
        return Err(RestError::new(
            403,
            super::super::error::NOT_AUTHORIZED,
            "not authorized for that command: SVMs are created by a cluster administrator",
        ));
    }
    let b = &call.body;
    let name = b.req_str("name")?;
    let aggregates = aggregate_names(&ctx.sim.read(), b)?;
    if let Some(ip) = b.str("ipspace.name")?.filter(|i| i != "Default") {
        return Err(RestError::from(ModelError::NotFound {
            kind: "IPspace",
            name: ip,
        })
        .target("ipspace.name"));
    }
    let all: Vec<String> = crate::model::svm::DEFAULT_PROTOCOLS
        .iter()
        .map(|p| p.to_string())
        .collect();
    let (protocols, nfs_enabled) = protocol_switches(b, &all)?;
    let spec = SvmSpec {
        name: name.clone(),
        root_volume: None,
        root_volume_aggregate: None,
        aggregates: aggregates.unwrap_or_default(),
        language: b.str("language")?,
        security_style: None,
        allowed_protocols: protocols,
        comment: b.str("comment")?,
        snapshot_policy: b.str("snapshot_policy.name")?,
        subtype: b.str("subtype")?,
    };
    let svm = name.clone();
    let op: Op = Box::new(move |c: &mut Cluster| {
        c.create_svm(spec)?;
        if nfs_enabled == Some(true) {
            c.create_nfs_service(&svm, NfsChange::default())?;
        }
        Ok(())
    });
    let (op, done) = observed(op);
    let mut reply = job::start(ctx, call, &name, op)?;
    let made = applied(&done)
        .then(|| ctx.sim.read().svms.get(&name).map(|s| s.uuid.to_string()))
        .flatten();
    reply = reply.location(match &made {
        Some(uuid) => format!("/api/svm/svms/{uuid}"),
        None => location_query("/api/svm/svms", &[("name", &name)]),
    });
    if call.query.wants_records() {
        let rec = match &made {
            Some(uuid) => {
                json!({"uuid": uuid, "name": name, "_links": links(format!("/api/svm/svms/{uuid}"))})
            }
            None => json!({"name": name}),
        };
        reply.body["num_records"] = json!(1);
        reply.body["records"] = json!([rec]);
    }
    Ok(reply)
}

/// The SVM a `{uuid}` path names, within the caller's scope.
fn by_uuid(ctx: &Ctx, c: &Cluster, uuid: &str) -> Result<String, RestError> {
    c.svms
        .values()
        .find(|s| s.uuid.to_string() == uuid && ctx.sees(&s.name))
        .map(|s| s.name.clone())
        .ok_or_else(|| {
            RestError::new(
                404,
                super::super::error::SVM_NOT_FOUND,
                format!("SVM \"{uuid}\" does not exist."),
            )
            .target("uuid")
        })
}

fn modify(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let b = &call.body;
    let (name, current, aggregates) = {
        let c = ctx.sim.read();
        let name = by_uuid(ctx, &c, call.var(0))?;
        let current = c.svm(&name)?.allowed_protocols.clone();
        (name, current, aggregate_names(&c, b)?)
    };
    let new_name = b.str("name")?.filter(|n| *n != name);
    let state = match b.str("state")?.as_deref() {
        None => None,
        Some("running") => Some(SvmState::Running),
        Some("stopped") => Some(SvmState::Stopped),
        Some(v) => {
            return Err(RestError::invalid(
                "state",
                format!("The value \"{v}\" is invalid for field \"state\" (running, stopped)."),
            ))
        }
    };
    let (protocols, nfs_enabled) = protocol_switches(b, &current)?;
    let ch = SvmChange {
        comment: b.str("comment")?,
        language: b.str("language")?,
        aggregates,
        allowed_protocols: protocols,
        snapshot_policy: b.str("snapshot_policy.name")?,
        quota_policy: None,
    };
    let svm = name.clone();
    let op: Op = Box::new(move |c: &mut Cluster| {
        c.modify_svm(&svm, ch)?;
        if let Some(e) = nfs_enabled {
            c.set_nfs_enabled(&svm, e)?;
        }
        if let Some(st) = state {
            c.set_svm_state(&svm, st)?;
        }
        if let Some(n) = new_name {
            c.rename_svm(&svm, &n)?;
        }
        Ok(())
    });
    job::start(ctx, call, &name, op)
}

fn remove(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let name = by_uuid(ctx, &ctx.sim.read(), call.var(0))?;
    if ctx.scope().is_some() {
        return Err(RestError::new(
            403,
            super::super::error::NOT_AUTHORIZED,
            "not authorized for that command: SVMs are deleted by a cluster administrator",
        ));
    }
    let svm = name.clone();
    let op: Op = Box::new(move |c: &mut Cluster| c.delete_svm(&svm));
    job::start(ctx, call, &name, op)
}
