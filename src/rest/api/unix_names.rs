//! `/api/name-services/unix-users` and `/api/name-services/unix-groups` (with a group's
//! `users`): an SVM's local UNIX users and groups, keyed by the SVM's UUID and the name. The
//! model owns them (`model::unix_name`); quota rules resolve user and group targets through them.

use super::super::error::RestError;
use super::super::query::{links, Schema};
use super::super::{delete, get, patch, post, Call, Ctx, Reply, Route};
use super::{instance, svm_ref};
use crate::model::unix_name::{UnixGroup, UnixNames, UnixUser, UnixUserChange};
use crate::model::{Cluster, Svm};
use serde_json::{json, Value};

pub static ROUTES: &[Route] = &[
    get("/name-services/unix-users", user_list),
    post("/name-services/unix-users", user_create),
    get("/name-services/unix-users/{svm.uuid}/{name}", user_show),
    patch("/name-services/unix-users/{svm.uuid}/{name}", user_modify),
    delete("/name-services/unix-users/{svm.uuid}/{name}", user_delete),
    get("/name-services/unix-groups", group_list),
    post("/name-services/unix-groups", group_create),
    get("/name-services/unix-groups/{svm.uuid}/{name}", group_show),
    patch("/name-services/unix-groups/{svm.uuid}/{name}", group_modify),
    delete("/name-services/unix-groups/{svm.uuid}/{name}", group_delete),
    post(
        "/name-services/unix-groups/{svm.uuid}/{unix_group.name}/users",
        group_add_users,
    ),
    delete(
        "/name-services/unix-groups/{svm.uuid}/{unix_group.name}/users/{name}",
        group_delete_user,
    ),
];

pub const USER: Schema = Schema {
    keys: &["svm.uuid", "name"],
    defaults: &["svm", "svm.name", "svm.uuid", "name", "_links"],
    order: &["svm.name", "name"],
    fields: &[
        "svm",
        "svm.name",
        "svm.uuid",
        "name",
        "id",
        "primary_gid",
        "full_name",
        "_links",
    ],
};

pub const GROUP: Schema = Schema {
    keys: &["svm.uuid", "name"],
    defaults: &["svm", "svm.name", "svm.uuid", "name", "_links"],
    order: &["svm.name", "name"],
    fields: &[
        "svm",
        "svm.name",
        "svm.uuid",
        "name",
        "id",
        "users",
        "users.name",
        "_links",
    ],
};

fn user_record(c: &Cluster, svm: &str, uuid: &str, u: &UnixUser) -> Value {
    json!({
        "svm": svm_ref(c, svm),
        "name": u.name,
        "id": u.id,
        "primary_gid": u.primary_gid,
        "full_name": u.full_name,
        "_links": links(format!("/api/name-services/unix-users/{uuid}/{}", u.name)),
    })
}

fn group_record(c: &Cluster, svm: &str, uuid: &str, g: &UnixGroup) -> Value {
    let users: Vec<Value> = g.users.iter().map(|u| json!({"name": u})).collect();
    json!({
        "svm": svm_ref(c, svm),
        "name": g.name,
        "id": g.id,
        "users": users,
        "_links": links(format!("/api/name-services/unix-groups/{uuid}/{}", g.name)),
    })
}

/// Every visible SVM's users or groups (`each` renders one SVM's, given its UUID) as one
/// collection.
fn list(
    ctx: &Ctx,
    call: &mut Call,
    schema: &Schema,
    each: impl Fn(&Cluster, &Svm, &str) -> Vec<Value>,
) -> Result<Reply, RestError> {
    let c = ctx.sim.read();
    let records: Vec<Value> = c
        .svms
        .values()
        .filter(|s| ctx.sees(&s.name))
        .flat_map(|s| each(&c, s, &s.uuid.to_string()))
        .collect();
    call.collection(schema, records)
}

fn user_list(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    list(ctx, call, &USER, |c, s, uuid| {
        let users = s.unix.users.values();
        users.map(|u| user_record(c, &s.name, uuid, u)).collect()
    })
}

fn group_list(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    list(ctx, call, &GROUP, |c, s, uuid| {
        let groups = s.unix.groups.values();
        groups.map(|g| group_record(c, &s.name, uuid, g)).collect()
    })
}

