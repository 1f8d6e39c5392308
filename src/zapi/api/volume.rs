//! `volume-*`: create, size, read, modify, mount, state, rename and destroy volumes, and the
//! recovery queue destroyed volumes wait in.

use super::{
    async_result, boolean, format_size, int, list, need, opt, parse_size, req, text, uint, Access,
    Api, Ctx, Exposure, Kind, ITER_INPUTS,
};
use crate::model::volume::parse_permissions;
use crate::model::{Cluster, Guarantee, ModelError, Volume, VolumeChange, VolumeSpec, VolumeState};
use crate::pattern::{literal_prefix, value_matches};
use crate::zapi::errno::{ZapiError, EOBJECTNOTFOUND};
use crate::zapi::iter::{matches, IterRequest};
use crate::zapi::xml::{Element, Sink, TreeBuilder, Value};

const CREATE_INPUTS: &[super::Input] = &[
    req("volume", Kind::Str),
    req("containing-aggr-name", Kind::Str),
    req("size", Kind::Str),
    opt("space-reserve", Kind::Str),
    opt("snapshot-policy", Kind::Str),
    opt("export-policy", Kind::Str),
    opt("volume-security-style", Kind::Str),
    opt("volume-comment", Kind::Str),
    opt("percentage-snapshot-reserve", Kind::Int),
    opt("unix-permissions", Kind::Str),
    opt("volume-type", Kind::Str),
    opt("tiering-policy", Kind::Str),
    opt("encrypt", Kind::Bool),
    opt("qos-policy-group-name", Kind::Str),
    opt("qos-adaptive-policy-group-name", Kind::Str),
    opt("junction-path", Kind::Str),
    opt("volume-state", Kind::Str),
    opt("user-id", Kind::Int),
    opt("group-id", Kind::Int),
    opt("language-code", Kind::Str),
    opt("is-nvfail-enabled", Kind::Bool),
    opt("space-slo", Kind::Str),
    opt("vserver-dr-protection", Kind::Str),
];

const CREATE_ASYNC_INPUTS: &[super::Input] = &[
    req("volume-name", Kind::Str),
    req("size", Kind::Int),
    opt("aggr-list", Kind::Elem),
    opt("aggr-list-multiplier", Kind::Int),
    opt("auto-provision-as", Kind::Str),
    opt("space-reserve", Kind::Str),
    opt("snapshot-policy", Kind::Str),
    opt("export-policy", Kind::Str),
    opt("volume-security-style", Kind::Str),
    opt("volume-comment", Kind::Str),
    opt("percentage-snapshot-reserve", Kind::Int),
    opt("unix-permissions", Kind::Str),
    opt("volume-type", Kind::Str),
    opt("tiering-policy", Kind::Str),
    opt("encrypt", Kind::Bool),
    opt("qos-policy-group-name", Kind::Str),
    opt("qos-adaptive-policy-group-name", Kind::Str),
    opt("junction-path", Kind::Str),
];

