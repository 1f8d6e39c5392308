//! `/api/storage/volumes`: FlexVols and FlexClones. Create, clone, modify (size, junction path,
//! export policy, permissions, comment, QoS, snapshot directory, rename, state, clone split,
//! restore from a snapshot) and delete run as jobs (202), as on ONTAP; every change is one model
//! operation, so a PATCH of several fields applies all of them or none.

use super::super::body::Body;
use super::super::error::{Endpoint, RestError};
use super::super::job::{self, Op};
use super::super::query::{links, Schema};
use super::super::{bulk, delete, get, patch, post, Call, Ctx, Reply, Route};
use super::{aggregate_ref, applied, location_query, observed, svm_ref, time};
use super::{instance, Tops};
use crate::model::{
    parse_permissions, Cluster, Guarantee, ModelError, Volume, VolumeChange, VolumeSpec,
    VolumeState,
};
use serde_json::{json, Value};

pub static ROUTES: &[Route] = &[
    get("/storage/volumes", list),
    post("/storage/volumes", create),
    get("/storage/volumes/{uuid}", show),
    patch("/storage/volumes/{uuid}", modify),
    delete("/storage/volumes/{uuid}", remove),
    patch("/storage/volumes", modify_all),
    delete("/storage/volumes", remove_all),
];

pub const VOLUME: Schema = Schema {
    keys: &["uuid", "name"],
    defaults: &[],
    order: &["svm.name", "name"],
    fields: &[
        "uuid",
        "name",
        "svm",
        "svm.name",
        "svm.uuid",
        "aggregates",
        "aggregates.name",
        "aggregates.uuid",
        "type",
        "style",
        "state",
        "size",
        "comment",
        "create_time",
        "language",
        "nas",
        "nas.path",
        "nas.export_policy",
        "nas.export_policy.name",
        "nas.export_policy.id",
        "nas.security_style",
        "nas.unix_permissions",
        "nas.uid",
        "nas.gid",
        "guarantee",
        "guarantee.type",
        "guarantee.honored",
        "snapshot_policy",
        "snapshot_policy.name",
        "snapshot_directory_access_enabled",
        "quota",
        "quota.enabled",
        "quota.state",
        "space",
        "space.size",
        "space.available",
        "space.used",
        "space.percent_used",
        "space.footprint",
        "space.logical_space",
        "space.logical_space.used",
        "space.logical_space.available",
        "space.logical_space.enforcement",
        "space.logical_space.reporting",
        "space.snapshot",
        "space.snapshot.used",
        "space.snapshot.reserve_percent",
        "space.snapshot.reserve_size",
        "space.snapshot.autodelete",
        "space.snapshot.autodelete.enabled",
        "space.nearly_full_threshold_percent",
        "space.full_threshold_percent",
        "space.large_size_enabled",
        "autosize",
        "autosize.mode",
        "tiering",
        "tiering.policy",
        "tiering.min_cooling_days",
        "tiering.object_tags",
        "encryption",
        "encryption.enabled",
        "encryption.state",
        "qos",
        "qos.policy",
        "qos.policy.name",
        "clone",
        "clone.is_flexclone",
        "clone.parent_volume",
        "clone.parent_volume.name",
        "clone.parent_volume.uuid",
        "clone.parent_snapshot",
        "clone.parent_snapshot.name",
        "clone.parent_snapshot.uuid",
        "clone.parent_svm",
        "clone.parent_svm.name",
        "clone.parent_svm.uuid",
        "clone.split_initiated",
        "files",
        "files.maximum",
        "files.used",
        "efficiency",
        "efficiency.compression",
        "efficiency.dedupe",
        "efficiency.compaction",
        "efficiency.policy",
        "efficiency.policy.name",
        "snaplock",
        "snaplock.type",
        "access_time_enabled",
        "snapshot_locking_enabled",
        "analytics",
        "analytics.state",
        "activity_tracking",
        "activity_tracking.state",
        "granular_data",
        "movement",
        "movement.state",
        "is_svm_root",
        "_tags",
        "_links",
    ],
};

