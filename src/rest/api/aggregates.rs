//! `/api/storage/aggregates`: capacity and media. Trident reads `block_storage.primary.disk_type`
//! for the pool's media and `space` for `limitAggregateUsage`.

use super::super::error::RestError;
use super::super::query::{links, Schema};
use super::super::{get, Call, Ctx, Reply, Route};
use super::instance;
use super::node_ref;
use crate::model::{Aggregate, Cluster};
use serde_json::{json, Value};

pub static ROUTES: &[Route] = &[
    get("/storage/aggregates", aggregates),
    get("/storage/aggregates/{uuid}", aggregate),
];

pub const AGGREGATE: Schema = Schema {
    keys: &["uuid", "name"],
    defaults: &[],
    order: &["name"],
    fields: &[
        "uuid",
        "name",
        "node",
        "node.name",
        "node.uuid",
        "home_node",
        "home_node.name",
        "home_node.uuid",
        "state",
        "block_storage",
        "block_storage.primary",
        "block_storage.primary.disk_type",
        "block_storage.primary.disk_class",
        "block_storage.primary.raid_type",
        "block_storage.primary.disk_count",
        "block_storage.hybrid_cache",
        "block_storage.hybrid_cache.enabled",
        "space",
        "space.block_storage",
        "space.block_storage.size",
        "space.block_storage.used",
        "space.block_storage.available",
        "space.block_storage.used_percent",
        "space.footprint",
        "_links",
    ],
};

fn record(c: &Cluster, a: &Aggregate) -> Value {
    // The same figures ZAPI's aggr-space-attributes give: reserved space counts as used.
    let (size, used) = (a.size, a.used_total().min(a.size));
    json!({
        "uuid": a.uuid.to_string(),
        "name": a.name,
        "node": node_ref(c, &a.node),
        "home_node": node_ref(c, &a.node),
        "state": "online",
        "block_storage": {
            "primary": {
                "disk_type": a.media,
                "disk_class": if a.media == "ssd" { "solid_state" } else { "capacity" },
                "raid_type": "raid_dp",
                "disk_count": 8,
            },
            "hybrid_cache": {"enabled": a.media == "hybrid"},
        },
        "space": {
            "block_storage": {
                "size": size,
                "used": used,
                "available": a.available(),
                "used_percent": a.percent_used(),
            },
            "footprint": used,
        },
        "_links": links(format!("/api/storage/aggregates/{}", a.uuid)),
    })
}

/// Whether the caller may see an aggregate: every one for cluster users, the SVM's assigned ones
/// for SVM users.
fn visible(ctx: &Ctx, c: &Cluster, a: &Aggregate) -> bool {
    match ctx.scope() {
        None => true,
        Some(s) => c
            .svms
            .get(s)
            .is_some_and(|s| s.aggregates.contains(&a.name)),
    }
}

fn aggregates(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let c = ctx.sim.read();
    let records = c
        .aggregates
        .values()
        .filter(|a| visible(ctx, &c, a))
        .map(|a| record(&c, a));
    call.collection(&AGGREGATE, records)
}

fn aggregate(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let c = ctx.sim.read();
    let a = c
        .aggregates
        .values()
        .find(|a| a.uuid.to_string() == call.var(0) && visible(ctx, &c, a))
        .ok_or_else(|| {
            RestError::not_found(&format!("aggregate {}", call.var(0))).target("uuid")
        })?;
    let body = instance(&call.query, &AGGREGATE, record(&c, a), call.var(0))?;
    Ok(Reply::ok(body))
}