pub static APIS: &[Api] = &[
    Api {
        name: "volume-create",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: CREATE_INPUTS,
        handler: create,
    },
    Api {
        name: "volume-create-async",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: CREATE_ASYNC_INPUTS,
        handler: create_async,
    },
    Api {
        name: "volume-size",
        access: Access::Read,
        exposure: Exposure::Svm,
        inputs: &[req("volume", Kind::Str), opt("new-size", Kind::Str)],
        handler: size,
    },
    Api {
        name: "volume-size-async",
        access: Access::Read,
        exposure: Exposure::Svm,
        inputs: &[req("volume-name", Kind::Str), opt("new-size", Kind::Str)],
        handler: size_async,
    },
    Api {
        name: "volume-get-iter",
        access: Access::Read,
        exposure: Exposure::Both,
        inputs: ITER_INPUTS,
        handler: get_iter,
    },
    Api {
        name: "volume-modify-iter",
        access: Access::Write,
        exposure: Exposure::Both,
        inputs: MODIFY_INPUTS,
        handler: modify_iter,
    },
    Api {
        name: "volume-modify-iter-async",
        access: Access::Write,
        exposure: Exposure::Both,
        inputs: MODIFY_INPUTS,
        handler: modify_iter_async,
    },
    Api {
        name: "volume-mount",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: &[
            req("volume-name", Kind::Str),
            req("junction-path", Kind::Str),
            opt("activate-junction", Kind::Bool),
            opt("export-policy-override", Kind::Bool),
        ],
        handler: mount,
    },
    Api {
        name: "volume-unmount",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: &[req("volume-name", Kind::Str), opt("force", Kind::Bool)],
        handler: unmount,
    },
    Api {
        name: "volume-offline",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: &[req("name", Kind::Str), opt("cifs-delay", Kind::Int)],
        handler: offline,
    },
    Api {
        name: "volume-online",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: &[req("name", Kind::Str), opt("force", Kind::Bool)],
        handler: online,
    },
    Api {
        name: "volume-restrict",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: &[req("name", Kind::Str), opt("cifs-delay", Kind::Int)],
        handler: restrict,
    },
    Api {
        name: "volume-rename",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: &[req("volume", Kind::Str), req("new-volume-name", Kind::Str)],
        handler: rename,
    },
    Api {
        name: "volume-destroy",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: &[
            req("name", Kind::Str),
            opt("unmount-and-offline", Kind::Bool),
            opt("force", Kind::Bool),
        ],
        handler: destroy,
    },
    Api {
        name: "volume-destroy-async",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: &[
            req("volume-name", Kind::Str),
            opt("unmount-and-offline", Kind::Bool),
        ],
        handler: destroy_async,
    },
    Api {
        name: "volume-recovery-queue-get-iter",
        access: Access::Read,
        exposure: Exposure::Both,
        inputs: ITER_INPUTS,
        handler: recovery_queue_get_iter,
    },
    Api {
        name: "volume-recovery-queue-purge",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: &[req("volume-name", Kind::Str)],
        handler: recovery_queue_purge,
    },
];

const MODIFY_INPUTS: &[super::Input] = &[
    req("query", Kind::Elem),
    req("attributes", Kind::Elem),
    opt("max-records", Kind::Int),
    opt("tag", Kind::Str),
    opt("continue-on-failure", Kind::Bool),
    opt("max-failure-count", Kind::Int),
    opt("return-success-list", Kind::Bool),
    opt("return-failure-list", Kind::Bool),
];

fn guarantee_input(el: &Element) -> Result<Option<Guarantee>, ZapiError> {
    text(el, "space-reserve")
        .map(|g| Guarantee::parse(g).map_err(ZapiError::from))
        .transpose()
}

fn permissions_input(el: &Element, name: &str) -> Result<Option<u32>, ZapiError> {
    text(el, name)
        .map(|p| parse_permissions(p).map_err(ZapiError::from))
        .transpose()
}

fn state_input(el: &Element) -> Result<Option<VolumeState>, ZapiError> {
    match text(el, "volume-state") {
        None => Ok(None),
        Some("online") => Ok(Some(VolumeState::Online)),
        Some("offline") => Ok(Some(VolumeState::Offline)),
        Some("restricted") => Ok(Some(VolumeState::Restricted)),
        Some(o) => Err(ZapiError::invalid(format!(
            "Invalid value specified for \"volume-state\": \"{o}\" (online, offline, restricted)"
        ))),
    }
}

/// The inputs `volume-create` and `volume-create-async` share.
fn spec_common(
    el: &Element,
    name: String,
    aggregate: String,
    size: u64,
) -> Result<VolumeSpec, ZapiError> {
    let s = |n: &str| text(el, n).map(str::to_string);
    Ok(VolumeSpec {
        name,
        aggregate,
        size,
        vtype: s("volume-type").map(|t| t.to_ascii_lowercase()),
        style: None,
        state: state_input(el)?,
        junction_path: s("junction-path").filter(|j| !j.is_empty()),
        comment: s("volume-comment"),
        snapshot_reserve_percent: uint(el, "percentage-snapshot-reserve")?,
        guarantee: guarantee_input(el)?,
        export_policy: s("export-policy"),
        security_style: s("volume-security-style"),
        unix_permissions: permissions_input(el, "unix-permissions")?,
        user_id: uint(el, "user-id")?,
        group_id: uint(el, "group-id")?,
        snapshot_policy: s("snapshot-policy"),
        tiering_policy: s("tiering-policy"),
        encrypt: boolean(el, "encrypt"),
        qos_policy_group: s("qos-policy-group-name").filter(|q| !q.is_empty()),
        qos_adaptive_policy_group: s("qos-adaptive-policy-group-name").filter(|q| !q.is_empty()),
        language: s("language-code"),
        nvfail: boolean(el, "is-nvfail-enabled"),
        space_slo: s("space-slo"),
        dr_protection: s("vserver-dr-protection"),
    })
}

