//! `/api/storage/quota/rules` (quota rules: create, modify and delete run as jobs, as on ONTAP)
//! and `/api/storage/quota/reports` (what each target uses, measured from the data). Limits are
//! in bytes here (the model keeps KiB, as ZAPI states them). Quotas are turned on and off with a
//! volume's `quota.enabled` (see `volumes.rs`). A rule change on a volume whose quotas are on is
//! brought into force at once (ONTAP resizes quotas itself after a REST change).

use super::super::body::Body;
use super::super::error::{Endpoint, RestError};
use super::super::job::{self, Op};
use super::super::query::{links, Schema};
use super::super::{bulk, delete, get, patch, post, Call, Ctx, Reply, Route};
use super::volumes::by_uuid;
use super::{applied, instance, location_query, observed, svm_ref};
use crate::model::quota::{Limits, LimitsChange, Measured, RuleId};
use crate::model::{Cluster, ModelError, QuotaRule, QuotaStatus, QuotaType};
use serde_json::{json, Map, Value};

pub static ROUTES: &[Route] = &[
    get("/storage/quota/rules", list),
    post("/storage/quota/rules", create),
    get("/storage/quota/rules/{uuid}", show),
    patch("/storage/quota/rules/{uuid}", modify),
    delete("/storage/quota/rules/{uuid}", remove),
    patch("/storage/quota/rules", modify_all),
    delete("/storage/quota/rules", remove_all),
    get("/storage/quota/reports", reports),
    get("/storage/quota/reports/{volume}/{index}", report),
];

pub const RULE: Schema = Schema {
    keys: &["uuid"],
    defaults: &["svm.name", "volume.name", "type"],
    order: &["svm.name", "volume.name", "uuid"],
    fields: &[
        "uuid",
        "svm",
        "svm.name",
        "svm.uuid",
        "volume",
        "volume.name",
        "volume.uuid",
        "type",
        "qtree",
        "qtree.name",
        "qtree.id",
        "users",
        "users.name",
        "group",
        "group.name",
        "space",
        "space.hard_limit",
        "space.soft_limit",
        "files",
        "files.hard_limit",
        "files.soft_limit",
        "user_mapping",
        "_links",
    ],
};

pub const REPORT: Schema = Schema {
    keys: &["index"],
    defaults: &["svm.name", "volume.name", "type"],
    order: &["svm.name", "volume.name", "index"],
    fields: &[
        "index",
        "svm",
        "svm.name",
        "svm.uuid",
        "volume",
        "volume.name",
        "volume.uuid",
        "type",
        "qtree",
        "qtree.name",
        "qtree.id",
        "users",
        "users.name",
        "users.id",
        "group",
        "group.name",
        "group.id",
        "space",
        "space.hard_limit",
        "space.soft_limit",
        "space.used",
        "space.used.total",
        "space.used.hard_limit_percent",
        "space.used.soft_limit_percent",
        "files",
        "files.hard_limit",
        "files.soft_limit",
        "files.used",
        "files.used.total",
        "files.used.hard_limit_percent",
        "files.used.soft_limit_percent",
        "_links",
    ],
};

fn qtree_id(c: &Cluster, svm: &str, volume: &str, name: &str) -> u32 {
    c.qtrees
        .get(&(svm.to_string(), volume.to_string(), name.to_string()))
        .map_or(0, |q| q.id)
}

/// `{"hard_limit", "soft_limit"}` with what is limited (bytes for space when `kib`).
fn pair(hard: Option<u64>, soft: Option<u64>, kib: bool) -> Map<String, Value> {
    let scale = |v: u64| if kib { v.saturating_mul(1024) } else { v };
    let mut m = Map::new();
    if let Some(h) = hard {
        m.insert("hard_limit".into(), json!(scale(h)));
    }
    if let Some(s) = soft {
        m.insert("soft_limit".into(), json!(scale(s)));
    }
    m
}

