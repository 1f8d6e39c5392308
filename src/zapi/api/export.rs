//! `export-policy-*` and `export-rule-*`: NFS export policies and their ordered rules.

use super::{list, need, opt, req, text, uint, Access, Api, Ctx, Exposure, Kind, ITER_INPUTS};
use crate::model::{ExportPolicy, ExportRule, ModelError, RuleSpec};
use crate::zapi::errno::{ZapiError, EOBJECTNOTFOUND};
use crate::zapi::iter::IterRequest;
use crate::zapi::xml::Element;

const RULE_INPUTS: &[super::Input] = &[
    req("policy-name", Kind::Str),
    opt("rule-index", Kind::Int),
    opt("client-match", Kind::Str),
    opt("protocol", Kind::Elem),
    opt("ro-rule", Kind::Elem),
    opt("rw-rule", Kind::Elem),
    opt("super-user-security", Kind::Elem),
    opt("anonymous-user-id", Kind::Str),
    opt("is-allow-set-uid-enabled", Kind::Bool),
    opt("is-allow-dev-is-enabled", Kind::Bool),
    opt("export-chown-mode", Kind::Str),
    opt("export-ntfs-unix-security-ops", Kind::Str),
    opt("return-record", Kind::Bool),
];

pub static APIS: &[Api] = &[
    Api {
        name: "export-policy-create",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: &[
            req("policy-name", Kind::Str),
            opt("return-record", Kind::Bool),
        ],
        handler: policy_create,
    },
    Api {
        name: "export-policy-get",
        access: Access::Read,
        exposure: Exposure::Svm,
        inputs: &[
            req("policy-name", Kind::Str),
            opt("desired-attributes", Kind::Elem),
        ],
        handler: policy_get,
    },
    Api {
        name: "export-policy-get-iter",
        access: Access::Read,
        exposure: Exposure::Both,
        inputs: ITER_INPUTS,
        handler: policy_get_iter,
    },
    Api {
        name: "export-policy-destroy",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: &[req("policy-name", Kind::Str)],
        handler: policy_destroy,
    },
    Api {
        name: "export-policy-rename",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: &[
            req("policy-name", Kind::Str),
            req("new-policy-name", Kind::Str),
        ],
        handler: policy_rename,
    },
    Api {
        name: "export-rule-create",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: RULE_INPUTS,
        handler: rule_create,
    },
    Api {
        name: "export-rule-get-iter",
        access: Access::Read,
        exposure: Exposure::Both,
        inputs: ITER_INPUTS,
        handler: rule_get_iter,
    },
    Api {
        name: "export-rule-destroy",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: &[req("policy-name", Kind::Str), req("rule-index", Kind::Int)],
        handler: rule_destroy,
    },
    Api {
        name: "export-rule-modify",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: RULE_INPUTS,
        handler: rule_modify,
    },
    Api {
        name: "export-rule-set-index",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: &[
            req("policy-name", Kind::Str),
            req("rule-index", Kind::Int),
            req("new-rule-index", Kind::Int),
        ],
        handler: rule_set_index,
    },
];

fn policy_info(p: &ExportPolicy) -> Element {
    Element::new("export-policy-info")
        .with_leaf("policy-id", p.id)
        .with_leaf("policy-name", &p.name)
        .with_leaf("vserver", &p.svm)
}

/// `export-policy-get` reports a missing policy as "entry doesn't exist" (15661), which Trident
/// reads as "create it".
fn not_found_as_15661(e: ModelError) -> ZapiError {
    match e {
        ModelError::NotFound { .. } => ZapiError::new(EOBJECTNOTFOUND, e.to_string()),
        other => other.into(),
    }
}

fn policy_create(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    let name = need(el, "policy-name");
    ctx.sim.mutate(|c| {
        c.create_export_policy(svm, name)?;
        if super::boolean(el, "return-record") == Some(true) {
            let p = c.export_policy(svm, name)?;
            return Ok(vec![Element::new("result").with(policy_info(p))]);
        }
        Ok(vec![])
    })
}

fn policy_get(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    let c = ctx.sim.read();
    let p = c
        .export_policy(svm, need(el, "policy-name"))
        .map_err(not_found_as_15661)?;
    Ok(vec![Element::new("attributes").with(policy_info(p))])
}

fn policy_get_iter(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let req = IterRequest::parse(el, "export-policy-info")?;
    let c = ctx.sim.read();
    let items: Box<dyn Iterator<Item = &ExportPolicy>> = match ctx.svm.as_deref() {
        Some(s) => Box::new(c.export_policies_of(s)),
        None => Box::new(c.export_policies.values()),
    };
    Ok(req.page_tree(
        &el.name,
        items,
        |p| vec![p.svm.clone(), p.name.clone()],
        |p| policy_info(p),
    ))
}