fn create(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    let size = parse_size("size", need(el, "size"))?;
    let spec = spec_common(
        el,
        need(el, "volume").to_string(),
        need(el, "containing-aggr-name").to_string(),
        size,
    )?;
    ctx.sim.mutate(|c| c.create_volume(svm, spec).map(|_| ()))?;
    Ok(vec![])
}

fn create_async(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    let size = uint::<u64>(el, "size")?.unwrap_or_default();
    let aggrs = list(el, "aggr-list").unwrap_or_default();
    let name = need(el, "volume-name").to_string();
    // `auto-provision-as flexgroup`: the cluster picks the aggregates (Trident sends it when its
    // flexgroupAggregateList is empty); it cannot be combined with an aggregate list.
    let auto = match text(el, "auto-provision-as") {
        None => false,
        Some("flexgroup") if aggrs.is_empty() => true,
        Some("flexgroup") => {
            return Err(ZapiError::invalid(
                "Invalid input: \"auto-provision-as\" cannot be given with \"aggr-list\"",
            ))
        }
        Some(o) => {
            return Err(ZapiError::invalid(format!(
                "Invalid value specified for \"auto-provision-as\": \"{o}\" (flexgroup)"
            )))
        }
    };
    ctx.sim.mutate(|c| {
        let aggregate = match aggrs.first() {
            Some(a) => a.clone(),
            None if auto => c.auto_provision_aggregate(svm)?,
            None => c.default_aggregate(svm)?,
        };
        let mut spec = spec_common(el, name.clone(), aggregate, size)?;
        spec.style = Some("flexgroup".into());
        let outcome = c.create_volume(svm, spec).map(|_| ());
        finish_async(c, "Create", &format!("Create {name}"), svm, outcome)
    })
}

/// Record the job of an asynchronous call. A refused request fails the call itself, as ONTAP
/// validates before it queues; the job then records the failure too.
fn finish_async(
    c: &mut Cluster,
    job: &str,
    description: &str,
    svm: &str,
    outcome: Result<(), ModelError>,
) -> Result<Vec<Element>, ZapiError> {
    match outcome {
        Ok(()) => {
            let id = c.record_job(
                job,
                description.to_string(),
                Some(svm),
                Ok("Success".into()),
            );
            Ok(async_result(id))
        }
        Err(e) => {
            let z = ZapiError::from(e);
            c.record_job(
                job,
                description.to_string(),
                Some(svm),
                Err((z.errno, z.reason.clone())),
            );
            Err(z)
        }
    }
}

/// A size request: absolute (`20g`, bytes) or relative (`+1g`, `-512m`).
fn new_size(current: u64, req: &str) -> Result<u64, ZapiError> {
    let r = req.trim();
    if let Some(d) = r.strip_prefix('+') {
        Ok(current.saturating_add(parse_size("new-size", d)?))
    } else if let Some(d) = r.strip_prefix('-') {
        let d = parse_size("new-size", d)?;
        current.checked_sub(d).ok_or_else(|| {
            ZapiError::invalid(format!(
                "Invalid value specified for \"new-size\": \"{r}\" is more than the volume's size"
            ))
        })
    } else {
        parse_size("new-size", r)
    }
}

fn size_outputs(size: u64) -> Vec<Element> {
    vec![
        Element::leaf("is-fixed-size-flex-volume", "false"),
        Element::leaf("is-readonly-flex-volume", "false"),
        Element::leaf("is-replica-flex-volume", "false"),
        Element::leaf("volume-size", format_size(size)),
    ]
}

fn size(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    let name = need(el, "volume");
    ctx.sim.mutate(|c| {
        let current = c.volume(svm, name)?.size;
        match text(el, "new-size") {
            None => Ok(size_outputs(current)),
            Some(r) => {
                ctx.require_write(c)?;
                let target = new_size(current, r)?;
                c.resize_volume(svm, name, target)?;
                Ok(size_outputs(target))
            }
        }
    })
}

