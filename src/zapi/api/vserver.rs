//! `vserver-*`: the admin, node and data vservers a caller can see.
//!
//! A cluster-context caller sees the admin vserver (named after the cluster), one node vserver per
//! node and every data SVM, as ONTAP lists them; an SVM-context caller sees only its own SVM.

use super::{list, need, opt, req, text, Access, Api, Ctx, Exposure, Kind, ITER_INPUTS};
use crate::model::{Cluster, ModelError, Svm, SvmChange, SvmSpec, SvmState};
use crate::zapi::errno::ZapiError;
use crate::zapi::iter::{prune, IterRequest};
use crate::zapi::xml::Element;

pub static APIS: &[Api] = &[
    Api {
        name: "vserver-get",
        access: Access::Read,
        exposure: Exposure::Both,
        inputs: &[opt("desired-attributes", Kind::Elem)],
        handler: get,
    },
    Api {
        name: "vserver-get-iter",
        access: Access::Read,
        exposure: Exposure::Both,
        inputs: ITER_INPUTS,
        handler: get_iter,
    },
    Api {
        name: "vserver-peer-get-iter",
        access: Access::Read,
        exposure: Exposure::Both,
        inputs: ITER_INPUTS,
        handler: peer_get_iter,
    },
    Api {
        name: "vserver-show-aggr-get-iter",
        access: Access::Read,
        exposure: Exposure::Both,
        inputs: &[
            opt("max-records", Kind::Int),
            opt("tag", Kind::Str),
            opt("query", Kind::Elem),
            opt("desired-attributes", Kind::Elem),
            opt("vserver", Kind::Str),
        ],
        handler: show_aggr_get_iter,
    },
    Api {
        name: "vserver-create",
        access: Access::Write,
        exposure: Exposure::Cluster,
        inputs: &[
            req("vserver-name", Kind::Str),
            opt("root-volume", Kind::Str),
            opt("root-volume-aggregate", Kind::Str),
            opt("root-volume-security-style", Kind::Str),
            opt("language", Kind::Str),
            opt("ipspace", Kind::Str),
            opt("snapshot-policy", Kind::Str),
            opt("vserver-subtype", Kind::Str),
            opt("comment", Kind::Str),
        ],
        handler: create,
    },
    Api {
        name: "vserver-modify",
        access: Access::Write,
        exposure: Exposure::Cluster,
        inputs: &[
            req("vserver-name", Kind::Str),
            opt("comment", Kind::Str),
            opt("language", Kind::Str),
            opt("snapshot-policy", Kind::Str),
            opt("aggr-list", Kind::Elem),
            opt("allowed-protocols", Kind::Elem),
            opt("quota-policy", Kind::Str),
        ],
        handler: modify,
    },
    Api {
        name: "vserver-rename",
        access: Access::Write,
        exposure: Exposure::Cluster,
        inputs: &[req("vserver-name", Kind::Str), req("new-name", Kind::Str)],
        handler: rename,
    },
    Api {
        name: "vserver-start",
        access: Access::Write,
        exposure: Exposure::Cluster,
        inputs: &[req("vserver-name", Kind::Str)],
        handler: start,
    },
    Api {
        name: "vserver-stop",
        access: Access::Write,
        exposure: Exposure::Cluster,
        inputs: &[req("vserver-name", Kind::Str), opt("force", Kind::Bool)],
        handler: stop,
    },
    Api {
        name: "vserver-destroy",
        access: Access::Write,
        exposure: Exposure::Cluster,
        inputs: &[req("vserver-name", Kind::Str)],
        handler: destroy,
    },
];

fn create(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let s = |n: &str| text(el, n).map(str::to_string);
    if let Some(ip) = text(el, "ipspace").filter(|i| *i != "Default") {
        return Err(ModelError::NotFound {
            kind: "IPspace",
            name: ip.to_string(),
        }
        .into());
    }
    let spec = SvmSpec {
        name: need(el, "vserver-name").to_string(),
        root_volume: s("root-volume"),
        root_volume_aggregate: s("root-volume-aggregate"),
        aggregates: Vec::new(),
        language: s("language"),
        security_style: s("root-volume-security-style"),
        allowed_protocols: None,
        comment: s("comment"),
        snapshot_policy: s("snapshot-policy"),
        subtype: s("vserver-subtype"),
    };
    ctx.sim.mutate(|c| c.create_svm(spec))?;
    Ok(vec![])
}

fn modify(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let s = |n: &str| text(el, n).map(str::to_string);
    let ch = SvmChange {
        comment: s("comment"),
        language: s("language"),
        aggregates: list(el, "aggr-list"),
        allowed_protocols: list(el, "allowed-protocols"),
        snapshot_policy: s("snapshot-policy"),
        quota_policy: s("quota-policy"),
    };
    ctx.sim
        .mutate(|c| c.modify_svm(need(el, "vserver-name"), ch))?;
    Ok(vec![])
}

fn rename(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    ctx.sim
        .mutate(|c| c.rename_svm(need(el, "vserver-name"), need(el, "new-name")))?;
    Ok(vec![])
}

fn start(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    ctx.sim
        .mutate(|c| c.set_svm_state(need(el, "vserver-name"), SvmState::Running))?;
    Ok(vec![])
}

fn stop(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    ctx.sim
        .mutate(|c| c.set_svm_state(need(el, "vserver-name"), SvmState::Stopped))?;
    Ok(vec![])
}

fn destroy(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    ctx.sim.mutate(|c| c.delete_svm(need(el, "vserver-name")))?;
    Ok(vec![])
}

