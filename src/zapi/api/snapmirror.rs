//! `snapmirror-*`: replication relationships. The simulator holds none, so these answer exactly as
//! ONTAP does when there is nothing to find: Trident probes them on every volume delete.

use super::{opt, req, Access, Api, Ctx, Exposure, Kind, ITER_INPUTS};
use crate::zapi::errno::{ZapiError, EOBJECTNOTFOUND, SOURCEINFONOTFOUND};
use crate::zapi::iter::IterRequest;
use crate::zapi::xml::Element;

const LOCATION_INPUTS: &[super::Input] = &[
    opt("destination-location", Kind::Str),
    opt("destination-vserver", Kind::Str),
    opt("destination-volume", Kind::Str),
    opt("source-location", Kind::Str),
    opt("source-vserver", Kind::Str),
    opt("source-volume", Kind::Str),
    opt("relationship-info-only", Kind::Bool),
    opt("relationship-id", Kind::Str),
    opt("destination-cluster", Kind::Str),
    opt("source-cluster", Kind::Str),
];

pub static APIS: &[Api] = &[
    Api {
        name: "snapmirror-get-iter",
        access: Access::Read,
        exposure: Exposure::Both,
        inputs: ITER_INPUTS,
        handler: get_iter,
    },
    Api {
        name: "snapmirror-get-destination-iter",
        access: Access::Read,
        exposure: Exposure::Both,
        inputs: ITER_INPUTS,
        handler: get_destination_iter,
    },
    Api {
        name: "snapmirror-destroy",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: LOCATION_INPUTS,
        handler: destroy,
    },
    Api {
        name: "snapmirror-release",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: LOCATION_INPUTS,
        handler: release,
    },
    Api {
        name: "snapmirror-release-iter",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: &[
            req("query", Kind::Elem),
            opt("relationship-info-only", Kind::Bool),
            opt("continue-on-failure", Kind::Bool),
            opt("max-failure-count", Kind::Int),
            opt("max-records", Kind::Int),
            opt("return-success-list", Kind::Bool),
            opt("return-failure-list", Kind::Bool),
        ],
        handler: release_iter,
    },
    Api {
        name: "snapmirror-policy-get-iter",
        access: Access::Read,
        exposure: Exposure::Both,
        inputs: ITER_INPUTS,
        handler: policy_get_iter,
    },
];

/// Name the relationship a request is about, for the failure reason.
fn location(el: &Element) -> String {
    let f = |n: &str| super::text(el, n).unwrap_or_default().to_string();
    let dest = f("destination-location");
    if !dest.is_empty() {
        return dest;
    }
    let (vs, vol) = (f("destination-vserver"), f("destination-volume"));
    if !vs.is_empty() || !vol.is_empty() {
        return format!("{vs}:{vol}");
    }
    f("source-location")
}

fn get_iter(_: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let req = IterRequest::parse(el, "snapmirror-info")?;
    Ok(req.page_tree(
        &el.name,
        std::iter::empty::<()>(),
        |_| vec![],
        |_| Element::new("snapmirror-info"),
    ))
}

fn get_destination_iter(_: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let req = IterRequest::parse(el, "snapmirror-destination-info")?;
    Ok(req.page_tree(
        &el.name,
        std::iter::empty::<()>(),
        |_| vec![],
        |_| Element::new("snapmirror-destination-info"),
    ))
}

fn destroy(_: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    Err(ZapiError::new(
        EOBJECTNOTFOUND,
        format!(
            "entry doesn't exist: no SnapMirror relationship with destination \"{}\"",
            location(el)
        ),
    ))
}

fn release(_: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    Err(ZapiError::new(
        SOURCEINFONOTFOUND,
        format!(
            "No release-able destination found that matches \"{}\"",
            location(el)
        ),
    ))
}

fn release_iter(_: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    if el
        .child("query")
        .and_then(|q| q.child("snapmirror-destination-info"))
        .is_none()
    {
        return Err(ZapiError::invalid(
            "Invalid value specified for \"query\": expected <snapmirror-destination-info>",
        ));
    }
    Ok(vec![
        Element::new("failure-list"),
        Element::leaf("num-failed", 0),
        Element::leaf("num-succeeded", 0),
        Element::new("success-list"),
    ])
}

/// A built-in policy: name, type, and its rules (SnapMirror label, snapshots kept).
type BuiltinPolicy = (&'static str, &'static str, &'static [(&'static str, u32)]);

/// The policies every cluster ships with, in name order (the iterator pages by name).
const POLICIES: &[BuiltinPolicy] = &[
    (
        "Asynchronous",
        "mirror_vault",
        &[("sm_created", 1), ("all_source_snapshots", 1)],
    ),
    (
        "MirrorAllSnapshots",
        "async_mirror",
        &[("sm_created", 1), ("all_source_snapshots", 1)],
    ),
    (
        "MirrorAndVault",
        "mirror_vault",
        &[("sm_created", 1), ("daily", 7), ("weekly", 52)],
    ),
    ("MirrorLatest", "async_mirror", &[("sm_created", 1)]),
    ("StrictSync", "strict_sync_mirror", &[("sm_created", 2)]),
    ("Sync", "sync_mirror", &[("sm_created", 2)]),
    ("XDPDefault", "vault", &[("daily", 7), ("weekly", 52)]),
];

fn policy_get_iter(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let req = IterRequest::parse(el, "snapmirror-policy-info")?;
    let cluster = ctx.sim.read().name.clone();
    Ok(req.page_tree(
        &el.name,
        POLICIES.iter(),
        |(name, _, _)| vec![name.to_string()],
        |(name, kind, rules)| {
            let mut r = Element::new("snapmirror-policy-rules");
            for (label, keep) in rules.iter() {
                r.children.push(
                    Element::new("snapmirror-policy-rule-info")
                        .with_leaf("keep", keep)
                        .with_leaf("snapmirror-label", label),
                );
            }
            Element::new("snapmirror-policy-info")
                .with_leaf("policy-name", name)
                .with_leaf("policy-type", kind)
                .with(r)
                .with_leaf("total-rules", rules.len())
                .with_leaf("vserver-name", &cluster)
        },
    ))
}
