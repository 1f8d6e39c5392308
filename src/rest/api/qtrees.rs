//! `/api/storage/qtrees`: qtrees of a volume, addressed as `{volume.uuid}/{id}`; create, modify
//! and delete run as jobs, as on ONTAP.

use super::super::body::Body;
use super::super::error::{Endpoint, RestError};
use super::super::job::{self, Op};
use super::super::query::{self, links, Schema};
use super::super::{bulk, delete, get, patch, post, Call, Ctx, Reply, Route};
use super::instance;
use super::volumes::by_uuid;
use super::{applied, location_query, observed, svm_ref};
use crate::model::{parse_permissions, Cluster, Qtree, QtreeChange, Volume, VolumeState};
use serde_json::{json, Value};

pub static ROUTES: &[Route] = &[
    get("/storage/qtrees", list),
    post("/storage/qtrees", create),
    get("/storage/qtrees/{volume}/{id}", show),
    patch("/storage/qtrees/{volume}/{id}", modify),
    delete("/storage/qtrees/{volume}/{id}", remove),
    patch("/storage/qtrees", modify_all),
    delete("/storage/qtrees", remove_all),
];

pub const QTREE: Schema = Schema {
    keys: &["id", "name"],
    defaults: &["svm.name", "svm.uuid", "volume.name", "volume.uuid"],
    order: &["svm.name", "volume.name", "name"],
    fields: &[
        "id",
        "name",
        "svm",
        "svm.name",
        "svm.uuid",
        "volume",
        "volume.name",
        "volume.uuid",
        "security_style",
        "unix_permissions",
        "export_policy",
        "export_policy.name",
        "export_policy.id",
        "path",
        "_links",
    ],
};

fn record(c: &Cluster, q: &Qtree) -> Value {
    let v = c.volumes.get(&(q.svm.clone(), q.volume.clone()));
    let vuuid = v.map(|v| v.uuid.to_string()).unwrap_or_default();
    let policy = q
        .export_policy
        .clone()
        .or_else(|| v.map(|v| v.export_policy.clone()))
        .unwrap_or_default();
    let policy_id = c
        .export_policies
        .get(&(q.svm.clone(), policy.clone()))
        .map(|p| p.id);
    let path = v
        .and_then(|v| v.junction_path.as_deref())
        .map(|j| format!("{}/{}", j.trim_end_matches('/'), q.name))
        .unwrap_or_default();
    json!({
        "id": q.id,
        "name": q.name,
        "svm": svm_ref(c, &q.svm),
        "volume": {"name": q.volume, "uuid": vuuid},
        "security_style": q.security_style,
        "unix_permissions": format!("{:o}", q.mode).parse::<u64>().unwrap_or(0),
        "export_policy": {"name": policy, "id": policy_id},
        "path": path,
        "_links": links(format!("/api/storage/qtrees/{vuuid}/{}", q.id)),
    })
}

/// A volume's own qtree, id 0 and name "": listed with the volume's settings, as ONTAP lists it
/// (Trident's QtreeCount subtracts it).
fn root_record(c: &Cluster, v: &Volume) -> Value {
    record(
        c,
        &Qtree {
            name: String::new(),
            svm: v.svm.clone(),
            volume: v.name.clone(),
            id: 0,
            security_style: v.security_style.clone(),
            mode: v.unix_permissions,
            export_policy: None,
            oplocks: true,
            qos_policy_group: None,
            data_used: 0,
            files_used: 0,
        },
    )
}

fn list(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    // `volume=<pattern>`: the volume reference given by name, as Ansible's na_ontap_qtree looks
    // qtrees up (`volume=<name>&name="<qtree>"`).
    let volume = call.query.take("volume");
    let c = ctx.sim.read();
    let records = c
        .volumes
        .values()
        .filter(|v| ctx.sees(&v.svm) && v.state == VolumeState::Online)
        .flat_map(|v| {
            let c = &c;
            std::iter::once(root_record(c, v)).chain(
                c.qtrees
                    .range((v.svm.clone(), v.name.clone(), String::new())..)
                    .take_while(move |((s, vol, _), _)| *s == v.svm && *vol == v.name)
                    .map(move |(_, q)| record(c, q)),
            )
        })
        .filter(|r| {
            volume
                .as_deref()
                .is_none_or(|p| query::matches(r, "volume.name", p))
        });
    call.collection(&QTREE, records)
}

fn find<'a>(ctx: &Ctx, c: &'a Cluster, volume: &str, id: &str) -> Result<&'a Qtree, RestError> {
    let v = by_uuid(ctx, c, volume)?;
    c.qtrees_of(&v.svm)
        .find(|q| q.volume == v.name && q.id.to_string() == id)
        .ok_or_else(|| {
            RestError::not_found(&format!("qtree {id} of volume {}", v.name)).target("id")
        })
}

