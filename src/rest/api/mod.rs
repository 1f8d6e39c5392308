//! The REST endpoints, one file per API family, each with a `ROUTES` table.

pub mod aggregates;
pub mod cluster;
pub mod ems;
pub mod network;
pub mod nfs;
pub mod qtrees;
pub mod snapmirror;
pub mod snapshots;
pub mod svm;
pub mod volumes;

use super::Route;
use crate::model::Cluster;
use serde_json::{json, Value};

/// Every route served under `/api`.
pub static ROUTES: &[&[Route]] = &[
    cluster::ROUTES,
    svm::ROUTES,
    aggregates::ROUTES,
    network::ROUTES,
    volumes::ROUTES,
    snapshots::ROUTES,
    nfs::ROUTES,
    qtrees::ROUTES,
    snapmirror::ROUTES,
    ems::ROUTES,
];

/// RFC 3339 time, as ONTAP writes `create_time` and job times.
pub fn time(secs: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs as i64)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// `{"name", "uuid", "_links"}` of an SVM.
pub fn svm_ref(c: &Cluster, name: &str) -> Value {
    let uuid = c
        .svms
        .get(name)
        .map(|s| s.uuid.to_string())
        .unwrap_or_default();
    json!({"name": name, "uuid": uuid, "_links": {"self": {"href": format!("/api/svm/svms/{uuid}")}}})
}

/// `{"name", "uuid"}` of an aggregate.
pub fn aggregate_ref(c: &Cluster, name: &str) -> Value {
    let uuid = c
        .aggregates
        .get(name)
        .map(|a| a.uuid.to_string())
        .unwrap_or_default();
    json!({"name": name, "uuid": uuid})
}

/// `{"name", "uuid"}` of a node.
pub fn node_ref(c: &Cluster, name: &str) -> Value {
    let uuid = c.node(name).map(|n| n.uuid.to_string()).unwrap_or_default();
    json!({"name": name, "uuid": uuid})
}