/// ONTAP writes permissions as the octal digits read as a decimal number (0755 -> 755).
fn permissions_number(mode: u32) -> u64 {
    format!("{mode:o}").parse().unwrap_or(0)
}

pub fn record(c: &Cluster, v: &Volume) -> Value {
    record_of(c, v, None)
}

/// The volume's record, with only the top-level fields in `tops` (all of them for None): an
/// instance GET asking for a few fields need not build, then drop, the other forty.
pub fn record_of(c: &Cluster, v: &Volume, tops: Option<&Tops>) -> Value {
    let want = |k: &str| tops.is_none_or(|t| t.wants(k));
    let mut r = serde_json::Map::new();
    macro_rules! put {
        ($k:literal, $($v:tt)+) => {
            if want($k) {
                r.insert($k.into(), json!($($v)+));
            }
        };
    }
    let policy_id = || {
        c.export_policies
            .get(&(v.svm.clone(), v.export_policy.clone()))
            .map(|p| p.id)
    };
    put!("uuid", v.uuid.to_string());
    put!("name", v.name);
    put!("svm", svm_ref(c, &v.svm));
    put!("aggregates", [aggregate_ref(c, &v.aggregate)]);
    put!("type", v.vtype.to_lowercase());
    put!("style", v.style);
    put!("state", v.state.as_str());
    put!("size", v.size);
    put!("comment", v.comment);
    put!("create_time", time(v.creation_time));
    put!("language", v.language);
    put!("nas", {
        "path": v.junction_path.clone().unwrap_or_default(),
        "export_policy": {"name": v.export_policy, "id": policy_id()},
        "security_style": v.security_style,
        "unix_permissions": permissions_number(v.unix_permissions),
        "uid": v.user_id,
        "gid": v.group_id,
    });
    put!("guarantee", {"type": v.guarantee.as_str(), "honored": true});
    put!("snapshot_policy", {"name": v.snapshot_policy});
    put!("snapshot_directory_access_enabled", v.snapdir_access);
    put!("space", {
        "size": v.size,
        "available": v.size_available(),
        "used": v.size_used(),
        "percent_used": v.percent_used(),
        "footprint": v.footprint(),
        "logical_space": {
            "used": v.size_used(),
            "available": v.size_available(),
            "enforcement": false,
            "reporting": false,
        },
        "snapshot": {
            "used": v.size_used_by_snapshots(),
            "reserve_percent": v.snapshot_reserve_percent,
            "reserve_size": v.snapshot_reserve(),
            "autodelete": {"enabled": false},
        },
        "nearly_full_threshold_percent": 95,
        "full_threshold_percent": 98,
        "large_size_enabled": false,
    });
    put!("autosize", {"mode": v.autosize_mode});
    put!("tiering", {"policy": v.tiering_policy, "min_cooling_days": 0, "object_tags": []});
    put!("encryption", {"enabled": v.encrypt, "state": if v.encrypt { "encrypted" } else { "none" }});
    put!("clone", {"is_flexclone": v.is_clone(), "split_initiated": false});
    put!("files", {"maximum": v.files_total, "used": v.files_used});
    put!("efficiency", {"compression": "none", "dedupe": "none", "compaction": "none", "policy": {"name": "-"}});
    put!("snaplock", {"type": "non_snaplock"});
    put!("access_time_enabled", true);
    put!("snapshot_locking_enabled", false);
    put!("analytics", {"state": "off"});
    put!("activity_tracking", {"state": "off"});
    put!("granular_data", false);
    put!("movement", {"state": "none"});
    put!("is_svm_root", v.is_svm_root);
    put!("quota", {"enabled": v.quota.enforced(), "state": v.quota.status.as_str()});
    put!("_tags", []);
    put!("_links", links(format!("/api/storage/volumes/{}", v.uuid)));
    let mut r = Value::Object(r);
    if let Some(q) = &v.qos_policy_group {
        if want("qos") {
            r["qos"] = json!({"policy": {"name": q}});
        }
    }
    if let (Some(p), true) = (&v.clone_parent, want("clone")) {
        let parent = c.volumes.get(&(v.svm.clone(), p.volume.clone()));
        let snap_uuid = parent
            .and_then(|pv| pv.snapshots.get(&p.snapshot))
            .map(|s| s.uuid.to_string());
        r["clone"]["parent_volume"] =
            json!({"name": p.volume, "uuid": parent.map(|pv| pv.uuid.to_string())});
        r["clone"]["parent_snapshot"] = json!({"name": p.snapshot, "uuid": snap_uuid});
        r["clone"]["parent_svm"] = svm_ref(c, &v.svm);
    }
    r
}