fn show(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let c = ctx.sim.read();
    if call.var(1) == "0" {
        let v = by_uuid(ctx, &c, call.var(0))?;
        let body = instance(&call.query, &QTREE, root_record(&c, v), call.var(0))?;
        return Ok(Reply::ok(body).svm(v.svm.clone()));
    }
    let q = find(ctx, &c, call.var(0), call.var(1))?;
    let body = instance(&call.query, &QTREE, record(&c, q), call.var(0))?;
    Ok(Reply::ok(body).svm(q.svm.clone()))
}

fn change(b: &Body) -> Result<QtreeChange, RestError> {
    let mode = match b.value("unix_permissions") {
        None => None,
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::String(s)) => Some(s.clone()),
        Some(v) => {
            return Err(RestError::invalid(
                "unix_permissions",
                format!("The value {v} is invalid for field \"unix_permissions\"."),
            ))
        }
    };
    Ok(QtreeChange {
        security_style: b.str("security_style")?,
        mode: mode
            .map(|m| {
                parse_permissions(&m).map_err(|e| RestError::from(e).target("unix_permissions"))
            })
            .transpose()?,
        export_policy: b.str("export_policy.name")?,
        oplocks: None,
        qos_policy_group: None,
    })
}

fn create(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let b = &call.body;
    let (svm, volume) = {
        let c = ctx.sim.read();
        let svm = ctx.svm_named(
            &c,
            b.str("svm.name")?.as_deref(),
            b.str("svm.uuid")?.as_deref(),
        )?;
        let volume = match (b.str("volume.name")?, b.str("volume.uuid")?) {
            (Some(n), _) => n,
            (None, Some(u)) => by_uuid(ctx, &c, &u)?.name.clone(),
            (None, None) => return Err(RestError::missing("volume.name")),
        };
        (svm, volume)
    };
    let name = b.req_str("name")?;
    let ch = change(b)?;
    let (s, vol, n) = (svm.clone(), volume.clone(), name.clone());
    let op: Op = Box::new(move |c: &mut Cluster| c.create_qtree(&s, &vol, &n, ch));
    let (op, done) = observed(op);
    let reply = job::start_at(ctx, call, &svm, Some(Endpoint::QtreeCreate), op)?;
    // The job may have made the qtree already (no job duration): then its id is known.
    let c = ctx.sim.read();
    let made = c
        .qtrees_of(&svm)
        .find(|q| applied(&done) && q.volume == volume && q.name == name)
        .and_then(|q| {
            let v = c.volumes.get(&(svm.clone(), volume.clone()))?;
            Some(format!("/api/storage/qtrees/{}/{}", v.uuid, q.id))
        });
    Ok(reply.location(made.unwrap_or_else(|| {
        location_query(
            "/api/storage/qtrees",
            &[
                ("name", &name),
                ("volume.name", &volume),
                ("svm.name", &svm),
            ],
        )
    })))
}

fn modify(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let (svm, volume, name) = {
        let c = ctx.sim.read();
        let q = find(ctx, &c, call.var(0), call.var(1))?;
        (q.svm.clone(), q.volume.clone(), q.name.clone())
    };
    let ch = change(&call.body)?;
    let new_name = call.body.str("name")?;
    let s = svm.clone();
    let op: Op = Box::new(move |c: &mut Cluster| {
        c.modify_qtree(&s, &volume, &name, ch)?;
        if let Some(n) = new_name.filter(|n| *n != name) {
            c.rename_qtree(&s, &volume, &name, &n)?;
        }
        Ok(())
    });
    job::start_at(ctx, call, &svm, Some(Endpoint::QtreeModify), op)
}

fn remove(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let (svm, volume, name) = {
        let c = ctx.sim.read();
        if call.var(1) == "0" {
            by_uuid(ctx, &c, call.var(0))?;
            return Err(RestError::new(
                400,
                super::super::error::QTREE_DEFAULT,
                "The default qtree cannot be deleted.",
            )
            .target("id"));
        }
        let q = find(ctx, &c, call.var(0), call.var(1))?;
        (q.svm.clone(), q.volume.clone(), q.name.clone())
    };
    let s = svm.clone();
    let op: Op = Box::new(move |c: &mut Cluster| c.delete_qtree(&s, &volume, &name));
    job::start_at(ctx, call, &svm, Some(Endpoint::QtreeDelete), op)
}

/// PATCH of the qtrees a query selects (see `rest::bulk`).
fn modify_all(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    bulk::by_query(ctx, call, list, &[])
}

/// DELETE of the qtrees a query selects (see `rest::bulk`).
fn remove_all(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    bulk::by_query(ctx, call, list, &[])
}
