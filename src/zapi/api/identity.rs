//! `cluster-identity-get` / `cluster-identity-modify`: the cluster's name, location and contact.

use super::{opt, text, Access, Api, Ctx, Exposure, Kind};
use crate::zapi::errno::ZapiError;
use crate::zapi::xml::Element;

pub static APIS: &[Api] = &[
    Api {
        name: "cluster-identity-get",
        access: Access::Read,
        exposure: Exposure::Cluster,
        inputs: &[opt("desired-attributes", Kind::Elem)],
        handler: get,
    },
    Api {
        name: "cluster-identity-modify",
        access: Access::Write,
        exposure: Exposure::Cluster,
        inputs: &[
            opt("cluster-name", Kind::Str),
            opt("cluster-location", Kind::Str),
            opt("cluster-contact", Kind::Str),
        ],
        handler: modify,
    },
];

fn info(c: &crate::model::Cluster) -> Element {
    Element::new("cluster-identity-info")
        .with_leaf("cluster-contact", &c.contact)
        .with_leaf("cluster-location", &c.location)
        .with_leaf("cluster-name", &c.name)
        .with_leaf("cluster-serial-number", &c.serial_number)
        .with_leaf("cluster-uuid", c.uuid)
        .with_leaf("rdb-uuid", c.uuid_for("rdb"))
}

fn get(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let c = ctx.sim.read();
    let mut record = info(&c);
    if let Some(d) = el
        .child("desired-attributes")
        .and_then(|d| d.children.first())
    {
        record = crate::zapi::iter::prune(&record, d);
    }
    Ok(vec![Element::new("attributes").with(record)])
}

fn modify(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    ctx.sim.mutate(|c| {
        c.modify_identity(
            text(el, "cluster-name"),
            text(el, "cluster-location"),
            text(el, "cluster-contact"),
        )
    })?;
    Ok(vec![])
}