/// Where a rule applies and for whom: `qtree`, `users` or `group`.
fn target_fields(
    c: &Cluster,
    r: &mut Value,
    t: QuotaType,
    svm: &str,
    vol: &str,
    tree: &str,
    who: &str,
) {
    match t {
        QuotaType::Tree => {
            r["qtree"] = json!({"name": tree, "id": qtree_id(c, svm, vol, tree)});
        }
        _ => {
            if !tree.is_empty() {
                r["qtree"] = json!({"name": tree, "id": qtree_id(c, svm, vol, tree)});
            }
            if t == QuotaType::User {
                let users: Vec<Value> = who.split(',').map(|u| json!({"name": u})).collect();
                r["users"] = Value::Array(users);
            } else {
                r["group"] = json!({"name": who});
            }
        }
    }
}

fn rule_record(c: &Cluster, q: &QuotaRule) -> Value {
    let vuuid = c
        .volumes
        .get(&(q.svm.clone(), q.volume.clone()))
        .map(|v| v.uuid.to_string())
        .unwrap_or_default();
    let mut r = json!({
        "uuid": q.uuid.to_string(),
        "svm": svm_ref(c, &q.svm),
        "volume": {"name": q.volume, "uuid": vuuid},
        "type": q.quota_type.as_str(),
        "space": pair(q.limits.disk, q.limits.soft_disk, true),
        "files": pair(q.limits.files, q.limits.soft_files, false),
        "user_mapping": q.user_mapping,
        "_links": links(format!("/api/storage/quota/rules/{}", q.uuid)),
    });
    let (tree, who) = match q.quota_type {
        QuotaType::Tree => (q.target.as_str(), ""),
        _ => (q.qtree.as_str(), q.target.as_str()),
    };
    target_fields(c, &mut r, q.quota_type, &q.svm, &q.volume, tree, who);
    r
}

fn list(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let c = ctx.sim.read();
    let mut records: Vec<(String, String, String, Value)> = c
        .quota_rules
        .values()
        // REST knows no quota policies: it shows the SVM's assigned one.
        .filter(|r| ctx.sees(&r.svm) && r.policy == c.assigned_quota_policy(&r.svm))
        .map(|r| {
            (
                r.svm.clone(),
                r.volume.clone(),
                r.uuid.to_string(),
                rule_record(&c, r),
            )
        })
        .collect();
    records.sort_by(|a, b| (&a.0, &a.1, &a.2).cmp(&(&b.0, &b.1, &b.2)));
    call.collection(&RULE, records.into_iter().map(|r| r.3))
}

fn find<'a>(ctx: &Ctx, c: &'a Cluster, uuid: &str) -> Result<&'a QuotaRule, RestError> {
    c.quota_rule_by_uuid(uuid)
        .filter(|r| ctx.sees(&r.svm) && r.policy == c.assigned_quota_policy(&r.svm))
        .ok_or_else(|| RestError::not_found(&format!("quota rule {uuid}")).target("uuid"))
}

fn show(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let c = ctx.sim.read();
    let r = find(ctx, &c, call.var(0))?;
    let body = instance(&call.query, &RULE, rule_record(&c, r), call.var(0))?;
    Ok(Reply::ok(body).svm(r.svm.clone()))
}

/// A limit: a number (bytes or files) or a numeric string; `-`, `-1` or null remove it.
fn limit(b: &Body, path: &str, bytes: bool) -> Result<Option<Option<u64>>, RestError> {
    let present = b.has(path);
    let v = match b.value(path) {
        None if present => return Ok(Some(None)),
        None => return Ok(None),
        Some(v) => v.clone(),
    };
    let n = match &v {
        Value::Number(n) if n.as_i64() == Some(-1) => return Ok(Some(None)),
        Value::Number(n) => n.as_u64(),
        Value::String(s) if s == "-" || s == "-1" => return Ok(Some(None)),
        Value::String(s) => s.parse::<u64>().ok(),
        _ => None,
    };
    let n = n.ok_or_else(|| {
        RestError::invalid(
            path,
            format!(
                "The value {v} is invalid for field \"{path}\": a non-negative integer or \"-\"."
            ),
        )
    })?;
    Ok(Some(Some(if bytes { n.div_ceil(1024) } else { n })))
}

fn limits_change(b: &Body) -> Result<LimitsChange, RestError> {
    Ok(LimitsChange {
        disk: limit(b, "space.hard_limit", true)?,
        soft_disk: limit(b, "space.soft_limit", true)?,
        files: limit(b, "files.hard_limit", false)?,
        soft_files: limit(b, "files.soft_limit", false)?,
        threshold: None,
        user_mapping: b.bool("user_mapping")?,
    })
}