fn size_async(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    let name = need(el, "volume-name");
    ctx.sim.mutate(|c| {
        let current = c.volume(svm, name)?.size;
        let Some(r) = text(el, "new-size") else {
            let mut out = size_outputs(current);
            out.retain(|e| e.name == "volume-size");
            return Ok(out);
        };
        ctx.require_write(c)?;
        let target = new_size(current, r)?;
        let outcome = c.resize_volume(svm, name, target).map(|_| ());
        let mut out = finish_async(c, "Volume Resize", &format!("Resize {name}"), svm, outcome)?;
        out.push(Element::leaf("volume-size", format_size(target)));
        Ok(out)
    })
}

/// The full `volume-attributes` record every client reads, as a tree.
pub fn attributes(c: &Cluster, v: &Volume) -> Element {
    TreeBuilder::build(|s| write_attributes(c, v, s))
}

/// The full `volume-attributes` record, written to a sink (pages go straight to XML).
pub fn write_attributes(c: &Cluster, v: &Volume, s: &mut dyn Sink) {
    let aggr = c.aggregates.get(&v.aggregate);
    let node = aggr.map(|a| a.node.as_str()).unwrap_or_default();
    // UUIDs are formatted on the stack: a record costs no allocation per field.
    let (mut b1, mut b2, mut b3) = ([0u8; 36], [0u8; 36], [0u8; 36]);
    let vol_uuid = Value::Raw(v.uuid.hyphenated().encode_lower(&mut b1));
    let svm_uuid = c
        .svms
        .get(&v.svm)
        .map(|s| Value::Raw(s.uuid.hyphenated().encode_lower(&mut b2)))
        .unwrap_or(Value::Raw(""));
    let aggr_uuid = aggr
        .map(|a| Value::Raw(a.uuid.hyphenated().encode_lower(&mut b3)))
        .unwrap_or(Value::Raw(""));
    let dp = v.vtype == "dp";
    s.open("volume-attributes");
    s.put("encrypt", v.encrypt);
    s.open("volume-autosize-attributes");
    s.put("grow-threshold-percent", 85u64);
    s.put("is-enabled", v.autosize_mode != "off");
    s.put("maximum-size", v.size + v.size / 5);
    s.put("minimum-size", v.size);
    s.put("mode", &v.autosize_mode);
    s.put("shrink-threshold-percent", 50u64);
    s.close("volume-autosize-attributes");
    if let Some(p) = &v.clone_parent {
        s.open("volume-clone-attributes");
        s.open("volume-clone-parent-attributes");
        s.put("name", &p.volume);
        s.put("snapshot-name", &p.snapshot);
        s.close("volume-clone-parent-attributes");
        s.close("volume-clone-attributes");
    }
    s.open("volume-comp-aggr-attributes");
    s.put("tiering-policy", &v.tiering_policy);
    s.close("volume-comp-aggr-attributes");
    s.open("volume-export-attributes");
    s.put("policy", &v.export_policy);
    s.close("volume-export-attributes");

    s.open("volume-id-attributes");
    if v.style == "flexgroup" {
        s.list("aggr-list", "aggr-name", [&v.aggregate]);
    }
    s.put("comment", &v.comment);
    s.put("containing-aggregate-name", &v.aggregate);
    s.put("containing-aggregate-uuid", aggr_uuid);
    s.put("creation-time", v.creation_time);
    s.put("dsid", v.dsid);
    s.put("fsid", v.dsid);
    s.put("instance-uuid", vol_uuid);
    s.put_opt("junction-path", v.junction_path.as_deref());
    s.put("msid", 2_147_483_648u64 + v.dsid);
    s.put("name", &v.name);
    s.put("node", node);
    s.list("nodes", "node-name", [node]);
    s.put("owning-vserver-name", &v.svm);
    s.put("owning-vserver-uuid", svm_uuid);
    s.put("provenance-uuid", vol_uuid);
    s.put("style", Value::Raw("flex"));
    s.put("style-extended", &v.style);
    s.put("type", &v.vtype);
    s.put("uuid", vol_uuid);
    s.put("vserver", &v.svm);
    s.close("volume-id-attributes");

    s.open("volume-inode-attributes");
    s.put("files-private-used", 502u64);
    s.put("files-total", v.files_total);
    s.put("files-used", v.files_used);
    s.put("inodefile-private-capacity", v.files_total);
    s.put("inodefile-public-capacity", v.files_total);
    s.close("volume-inode-attributes");

    s.open("volume-language-attributes");
    s.put("is-convert-ucode-enabled", true);
    s.put("is-create-ucode-enabled", true);
    s.put(
        "language",
        format!("{} (POSIX with UTF-8)", v.language).as_str(),
    );
    s.put("language-code", &v.language);
    s.close("volume-language-attributes");

    s.open("volume-mirror-attributes");
    s.put("is-data-protection-mirror", dp);
    s.put("is-load-sharing-mirror", false);
    s.put("is-move-mirror", false);
    s.put("is-replica-volume", dp);
    s.put("is-snapmirror-source", false);
    s.close("volume-mirror-attributes");

    s.open("volume-qos-attributes");
    s.put_opt(
        "adaptive-policy-group-name",
        v.qos_adaptive_policy_group.as_deref(),
    );
    s.put_opt("policy-group-name", v.qos_policy_group.as_deref());
    s.close("volume-qos-attributes");

    s.open("volume-security-attributes");
    s.put("style", &v.security_style);
    s.open("volume-security-unix-attributes");
    s.put("group-id", v.group_id);
    let p = v.unix_permissions;
    if p <= 0o7777 {
        // Four octal digits, on the stack.
        let digits = [9, 6, 3, 0].map(|shift| b'0' + ((p >> shift) & 7) as u8);
        s.put(
            "permissions",
            Value::Raw(std::str::from_utf8(&digits).unwrap_or("0000")),
        );
    } else {
        s.put("permissions", format!("{p:04o}").as_str());
    }
    s.put("user-id", v.user_id);
    s.close("volume-security-unix-attributes");
    s.close("volume-security-attributes");

    s.open("volume-snapshot-attributes");
    s.put("auto-snapshots-enabled", v.snapshot_policy != "none");
    s.put("snapdir-access-enabled", v.snapdir_access);
    s.put("snapshot-count", v.snapshots.len());
    s.put("snapshot-policy", &v.snapshot_policy);
    s.close("volume-snapshot-attributes");

    s.open("volume-snapshot-autodelete-attributes");
    s.put("is-autodelete-enabled", false);
    s.close("volume-snapshot-autodelete-attributes");

    let reserve = v.snapshot_reserve();
    let by_snapshots = v.size_used_by_snapshots();
    s.open("volume-space-attributes");
    s.put("filesystem-size", v.size);
    s.put("is-filesys-size-fixed", false);
    s.put("is-space-guarantee-enabled", true);
    s.put("logical-used", v.size_used());
    s.put("overwrite-reserve", 0u64);
    s.put("percentage-size-used", v.percent_used());
    s.put("percentage-snapshot-reserve", v.snapshot_reserve_percent);
    s.put(
        "percentage-snapshot-reserve-used",
        match reserve {
            0 => 0,
            r => by_snapshots * 100 / r,
        },
    );
    s.put("physical-used", v.footprint().min(v.size));
    s.put("size", v.size);
    s.put("size-available", v.size_available());
    s.put(
        "size-available-for-snapshots",
        reserve.saturating_sub(by_snapshots),
    );
    s.put("size-total", v.size_total());
    s.put("size-used", v.size_used());
    s.put("size-used-by-snapshots", by_snapshots);
    s.put("snapshot-reserve-size", reserve);
    s.put("space-full-threshold-percent", 98u64);
    s.put("space-guarantee", Value::Raw(v.guarantee.as_str()));
    s.put("space-nearly-full-threshold-percent", 95u64);
    s.put("space-slo", &v.space_slo);
    s.close("volume-space-attributes");

    s.open("volume-state-attributes");
    s.put("is-cluster-volume", true);
    s.put("is-constituent", false);
    s.put("is-flexgroup", v.style == "flexgroup");
    s.put("is-node-root", false);
    s.put("is-nvfail-enabled", v.nvfail);
    s.put("is-vserver-root", v.is_svm_root);
    s.put("state", Value::Raw(v.state.as_str()));
    s.close("volume-state-attributes");

    s.open("volume-vserver-dr-protection-attributes");
    s.put("vserver-dr-protection", &v.dr_protection);
    s.close("volume-vserver-dr-protection-attributes");
    s.close("volume-attributes");
}

