//! `/api/protocols/nfs/export-policies` and their `rules`: synchronous, as on ONTAP (201 on
//! create, 200 on modify and delete). A rule whose clients repeat an existing rule's is refused
//! with code 1704070, which Trident takes as "already there".

use super::super::body::Body;
use super::super::error::{self, RestError};
use super::super::query::{links, Schema};
use super::super::{bulk, delete, get, patch, post, Call, Ctx, Reply, Route};
use super::instance;
use super::svm_ref;
use crate::model::{Cluster, ExportPolicy, ExportRule, ModelError, RuleSpec};
use serde_json::{json, Value};

pub static ROUTES: &[Route] = &[
    get("/protocols/nfs/export-policies", list),
    post("/protocols/nfs/export-policies", create),
    get("/protocols/nfs/export-policies/{id}", show),
    patch("/protocols/nfs/export-policies/{id}", modify),
    delete("/protocols/nfs/export-policies/{id}", remove),
    patch("/protocols/nfs/export-policies", modify_all),
    delete("/protocols/nfs/export-policies", remove_all),
    get("/protocols/nfs/export-policies/{id}/rules", rules),
    post("/protocols/nfs/export-policies/{id}/rules", rule_create),
    patch("/protocols/nfs/export-policies/{id}/rules", rule_modify_all),
    delete("/protocols/nfs/export-policies/{id}/rules", rule_remove_all),
    get(
        "/protocols/nfs/export-policies/{id}/rules/{index}",
        rule_show,
    ),
    patch(
        "/protocols/nfs/export-policies/{id}/rules/{index}",
        rule_modify,
    ),
    delete(
        "/protocols/nfs/export-policies/{id}/rules/{index}",
        rule_remove,
    ),
];

const RULE_FIELDS: &[&str] = &[
    "index",
    "clients",
    "clients.match",
    "protocols",
    "ro_rule",
    "rw_rule",
    "superuser",
    "anonymous_user",
    "allow_suid",
    "allow_device_creation",
    "ntfs_unix_security",
    "chown_mode",
    "policy",
    "policy.id",
    "policy.name",
    "svm",
    "svm.name",
    "svm.uuid",
    "_links",
];

pub const POLICY: Schema = Schema {
    keys: &["id", "name"],
    defaults: &[],
    order: &["svm.name", "name"],
    fields: &[
        "id",
        "name",
        "svm",
        "svm.name",
        "svm.uuid",
        "rules",
        "rules.index",
        "rules.clients",
        "rules.clients.match",
        "rules.protocols",
        "rules.ro_rule",
        "rules.rw_rule",
        "rules.superuser",
        "rules.anonymous_user",
        "rules.allow_suid",
        "rules.allow_device_creation",
        "rules.ntfs_unix_security",
        "rules.chown_mode",
        "_links",
    ],
};

pub const RULE: Schema = Schema {
    keys: &["index"],
    defaults: &[],
    order: &["index"],
    fields: RULE_FIELDS,
};

fn rule_record(c: &Cluster, p: &ExportPolicy, r: &ExportRule) -> Value {
    let clients: Vec<Value> = r
        .client_match
        .split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(|m| json!({"match": m}))
        .collect();
    json!({
        "index": r.index,
        "clients": clients,
        "protocols": r.protocols,
        "ro_rule": r.ro_rule,
        "rw_rule": r.rw_rule,
        "superuser": r.superuser,
        "anonymous_user": r.anon,
        "allow_suid": r.allow_suid,
        "allow_device_creation": r.allow_dev,
        "ntfs_unix_security": "fail",
        "chown_mode": "restricted",
        "policy": {"id": p.id, "name": p.name},
        "svm": svm_ref(c, &p.svm),
        "_links": links(format!("/api/protocols/nfs/export-policies/{}/rules/{}", p.id, r.index)),
    })
}

fn record(c: &Cluster, p: &ExportPolicy) -> Value {
    let rules: Vec<Value> = p
        .rules
        .iter()
        .map(|r| {
            let mut v = rule_record(c, p, r);
            if let Some(o) = v.as_object_mut() {
                o.remove("policy");
                o.remove("svm");
                o.remove("_links");
            }
            v
        })
        .collect();
    json!({
        "id": p.id,
        "name": p.name,
        "svm": svm_ref(c, &p.svm),
        "rules": rules,
        "_links": links(format!("/api/protocols/nfs/export-policies/{}", p.id)),
    })
}

