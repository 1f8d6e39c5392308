//! `license-v2-*`: the packages the cluster is licensed for; codes add licenses, packages are
//! removed by name (see `model::license` for the simulator's codes).

use super::{list, need, opt, req, Access, Api, Ctx, Exposure, Kind};
use crate::model::license::{description, PACKAGES};
use crate::model::Cluster;
use crate::zapi::errno::ZapiError;
use crate::zapi::xml::Element;

pub static APIS: &[Api] = &[
    Api {
        name: "license-v2-list-info",
        access: Access::Read,
        exposure: Exposure::Cluster,
        inputs: &[],
        handler: list_info,
    },
    Api {
        name: "license-v2-status-list-info",
        access: Access::Read,
        exposure: Exposure::Cluster,
        inputs: &[],
        handler: status_list_info,
    },
    Api {
        name: "license-v2-add",
        access: Access::Write,
        exposure: Exposure::Cluster,
        inputs: &[req("codes", Kind::Elem)],
        handler: add,
    },
    Api {
        name: "license-v2-delete",
        access: Access::Write,
        exposure: Exposure::Cluster,
        inputs: &[req("package", Kind::Str), opt("serial-number", Kind::Str)],
        handler: delete,
    },
];

fn list_info(ctx: &Ctx, _: &Element) -> Result<Vec<Element>, ZapiError> {
    let c = ctx.sim.read();
    let mut out = Element::new("licenses");
    for l in c.licenses.values() {
        out.children.push(
            Element::new("license-v2-info")
                .with_leaf("customer-id", "none")
                .with_leaf("description", description(&l.package))
                .with_leaf("legacy", "false")
                .with_leaf("owner", &c.name)
                .with_leaf("package", &l.package)
                .with_leaf("serial-number", &l.serial_number)
                .with_leaf("type", "license"),
        );
    }
    Ok(vec![out])
}

/// Every known package and how it is licensed (`license` or `none`).
fn status_list_info(ctx: &Ctx, _: &Element) -> Result<Vec<Element>, ZapiError> {
    let c: &Cluster = &ctx.sim.read();
    let mut out = Element::new("license-v2-status");
    for (p, d) in PACKAGES {
        let method = if c.licenses.contains_key(*p) {
            "license"
        } else {
            "none"
        };
        out.children.push(
            Element::new("license-v2-status-info")
                .with_leaf("description", *d)
                .with_leaf("method", method)
                .with_leaf("package", *p),
        );
    }
    Ok(vec![out])
}

fn add(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let codes = list(el, "codes").unwrap_or_default();
    ctx.sim.mutate(|c| c.add_licenses(&codes))?;
    Ok(vec![])
}

fn delete(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let serial = super::text(el, "serial-number");
    ctx.sim
        .mutate(|c| c.delete_license(need(el, "package"), serial))?;
    Ok(vec![])
}