fn scoped_volumes<'a>(
    c: &'a Cluster,
    svm: Option<&'a str>,
) -> Box<dyn Iterator<Item = &'a Volume> + 'a> {
    match svm {
        Some(s) => Box::new(c.volumes_of(s)),
        None => Box::new(c.volumes.values()),
    }
}

fn get_iter(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let mut req = IterRequest::parse(el, "volume-attributes")?;
    let c = ctx.sim.read();
    // The name and SVM patterns are applied to the volumes themselves (a lookup by name reads
    // only the volumes under its literal prefix); the rest of the query, if any, is matched
    // against each record.
    let mut id = |field| req.take_query_leaf(&["volume-id-attributes", field]);
    let name = id("name");
    let svm = id("owning-vserver-name").or_else(|| id("vserver"));
    let prefix = name.as_deref().map(literal_prefix).unwrap_or_default();
    // A later page starts at its tag's key, so a full listing reads each volume once.
    let (tag_svm, tag_name) = match req.tag.as_deref() {
        Some([s, n, ..]) => (Some(s.as_str()), Some(n.as_str())),
        _ => (None, None),
    };
    let svms = c.svms.keys().filter(|s| {
        ctx.svm.as_deref().is_none_or(|scope| scope == s.as_str())
            && svm.as_deref().is_none_or(|p| value_matches(p, s))
            && tag_svm.is_none_or(|t| s.as_str() >= t)
    });
    let items = svms
        .flat_map(|s| {
            let from = tag_name.filter(|_| tag_svm == Some(s.as_str()));
            c.volumes_with_prefix(s, prefix, from)
        })
        .filter(|v| name.as_deref().is_none_or(|p| value_matches(p, &v.name)));
    Ok(req.page(
        &el.name,
        items,
        |v| vec![v.svm.clone(), v.name.clone()],
        |v, s| write_attributes(&c, v, s),
    ))
}