fn policy_destroy(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    ctx.sim
        .mutate(|c| c.destroy_export_policy(svm, need(el, "policy-name")))
        .map_err(not_found_as_15661)?;
    Ok(vec![])
}

fn policy_rename(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    ctx.sim
        .mutate(|c| {
            c.rename_export_policy(svm, need(el, "policy-name"), need(el, "new-policy-name"))
        })
        .map_err(not_found_as_15661)?;
    Ok(vec![])
}

fn rule_spec(el: &Element) -> Result<RuleSpec, ZapiError> {
    let lower =
        |v: Option<Vec<String>>| v.map(|l| l.into_iter().map(|x| x.to_ascii_lowercase()).collect());
    Ok(RuleSpec {
        index: uint(el, "rule-index")?,
        client_match: text(el, "client-match").map(str::to_string),
        protocols: lower(list(el, "protocol")),
        ro_rule: lower(list(el, "ro-rule")),
        rw_rule: lower(list(el, "rw-rule")),
        superuser: lower(list(el, "super-user-security")),
        anon: text(el, "anonymous-user-id").map(str::to_string),
        allow_suid: super::boolean(el, "is-allow-set-uid-enabled"),
        allow_dev: super::boolean(el, "is-allow-dev-is-enabled"),
    })
}

fn rule_info(p: &ExportPolicy, r: &ExportRule) -> Element {
    Element::new("export-rule-info")
        .with_leaf("anonymous-user-id", &r.anon)
        .with_leaf("client-match", &r.client_match)
        .with_leaf("export-chown-mode", "restricted")
        .with_leaf("export-ntfs-unix-security-ops", "fail")
        .with_leaf("is-allow-dev-is-enabled", r.allow_dev)
        .with_leaf("is-allow-set-uid-enabled", r.allow_suid)
        .with_leaf("policy-name", &p.name)
        .with_list("protocol", "access-protocol", &r.protocols)
        .with_list("ro-rule", "security-flavor", &r.ro_rule)
        .with_leaf("rule-index", r.index)
        .with_list("rw-rule", "security-flavor", &r.rw_rule)
        .with_list("super-user-security", "security-flavor", &r.superuser)
        .with_leaf("vserver", &p.svm)
        .with_leaf("vserver-name", &p.svm)
}

fn rule_create(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    if text(el, "client-match").is_none() {
        return Err(ZapiError::invalid("Missing input: client-match"));
    }
    let policy = need(el, "policy-name");
    ctx.sim.mutate(|c| {
        let index = c
            .add_export_rule(svm, policy, rule_spec(el)?)
            .map_err(not_found_as_15661)?;
        if super::boolean(el, "return-record") == Some(true) {
            let p = c.export_policy(svm, policy)?;
            if let Some(r) = p.rules.iter().find(|r| r.index == index) {
                return Ok(vec![Element::new("result").with(rule_info(p, r))]);
            }
        }
        Ok(vec![])
    })
}

fn rule_get_iter(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let req = IterRequest::parse(el, "export-rule-info")?;
    let c = ctx.sim.read();
    let policies: Box<dyn Iterator<Item = &ExportPolicy>> = match ctx.svm.as_deref() {
        Some(s) => Box::new(c.export_policies_of(s)),
        None => Box::new(c.export_policies.values()),
    };
    let items = policies.flat_map(|p| p.rules.iter().map(move |r| (p, r)));
    Ok(req.page_tree(
        &el.name,
        items,
        |(p, r)| vec![p.svm.clone(), p.name.clone(), format!("{:010}", r.index)],
        |(p, r)| rule_info(p, r),
    ))
}

fn rule_index(el: &Element) -> Result<u32, ZapiError> {
    uint(el, "rule-index")?.ok_or_else(|| ZapiError::invalid("Missing input: rule-index"))
}

fn rule_destroy(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    let index = rule_index(el)?;
    ctx.sim
        .mutate(|c| c.destroy_export_rule(svm, need(el, "policy-name"), index))
        .map_err(not_found_as_15661)?;
    Ok(vec![])
}

fn rule_modify(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    let index = rule_index(el)?;
    let mut spec = rule_spec(el)?;
    spec.index = None;
    ctx.sim
        .mutate(|c| c.modify_export_rule(svm, need(el, "policy-name"), index, spec))
        .map_err(not_found_as_15661)?;
    Ok(vec![])
}

fn rule_set_index(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    let new_index = uint(el, "new-rule-index")?.unwrap_or(0);
    let index = rule_index(el)?;
    ctx.sim
        .mutate(|c| c.set_export_rule_index(svm, need(el, "policy-name"), index, new_index))
        .map_err(not_found_as_15661)?;
    Ok(vec![])
}
