//! `net-interface-*`: the LIFs clients reach data and management services at.

use super::{list, need, opt, req, text, Access, Api, Ctx, Exposure, Kind, ITER_INPUTS};
use crate::model::{Lif, LifChange, LifSpec, ModelError, Svm};
use crate::zapi::errno::ZapiError;
use crate::zapi::iter::IterRequest;
use crate::zapi::xml::Element;

const LIF_INPUTS: &[super::Input] = &[
    req("interface-name", Kind::Str),
    opt("vserver", Kind::Str),
    opt("role", Kind::Str),
    opt("home-node", Kind::Str),
    opt("home-port", Kind::Str),
    opt("address", Kind::Str),
    opt("netmask", Kind::Str),
    opt("netmask-length", Kind::Int),
    opt("data-protocols", Kind::Elem),
    opt("administrative-status", Kind::Str),
    opt("service-policy", Kind::Str),
    opt("firewall-policy", Kind::Str),
];

pub static APIS: &[Api] = &[
    Api {
        name: "net-interface-get-iter",
        access: Access::Read,
        exposure: Exposure::Both,
        inputs: ITER_INPUTS,
        handler: get_iter,
    },
    Api {
        name: "net-interface-create",
        access: Access::Write,
        exposure: Exposure::Both,
        inputs: LIF_INPUTS,
        handler: create,
    },
    Api {
        name: "net-interface-modify",
        access: Access::Write,
        exposure: Exposure::Both,
        inputs: LIF_INPUTS,
        handler: modify,
    },
    Api {
        name: "net-interface-delete",
        access: Access::Write,
        exposure: Exposure::Both,
        inputs: &[req("interface-name", Kind::Str), opt("vserver", Kind::Str)],
        handler: delete,
    },
    Api {
        name: "net-interface-rename",
        access: Access::Write,
        exposure: Exposure::Both,
        inputs: &[
            req("interface-name", Kind::Str),
            req("new-name", Kind::Str),
            opt("vserver", Kind::Str),
        ],
        handler: rename,
    },
];

/// ONTAP answers a create of a LIF that exists with errno 17 (Ansible treats it as "no change").
const EEXIST: u32 = 17;

/// The SVM the call names: the tunnel target, else the `vserver` input (which must agree).
fn target_svm(ctx: &Ctx, el: &Element) -> Result<String, ZapiError> {
    match (ctx.svm.as_deref(), text(el, "vserver")) {
        (Some(t), Some(v)) if t != v => Err(ZapiError::invalid(format!(
            "Invalid value specified for \"vserver\": \"{v}\" is not the Vserver of this context (\"{t}\")"
        ))),
        (Some(t), _) => Ok(t.to_string()),
        (None, Some(v)) => Ok(v.to_string()),
        (None, None) => Err(ZapiError::invalid("Missing input: vserver")),
    }
}

fn admin_up(el: &Element) -> Result<Option<bool>, ZapiError> {
    match text(el, "administrative-status") {
        None => Ok(None),
        Some("up") => Ok(Some(true)),
        Some("down") => Ok(Some(false)),
        Some(v) => Err(ZapiError::invalid(format!(
            "Invalid value specified for \"administrative-status\": \"{v}\" (up, down)"
        ))),
    }
}

fn netmask(el: &Element) -> Option<String> {
    text(el, "netmask")
        .map(str::to_string)
        .or_else(|| text(el, "netmask-length").map(str::to_string))
}

fn check_firewall(el: &Element, role: Option<&str>) -> Result<(), ZapiError> {
    if let Some(f) = text(el, "firewall-policy") {
        let want = if role.unwrap_or("data") == "data" {
            "data"
        } else {
            "mgmt"
        };
        if f != want && !(f == "intercluster" && role == Some("intercluster")) {
            return Err(ZapiError::invalid(format!(
                "Invalid value specified for \"firewall-policy\": \"{f}\" does not fit the role (\"{want}\")"
            )));
        }
    }
    Ok(())
}

fn create(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = target_svm(ctx, el)?;
    let s = |n: &str| text(el, n).map(str::to_string);
    check_firewall(el, text(el, "role"))?;
    let spec = LifSpec {
        name: need(el, "interface-name").to_string(),
        address: s("address"),
        netmask: netmask(el),
        role: s("role"),
        protocols: list(el, "data-protocols"),
        service_policy: s("service-policy"),
        home_node: s("home-node"),
        home_port: s("home-port"),
        admin_up: admin_up(el)?,
    };
    ctx.sim
        .mutate(|c| c.create_lif(&svm, spec))
        .map_err(|e| match e {
            ModelError::Duplicate {
                kind: "Interface", ..
            } => ZapiError::new(EEXIST, e.to_string()),
            other => other.into(),
        })?;
    Ok(vec![])
}

fn modify(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = target_svm(ctx, el)?;
    let s = |n: &str| text(el, n).map(str::to_string);
    if let Some(r) = text(el, "role") {
        let c = ctx.sim.read();
        let l = c.lif(&svm, need(el, "interface-name"))?;
        if l.role != r {
            return Err(ZapiError::invalid(format!(
                "The role of interface \"{}\" cannot be changed",
                l.name
            )));
        }
    }
    check_firewall(el, None)?;
    let ch = LifChange {
        address: s("address"),
        netmask: netmask(el),
        home_node: s("home-node"),
        home_port: s("home-port"),
        admin_up: admin_up(el)?,
        service_policy: s("service-policy"),
        protocols: list(el, "data-protocols"),
    };
    ctx.sim
        .mutate(|c| c.modify_lif(&svm, need(el, "interface-name"), ch))?;
    Ok(vec![])
}

fn delete(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = target_svm(ctx, el)?;
    ctx.sim
        .mutate(|c| c.delete_lif(&svm, need(el, "interface-name")))?;
    Ok(vec![])
}

fn rename(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = target_svm(ctx, el)?;
    ctx.sim
        .mutate(|c| c.rename_lif(&svm, need(el, "interface-name"), need(el, "new-name")))?;
    Ok(vec![])
}

fn prefix_len(netmask: &str) -> u32 {
    match netmask.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(m)) => u32::from(m).count_ones(),
        Ok(std::net::IpAddr::V6(m)) => u128::from(m).count_ones(),
        Err(_) => 0,
    }
}

fn info(s: &Svm, l: &Lif) -> Element {
    let port = l.home_port.as_str();
    Element::new("net-interface-info")
        .with_leaf("address", l.address)
        .with_leaf(
            "address-family",
            if l.address.is_ipv4() { "ipv4" } else { "ipv6" },
        )
        .with_leaf("administrative-status", l.status.as_str())
        .with_leaf("current-node", &l.home_node)
        .with_leaf("current-port", port)
        .with_list("data-protocols", "data-protocol", &l.protocols)
        .with_leaf(
            "firewall-policy",
            if l.role == "data" { "data" } else { "mgmt" },
        )
        .with_leaf("home-node", &l.home_node)
        .with_leaf("failover-group", "Default")
        .with_leaf("failover-policy", "system_defined")
        .with_leaf("home-port", port)
        .with_leaf("interface-name", &l.name)
        .with_leaf("ipspace", "Default")
        .with_leaf("is-auto-revert", "false")
        .with_leaf("is-home", "true")
        .with_leaf("lif-uuid", l.uuid)
        .with_leaf("netmask", &l.netmask)
        .with_leaf("netmask-length", prefix_len(&l.netmask))
        .with_leaf("operational-status", l.status.as_str())
        .with_leaf("role", &l.role)
        .with_leaf("service-policy", l.service_policy())
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
