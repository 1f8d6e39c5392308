//! `nfs-service-*`, `nfs-enable`, `nfs-disable`, `nfs-status`: an SVM's NFS server and the
//! versions it serves. The NFS front obeys it: an SVM without an enabled NFSv3 service refuses
//! NFS connections.

use super::{boolean, opt, text, Access, Api, Ctx, Exposure, Kind, ITER_INPUTS};
use crate::model::{NfsChange, NfsService};
use crate::zapi::errno::ZapiError;
use crate::zapi::iter::IterRequest;
use crate::zapi::xml::Element;

const SERVICE_INPUTS: &[super::Input] = &[
    opt("is-nfsv3-enabled", Kind::Bool),
    opt("is-nfsv40-enabled", Kind::Bool),
    opt("is-nfsv41-enabled", Kind::Bool),
    opt("is-tcp-enabled", Kind::Bool),
    opt("is-udp-enabled", Kind::Bool),
    opt("showmount", Kind::Bool),
    opt("nfsv4-id-domain", Kind::Str),
];

pub static APIS: &[Api] = &[
    Api {
        name: "nfs-service-get-iter",
        access: Access::Read,
        exposure: Exposure::Both,
        inputs: ITER_INPUTS,
        handler: get_iter,
    },
    Api {
        name: "nfs-service-create",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: SERVICE_INPUTS,
        handler: create,
    },
    Api {
        name: "nfs-service-modify",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: SERVICE_INPUTS,
        handler: modify,
    },
    Api {
        name: "nfs-service-destroy",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: &[],
        handler: destroy,
    },
    Api {
        name: "nfs-enable",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: &[],
        handler: enable,
    },
    Api {
        name: "nfs-disable",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: &[],
        handler: disable,
    },
    Api {
        name: "nfs-status",
        access: Access::Read,
        exposure: Exposure::Svm,
        inputs: &[],
        handler: status,
    },
];

fn change(el: &Element) -> NfsChange {
    NfsChange {
        enabled: None,
        v3: boolean(el, "is-nfsv3-enabled"),
        v40: boolean(el, "is-nfsv40-enabled"),
        v41: boolean(el, "is-nfsv41-enabled"),
        tcp: boolean(el, "is-tcp-enabled"),
        udp: boolean(el, "is-udp-enabled"),
        showmount: boolean(el, "showmount"),
        v4_id_domain: text(el, "nfsv4-id-domain").map(str::to_string),
    }
}

fn info(svm: &str, n: &NfsService) -> Element {
    let b = |v: bool| if v { "true" } else { "false" };
    Element::new("nfs-info")
        .with_leaf("is-nfs-access-enabled", b(n.enabled))
        .with_leaf("is-nfsv3-enabled", b(n.v3))
        .with_leaf("is-nfsv40-enabled", b(n.v40))
        .with_leaf("is-nfsv41-enabled", b(n.v41))
        .with_leaf("is-tcp-enabled", b(n.tcp))
        .with_leaf("is-udp-enabled", b(n.udp))
        .with_leaf("nfsv4-id-domain", &n.v4_id_domain)
        .with_leaf("showmount", b(n.showmount))
        .with_leaf("vserver", svm)
}

fn get_iter(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let req = IterRequest::parse(el, "nfs-info")?;
    let c = ctx.sim.read();
    let items = c
        .svms
        .values()
        .filter(|s| ctx.svm.as_deref().is_none_or(|n| n == s.name))
        .filter_map(|s| s.nfs.as_ref().map(|n| (s.name.as_str(), n)));
    Ok(req.page_tree(
        &el.name,
        items,
        |(s, _)| vec![s.to_string()],
        |(s, n)| info(s, n),
    ))
}

fn create(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    ctx.sim.mutate(|c| c.create_nfs_service(svm, change(el)))?;
    Ok(vec![])
}

fn modify(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    ctx.sim.mutate(|c| c.modify_nfs_service(svm, change(el)))?;
    Ok(vec![])
}

fn destroy(ctx: &Ctx, _: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    ctx.sim.mutate(|c| c.delete_nfs_service(svm))?;
    Ok(vec![])
}

fn enable(ctx: &Ctx, _: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    ctx.sim.mutate(|c| c.set_nfs_enabled(svm, true))?;
    Ok(vec![])
}

fn disable(ctx: &Ctx, _: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    ctx.sim.mutate(|c| c.set_nfs_enabled(svm, false))?;
    Ok(vec![])
}

fn status(ctx: &Ctx, _: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    let c = ctx.sim.read();
    let on = c.svm(svm)?.nfs.as_ref().is_some_and(|n| n.enabled);
    Ok(vec![Element::leaf(
        "is-enabled",
        if on { "true" } else { "false" },
    )])
}