/// The volume with this UUID, within the caller's scope.
pub fn by_uuid<'a>(ctx: &Ctx, c: &'a Cluster, uuid: &str) -> Result<&'a Volume, RestError> {
    uuid::Uuid::parse_str(uuid)
        .ok()
        .and_then(|u| c.volume_by_uuid(&u))
        .filter(|v| ctx.sees(&v.svm))
        .ok_or_else(|| RestError::not_found(&format!("volume {uuid}")).target("uuid"))
}

fn list(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let guard = ctx.sim.read();
    let c: &Cluster = &guard;
    let q = &call.query;
    // Trident looks volumes up by exact name and SVM on every step: answer those without
    // rendering the whole table.
    let svm_literal = q.literal("svm.name").map(str::to_string).or_else(|| {
        q.literal("svm.uuid").and_then(|u| {
            c.svms
                .values()
                .find(|s| s.uuid.to_string() == u)
                .map(|s| s.name.clone())
        })
    });
    let records: Box<dyn Iterator<Item = &Volume>> = match (q.literal("name"), &svm_literal) {
        (Some(name), Some(svm)) => {
            Box::new(c.volumes.get(&(svm.clone(), name.to_string())).into_iter())
        }
        (Some(name), None) => Box::new(
            c.svms
                .keys()
                .filter_map(move |s| c.volumes.get(&(s.clone(), name.to_string()))),
        ),
        (None, Some(svm)) => Box::new(c.volumes_of(svm)),
        (None, None) => Box::new(c.volumes.values()),
    };
    let records = records.filter(|v| ctx.sees(&v.svm)).map(|v| record(c, v));
    call.collection(&VOLUME, records)
}

fn show(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let c = ctx.sim.read();
    let v = by_uuid(ctx, &c, call.var(0))?;
    let tops = Tops::of(&call.query, &VOLUME)?;
    let body = instance(
        &call.query,
        &VOLUME,
        record_of(&c, v, tops.as_ref()),
        call.var(0),
    )?;
    Ok(Reply::ok(body).svm(v.svm.clone()))
}

fn model_err(e: ModelError, field: &str) -> RestError {
    RestError::from(e).target(field)
}

fn unix_permissions(b: &Body) -> Result<Option<u32>, RestError> {
    let p = "nas.unix_permissions";
    let text = match b.value(p) {
        None => return Ok(None),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => {
            return Err(RestError::invalid(
                p,
                format!("The value \"{v}\" is invalid for field \"{p}\"."),
            ))
        }
    };
    parse_permissions(&text)
        .map(Some)
        .map_err(|e| model_err(e, p))
}

fn guarantee(b: &Body) -> Result<Option<Guarantee>, RestError> {
    b.str("guarantee.type")?
        .map(|g| Guarantee::parse(&g).map_err(|e| model_err(e, "guarantee.type")))
        .transpose()
}

fn state(b: &Body) -> Result<Option<VolumeState>, RestError> {
    b.str("state")?
        .map(|s| match s.as_str() {
            "online" => Ok(VolumeState::Online),
            "offline" => Ok(VolumeState::Offline),
            "restricted" => Ok(VolumeState::Restricted),
            _ => Err(RestError::invalid(
                "state",
                format!("The value \"{s}\" is invalid for field \"state\" (online, offline, restricted)."),
            )),
        })
        .transpose()
}

