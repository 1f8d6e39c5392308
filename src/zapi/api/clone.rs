//! `volume-clone-*`: FlexClone volumes from a parent's snapshot, and splitting them off.

use super::{async_result, need, opt, req, text, Access, Api, Ctx, Exposure, Kind};
use crate::model::Guarantee;
use crate::zapi::errno::ZapiError;
use crate::zapi::xml::Element;

const CREATE_INPUTS: &[super::Input] = &[
    req("volume", Kind::Str),
    req("parent-volume", Kind::Str),
    opt("parent-snapshot", Kind::Str),
    opt("junction-path", Kind::Str),
    opt("junction-active", Kind::Bool),
    opt("space-reserve", Kind::Str),
    opt("volume-type", Kind::Str),
    opt("qos-policy-group-name", Kind::Str),
    opt("qos-adaptive-policy-group-name", Kind::Str),
    opt("parent-vserver", Kind::Str),
    opt("use-snaprestore-license", Kind::Bool),
];

pub static APIS: &[Api] = &[
    Api {
        name: "volume-clone-create",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: CREATE_INPUTS,
        handler: create,
    },
    Api {
        name: "volume-clone-create-async",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: CREATE_INPUTS,
        handler: create_async,
    },
    Api {
        name: "volume-clone-split-start",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: &[req("volume", Kind::Str)],
        handler: split_start,
    },
    Api {
        name: "volume-clone-split-status",
        access: Access::Read,
        exposure: Exposure::Svm,
        inputs: &[opt("volume", Kind::Str)],
        handler: split_status,
    },
];

fn do_create(ctx: &Ctx, el: &Element) -> Result<(), ZapiError> {
    let svm = ctx.svm()?;
    if let Some(p) = text(el, "parent-vserver").filter(|p| *p != svm) {
        return Err(ZapiError::invalid(format!(
            "Cross-Vserver clones are not supported: parent-vserver \"{p}\" is not \"{svm}\""
        )));
    }
    let guarantee = text(el, "space-reserve")
        .map(|g| Guarantee::parse(g).map_err(ZapiError::from))
        .transpose()?;
    let clone = need(el, "volume");
    let qos = text(el, "qos-policy-group-name").filter(|q| !q.is_empty());
    let aqos = text(el, "qos-adaptive-policy-group-name").filter(|q| !q.is_empty());
    if qos.is_some() && aqos.is_some() {
        return Err(ZapiError::invalid(
            "qos-policy-group-name and qos-adaptive-policy-group-name cannot both be set",
        ));
    }
    ctx.sim.mutate(|c| {
        // Check everything that can fail before the clone exists, so a refusal leaves nothing behind.
        if let Some(q) = qos {
            c.check_qos_policy_group(q)?;
        }
        c.clone_volume(
            svm,
            need(el, "parent-volume"),
            text(el, "parent-snapshot").filter(|s| !s.is_empty()),
            clone,
            text(el, "junction-path").filter(|j| !j.is_empty()),
            guarantee,
        )?;
        if qos.is_some() || aqos.is_some() {
            let change = crate::model::VolumeChange {
                qos_policy_group: qos.map(str::to_string),
                qos_adaptive_policy_group: aqos.map(str::to_string),
                ..Default::default()
            };
            c.modify_volume(svm, clone, change)?;
        }
        Ok(())
    })
}

fn create(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    do_create(ctx, el)?;
    Ok(vec![])
}

fn create_async(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?.to_string();
    let name = need(el, "volume").to_string();
    let outcome = do_create(ctx, el);
    ctx.sim.mutate(|c| {
        let job = match &outcome {
            Ok(()) => Ok("Success".to_string()),
            Err(e) => Err((e.errno, e.reason.clone())),
        };
        let id = c.record_job(
            "Clone Create",
            format!("Create clone {name}"),
            Some(&svm),
            job,
        );
        outcome?;
        Ok(async_result(id))
    })
}

fn split_start(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    let name = need(el, "volume");
    ctx.sim.mutate(|c| {
        c.split_clone(svm, name)?;
        let id = c.record_job(
            "Clone Split",
            format!("Split {name}"),
            Some(svm),
            Ok("Success".into()),
        );
        let mut out = async_result(id);
        for o in &mut out {
            if o.name == "result-status" {
                o.text = "succeeded".into();
            }
        }
        Ok(out)
    })
}

/// No split is ever in progress: splits complete when they start.
fn split_status(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    let c = ctx.sim.read();
    if let Some(v) = text(el, "volume") {
        c.volume(svm, v)?;
    }
    Ok(vec![Element::new("clone-split-details")])
}
