//! `sis-*`: storage efficiency status per volume. Efficiency is on for volumes on flash
//! aggregates, as ONTAP enables it there by default, and off elsewhere.

use super::{Access, Api, Ctx, Exposure, ITER_INPUTS};
use crate::model::{Cluster, Volume};
use crate::zapi::errno::ZapiError;
use crate::zapi::iter::IterRequest;
use crate::zapi::xml::Element;

pub static APIS: &[Api] = &[Api {
    name: "sis-get-iter",
    access: Access::Read,
    exposure: Exposure::Both,
    inputs: ITER_INPUTS,
    handler: get_iter,
}];

fn info(c: &Cluster, v: &Volume) -> Element {
    let flash = c
        .aggregates
        .get(&v.aggregate)
        .is_some_and(|a| a.media != "hdd");
    Element::new("sis-status-info")
        .with_leaf("is-compression-enabled", flash)
        .with_leaf("is-inline-compression-enabled", flash)
        .with_leaf("is-inline-dedupe-enabled", flash)
        .with_leaf("last-operation-state", "Success")
        .with_leaf("path", format!("/vol/{}", v.name))
        .with_leaf("policy", if flash { "auto" } else { "-" })
        .with_leaf("schedule", "-")
        .with_leaf("state", if flash { "enabled" } else { "disabled" })
        .with_leaf("status", "idle")
        .with_leaf("type", "regular")
        .with_leaf("vserver", &v.svm)
}

fn get_iter(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let req = IterRequest::parse(el, "sis-status-info")?;
    let c = ctx.sim.read();
    let items: Box<dyn Iterator<Item = &Volume>> = match ctx.svm.as_deref() {
        Some(s) => Box::new(c.volumes_of(s)),
        None => Box::new(c.volumes.values()),
    };
    Ok(req.page_tree(
        &el.name,
        items.filter(|v| v.state == crate::model::VolumeState::Online),
        |v| vec![v.svm.clone(), v.name.clone()],
        |v| info(&c, v),
    ))
}
