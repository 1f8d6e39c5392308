//! `aggr-*`: aggregates and their space, as a cluster administrator sees them.

use super::{Access, Api, Ctx, Exposure, ITER_INPUTS};
use crate::model::{Aggregate, Cluster};
use crate::zapi::errno::ZapiError;
use crate::zapi::iter::IterRequest;
use crate::zapi::xml::Element;

pub static APIS: &[Api] = &[
    Api {
        name: "aggr-get-iter",
        access: Access::Read,
        exposure: Exposure::Cluster,
        inputs: ITER_INPUTS,
        handler: get_iter,
    },
    Api {
        name: "aggr-space-get-iter",
        access: Access::Read,
        exposure: Exposure::Cluster,
        inputs: ITER_INPUTS,
        handler: space_get_iter,
    },
];

fn flexvol_count(c: &Cluster, a: &Aggregate) -> usize {
    c.volumes.values().filter(|v| v.aggregate == a.name).count()
}

fn attributes(c: &Cluster, a: &Aggregate) -> Element {
    Element::new("aggr-attributes")
        .with(
            Element::new("aggr-ownership-attributes")
                .with_leaf("cluster", &c.name)
                .with_leaf("home-name", &a.node)
                .with_leaf("owner-name", &a.node),
        )
        .with(
            Element::new("aggr-raid-attributes")
                .with_leaf(
                    "aggregate-type",
                    if a.media == "hdd" { "hdd" } else { "ssd" },
                )
                .with_leaf("disk-count", 8)
                .with_leaf("is-hybrid", a.media == "hybrid")
                .with_leaf("raid-type", "raid_dp")
                .with_leaf("state", "online"),
        )
        .with(
            Element::new("aggr-space-attributes")
                .with_leaf("percent-used-capacity", a.percent_used())
                .with_leaf("size-available", a.available())
                .with_leaf("size-total", a.size)
                .with_leaf("size-used", a.used_total()),
        )
        .with(
            Element::new("aggr-volume-count-attributes")
                .with_leaf("flexvol-count", flexvol_count(c, a)),
        )
        .with_leaf("aggregate-name", &a.name)
        .with_leaf("aggregate-uuid", a.uuid)
        .with_list("nodes", "node-name", [&a.node])
}

fn get_iter(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let req = IterRequest::parse(el, "aggr-attributes")?;
    let c = ctx.sim.read();
    Ok(req.page_tree(
        &el.name,
        c.aggregates.values(),
        |a| vec![a.name.clone()],
        |a| attributes(&c, a),
    ))
}

fn space_info(a: &Aggregate) -> Element {
    let pct = a.percent_used();
    Element::new("space-information")
        .with_leaf("aggregate", &a.name)
        .with_leaf("aggregate-metadata", 0)
        .with_leaf("aggregate-size", a.size)
        .with_leaf("physical-used", a.used_total())
        .with_leaf("physical-used-percent", pct)
        .with_leaf("snapshot-reserve-unusable", 0)
        .with_leaf("used-including-snapshot-reserve", a.used_total())
        .with_leaf("used-including-snapshot-reserve-percent", pct)
        .with_leaf("volume-footprints", a.used)
        .with_leaf("volume-footprints-percent", pct)
}

fn space_get_iter(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let req = IterRequest::parse(el, "space-information")?;
    let c = ctx.sim.read();
    Ok(req.page_tree(
        &el.name,
        c.aggregates.values(),
        |a| vec![a.name.clone()],
        |a| space_info(a),
    ))
}