/// The vservers of a cluster as ZAPI shows them.
enum Vserver<'a> {
    Admin,
    Node(&'a str),
    Data(&'a Svm),
}

impl Vserver<'_> {
    fn name<'c>(&'c self, c: &'c Cluster) -> &'c str {
        match self {
            Vserver::Admin => &c.name,
            Vserver::Node(n) => n,
            Vserver::Data(s) => &s.name,
        }
    }
}

fn info(c: &Cluster, v: &Vserver) -> Element {
    let name = v.name(c).to_string();
    let (vtype, uuid) = match v {
        Vserver::Admin => ("admin", c.uuid),
        Vserver::Node(n) => ("node", c.uuid_for(&format!("node-vserver/{n}"))),
        Vserver::Data(s) => ("data", s.uuid),
    };
    let mut e = Element::new("vserver-info");
    if let Vserver::Data(s) = v {
        let aggr_list = s.aggregates.iter().collect::<Vec<_>>();
        let mut infos = Element::new("vserver-aggr-info-list");
        for a in &s.aggregates {
            let avail = c.aggregates.get(a).map(|a| a.available()).unwrap_or(0);
            infos.children.push(
                Element::new("vserver-aggr-info")
                    .with_leaf("aggr-availsize", avail)
                    .with_leaf("aggr-is-cft-precommit", "false")
                    .with_leaf("aggr-name", a),
            );
        }
        e = e
            .with_list("aggr-list", "aggr-name", aggr_list)
            .with_list("allowed-protocols", "protocol", &s.allowed_protocols)
            .with_leaf("comment", &s.comment)
            .with_leaf("ipspace", "Default")
            .with_leaf("is-repository-vserver", "false")
            .with_leaf("language", &s.language)
            .with_leaf("max-volumes", "unlimited")
            .with_leaf("operational-state", s.state.as_str())
            .with_leaf("quota-policy", &s.quota.policy)
            .with_leaf("root-volume", s.root_volume())
            .with_leaf("root-volume-aggregate", &s.root_volume_aggregate)
            .with_leaf("root-volume-security-style", &s.security_style)
            .with_leaf("snapshot-policy", &s.snapshot_policy)
            .with_leaf("state", s.state.as_str())
            .with_leaf("uuid", uuid)
            .with(infos)
            .with_leaf("vserver-name", name)
            .with_leaf("vserver-subtype", &s.subtype)
            .with_leaf("vserver-type", vtype)
            .with_leaf("volume-delete-retention-hours", 12);
    } else {
        e = e
            .with_leaf("ipspace", "Default")
            .with_leaf("is-repository-vserver", "false")
            .with_leaf("operational-state", "running")
            .with_leaf("state", "running")
            .with_leaf("uuid", uuid)
            .with_leaf("vserver-name", name)
            .with_leaf("vserver-subtype", "default")
            .with_leaf("vserver-type", vtype);
    }
    e
}

fn visible<'c>(c: &'c Cluster, svm: Option<&str>) -> Vec<Vserver<'c>> {
    let mut all: Vec<Vserver> = match svm {
        Some(s) => c.svms.get(s).map(Vserver::Data).into_iter().collect(),
        None => std::iter::once(Vserver::Admin)
            .chain(c.nodes.iter().map(|n| Vserver::Node(&n.name)))
            .chain(c.svms.values().map(Vserver::Data))
            .collect(),
    };
    all.sort_by(|a, b| a.name(c).cmp(b.name(c)));
    all
}

fn get(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let c = ctx.sim.read();
    let v = match &ctx.svm {
        Some(s) => Vserver::Data(c.svm(s)?),
        None => Vserver::Admin,
    };
    let mut record = info(&c, &v);
    if let Some(d) = el
        .child("desired-attributes")
        .and_then(|d| d.children.first())
    {
        record = prune(&record, d);
    }
    Ok(vec![Element::new("attributes").with(record)])
}

fn get_iter(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let req = IterRequest::parse(el, "vserver-info")?;
    let c = ctx.sim.read();
    let all = visible(&c, ctx.svm.as_deref());
    Ok(req.page_tree(
        &el.name,
        all,
        |v| vec![v.name(&c).to_string()],
        |v| info(&c, v),
    ))
}

/// SVM peer relationships: the simulator's SVMs have none, so the list is always empty.
fn peer_get_iter(_: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let req = IterRequest::parse(el, "vserver-peer-info")?;
    Ok(req.page_tree(
        &el.name,
        std::iter::empty::<()>(),
        |_| vec![],
        |_| Element::new("vserver-peer-info"),
    ))
}

/// The aggregates assigned to each visible SVM, with their free space and media type.
fn show_aggr_get_iter(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let req = IterRequest::parse(el, "show-aggregates")?;
    let c = ctx.sim.read();
    let only = super::text(el, "vserver").map(str::to_string);
    let items = c
        .svms
        .values()
        .filter(|s| ctx.svm.as_deref().is_none_or(|n| n == s.name))
        .filter(|s| only.as_deref().is_none_or(|n| n == s.name))
        .flat_map(|s| {
            // In name order, as the iterator pages by (SVM, aggregate).
            let mut aggrs: Vec<_> = s
                .aggregates
                .iter()
                .filter_map(|a| c.aggregates.get(a))
                .collect();
            aggrs.sort_by(|a, b| a.name.cmp(&b.name));
            aggrs.into_iter().map(move |a| (s, a))
        });
    Ok(req.page_tree(
        &el.name,
        items,
        |(s, a)| vec![s.name.clone(), a.name.clone()],
        |(s, a)| {
            Element::new("show-aggregates")
                .with_leaf("aggregate-name", &a.name)
                .with_leaf("aggregate-type", &a.media)
                .with_leaf("available-size", a.available())
                .with_leaf("is-nve-capable", "false")
                .with_leaf("snaplock-type", "non_snaplock")
                .with_leaf("vserver-name", &s.name)
        },
    ))
}
