//! `snapshot-*`: create, list, rename, restore and delete snapshots.

use super::{need, opt, req, text, Access, Api, Ctx, Exposure, Kind, ITER_INPUTS};
use crate::model::{Cluster, Snapshot, Volume};
use crate::zapi::errno::ZapiError;
use crate::zapi::iter::IterRequest;
use crate::zapi::xml::Element;

pub static APIS: &[Api] = &[
    Api {
        name: "snapshot-create",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: &[
            req("volume", Kind::Str),
            req("snapshot", Kind::Str),
            opt("comment", Kind::Str),
            opt("snapmirror-label", Kind::Str),
            opt("async", Kind::Bool),
        ],
        handler: create,
    },
    Api {
        name: "snapshot-get-iter",
        access: Access::Read,
        exposure: Exposure::Both,
        inputs: ITER_INPUTS,
        handler: get_iter,
    },
    Api {
        name: "snapshot-delete",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: &[
            req("volume", Kind::Str),
            req("snapshot", Kind::Str),
            opt("ignore-owners", Kind::Bool),
            opt("snapshot-instance-uuid", Kind::Str),
        ],
        handler: delete,
    },
    Api {
        name: "snapshot-restore-volume",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: &[
            req("volume", Kind::Str),
            req("snapshot", Kind::Str),
            opt("preserve-lun-ids", Kind::Bool),
            opt("force", Kind::Bool),
            opt("snapshot-instance-uuid", Kind::Str),
        ],
        handler: restore,
    },
    Api {
        name: "snapshot-rename",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: &[
            req("volume", Kind::Str),
            req("current-name", Kind::Str),
            req("new-name", Kind::Str),
        ],
        handler: rename,
    },
    Api {
        name: "snapshot-modify-iter",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: &[
            req("query", Kind::Elem),
            req("attributes", Kind::Elem),
            opt("max-records", Kind::Int),
            opt("continue-on-failure", Kind::Bool),
            opt("max-failure-count", Kind::Int),
            opt("return-success-list", Kind::Bool),
            opt("return-failure-list", Kind::Bool),
        ],
        handler: modify_iter,
    },
];

fn create(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    ctx.sim.mutate(|c| {
        c.create_snapshot(
            svm,
            need(el, "volume"),
            need(el, "snapshot"),
            text(el, "comment").unwrap_or_default(),
            text(el, "snapmirror-label").unwrap_or_default(),
        )
    })?;
    Ok(vec![])
}

pub fn info(c: &Cluster, v: &Volume, s: &Snapshot) -> Element {
    let busy_with = c.snapshot_busy_with(&v.svm, &v.name, &s.name);
    Element::new("snapshot-info")
        .with_leaf("access-time", s.create_time)
        .with_leaf("busy", busy_with.is_some())
        .with_leaf("comment", &s.comment)
        .with_leaf("create-time", s.create_time)
        .with_leaf(
            "dependency",
            if busy_with.is_some() { "vclone" } else { "" },
        )
        .with_leaf("name", &s.name)
        .with_leaf("snapmirror-label", &s.snapmirror_label)
        .with_leaf("snapshot-instance-uuid", s.uuid)
        .with_leaf("snapshot-version-uuid", s.uuid)
        .with_leaf("state", "valid")
        .with_leaf("total", s.size / 1024)
        .with_leaf("volume", &v.name)
        .with_leaf("volume-provenance-uuid", v.uuid)
        .with_leaf("vserver", &v.svm)
}

fn get_iter(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let req = IterRequest::parse(el, "snapshot-info")?;
    let c = ctx.sim.read();
    // Narrow by the queried volume first when it names one exactly: a common query shape.
    let exact_volume = req
        .query
        .as_ref()
        .and_then(|q| q.child_text("volume"))
        .map(str::trim)
        .filter(|v| !v.is_empty() && !v.contains(['*', '|', '!', '<', '>']))
        .map(str::to_string);
    let volumes: Box<dyn Iterator<Item = &Volume>> = match ctx.svm.as_deref() {
        Some(s) => Box::new(c.volumes_of(s)),
        None => Box::new(c.volumes.values()),
    };
    let items = volumes
        .filter(|v| exact_volume.as_deref().is_none_or(|n| n == v.name))
        .flat_map(|v| v.snapshots.values().map(move |s| (v, s)));
    Ok(req.page_tree(
        &el.name,
        items,
        |(v, s)| vec![v.svm.clone(), v.name.clone(), s.name.clone()],
        |(v, s)| info(&c, v, s),
    ))
}

fn delete(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    ctx.sim
        .mutate(|c| c.delete_snapshot(svm, need(el, "volume"), need(el, "snapshot")))?;
    Ok(vec![])
}

fn restore(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    ctx.sim
        .mutate(|c| c.restore_snapshot(svm, need(el, "volume"), need(el, "snapshot")))?;
    Ok(vec![])
}

fn rename(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    ctx.sim.mutate(|c| {
        c.rename_snapshot(
            svm,
            need(el, "volume"),
            need(el, "current-name"),
            need(el, "new-name"),
        )
    })?;
    Ok(vec![])
}

/// Change the comment or SnapMirror label of the matching snapshots.
fn modify_iter(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    let q = el
        .child("query")
        .and_then(|q| q.child("snapshot-info"))
        .ok_or_else(|| {
            ZapiError::invalid("Invalid value specified for \"query\": expected <snapshot-info>")
        })?;
    let a = el
        .child("attributes")
        .and_then(|q| q.child("snapshot-info"))
        .ok_or_else(|| {
            ZapiError::invalid(
                "Invalid value specified for \"attributes\": expected <snapshot-info>",
            )
        })?;
    for f in &a.children {
        // Identity fields may come along (Ansible sends the name); they must match the target.
        if ![
            "comment",
            "snapmirror-label",
            "expiry-time",
            "name",
            "volume",
            "vserver",
        ]
        .contains(&f.name.as_ref())
        {
            return Err(ZapiError::invalid(format!(
                "Modification of \"{}\" is not supported by snapshot-modify-iter",
                f.name
            )));
        }
    }
    ctx.sim.mutate(|c| {
        let targets: Vec<(String, String)> = c
            .volumes_of(svm)
            .flat_map(|v| v.snapshots.values().map(move |s| (v, s)))
            .filter(|(v, s)| crate::zapi::iter::matches(&info(c, v, s), q))
            .map(|(v, s)| (v.name.clone(), s.name.clone()))
            .collect();
        let mut ok = Vec::new();
        for (vol, snap) in &targets {
            for (field, current) in [("name", snap.as_str()), ("volume", vol.as_str()), ("vserver", svm)] {
                if let Some(v) = a.child_text(field).map(str::trim) {
                    if v != current {
                        return Err(ZapiError::invalid(format!(
                            "Modification of \"{field}\" is not supported by snapshot-modify-iter (use snapshot-rename)"
                        )));
                    }
                }
            }
            c.set_snapshot_labels(
                svm,
                vol,
                snap,
                a.child_text("comment"),
                a.child_text("snapmirror-label"),
            )?;
            ok.push(
                Element::new("snapshot-modify-iter-info").with(
                    Element::new("snapshot-key").with(
                        Element::new("snapshot-info")
                            .with_leaf("name", snap)
                            .with_leaf("volume", vol)
                            .with_leaf("vserver", svm),
                    ),
                ),
            );
        }
        Ok(vec![
            Element::new("failure-list"),
            Element::leaf("num-failed", 0),
            Element::leaf("num-succeeded", ok.len()),
            Element::new("success-list").with_children(ok),
        ])
    })
}