/// The attributes both create and modify accept.
fn change(b: &Body) -> Result<VolumeChange, RestError> {
    Ok(VolumeChange {
        comment: b.str("comment")?,
        export_policy: b.str("nas.export_policy.name")?,
        security_style: b.str("nas.security_style")?,
        unix_permissions: unix_permissions(b)?,
        user_id: b.u64("nas.uid")?.map(|n| n as u32),
        group_id: b.u64("nas.gid")?.map(|n| n as u32),
        snapshot_policy: b.str("snapshot_policy.name")?,
        snapdir_access: b.bool("snapshot_directory_access_enabled")?,
        snapshot_reserve_percent: b.u64("space.snapshot.reserve_percent")?,
        guarantee: guarantee(b)?,
        autosize_mode: b.str("autosize.mode")?,
        tiering_policy: b.str("tiering.policy")?,
        qos_policy_group: b.str("qos.policy.name")?,
        qos_adaptive_policy_group: None,
        files_total: b.u64("files.maximum")?,
        size: None,
    })
}

fn is_empty(c: &VolumeChange) -> bool {
    c.comment.is_none()
        && c.export_policy.is_none()
        && c.security_style.is_none()
        && c.unix_permissions.is_none()
        && c.user_id.is_none()
        && c.group_id.is_none()
        && c.snapshot_policy.is_none()
        && c.snapdir_access.is_none()
        && c.snapshot_reserve_percent.is_none()
        && c.guarantee.is_none()
        && c.autosize_mode.is_none()
        && c.tiering_policy.is_none()
        && c.qos_policy_group.is_none()
        && c.files_total.is_none()
}

/// Fields ONTAP takes that describe features the simulator has not got; accepted when they ask
/// for what every volume here already is (off, none, no SnapLock).
fn accept_defaults(b: &Body) -> Result<(), RestError> {
    for (path, want) in [
        ("efficiency.compression", json!("none")),
        ("snaplock.type", json!("non_snaplock")),
        ("space.logical_space.enforcement", json!(false)),
        ("space.logical_space.reporting", json!(false)),
        ("analytics.state", json!("off")),
        ("activity_tracking.state", json!("off")),
    ] {
        if let Some(v) = b.value(path) {
            if *v != want {
                return Err(RestError::invalid(
                    path,
                    format!("The value {v} is invalid for field \"{path}\": the simulator supports only {want}."),
                ));
            }
        }
    }
    if let Some(t) = b.value("_tags") {
        if t.as_array().is_none_or(|a| !a.is_empty()) {
            return Err(RestError::invalid(
                "_tags",
                "Volume tags are not supported by the simulator.",
            ));
        }
    }
    Ok(())
}

