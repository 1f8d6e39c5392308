//! `/api/snapmirror/relationships`: the simulator keeps no replication relationships, so the
//! collection is empty (Trident probes it on every volume delete and takes an empty list as "none")
//! and a relationship UUID is never found.

use super::super::error::RestError;
use super::super::query::Schema;
use super::super::{delete, get, Call, Ctx, Reply, Route};
use serde_json::Value;

pub static ROUTES: &[Route] = &[
    get("/snapmirror/relationships", list),
    get("/snapmirror/relationships/{uuid}", show),
    delete("/snapmirror/relationships/{uuid}", show),
];

pub const RELATIONSHIP: Schema = Schema {
    keys: &["uuid"],
    defaults: &[],
    order: &["uuid"],
    fields: &[
        "uuid",
        "source",
        "source.path",
        "source.svm",
        "source.svm.name",
        "destination",
        "destination.path",
        "destination.svm",
        "destination.svm.name",
        "state",
        "healthy",
        "policy",
        "policy.name",
        "_links",
    ],
};

fn list(_ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    // Flags that narrow the answer; with no relationships they change nothing.
    call.query.take_bool("list_destinations_only")?;
    call.collection(&RELATIONSHIP, std::iter::empty::<Value>())
}

fn show(_ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    Err(RestError::not_found(&format!("SnapMirror relationship {}", call.var(0))).target("uuid"))
}
