//! `system-*`: the release and ONTAPI versions and the cluster's nodes.

use super::{opt, Access, Api, Ctx, Exposure, Kind, ITER_INPUTS};
use crate::model::{Cluster, Node};
use crate::zapi::errno::ZapiError;
use crate::zapi::iter::IterRequest;
use crate::zapi::xml::{Element, Sink, TreeBuilder};

pub static APIS: &[Api] = &[
    Api {
        name: "system-get-version",
        access: Access::Read,
        exposure: Exposure::Both,
        inputs: &[],
        handler: get_version,
    },
    Api {
        name: "system-get-ontapi-version",
        access: Access::Read,
        exposure: Exposure::Both,
        inputs: &[],
        handler: get_ontapi_version,
    },
    Api {
        name: "system-node-get-iter",
        access: Access::Read,
        exposure: Exposure::Cluster,
        inputs: ITER_INPUTS,
        handler: node_get_iter,
    },
    Api {
        name: "system-node-get",
        access: Access::Read,
        exposure: Exposure::Cluster,
        inputs: &[
            super::req("node", Kind::Str),
            opt("desired-attributes", Kind::Elem),
        ],
        handler: node_get,
    },
];

/// A fixed build time per release keeps responses reproducible run to run.
const BUILD_TIMESTAMP: u64 = 1_704_715_200;

fn version_tuple(c: &Cluster, s: &mut dyn Sink) {
    s.open("version-tuple");
    s.open("system-version-tuple");
    s.put("generation", c.version.generation);
    s.put("major", c.version.major);
    s.put("minor", c.version.minor);
    s.close("system-version-tuple");
    s.close("version-tuple");
}

fn get_version(ctx: &Ctx, _: &Element) -> Result<Vec<Element>, ZapiError> {
    let c = ctx.sim.read();
    let banner = c.version.banner();
    // Clients call this most (netapp-lib and Trident ping with it): written straight to XML.
    Ok(vec![Element::written(|s| {
        s.put("build-timestamp", BUILD_TIMESTAMP);
        s.put("is-clustered", true);
        if ctx.svm.is_none() {
            s.open("node-version-details");
            for n in &c.nodes {
                s.open("node-version-detail-info");
                s.put("build-timestamp", BUILD_TIMESTAMP);
                s.put("node-name", &n.name);
                s.put("version", banner.as_str());
                s.close("node-version-detail-info");
            }
            s.close("node-version-details");
        }
        s.put("version", banner.as_str());
        version_tuple(&c, s);
    })])
}

fn get_ontapi_version(ctx: &Ctx, _: &Element) -> Result<Vec<Element>, ZapiError> {
    let c = ctx.sim.read();
    let mut out = vec![
        Element::leaf("major-version", c.version.ontapi_major),
        Element::leaf("minor-version", c.version.ontapi_minor),
    ];
    if ctx.svm.is_none() {
        let mut details = Element::new("node-ontapi-details");
        for n in &c.nodes {
            details.children.push(
                Element::new("node-ontapi-detail-info")
                    .with_leaf("major-version", c.version.ontapi_major)
                    .with_leaf("minor-version", c.version.ontapi_minor)
                    .with_leaf("node-name", &n.name)
                    .with_leaf("node-uuid", n.uuid),
            );
        }
        out.push(details);
    }
    out.push(TreeBuilder::build(|s| version_tuple(&c, s)));
    Ok(out)
}

fn node_info(c: &Cluster, n: &Node) -> Element {
    Element::new("node-details-info")
        .with_leaf("cpu-firmware-release", "ontap-sim")
        .with_leaf("env-failed-fan-count", 0)
        .with_leaf("env-failed-power-supply-count", 0)
        .with_leaf("env-over-temperature", "false")
        .with_leaf("is-all-flash-optimized", "true")
        .with_leaf("is-diff-svcs", "false")
        .with_leaf("is-epsilon-node", (c.nodes[0].name == n.name).to_string())
        .with_leaf("is-node-cluster-eligible", "true")
        .with_leaf("is-node-healthy", "true")
        .with_leaf("node", &n.name)
        .with_leaf("node-location", &c.location)
        .with_leaf("node-model", &n.model)
        .with_leaf("node-serial-number", &n.serial_number)
        .with_leaf("node-system-id", &n.system_id)
        .with_leaf("node-uuid", n.uuid)
        .with_leaf("node-vendor", "NetApp")
        .with_leaf("product-version", c.version.banner())
}

fn node_get_iter(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let req = IterRequest::parse(el, "node-details-info")?;
    let c = ctx.sim.read();
    let mut nodes: Vec<&Node> = c.nodes.iter().collect();
    nodes.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(req.page_tree(
        &el.name,
        nodes,
        |n| vec![n.name.clone()],
        |n| node_info(&c, n),
    ))
}

fn node_get(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let name = super::text(el, "node").unwrap_or_default();
    let c = ctx.sim.read();
    let n = c.node(name).ok_or_else(|| {
        ZapiError::new(
            crate::zapi::errno::EOBJECTNOTFOUND,
            format!("Node \"{name}\" does not exist"),
        )
    })?;
    let mut info = node_info(&c, n);
    if let Some(d) = el
        .child("desired-attributes")
        .and_then(|d| d.children.first())
    {
        info = crate::zapi::iter::prune(&info, d);
    }
    Ok(vec![Element::new("attributes").with(info)])
}