fn create(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let b = &call.body;
    let (svm, aggregate) = {
        let c = ctx.sim.read();
        let svm = ctx.svm_named(
            &c,
            b.str("svm.name")?.as_deref(),
            b.str("svm.uuid")?.as_deref(),
        )?;
        let aggregate = match b.objects("aggregates")? {
            None => None,
            Some(list) => {
                let first = list.first().ok_or_else(|| {
                    RestError::invalid("aggregates", "The list of aggregates is empty.")
                })?;
                let name = match (first.get("name"), first.get("uuid")) {
                    (Some(Value::String(n)), _) => n.clone(),
                    (None, Some(Value::String(u))) => c
                        .aggregates
                        .values()
                        .find(|a| a.uuid.to_string() == *u)
                        .map(|a| a.name.clone())
                        .ok_or_else(|| {
                            RestError::new(
                                404,
                                super::super::error::TARGET_AGGREGATE_NOT_FOUND,
                                format!("Aggregate \"{u}\" does not exist."),
                            )
                            .target("aggregates.uuid")
                        })?,
                    _ => return Err(RestError::missing("aggregates.name")),
                };
                Some(name)
            }
        };
        (svm, aggregate)
    };
    let name = b.req_str("name")?;
    accept_defaults(b)?;
    let mut ch = change(b)?;
    let size = b.u64("size")?;
    let path = b.str("nas.path")?.filter(|p| !p.is_empty());
    let st = state(b)?;
    let vtype = b.str("type")?;
    let style = b.str("style")?;
    let language = b.str("language")?;
    let encrypt = b.bool("encryption.enabled")?;
    let is_clone = b.bool("clone.is_flexclone")?.unwrap_or(false);
    let parent = b.str("clone.parent_volume.name")?;
    let parent_uuid = b.str("clone.parent_volume.uuid")?;
    let parent_snapshot = b.str("clone.parent_snapshot.name")?;
    b.value("clone.parent_snapshot.uuid");
    b.value("clone.parent_svm");
    b.value("constituents_per_aggregate");
    let op: Op = if is_clone || parent.is_some() || parent_uuid.is_some() {
        let parent = match (parent, parent_uuid) {
            (Some(p), _) => p,
            (None, Some(u)) => by_uuid(ctx, &ctx.sim.read(), &u)?.name.clone(),
            (None, None) => return Err(RestError::missing("clone.parent_volume.name")),
        };
        let svm = svm.clone();
        let guarantee = ch.guarantee.take();
        Box::new(move |c: &mut Cluster| {
            c.clone_volume(
                &svm,
                &parent,
                parent_snapshot.as_deref(),
                &name,
                path.as_deref(),
                guarantee,
            )?;
            if let Some(s) = size {
                c.resize_volume(&svm, &name, s)?;
            }
            if !is_empty(&ch) {
                c.modify_volume(&svm, &name, ch)?;
            }
            if let Some(st) = st {
                c.set_volume_state(&svm, &name, st)?;
            }
            Ok(())
        })
    } else {
        let size = size.ok_or_else(|| RestError::missing("size"))?;
        let spec = VolumeSpec {
            name: name.clone(),
            aggregate: aggregate.unwrap_or_default(),
            size,
            vtype,
            style,
            state: st,
            junction_path: path,
            comment: ch.comment.take(),
            snapshot_reserve_percent: ch.snapshot_reserve_percent.take(),
            guarantee: ch.guarantee.take(),
            export_policy: ch.export_policy.take(),
            security_style: ch.security_style.take(),
            unix_permissions: ch.unix_permissions.take(),
            user_id: ch.user_id.take(),
            group_id: ch.group_id.take(),
            snapshot_policy: ch.snapshot_policy.take(),
            tiering_policy: ch.tiering_policy.take(),
            encrypt,
            qos_policy_group: ch.qos_policy_group.take(),
            language,
            ..VolumeSpec::default()
        };
        let svm = svm.clone();
        Box::new(move |c: &mut Cluster| {
            let mut spec = spec;
            if spec.aggregate.is_empty() {
                spec.aggregate = c.default_aggregate(&svm)?;
            }
            c.create_volume(&svm, spec)?;
            if !is_empty(&ch) {
                c.modify_volume(&svm, &name, ch)?;
            }
            Ok(())
        })
    };
    let (op, done) = observed(op);
    let mut reply = job::start_at(ctx, call, &svm, Some(Endpoint::VolumeCreate), op)?;
    let name = call.body.str("name")?.unwrap_or_default();
    // The job may have made the volume already (no job duration): then its UUID is known.
    let made = applied(&done)
        .then(|| {
            let c = ctx.sim.read();
            c.volumes
                .get(&(svm.clone(), name.clone()))
                .map(|v| v.uuid.to_string())
        })
        .flatten();
    let rec = match &made {
        Some(uuid) => {
            json!({"uuid": uuid, "name": name, "_links": links(format!("/api/storage/volumes/{uuid}"))})
        }
        None => json!({"name": name}),
    };
    reply = reply.location(match &made {
        Some(uuid) => format!("/api/storage/volumes/{uuid}"),
        None => location_query(
            "/api/storage/volumes",
            &[("name", &name), ("svm.name", &svm)],
        ),
    });
    if call.query.wants_records() {
        reply.body["num_records"] = json!(1);
        reply.body["records"] = json!([rec]);
    }
    Ok(reply)
}