fn parse_change(attrs: &Element) -> Result<VolumeChange, ZapiError> {
    let mut ch = VolumeChange::default();
    let not_modifiable = |path: String| {
        ZapiError::invalid(format!(
            "Modification of \"{path}\" is not supported by volume-modify-iter"
        ))
    };
    for group in &attrs.children {
        for f in &group.children {
            let v = f.text.trim().to_string();
            let path = format!("{}/{}", group.name, f.name);
            match (group.name.as_ref(), f.name.as_ref()) {
                ("volume-id-attributes", "comment") => ch.comment = Some(f.text.clone()),
                ("volume-export-attributes", "policy") => ch.export_policy = Some(v),
                ("volume-security-attributes", "style") => ch.security_style = Some(v),
                ("volume-security-attributes", "volume-security-unix-attributes") => {
                    for u in &f.children {
                        let val = u.text.trim();
                        let num = || -> Result<u32, ZapiError> {
                            val.parse().map_err(|_| {
                                ZapiError::invalid(format!(
                                    "Invalid value specified for \"{}\": \"{val}\"",
                                    u.name
                                ))
                            })
                        };
                        match u.name.as_ref() {
                            "permissions" => ch.unix_permissions = Some(parse_permissions(val)?),
                            "user-id" => ch.user_id = Some(num()?),
                            "group-id" => ch.group_id = Some(num()?),
                            other => return Err(not_modifiable(format!("{path}/{other}"))),
                        }
                    }
                }
                ("volume-snapshot-attributes", "snapdir-access-enabled") => {
                    ch.snapdir_access = Some(super::parse_bool(&v).ok_or_else(|| {
                        ZapiError::invalid(format!(
                            "Invalid value specified for \"snapdir-access-enabled\": \"{v}\""
                        ))
                    })?)
                }
                ("volume-snapshot-attributes", "snapshot-policy") => ch.snapshot_policy = Some(v),
                ("volume-space-attributes", "percentage-snapshot-reserve") => {
                    ch.snapshot_reserve_percent = Some(v.parse().map_err(|_| {
                        ZapiError::invalid(format!(
                            "Invalid value specified for \"percentage-snapshot-reserve\": \"{v}\""
                        ))
                    })?)
                }
                ("volume-space-attributes", "space-guarantee") => {
                    ch.guarantee = Some(Guarantee::parse(&v)?)
                }
                ("volume-space-attributes", "size") => ch.size = Some(parse_size("size", &v)?),
                ("volume-autosize-attributes", "mode") => ch.autosize_mode = Some(v),
                ("volume-comp-aggr-attributes", "tiering-policy") => ch.tiering_policy = Some(v),
                ("volume-qos-attributes", "policy-group-name") => ch.qos_policy_group = Some(v),
                ("volume-qos-attributes", "adaptive-policy-group-name") => {
                    ch.qos_adaptive_policy_group = Some(v)
                }
                ("volume-inode-attributes", "files-total") => {
                    ch.files_total = Some(v.parse().map_err(|_| {
                        ZapiError::invalid(format!(
                            "Invalid value specified for \"files-total\": \"{v}\""
                        ))
                    })?)
                }
                _ => return Err(not_modifiable(path)),
            }
        }
    }
    Ok(ch)
}

