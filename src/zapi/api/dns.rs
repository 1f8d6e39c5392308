//! `net-dns-*`: an SVM's DNS configuration (domains and name servers).

use super::{list, opt, Access, Api, Ctx, Exposure, Kind, ITER_INPUTS};
use crate::model::{Dns, ModelError};
use crate::zapi::errno::{ZapiError, EOBJECTNOTFOUND};
use crate::zapi::iter::IterRequest;
use crate::zapi::xml::Element;

const INPUTS: &[super::Input] = &[
    opt("domains", Kind::Elem),
    opt("name-servers", Kind::Elem),
    opt("skip-config-validation", Kind::Bool),
    opt("dns-state", Kind::Str),
];

pub static APIS: &[Api] = &[
    Api {
        name: "net-dns-get",
        access: Access::Read,
        exposure: Exposure::Svm,
        inputs: &[opt("desired-attributes", Kind::Elem)],
        handler: get,
    },
    Api {
        name: "net-dns-get-iter",
        access: Access::Read,
        exposure: Exposure::Both,
        inputs: ITER_INPUTS,
        handler: get_iter,
    },
    Api {
        name: "net-dns-create",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: INPUTS,
        handler: create,
    },
    Api {
        name: "net-dns-modify",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: INPUTS,
        handler: modify,
    },
    Api {
        name: "net-dns-destroy",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: &[],
        handler: destroy,
    },
];

fn info(svm: &str, d: &Dns) -> Element {
    Element::new("net-dns-info")
        .with_leaf("attempts", 1)
        .with_leaf("dns-state", "enabled")
        .with_list("domains", "string", &d.domains)
        .with_list("name-servers", "ip-address", &d.servers)
        .with_leaf("timeout", 2)
        .with_leaf("vserver-name", svm)
}

/// A missing configuration is "entry doesn't exist" (15661), which Ansible reads as "create it".
fn not_found_as_15661(e: ModelError) -> ZapiError {
    match e {
        ModelError::NotFound { .. } => ZapiError::new(EOBJECTNOTFOUND, e.to_string()),
        other => other.into(),
    }
}

fn get(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    let c = ctx.sim.read();
    let d = c.svm(svm)?.dns.as_ref().ok_or_else(|| {
        not_found_as_15661(ModelError::NotFound {
            kind: "DNS configuration of Vserver",
            name: svm.to_string(),
        })
    })?;
    let mut record = info(svm, d);
    if let Some(want) = el
        .child("desired-attributes")
        .and_then(|d| d.children.first())
    {
        record = crate::zapi::iter::prune(&record, want);
    }
    Ok(vec![Element::new("attributes").with(record)])
}

fn get_iter(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let req = IterRequest::parse(el, "net-dns-info")?;
    let c = ctx.sim.read();
    let items = c
        .svms
        .values()
        .filter(|s| ctx.svm.as_deref().is_none_or(|n| n == s.name))
        .filter_map(|s| s.dns.as_ref().map(|d| (s.name.as_str(), d)));
    Ok(req.page_tree(
        &el.name,
        items,
        |(s, _)| vec![s.to_string()],
        |(s, d)| info(s, d),
    ))
}

fn check_state(el: &Element) -> Result<(), ZapiError> {
    match super::text(el, "dns-state") {
        None | Some("enabled") => Ok(()),
        Some(v) => Err(ZapiError::invalid(format!(
            "Invalid value specified for \"dns-state\": \"{v}\" (the simulator keeps DNS enabled)"
        ))),
    }
}

fn create(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    check_state(el)?;
    let dns = Dns {
        domains: list(el, "domains").unwrap_or_default(),
        servers: list(el, "name-servers").unwrap_or_default(),
    };
    ctx.sim.mutate(|c| c.set_dns(svm, Some(dns), true))?;
    Ok(vec![])
}

fn modify(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    check_state(el)?;
    ctx.sim
        .mutate(|c| {
            let cur = c
                .svm(svm)?
                .dns
                .clone()
                .ok_or_else(|| ModelError::NotFound {
                    kind: "DNS configuration of Vserver",
                    name: svm.to_string(),
                })?;
            let dns = Dns {
                domains: list(el, "domains").unwrap_or(cur.domains),
                servers: list(el, "name-servers").unwrap_or(cur.servers),
            };
            c.set_dns(svm, Some(dns), false)
        })
        .map_err(not_found_as_15661)?;
    Ok(vec![])
}

fn destroy(ctx: &Ctx, _: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    ctx.sim
        .mutate(|c| c.set_dns(svm, None, false))
        .map_err(not_found_as_15661)?;
    Ok(vec![])
}
