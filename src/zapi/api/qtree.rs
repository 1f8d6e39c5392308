//! `qtree-*`: qtrees inside volumes. Each volume also lists its implicit qtree "" (id 0).

use super::{need, opt, req, text, Access, Api, Ctx, Exposure, Kind, ITER_INPUTS};
use crate::model::volume::parse_permissions;
use crate::model::{Qtree, QtreeChange, Volume};
use crate::zapi::errno::ZapiError;
use crate::zapi::iter::IterRequest;
use crate::zapi::xml::Element;

const CHANGE_INPUTS: &[super::Input] = &[
    req("qtree", Kind::Str),
    req("volume", Kind::Str),
    opt("security-style", Kind::Str),
    opt("mode", Kind::Str),
    opt("export-policy", Kind::Str),
    opt("oplocks", Kind::Str),
    opt("qos-policy-group", Kind::Str),
];

pub static APIS: &[Api] = &[
    Api {
        name: "qtree-create",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: CHANGE_INPUTS,
        handler: create,
    },
    Api {
        name: "qtree-modify",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: CHANGE_INPUTS,
        handler: modify,
    },
    Api {
        name: "qtree-list-iter",
        access: Access::Read,
        exposure: Exposure::Both,
        inputs: ITER_INPUTS,
        handler: list_iter,
    },
    Api {
        name: "qtree-delete",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: &[req("qtree", Kind::Str), opt("force", Kind::Bool)],
        handler: delete,
    },
    Api {
        name: "qtree-delete-async",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: &[req("qtree", Kind::Str), opt("force", Kind::Bool)],
        handler: delete_async,
    },
    Api {
        name: "qtree-rename",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: &[req("qtree", Kind::Str), req("new-qtree-name", Kind::Str)],
        handler: rename,
    },
];

fn change(el: &Element) -> Result<QtreeChange, ZapiError> {
    let oplocks = match text(el, "oplocks") {
        None => None,
        Some("enable") | Some("enabled") => Some(true),
        Some("disable") | Some("disabled") => Some(false),
        Some(o) => {
            return Err(ZapiError::invalid(format!(
                "Invalid value specified for \"oplocks\": \"{o}\" (enable or disable)"
            )))
        }
    };
    Ok(QtreeChange {
        security_style: text(el, "security-style").map(str::to_string),
        mode: text(el, "mode").map(parse_permissions).transpose()?,
        export_policy: text(el, "export-policy").map(str::to_string),
        oplocks,
        qos_policy_group: text(el, "qos-policy-group").map(str::to_string),
    })
}

fn create(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    let change = change(el)?;
    ctx.sim
        .mutate(|c| c.create_qtree(svm, need(el, "volume"), need(el, "qtree"), change))?;
    Ok(vec![])
}

fn modify(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    let change = change(el)?;
    ctx.sim
        .mutate(|c| c.modify_qtree(svm, need(el, "volume"), need(el, "qtree"), change))?;
    Ok(vec![])
}

/// `/vol/<volume>/<qtree>` as `qtree-delete` and `qtree-rename` name a qtree.
fn split_path(path: &str) -> Result<(&str, &str), ZapiError> {
    path.strip_prefix("/vol/")
        .and_then(|rest| rest.split_once('/'))
        .filter(|(v, q)| !v.is_empty() && !q.is_empty() && !q.contains('/'))
        .ok_or_else(|| {
            ZapiError::invalid(format!(
                "Invalid qtree path \"{path}\": expected /vol/<volume>/<qtree>"
            ))
        })
}

fn delete(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    let (vol, q) = split_path(need(el, "qtree"))?;
    ctx.sim.mutate(|c| c.delete_qtree(svm, vol, q))?;
    Ok(vec![])
}

fn delete_async(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    let (vol, q) = split_path(need(el, "qtree"))?;
    ctx.sim.mutate(|c| {
        c.delete_qtree(svm, vol, q)?;
        let id = c.record_job(
            "Qtree Delete",
            format!("Delete qtree {q}"),
            Some(svm),
            Ok("Success".into()),
        );
        Ok(super::async_result(id))
    })
}

fn rename(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    let (vol, q) = split_path(need(el, "qtree"))?;
    let new = need(el, "new-qtree-name");
    // The new name may be given as a bare name or as a path in the same volume.
    let new_name = match split_path(new) {
        Ok((v2, n)) if v2 == vol => n,
        Ok(_) => {
            return Err(ZapiError::invalid(format!(
                "Invalid value specified for \"new-qtree-name\": \"{new}\" is in another volume"
            )))
        }
        Err(_) => new,
    };
    ctx.sim.mutate(|c| c.rename_qtree(svm, vol, q, new_name))?;
    Ok(vec![])
}

fn info(v: &Volume, q: Option<&Qtree>) -> Element {
    let (name, id, style, mode, policy, inherited, oplocks) = match q {
        Some(q) => (
            q.name.as_str(),
            q.id,
            q.security_style.as_str(),
            q.mode,
            q.export_policy
                .clone()
                .unwrap_or_else(|| v.export_policy.clone()),
            q.export_policy.is_none(),
            q.oplocks,
        ),
        None => (
            "",
            0,
            v.security_style.as_str(),
            v.unix_permissions,
            v.export_policy.clone(),
            true,
            true,
        ),
    };
    Element::new("qtree-info")
        .with_leaf("export-policy", policy)
        .with_leaf("id", id)
        .with_leaf("is-export-policy-inherited", inherited)
        .with_leaf("mode", format!("{mode:04o}"))
        .with_leaf("oplocks", if oplocks { "enabled" } else { "disabled" })
        .with_leaf("qtree", name)
        .with_opt(
            "qos-policy-group",
            q.and_then(|q| q.qos_policy_group.clone()),
        )
        .with_leaf("security-style", style)
        .with_leaf("status", "normal")
        .with_leaf("volume", &v.name)
        .with_leaf("vserver", &v.svm)
}

fn list_iter(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let req = IterRequest::parse(el, "qtree-info")?;
    let c = ctx.sim.read();
    let volumes: Box<dyn Iterator<Item = &Volume>> = match ctx.svm.as_deref() {
        Some(s) => Box::new(c.volumes_of(s)),
        None => Box::new(c.volumes.values()),
    };
    let items = volumes
        .filter(|v| v.state == crate::model::VolumeState::Online)
        .flat_map(|v| {
            let qtrees = c
                .qtrees
                .range((v.svm.clone(), v.name.clone(), String::new())..)
                .take_while(move |((s, vol, _), _)| *s == v.svm && *vol == v.name)
                .map(move |(_, q)| (v, Some(q)));
            std::iter::once((v, None)).chain(qtrees)
        });
    Ok(req.page_tree(
        &el.name,
        items,
        |(v, q)| {
            vec![
                v.svm.clone(),
                v.name.clone(),
                q.map(|q| q.name.clone()).unwrap_or_default(),
            ]
        },
        |(v, q)| info(v, *q),
    ))
}