/// The SVM a keyed path names (its UUID), as the caller may see it. A `svm.name` query (Ansible
/// sends one with its PATCH) must name the same SVM.
fn svm_of(ctx: &Ctx, call: &mut Call) -> Result<String, RestError> {
    let name = {
        let c = ctx.sim.read();
        super::svm_by_uuid(ctx, &c, call.var(0))?.name.clone()
    };
    match call.query.take("svm.name") {
        Some(n) if n != name => Err(RestError::not_found(&format!("SVM {n}")).target("svm.name")),
        _ => Ok(name),
    }
}

/// One user or group of the SVM the path names (`record` renders it, if the SVM has it).
fn show(
    ctx: &Ctx,
    call: &mut Call,
    schema: &Schema,
    what: &str,
    record: impl Fn(&Cluster, &UnixNames, &str, &str, &str) -> Option<Value>,
) -> Result<Reply, RestError> {
    let svm = svm_of(ctx, call)?;
    let c = ctx.sim.read();
    let name = call.var(1);
    let found = record(&c, c.unix_names(&svm)?, &svm, call.var(0), name)
        .ok_or_else(|| RestError::not_found(&format!("{what} {name}")).target("name"))?;
    let body = instance(&call.query, schema, found, name)?;
    Ok(Reply::ok(body).svm(svm))
}

fn user_show(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    show(ctx, call, &USER, "UNIX user", |c, n, svm, uuid, name| {
        n.users.get(name).map(|u| user_record(c, svm, uuid, u))
    })
}

fn group_show(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    show(ctx, call, &GROUP, "UNIX group", |c, n, svm, uuid, name| {
        n.groups.get(name).map(|g| group_record(c, svm, uuid, g))
    })
}

/// An ID field (0 to 4294967295).
fn id(call: &Call, field: &str) -> Result<Option<u32>, RestError> {
    match call.body.u64(field)? {
        None => Ok(None),
        Some(n) => u32::try_from(n)
            .map(Some)
            .map_err(|_| RestError::invalid(field, format!("\"{field}\" {n} is out of range"))),
    }
}

fn required<T>(v: Option<T>, field: &str) -> Result<T, RestError> {
    v.ok_or_else(|| RestError::missing(field))
}

fn body_svm(ctx: &Ctx, call: &Call) -> Result<String, RestError> {
    let c = ctx.sim.read();
    let b = &call.body;
    ctx.svm_named(
        &c,
        b.str("svm.name")?.as_deref(),
        b.str("svm.uuid")?.as_deref(),
    )
}

fn user_create(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let svm = body_svm(ctx, call)?;
    let b = &call.body;
    let user = UnixUser {
        name: required(b.str("name")?, "name")?,
        id: required(id(call, "id")?, "id")?,
        primary_gid: required(id(call, "primary_gid")?, "primary_gid")?,
        full_name: b.str("full_name")?.unwrap_or_default(),
    };
    b.bool("skip_name_validation")?;
    b.finish()?;
    call.query.finish()?;
    let name = user.name.clone();
    let uuid = ctx.sim.mutate(|c| {
        c.create_unix_user(&svm, user)?;
        Ok::<_, RestError>(c.svm(&svm)?.uuid.to_string())
    })?;
    let location = format!("/api/name-services/unix-users/{uuid}/{name}");
    created(ctx, call, svm, location, |c, svm| {
        Ok(c.unix_names(svm)?
            .users
            .get(&name)
            .map(|u| user_record(c, svm, &uuid, u)))
    })
}

fn user_modify(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let svm = svm_of(ctx, call)?;
    let b = &call.body;
    let ch = UnixUserChange {
        id: id(call, "id")?,
        primary_gid: id(call, "primary_gid")?,
        full_name: b.str("full_name")?,
    };
    b.bool("skip_name_validation")?;
    b.finish()?;
    call.query.finish()?;
    let name = call.var(1).to_string();
    ctx.sim.mutate(|c| c.modify_unix_user(&svm, &name, ch))?;
    Ok(Reply::ok(json!({})).svm(svm))
}

fn user_delete(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let svm = svm_of(ctx, call)?;
    call.body.finish()?;
    call.query.finish()?;
    let name = call.var(1).to_string();
    ctx.sim.mutate(|c| c.delete_unix_user(&svm, &name))?;
    Ok(Reply::ok(json!({})).svm(svm))
}