fn by_id<'a>(ctx: &Ctx, c: &'a Cluster, id: &str) -> Result<&'a ExportPolicy, RestError> {
    id.parse()
        .ok()
        .and_then(|id| c.policy_by_id(id))
        .filter(|p| ctx.sees(&p.svm))
        .ok_or_else(|| RestError::not_found(&format!("export policy {id}")).target("id"))
}

fn list(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let c = ctx.sim.read();
    let records = c
        .export_policies
        .values()
        .filter(|p| ctx.sees(&p.svm))
        .map(|p| record(&c, p));
    call.collection(&POLICY, records)
}

fn show(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let c = ctx.sim.read();
    let p = by_id(ctx, &c, call.var(0))?;
    let body = instance(&call.query, &POLICY, record(&c, p), call.var(0))?;
    Ok(Reply::ok(body).svm(p.svm.clone()))
}

fn list_of(b: &Body, path: &str) -> Result<Option<Vec<String>>, RestError> {
    b.strs(path)
}

/// A rule as the body describes it.
fn rule_spec(b: &Body) -> Result<RuleSpec, RestError> {
    let clients =
        match b.objects("clients")? {
            None => None,
            Some(list) => {
                let mut out = Vec::new();
                for o in list {
                    match o.get("match") {
                        Some(Value::String(m)) if o.len() == 1 => out.push(m.clone()),
                        _ => return Err(RestError::invalid(
                            "clients",
                            "Each client is {\"match\": \"<host, address, subnet or netgroup>\"}.",
                        )),
                    }
                }
                if out.is_empty() {
                    return Err(RestError::invalid(
                        "clients",
                        "The list of clients is empty.",
                    ));
                }
                Some(out.join(","))
            }
        };
    let anon = match b.value("anonymous_user") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(v) => {
            return Err(RestError::invalid(
                "anonymous_user",
                format!("The value {v} is invalid for field \"anonymous_user\"."),
            ))
        }
    };
    b.value("ntfs_unix_security");
    b.value("chown_mode");
    Ok(RuleSpec {
        index: None,
        client_match: clients,
        protocols: list_of(b, "protocols")?,
        ro_rule: list_of(b, "ro_rule")?,
        rw_rule: list_of(b, "rw_rule")?,
        superuser: list_of(b, "superuser")?,
        anon,
        allow_suid: b.bool("allow_suid")?,
        allow_dev: b.bool("allow_device_creation")?,
    })
}

/// A rule that repeats another's clients is code 1704070, which Trident takes as "already there".
fn rule_error(e: ModelError) -> RestError {
    match e {
        ModelError::Conflict(m) => RestError::new(409, error::EXPORT_POLICY_RULE_EXISTS, m),
        other => other.into(),
    }
}

fn add_rule(c: &mut Cluster, svm: &str, policy: &str, spec: RuleSpec) -> Result<u32, RestError> {
    c.add_export_rule(svm, policy, spec).map_err(rule_error)
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
    let name = b.req_str("name")?;
    let mut specs = Vec::new();
    if let Some(rules) = b.objects("rules")? {
        for r in rules {
            let sub = Body::parse(&serde_json::to_vec(&r).unwrap_or_default())?;
            specs.push(rule_spec(&sub)?);
            sub.finish()?;
        }
    }
    b.finish()?;
    call.query.finish()?;
    let id = ctx.sim.mutate(|c| {
        c.create_export_policy(&svm, &name)?;
        for s in specs {
            add_rule(c, &svm, &name, s)?;
        }
        Ok::<_, RestError>(c.export_policy(&svm, &name)?.id)
    })?;
    let mut body = json!({});
    if call.query.wants_records() {
        body = json!({"num_records": 1, "records": [{"id": id, "name": name,
            "_links": links(format!("/api/protocols/nfs/export-policies/{id}"))}]});
    }
    Ok(Reply::created(body)
        .svm(svm)
        .location(format!("/api/protocols/nfs/export-policies/{id}")))
}

fn modify(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let (svm, name) = {
        let c = ctx.sim.read();
        let p = by_id(ctx, &c, call.var(0))?;
        (p.svm.clone(), p.name.clone())
    };
    let b = &call.body;
    let new_name = b.str("name")?;
    let mut specs = None;
    if let Some(rules) = b.objects("rules")? {
        let mut v = Vec::new();
        for r in rules {
            let sub = Body::parse(&serde_json::to_vec(&r).unwrap_or_default())?;
            v.push(rule_spec(&sub)?);
            sub.finish()?;
        }
        specs = Some(v);
    }
    b.finish()?;
    call.query.finish()?;
    ctx.sim.mutate(|c| {
        if let Some(specs) = specs {
            c.replace_export_rules(&svm, &name, specs)
                .map_err(rule_error)?;
        }
        if let Some(n) = new_name.filter(|n| *n != name) {
            c.rename_export_policy(&svm, &name, &n)?;
        }
        Ok::<_, RestError>(())
    })?;
    Ok(Reply::ok(json!({})).svm(svm))
}

