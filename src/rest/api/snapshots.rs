//! `/api/storage/volumes/{uuid}/snapshots`: create, list, rename and delete snapshots (jobs, as on
//! ONTAP). Deleting a snapshot a FlexClone depends on fails its job with code 1638555, which
//! Trident answers by splitting the clone.

use super::super::error::{Endpoint, RestError};
use super::super::job::{self, Op};
use super::super::query::{links, Schema};
use super::super::{bulk, delete, get, patch, post, Call, Ctx, Reply, Route};
use super::instance;
use super::volumes::by_uuid;
use super::{applied, location_query, observed, svm_ref, time};
use crate::model::{Cluster, Snapshot, Volume};
use serde_json::{json, Value};

pub static ROUTES: &[Route] = &[
    get("/storage/volumes/{uuid}/snapshots", list),
    post("/storage/volumes/{uuid}/snapshots", create),
    get("/storage/volumes/{uuid}/snapshots/{snapshot}", show),
    patch("/storage/volumes/{uuid}/snapshots/{snapshot}", modify),
    delete("/storage/volumes/{uuid}/snapshots/{snapshot}", remove),
    patch("/storage/volumes/{uuid}/snapshots", modify_all),
    delete("/storage/volumes/{uuid}/snapshots", remove_all),
];

pub const SNAPSHOT: Schema = Schema {
    keys: &["uuid", "name"],
    defaults: &[],
    order: &["create_time", "name"],
    fields: &[
        "uuid",
        "name",
        "volume",
        "volume.name",
        "volume.uuid",
        "svm",
        "svm.name",
        "svm.uuid",
        "create_time",
        "comment",
        "snapmirror_label",
        "size",
        "state",
        "expiry_time",
        "_links",
    ],
};

fn record(c: &Cluster, v: &Volume, s: &Snapshot) -> Value {
    let mut r = json!({
        "uuid": s.uuid.to_string(),
        "name": s.name,
        "volume": {"name": v.name, "uuid": v.uuid.to_string(), "_links": links(format!("/api/storage/volumes/{}", v.uuid))},
        "svm": svm_ref(c, &v.svm),
        "create_time": time(s.create_time),
        "size": s.size,
        "state": "valid",
        "_links": links(format!("/api/storage/volumes/{}/snapshots/{}", v.uuid, s.uuid)),
    });
    // ONTAP leaves out a comment or label that was never set (a label is 1 to 31 characters).
    if !s.comment.is_empty() {
        r["comment"] = json!(s.comment);
    }
    if !s.snapmirror_label.is_empty() {
        r["snapmirror_label"] = json!(s.snapmirror_label);
    }
    r
}

/// Snapshots in creation order (then by name), as ONTAP lists them.
fn in_order(v: &Volume) -> Vec<&Snapshot> {
    let mut all: Vec<&Snapshot> = v.snapshots.values().collect();
    all.sort_by(|a, b| (a.create_time, a.seq, &a.name).cmp(&(b.create_time, b.seq, &b.name)));
    all
}

fn list(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let c = ctx.sim.read();
    let v = by_uuid(ctx, &c, call.var(0))?;
    let records = in_order(v).into_iter().map(|s| record(&c, v, s));
    Ok(call.collection(&SNAPSHOT, records)?.svm(v.svm.clone()))
}

fn find<'a>(v: &'a Volume, uuid: &str) -> Result<&'a Snapshot, RestError> {
    let wanted = uuid::Uuid::parse_str(uuid).ok();
    v.snapshots
        .values()
        .find(|s| Some(s.uuid) == wanted)
        .ok_or_else(|| RestError::not_found(&format!("snapshot {uuid}")).target("uuid"))
}

fn show(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let c = ctx.sim.read();
    let v = by_uuid(ctx, &c, call.var(0))?;
    let s = find(v, call.var(1))?;
    let body = instance(&call.query, &SNAPSHOT, record(&c, v, s), call.var(0))?;
    Ok(Reply::ok(body).svm(v.svm.clone()))
}