fn volume_key(svm: &str, name: &str) -> Element {
    Element::new("volume-key").with(
        Element::new("volume-attributes").with(
            Element::new("volume-id-attributes")
                .with_leaf("name", name)
                .with_leaf("owning-vserver-name", svm),
        ),
    )
}

/// Apply the modification to every matching volume; each volume changes completely or not at all.
fn modify_matching(
    ctx: &Ctx,
    el: &Element,
    info: &'static str,
) -> Result<(Vec<Element>, Vec<Element>), ZapiError> {
    let query = el
        .child("query")
        .and_then(|q| q.children.first())
        .filter(|q| q.name == "volume-attributes")
        .ok_or_else(|| {
            ZapiError::invalid(
                "Invalid value specified for \"query\": expected <volume-attributes>",
            )
        })?;
    let attrs = el
        .child("attributes")
        .and_then(|q| q.children.first())
        .filter(|q| q.name == "volume-attributes")
        .ok_or_else(|| {
            ZapiError::invalid(
                "Invalid value specified for \"attributes\": expected <volume-attributes>",
            )
        })?;
    let change = parse_change(attrs)?;
    let max_failures = int(el, "max-failure-count").unwrap_or(i64::MAX);
    let continue_on_failure = boolean(el, "continue-on-failure").unwrap_or(false);
    ctx.sim.mutate(|c| {
        let targets: Vec<(String, String)> = scoped_volumes(c, ctx.svm.as_deref())
            .filter(|v| matches(&attributes(c, v), query))
            .map(|v| (v.svm.clone(), v.name.clone()))
            .collect();
        let (mut ok, mut failed) = (Vec::new(), Vec::new());
        for (svm, name) in targets {
            match c.modify_volume(&svm, &name, change.clone()) {
                Ok(()) => ok.push(Element::new(info).with(volume_key(&svm, &name))),
                Err(e) => {
                    let z = ZapiError::from(e);
                    failed.push(
                        Element::new(info)
                            .with_leaf("error-code", z.errno)
                            .with_leaf("error-message", z.reason)
                            .with(volume_key(&svm, &name)),
                    );
                    if !continue_on_failure || failed.len() as i64 >= max_failures {
                        break;
                    }
                }
            }
        }
        Ok((ok, failed))
    })
}

fn modify_iter(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let (ok, failed) = modify_matching(ctx, el, "volume-modify-iter-info")?;
    Ok(vec![
        Element::new("failure-list").with_children(failed.clone()),
        Element::leaf("num-failed", failed.len()),
        Element::leaf("num-succeeded", ok.len()),
        Element::new("success-list").with_children(ok),
    ])
}