fn modify(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let (svm, name, mounted) = {
        let c = ctx.sim.read();
        let v = by_uuid(ctx, &c, call.var(0))?;
        (v.svm.clone(), v.name.clone(), v.junction_path.clone())
    };
    let restore = call.query.take("restore_to.snapshot.name");
    let restore_uuid = call.query.take("restore_to.snapshot.uuid");
    let b = &call.body;
    accept_defaults(b)?;
    let ch = change(b)?;
    let size = b.u64("size")?;
    let new_name = b.str("name")?;
    let path = b.str("nas.path")?;
    let st = state(b)?;
    let split = b.bool("clone.split_initiated")?;
    let quota = b.bool("quota.enabled")?;
    if let Some(false) = b.bool("clone.is_flexclone")? {
        if split != Some(true) {
            return Err(RestError::invalid(
                "clone.is_flexclone",
                "A clone becomes independent with \"clone.split_initiated\": true.",
            ));
        }
    }
    let restore = match (restore, restore_uuid) {
        (Some(n), _) => Some(n),
        (None, Some(u)) => {
            let c = ctx.sim.read();
            let v = by_uuid(ctx, &c, call.var(0))?;
            Some(
                v.snapshots
                    .values()
                    .find(|s| s.uuid.to_string() == u)
                    .map(|s| s.name.clone())
                    .ok_or_else(|| {
                        RestError::not_found(&format!("snapshot {u}"))
                            .target("restore_to.snapshot.uuid")
                    })?,
            )
        }
        (None, None) => None,
    };
    let svm_of_job = svm.clone();
    let op: Op = Box::new(move |c: &mut Cluster| {
        let mut name = name;
        if let Some(n) = new_name.filter(|n| *n != name) {
            c.rename_volume(&svm, &name, &n)?;
            name = n;
        }
        if let Some(st) = st {
            c.set_volume_state(&svm, &name, st)?;
        }
        if let Some(s) = size {
            c.resize_volume(&svm, &name, s)?;
        }
        if let Some(p) = path {
            if mounted.is_some() && mounted.as_deref() != Some(p.as_str()) {
                c.unmount_volume(&svm, &name)?;
            }
            if !p.is_empty() && mounted.as_deref() != Some(p.as_str()) {
                c.mount_volume(&svm, &name, &p)?;
            }
        }
        if !is_empty(&ch) {
            c.modify_volume(&svm, &name, ch)?;
        }
        if split == Some(true) {
            c.split_clone(&svm, &name)?;
        }
        if let Some(s) = restore {
            c.restore_snapshot(&svm, &name, &s)?;
        }
        // quota.enabled: quota-on (its initialization is this job's work) or quota-off; a
        // volume already in the asked state is left as it is, as ONTAP does.
        match (quota, c.volume(&svm, &name)?.quota.status) {
            (Some(true), crate::model::QuotaStatus::Off) => {
                let job = c.quota_on(&svm, &name)?;
                c.finish_quota_job(job);
            }
            (Some(false), st) if st != crate::model::QuotaStatus::Off => {
                c.quota_off(&svm, &name)?;
            }
            _ => {}
        }
        Ok(())
    });
    job::start_at(ctx, call, &svm_of_job, Some(Endpoint::VolumeModify), op)
}

fn remove(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let (svm, name) = {
        let c = ctx.sim.read();
        let v = by_uuid(ctx, &c, call.var(0))?;
        (v.svm.clone(), v.name.clone())
    };
    // `force=true` skips the recovery queue: the space comes back at once.
    let force = call.query.take_bool("force")?.unwrap_or(false);
    let svm2 = svm.clone();
    let op: Op = Box::new(move |c: &mut Cluster| {
        let dsid = c.volume(&svm2, &name)?.dsid;
        c.destroy_volume(&svm2, &name, true)?;
        if force {
            c.purge_recovery_queue(&svm2, &format!("{name}_{dsid}"))?;
        }
        Ok(())
    });
    job::start_at(ctx, call, &svm, Some(Endpoint::VolumeDelete), op)
}

/// PATCH of the volumes a query selects (see `rest::bulk`).
fn modify_all(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    bulk::by_query(
        ctx,
        call,
        list,
        &["restore_to.snapshot.name", "restore_to.snapshot.uuid"],
    )
}

/// DELETE of the volumes a query selects (see `rest::bulk`).
fn remove_all(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    bulk::by_query(ctx, call, list, &["force"])
}
