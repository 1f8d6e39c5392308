//! `net-interface-*`: the LIFs clients reach data and management services at.

use super::{Access, Api, Ctx, Exposure, ITER_INPUTS};
use crate::model::{Lif, Svm};
use crate::zapi::errno::ZapiError;
use crate::zapi::iter::IterRequest;
use crate::zapi::xml::Element;

pub static APIS: &[Api] = &[Api {
    name: "net-interface-get-iter",
    access: Access::Read,
    exposure: Exposure::Both,
    inputs: ITER_INPUTS,
    handler: get_iter,
}];

fn prefix_len(netmask: &str) -> u32 {
    match netmask.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(m)) => u32::from(m).count_ones(),
        Ok(std::net::IpAddr::V6(m)) => u128::from(m).count_ones(),
        Err(_) => 0,
    }
}

fn info(s: &Svm, l: &Lif) -> Element {
    let port = "e0a";
    Element::new("net-interface-info")
        .with_leaf("address", l.address)
        .with_leaf(
            "address-family",
            if l.address.is_ipv4() { "ipv4" } else { "ipv6" },
        )
        .with_leaf("administrative-status", "up")
        .with_leaf("current-node", &l.home_node)
        .with_leaf("current-port", port)
        .with_list("data-protocols", "data-protocol", &l.protocols)
        .with_leaf(
            "firewall-policy",
            if l.role == "data" { "data" } else { "mgmt" },
        )
        .with_leaf("home-node", &l.home_node)
        .with_leaf("home-port", port)
        .with_leaf("interface-name", &l.name)
        .with_leaf("ipspace", "Default")
        .with_leaf("is-home", "true")
        .with_leaf("lif-uuid", l.uuid)
        .with_leaf("netmask", &l.netmask)
        .with_leaf("netmask-length", prefix_len(&l.netmask))
        .with_leaf("operational-status", l.status.as_str())
        .with_leaf("role", &l.role)
        .with_leaf("vserver", &s.name)
}

fn get_iter(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let req = IterRequest::parse(el, "net-interface-info")?;
    let c = ctx.sim.read();
    let items = c
        .svms
        .values()
        .filter(|s| ctx.svm.as_deref().is_none_or(|n| n == s.name))
        .flat_map(|s| {
            let mut lifs: Vec<&Lif> = s.lifs.iter().collect();
            lifs.sort_by(|a, b| a.name.cmp(&b.name));
            lifs.into_iter().map(move |l| (s, l))
        });
    Ok(req.page_tree(
        &el.name,
        items,
        |(s, l)| vec![s.name.clone(), l.name.clone()],
        |(s, l)| info(s, l),
    ))
}
