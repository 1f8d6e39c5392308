//! The REST endpoints, one file per API family, each with a `ROUTES` table.

pub mod aggregates;
pub mod cluster;
pub mod dns;
pub mod ems;
pub mod identity;
pub mod licenses;
pub mod network;
pub mod nfs;
pub mod nfs_services;
pub mod qtrees;
pub mod quota;
pub mod security;
pub mod snapmirror;
pub mod snapshots;
pub mod svm;
pub mod unix_names;
pub mod volumes;

use super::error::RestError;
use super::job::Op;
use super::query::{self, select, Query, Schema};
use super::Route;
use crate::model::Cluster;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

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
    quota::ROUTES,
    snapmirror::ROUTES,
    ems::ROUTES,
    nfs_services::ROUTES,
    dns::ROUTES,
    identity::ROUTES,
    licenses::ROUTES,
    security::ROUTES,
    unix_names::ROUTES,
];

/// An instance GET: the record reduced to the caller's `fields` (every field when none are asked
/// for, as ONTAP answers). Filters are allowed and must match the record, else it is not found
/// (`what`): netapp-ontap repeats the query of a POST's `Location` on every later GET.
pub fn instance(q: &Query, schema: &Schema, record: Value, what: &str) -> Result<Value, RestError> {
    let fields = cluster::instance_fields(&q.fields(schema)?);
    for (k, pattern) in q.filters(schema)? {
        if !query::matches(&record, k, pattern) {
            return Err(RestError::not_found(what));
        }
    }
    Ok(select(&record, &fields, schema))
}

/// The top-level fields an instance GET reads from its record: the schema's keys, `_links`, the
/// fields asked for and those filtered on; so a record builder can skip the rest.
pub struct Tops(Vec<String>);

impl Tops {
    /// None when the request takes every field (no `fields`, `*` or `**`).
    pub fn of(q: &Query, schema: &Schema) -> Result<Option<Tops>, RestError> {
        let query::Fields::List(fields) = cluster::instance_fields(&q.fields(schema)?) else {
            return Ok(None);
        };
        let filters = q.filters(schema)?;
        let top = |f: &str| f.split('.').next().unwrap_or(f).to_string();
        let mut tops: Vec<String> = schema.keys.iter().map(|k| top(k)).collect();
        tops.extend(fields.iter().map(|f| top(f)));
        tops.extend(filters.iter().map(|(k, _)| top(k)));
        tops.push("_links".into());
        tops.sort_unstable();
        tops.dedup();
        Ok(Some(Tops(tops)))
    }

    pub fn wants(&self, top: &str) -> bool {
        self.0.iter().any(|t| t == top)
    }
}

/// The `Location` of an object a job is still making: the collection queried by the fields that
/// will find it (`/api/storage/volumes/?name=v&svm.name=s`), as ONTAP answers an asynchronous
/// POST; clients follow it once the job has ended.
pub fn location_query(collection: &str, keys: &[(&str, &str)]) -> String {
    let q: Vec<String> = keys
        .iter()
        .map(|(k, v)| format!("{k}={}", query::encode(v)))
        .collect();
    format!("{collection}/?{}", q.join("&"))
}

/// A job's change wrapped so the handler can tell, once `job::start` has returned, whether this
/// change has been applied (with no job duration it runs before the answer is sent): only then is
/// the object the POST names its own, with a UUID to put in `Location`.
pub fn observed(op: Op) -> (Op, Arc<AtomicBool>) {
    let done = Arc::new(AtomicBool::new(false));
    let flag = done.clone();
    let op: Op = Box::new(move |c: &mut Cluster| {
        op(c)?;
        flag.store(true, Ordering::SeqCst);
        Ok(())
    });
    (op, done)
}

/// Whether an `observed` change has been applied.
pub fn applied(done: &AtomicBool) -> bool {
    done.load(Ordering::SeqCst)
}

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

/// The SVM a `{svm.uuid}` path names, within the caller's scope (per-SVM services: NFS, DNS).
pub fn svm_by_uuid<'c>(
    ctx: &super::Ctx,
    c: &'c Cluster,
    uuid: &str,
) -> Result<&'c crate::model::Svm, RestError> {
    c.svm_by_uuid(uuid)
        .filter(|s| ctx.sees(&s.name))
        .ok_or_else(|| {
            RestError::new(
                404,
                super::error::SVM_NOT_FOUND,
                format!("SVM \"{uuid}\" does not exist."),
            )
            .target("svm.uuid")
        })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rest::query::Query;

    const S: Schema = Schema {
        keys: &["uuid", "name"],
        defaults: &[],
        order: &["name"],
        fields: &["uuid", "name", "size", "svm", "svm.name", "_links"],
    };

    fn rec() -> Value {
        json!({"uuid": "u1", "name": "v*1", "size": 10, "svm": {"name": "s1"},
               "_links": {"self": {"href": "/api/v/u1"}}})
    }

    #[test]
    fn instance_takes_filters_that_must_match() {
        // netapp-ontap repeats a POST's Location query on the instance GET.
        let q = Query::parse(Some("name=%22v*1%22&svm.name=s1&fields=size")).unwrap();
        let v = instance(&q, &S, rec(), "u1").unwrap();
        assert_eq!(
            v,
            json!({"uuid": "u1", "name": "v*1", "size": 10,
                             "_links": {"self": {"href": "/api/v/u1"}}})
        );
        let q = Query::parse(Some("svm.name=s2")).unwrap();
        assert_eq!(instance(&q, &S, rec(), "u1").unwrap_err().status, 404);
        let q = Query::parse(Some("colour=red")).unwrap();
        assert_eq!(instance(&q, &S, rec(), "u1").unwrap_err().code, 262179);
        // No fields: every field, as ONTAP answers an instance GET.
        let q = Query::parse(None).unwrap();
        assert_eq!(instance(&q, &S, rec(), "u1").unwrap(), rec());
    }

    #[test]
    fn location_query_is_encoded() {
        assert_eq!(
            location_query(
                "/api/storage/volumes",
                &[("name", "a b&c"), ("svm.name", "s1")]
            ),
            "/api/storage/volumes/?name=a%20b%26c&svm.name=s1"
        );
    }
}