fn create(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let (svm, volume, vuuid) = {
        let c = ctx.sim.read();
        let v = by_uuid(ctx, &c, call.var(0))?;
        (v.svm.clone(), v.name.clone(), v.uuid.to_string())
    };
    let b = &call.body;
    if b.str("svm.name")?.is_some_and(|n| n != svm)
        || b.str("svm.uuid")?.is_some_and(|u| {
            ctx.sim
                .read()
                .svms
                .get(&svm)
                .is_none_or(|s| s.uuid.to_string() != u)
        })
    {
        return Err(RestError::invalid(
            "svm",
            "The SVM does not own this volume.",
        ));
    }
    b.value("volume");
    let name = b.req_str("name")?;
    let comment = b.str("comment")?.unwrap_or_default();
    let label = b.str("snapmirror_label")?.unwrap_or_default();
    let (s, vol, n) = (svm.clone(), volume.clone(), name.clone());
    let op: Op = Box::new(move |c: &mut Cluster| c.create_snapshot(&s, &vol, &n, &comment, &label));
    let (op, done) = observed(op);
    let mut reply = job::start_at(ctx, call, &svm, Some(Endpoint::SnapshotCreate), op)?;
    let collection = format!("/api/storage/volumes/{vuuid}/snapshots");
    // The job may have made the snapshot already (no job duration): then its UUID is known.
    let made = applied(&done)
        .then(|| {
            let c = ctx.sim.read();
            c.volumes
                .get(&(svm.clone(), volume.clone()))
                .and_then(|v| v.snapshots.get(&name))
                .map(|s| s.uuid.to_string())
        })
        .flatten();
    let rec = match &made {
        Some(uuid) => {
            json!({"uuid": uuid, "name": name, "_links": links(format!("{collection}/{uuid}"))})
        }
        None => json!({"name": name}),
    };
    reply = reply.location(match &made {
        Some(uuid) => format!("{collection}/{uuid}"),
        None => location_query(&collection, &[("name", &name)]),
    });
    if call.query.wants_records() {
        reply.body["num_records"] = json!(1);
        reply.body["records"] = json!([rec]);
    }
    Ok(reply)
}

fn modify(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let (svm, volume, name) = {
        let c = ctx.sim.read();
        let v = by_uuid(ctx, &c, call.var(0))?;
        let s = find(v, call.var(1))?;
        (v.svm.clone(), v.name.clone(), s.name.clone())
    };
    let b = &call.body;
    let new_name = b.str("name")?;
    let comment = b.str("comment")?;
    let label = b.str("snapmirror_label")?;
    let s = svm.clone();
    let op: Op = Box::new(move |c: &mut Cluster| {
        let mut name = name;
        if comment.is_some() || label.is_some() {
            c.set_snapshot_labels(&s, &volume, &name, comment.as_deref(), label.as_deref())?;
        }
        if let Some(n) = new_name.filter(|n| *n != name) {
            c.rename_snapshot(&s, &volume, &name, &n)?;
            name = n;
        }
        let _ = name;
        Ok(())
    });
    job::start_at(ctx, call, &svm, Some(Endpoint::SnapshotModify), op)
}

fn remove(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let (svm, volume, name) = {
        let c = ctx.sim.read();
        let v = by_uuid(ctx, &c, call.var(0))?;
        let s = find(v, call.var(1))?;
        (v.svm.clone(), v.name.clone(), s.name.clone())
    };
    let s = svm.clone();
    let op: Op = Box::new(move |c: &mut Cluster| c.delete_snapshot(&s, &volume, &name));
    job::start_at(ctx, call, &svm, Some(Endpoint::SnapshotDelete), op)
}

/// PATCH of the snapshots a query selects (see `rest::bulk`).
fn modify_all(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    bulk::by_query(ctx, call, list, &[])
}

/// DELETE of the snapshots a query selects (see `rest::bulk`).
fn remove_all(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    bulk::by_query(ctx, call, list, &[])
}