fn remove(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    call.query.finish()?;
    let (svm, name) = {
        let c = ctx.sim.read();
        let p = by_id(ctx, &c, call.var(0))?;
        (p.svm.clone(), p.name.clone())
    };
    ctx.sim
        .mutate(|c| c.destroy_export_policy(&svm, &name))
        .map_err(|e| RestError::at(error::Endpoint::ExportPolicyDelete, e))?;
    Ok(Reply::ok(json!({})).svm(svm))
}

fn rules(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let c = ctx.sim.read();
    let p = by_id(ctx, &c, call.var(0))?;
    let records = p.rules.iter().map(|r| rule_record(&c, p, r));
    Ok(call.collection(&RULE, records)?.svm(p.svm.clone()))
}

fn rule_index(s: &str) -> Result<u32, RestError> {
    s.parse().map_err(|_| {
        RestError::invalid(
            "index",
            format!("The value \"{s}\" is invalid for field \"index\" (a rule index)."),
        )
    })
}

fn rule_show(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let index = rule_index(call.var(1))?;
    let c = ctx.sim.read();
    let p = by_id(ctx, &c, call.var(0))?;
    let r = p.rules.iter().find(|r| r.index == index).ok_or_else(|| {
        RestError::not_found(&format!("rule {index} of export policy {}", p.name)).target("index")
    })?;
    let body = instance(&call.query, &RULE, rule_record(&c, p, r), call.var(0))?;
    Ok(Reply::ok(body).svm(p.svm.clone()))
}

fn rule_create(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let (svm, name, id) = {
        let c = ctx.sim.read();
        let p = by_id(ctx, &c, call.var(0))?;
        (p.svm.clone(), p.name.clone(), p.id)
    };
    let mut spec = rule_spec(&call.body)?;
    if spec.client_match.is_none() {
        return Err(RestError::missing("clients"));
    }
    spec.index = call.body.u64("index")?.map(|i| i as u32);
    call.body.finish()?;
    call.query.finish()?;
    let index = ctx.sim.mutate(|c| add_rule(c, &svm, &name, spec))?;
    let mut body = json!({});
    if call.query.wants_records() {
        body = json!({"num_records": 1, "records": [{"index": index,
            "_links": links(format!("/api/protocols/nfs/export-policies/{id}/rules/{index}"))}]});
    }
    Ok(Reply::created(body).svm(svm).location(format!(
        "/api/protocols/nfs/export-policies/{id}/rules/{index}"
    )))
}

fn rule_modify(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let index = rule_index(call.var(1))?;
    let (svm, name) = {
        let c = ctx.sim.read();
        let p = by_id(ctx, &c, call.var(0))?;
        (p.svm.clone(), p.name.clone())
    };
    let spec = rule_spec(&call.body)?;
    let new_index = call.body.u64("index")?.map(|i| i as u32);
    call.body.finish()?;
    call.query.finish()?;
    ctx.sim.mutate(|c| {
        c.modify_export_rule(&svm, &name, index, spec)?;
        if let Some(n) = new_index.filter(|n| *n != index) {
            c.set_export_rule_index(&svm, &name, index, n)?;
        }
        Ok::<_, ModelError>(())
    })?;
    Ok(Reply::ok(json!({})).svm(svm))
}

fn rule_remove(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    call.query.finish()?;
    let index = rule_index(call.var(1))?;
    let (svm, name) = {
        let c = ctx.sim.read();
        let p = by_id(ctx, &c, call.var(0))?;
        (p.svm.clone(), p.name.clone())
    };
    ctx.sim
        .mutate(|c| c.destroy_export_rule(&svm, &name, index))?;
    Ok(Reply::ok(json!({})).svm(svm))
}

/// PATCH of the export policies a query selects (see `rest::bulk`).
fn modify_all(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    bulk::by_query(ctx, call, list, &[])
}

/// DELETE of the export policies a query selects (see `rest::bulk`).
fn remove_all(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    bulk::by_query(ctx, call, list, &[])
}

/// PATCH of a policy's rules a query selects (see `rest::bulk`).
fn rule_modify_all(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    bulk::by_query(ctx, call, rules, &[])
}

/// DELETE of a policy's rules a query selects (see `rest::bulk`).
fn rule_remove_all(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    bulk::by_query(ctx, call, rules, &[])
}