/// After a rule change: quotas that are on take it up at once.
fn resize_if_on(c: &mut Cluster, svm: &str, volume: &str) -> Result<(), ModelError> {
    if c.volume(svm, volume)?.quota.status == QuotaStatus::On {
        let job = c.quota_resize(svm, volume)?;
        c.finish_quota_job(job);
    }
    Ok(())
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
    let quota_type =
        QuotaType::parse(&b.req_str("type")?).map_err(|e| RestError::from(e).target("type"))?;
    let qtree = b.str("qtree.name")?.unwrap_or_default();
    // `users`: `[{"name": ...}]`, or `users.name` as a list (Ansible's body).
    let users = match b.value("users") {
        Some(Value::Array(_)) => b.objects("users")?.map(|objs| {
            objs.iter()
                .map(|o| {
                    o.get("name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string()
                })
                .collect::<Vec<_>>()
        }),
        Some(_) => b.strs("users.name")?,
        None => None,
    };
    let group = b.str("group.name")?;
    let (target, qtree) = match quota_type {
        QuotaType::Tree => {
            if users.is_some() || group.is_some() {
                return Err(RestError::invalid(
                    "type",
                    "A tree rule names a qtree, not users or a group.",
                ));
            }
            (qtree, String::new())
        }
        QuotaType::User => (users.unwrap_or_default().join(","), qtree),
        QuotaType::Group => (group.unwrap_or_default(), qtree),
    };
    let change = limits_change(b)?;
    let limits = Limits {
        disk: change.disk.flatten(),
        soft_disk: change.soft_disk.flatten(),
        files: change.files.flatten(),
        soft_files: change.soft_files.flatten(),
        threshold: None,
    };
    let mapping = change.user_mapping.unwrap_or(false);
    let id = RuleId {
        volume: volume.clone(),
        quota_type,
        target,
        qtree,
        // REST has no quota policies: a rule goes into the SVM's assigned one.
        policy: None,
    };
    let (s, v, rid) = (svm.clone(), volume.clone(), id.clone());
    let op: Op = Box::new(move |c: &mut Cluster| {
        c.set_quota_rule(&s, &rid, limits, mapping, false)?;
        resize_if_on(c, &s, &v)
    });
    let (op, done) = observed(op);
    let mut reply = job::start(ctx, call, &svm, op)?;
    let c = ctx.sim.read();
    let made = c.quota_rules_of(&svm, &volume).find(|r| {
        applied(&done)
            && r.quota_type == id.quota_type
            && r.target == id.target
            && r.qtree == id.qtree
    });
    // `return_records=true`: the rule as far as it is known (Ansible reads `volume.uuid`).
    if call.query.wants_records() {
        let rec = match made {
            Some(r) => rule_record(&c, r),
            None => {
                let vuuid = c
                    .volumes
                    .get(&(svm.clone(), volume.clone()))
                    .map(|v| v.uuid.to_string());
                json!({"svm": svm_ref(&c, &svm), "volume": {"name": volume, "uuid": vuuid},
                       "type": id.quota_type.as_str()})
            }
        };
        reply.body["num_records"] = json!(1);
        reply.body["records"] = json!([rec]);
    }
    let made = made.map(|r| format!("/api/storage/quota/rules/{}", r.uuid));
    Ok(reply.location(made.unwrap_or_else(|| {
        location_query(
            "/api/storage/quota/rules",
            &[("volume.name", &volume), ("svm.name", &svm)],
        )
    })))
}

fn modify(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let (uuid, svm, volume) = {
        let c = ctx.sim.read();
        let r = find(ctx, &c, call.var(0))?;
        (r.uuid.to_string(), r.svm.clone(), r.volume.clone())
    };
    let change = limits_change(&call.body)?;
    let s = svm.clone();
    let op: Op = Box::new(move |c: &mut Cluster| {
        c.modify_quota_rule_by_uuid(&uuid, change)?;
        resize_if_on(c, &s, &volume)
    });
    job::start_at(ctx, call, &svm, Some(Endpoint::QuotaRuleModify), op)
}

fn remove(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let (uuid, svm) = {
        let c = ctx.sim.read();
        let r = find(ctx, &c, call.var(0))?;
        (r.uuid.to_string(), r.svm.clone())
    };
    let op: Op = Box::new(move |c: &mut Cluster| c.delete_quota_rule_by_uuid(&uuid));
    job::start_at(ctx, call, &svm, Some(Endpoint::QuotaRuleDelete), op)
}

fn pct(used: u64, limit: Option<u64>) -> Option<u64> {
    limit
        .filter(|l| *l > 0)
        .map(|l| used.saturating_mul(100) / l)
}

/// The report rows of what the caller sees, each with its index within its volume.
fn report_records(ctx: &Ctx) -> Vec<(String, String, u64, Value)> {
    let scope = ctx.scope().map(str::to_string);
    let rows = ctx.sim.quota_report(scope.as_deref());
    let c = ctx.sim.read();
    let mut out: Vec<(String, String, u64, Value)> = Vec::new();
    let mut index = 0u64;
    let mut last: Option<(String, String)> = None;
    for Measured { row, bytes, files } in rows {
        if !ctx.sees(&row.svm) {
            continue;
        }
        let here = (row.svm.clone(), row.volume.clone());
        if last.as_ref() != Some(&here) {
            index = 0;
            last = Some(here);
        }
        let l = row.limits;
        let mut space = pair(l.disk, l.soft_disk, true);
        space.insert(
            "used".into(),
            json!({"total": bytes, "hard_limit_percent": pct(bytes, l.disk.map(|k| k * 1024)),
                   "soft_limit_percent": pct(bytes, l.soft_disk.map(|k| k * 1024))}),
        );
        let mut file_map = pair(l.files, l.soft_files, false);
        file_map.insert(
            "used".into(),
            json!({"total": files, "hard_limit_percent": pct(files, l.files),
                   "soft_limit_percent": pct(files, l.soft_files)}),
        );
        let mut r = json!({
            "index": index,
            "svm": svm_ref(&c, &row.svm),
            "volume": {"name": row.volume, "uuid": row.volume_uuid.to_string()},
            "type": row.quota_type.as_str(),
            "space": space,
            "files": file_map,
            "_links": links(format!("/api/storage/quota/reports/{}/{index}", row.volume_uuid)),
        });
        target_fields(
            &c,
            &mut r,
            row.quota_type,
            &row.svm,
            &row.volume,
            &row.tree,
            &row.target,
        );
        // Who the row counts for, as the SVM's UNIX users and groups resolve the target.
        let who = |w: &crate::model::quota::Who| json!({"name": w.name, "id": w.id.map(|i| i.to_string())});
        match row.quota_type {
            QuotaType::User => r["users"] = Value::Array(row.who.iter().map(who).collect()),
            QuotaType::Group => {
                if let Some(w) = row.who.first() {
                    r["group"] = who(w);
                }
            }
            QuotaType::Tree => {}
        }
        out.push((row.svm.clone(), row.volume.clone(), index, r));
        index += 1;
    }
    out.sort_by(|a, b| (&a.0, &a.1, a.2).cmp(&(&b.0, &b.1, b.2)));
    out
}

fn reports(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let records = report_records(ctx);
    call.collection(&REPORT, records.into_iter().map(|r| r.3))
}

fn report(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let (vuuid, index) = (call.var(0).to_string(), call.var(1).to_string());
    let svm = {
        let c = ctx.sim.read();
        by_uuid(ctx, &c, &vuuid)?.svm.clone()
    };
    let r = report_records(ctx)
        .into_iter()
        .find(|r| r.3["volume"]["uuid"] == json!(vuuid) && r.2.to_string() == index)
        .ok_or_else(|| RestError::not_found(&format!("quota report {index}")).target("index"))?;
    let body = instance(&call.query, &REPORT, r.3, &index)?;
    Ok(Reply::ok(body).svm(svm))
}

/// PATCH of the quota rules a query selects (see `rest::bulk`).
fn modify_all(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    bulk::by_query(ctx, call, list, &[])
}

/// DELETE of the quota rules a query selects (see `rest::bulk`).
fn remove_all(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    bulk::by_query(ctx, call, list, &[])
}