fn modify_iter_async(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let (ok, failed) = modify_matching(ctx, el, "volume-modify-iter-async-info")?;
    ctx.sim.mutate(|c| {
        let with_jobs = |c: &mut Cluster, items: Vec<Element>, success: bool| -> Vec<Element> {
            items
                .into_iter()
                .map(|mut i| {
                    let name = i
                        .path(&[
                            "volume-key",
                            "volume-attributes",
                            "volume-id-attributes",
                            "name",
                        ])
                        .map(|n| n.text.clone())
                        .unwrap_or_default();
                    let outcome = if success {
                        Ok("Success".to_string())
                    } else {
                        // The failure entry carries the real errno and reason.
                        let code = i
                            .child_text("error-code")
                            .and_then(|c| c.parse().ok())
                            .unwrap_or(13001);
                        let msg = i
                            .child_text("error-message")
                            .unwrap_or_default()
                            .to_string();
                        Err((code, msg))
                    };
                    let id = c.record_job(
                        "Volume Modify",
                        format!("Modify {name}"),
                        ctx.svm.as_deref(),
                        outcome,
                    );
                    i.children.push(Element::leaf("jobid", id));
                    i.children.push(Element::leaf(
                        "status",
                        if success { "in_progress" } else { "failed" },
                    ));
                    i
                })
                .collect()
        };
        let ok = with_jobs(c, ok, true);
        let failed = with_jobs(c, failed, false);
        Ok(vec![
            Element::new("failure-list").with_children(failed.clone()),
            Element::leaf("num-failed", failed.len()),
            Element::leaf("num-succeeded", ok.len()),
            Element::new("success-list").with_children(ok),
        ])
    })
}

fn mount(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    ctx.sim
        .mutate(|c| c.mount_volume(svm, need(el, "volume-name"), need(el, "junction-path")))?;
    Ok(vec![])
}

fn unmount(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    ctx.sim
        .mutate(|c| c.unmount_volume(svm, need(el, "volume-name")))?;
    Ok(vec![])
}

fn set_state(ctx: &Ctx, el: &Element, state: VolumeState) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    ctx.sim
        .mutate(|c| c.set_volume_state(svm, need(el, "name"), state))?;
    Ok(vec![])
}

fn offline(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    set_state(ctx, el, VolumeState::Offline)
}

fn online(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    set_state(ctx, el, VolumeState::Online)
}

fn restrict(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    set_state(ctx, el, VolumeState::Restricted)
}

fn rename(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    ctx.sim
        .mutate(|c| c.rename_volume(svm, need(el, "volume"), need(el, "new-volume-name")))?;
    Ok(vec![])
}

fn destroy(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    let unmount = boolean(el, "unmount-and-offline").unwrap_or(false);
    ctx.sim
        .mutate(|c| c.destroy_volume(svm, need(el, "name"), unmount))?;
    Ok(vec![])
}

fn destroy_async(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    let name = need(el, "volume-name");
    let unmount = boolean(el, "unmount-and-offline").unwrap_or(false);
    ctx.sim.mutate(|c| {
        let outcome = c.destroy_volume(svm, name, unmount);
        finish_async(
            c,
            "Volume Destroy",
            &format!("Destroy {name}"),
            svm,
            outcome,
        )
    })
}

fn recovery_queue_get_iter(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let req = IterRequest::parse(el, "volume-recovery-queue-info")?;
    let c = ctx.sim.read();
    let entries = c
        .recovery_queue
        .values()
        .filter(|e| ctx.svm.as_deref().is_none_or(|s| s == e.svm));
    let retention = 12 * 3600;
    Ok(req.page_tree(
        &el.name,
        entries,
        |e| vec![e.svm.clone(), e.name.clone()],
        |e| {
            Element::new("volume-recovery-queue-info")
                .with_leaf("deletion-request-time", e.deleted_at)
                .with_leaf("retention-hours", 12)
                .with_leaf("volume-expiration-time", e.deleted_at + retention)
                .with_leaf("volume-name", &e.name)
                .with_leaf("volume-size", e.size)
                .with_leaf("vserver-name", &e.svm)
        },
    ))
}

fn recovery_queue_purge(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    let name = need(el, "volume-name");
    ctx.sim
        .mutate(|c| c.purge_recovery_queue(svm, name))
        .map_err(|e| match e {
            ModelError::NotFound { .. } => ZapiError::new(EOBJECTNOTFOUND, e.to_string()),
            other => other.into(),
        })?;
    Ok(vec![])
}