/// A group's `users` (`[{"name": ...}]`) or a users POST's `records`.
fn user_names(call: &Call, field: &str) -> Result<Vec<String>, RestError> {
    let Some(list) = call.body.objects(field)? else {
        return Ok(Vec::new());
    };
    list.iter()
        .map(|u| {
            u.get("name")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| {
                    RestError::invalid(field, format!("\"{field}\" entries need a name"))
                })
        })
        .collect()
}

fn group_create(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let svm = body_svm(ctx, call)?;
    let b = &call.body;
    let name = required(b.str("name")?, "name")?;
    let gid = required(id(call, "id")?, "id")?;
    let users = user_names(call, "users")?;
    let skip = b.bool("skip_name_validation")?.unwrap_or(false);
    b.finish()?;
    call.query.finish()?;
    let uuid = ctx.sim.mutate(|c| {
        c.create_unix_group(&svm, &name, gid)?;
        for u in &users {
            c.add_unix_group_user(&svm, &name, u, skip)?;
        }
        Ok::<_, RestError>(c.svm(&svm)?.uuid.to_string())
    })?;
    let location = format!("/api/name-services/unix-groups/{uuid}/{name}");
    created(ctx, call, svm, location, |c, svm| {
        Ok(c.unix_names(svm)?
            .groups
            .get(&name)
            .map(|g| group_record(c, svm, &uuid, g)))
    })
}

/// The reply to a POST that made a user or group at `location`: its record when the query asks
/// for records back (`return_records`).
fn created(
    ctx: &Ctx,
    call: &Call,
    svm: String,
    location: String,
    record: impl FnOnce(&Cluster, &str) -> Result<Option<Value>, RestError>,
) -> Result<Reply, RestError> {
    let mut body = json!({});
    if call.query.wants_records() {
        if let Some(r) = record(&ctx.sim.read(), &svm)? {
            body = json!({"num_records": 1, "records": [r]});
        }
    }
    Ok(Reply::created(body).svm(svm).location(location))
}

fn group_modify(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let svm = svm_of(ctx, call)?;
    let gid = id(call, "id")?;
    call.body.bool("skip_name_validation")?;
    call.body.finish()?;
    call.query.finish()?;
    let name = call.var(1).to_string();
    ctx.sim.mutate(|c| {
        let cur = c
            .unix_names(&svm)?
            .groups
            .get(&name)
            .map(|g| g.id)
            .ok_or_else(|| RestError::not_found(&format!("UNIX group {name}")))?;
        c.modify_unix_group(&svm, &name, gid.unwrap_or(cur))
            .map_err(RestError::from)
    })?;
    Ok(Reply::ok(json!({})).svm(svm))
}

fn group_delete(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let svm = svm_of(ctx, call)?;
    call.body.finish()?;
    call.query.finish()?;
    let name = call.var(1).to_string();
    ctx.sim.mutate(|c| c.delete_unix_group(&svm, &name))?;
    Ok(Reply::ok(json!({})).svm(svm))
}

/// POST `.../users`: one user (`name`) or several (`records`), all or none.
fn group_add_users(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let svm = svm_of(ctx, call)?;
    let mut users = user_names(call, "records")?;
    if let Some(n) = call.body.str("name")? {
        users.push(n);
    }
    if users.is_empty() {
        return Err(RestError::missing("name"));
    }
    let skip = call.body.bool("skip_name_validation")?.unwrap_or(false);
    call.body.finish()?;
    call.query.finish()?;
    let group = call.var(1).to_string();
    ctx.sim.mutate(|c| {
        for u in &users {
            c.add_unix_group_user(&svm, &group, u, skip)?;
        }
        Ok::<_, RestError>(())
    })?;
    Ok(Reply::created(json!({})).svm(svm))
}

fn group_delete_user(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let svm = svm_of(ctx, call)?;
    call.body.finish()?;
    call.query.finish()?;
    let (group, user) = (call.var(1).to_string(), call.var(2).to_string());
    ctx.sim
        .mutate(|c| c.delete_unix_group_user(&svm, &group, &user))?;
    Ok(Reply::ok(json!({})).svm(svm))
}
