//! `quota-*`: quota policies (`quota-policy-create`, `-delete`, `-rename`, `-copy`,
//! `-get-iter`; `vserver-modify` assigns one), quota rules (`quota-set-entry`, `-modify-entry`,
//! `-delete-entry`, `-get-entry`, `quota-list-entries-iter`; the assigned policy's unless
//! `policy` names another), the quota state of a volume (`quota-on`, `-off`, `-resize`,
//! `-status`) and the report of what each target uses (`quota-report-iter`). The model owns the
//! rules and the state machine; usage is measured from the volume's data.

use super::{boolean, need, opt, req, text, Access, Api, Ctx, Exposure, Input, Kind, ITER_INPUTS};
use crate::model::quota::{Limits, LimitsChange, Measured, ReportRow, RuleId};
use crate::model::{Cluster, QuotaRule, QuotaType};
use crate::sim::Sim;
use crate::zapi::errno::ZapiError;
use crate::zapi::iter::IterRequest;
use crate::zapi::xml::Element;

const LIMIT_INPUTS: [Input; 6] = [
    opt("disk-limit", Kind::Str),
    opt("file-limit", Kind::Str),
    opt("soft-disk-limit", Kind::Str),
    opt("soft-file-limit", Kind::Str),
    opt("threshold", Kind::Str),
    opt("perform-user-mapping", Kind::Bool),
];

const ENTRY_INPUTS: &[Input] = &[
    req("volume", Kind::Str),
    req("quota-target", Kind::Str),
    req("quota-type", Kind::Str),
    req("qtree", Kind::Str),
    opt("policy", Kind::Str),
    LIMIT_INPUTS[0],
    LIMIT_INPUTS[1],
    LIMIT_INPUTS[2],
    LIMIT_INPUTS[3],
    LIMIT_INPUTS[4],
    LIMIT_INPUTS[5],
];

const ID_INPUTS: &[Input] = &[
    req("volume", Kind::Str),
    req("quota-target", Kind::Str),
    req("quota-type", Kind::Str),
    req("qtree", Kind::Str),
    opt("policy", Kind::Str),
];

const VOLUME_INPUT: &[Input] = &[req("volume", Kind::Str)];

const POLICY_INPUTS: &[Input] = &[req("policy-name", Kind::Str), opt("vserver", Kind::Str)];

const POLICY_PAIR_INPUTS: &[Input] = &[
    req("policy-name", Kind::Str),
    req("new-policy-name", Kind::Str),
    opt("vserver", Kind::Str),
];

const REPORT_INPUTS: &[Input] = &[
    opt("max-records", Kind::Int),
    opt("tag", Kind::Str),
    opt("query", Kind::Elem),
    opt("desired-attributes", Kind::Elem),
    opt("path", Kind::Str),
];

pub static APIS: &[Api] = &[
    Api {
        name: "quota-set-entry",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: ENTRY_INPUTS,
        handler: set_entry,
    },
    Api {
        name: "quota-modify-entry",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: ENTRY_INPUTS,
        handler: modify_entry,
    },
    Api {
        name: "quota-delete-entry",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: ID_INPUTS,
        handler: delete_entry,
    },
    Api {
        name: "quota-get-entry",
        access: Access::Read,
        exposure: Exposure::Svm,
        inputs: ID_INPUTS,
        handler: get_entry,
    },
    Api {
        name: "quota-list-entries-iter",
        access: Access::Read,
        exposure: Exposure::Both,
        inputs: ITER_INPUTS,
        handler: list_entries,
    },
    Api {
        name: "quota-on",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: VOLUME_INPUT,
        handler: on,
    },
    Api {
        name: "quota-off",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: VOLUME_INPUT,
        handler: off,
    },
    Api {
        name: "quota-resize",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: VOLUME_INPUT,
        handler: resize,
    },
    Api {
        name: "quota-status",
        access: Access::Read,
        exposure: Exposure::Svm,
        inputs: VOLUME_INPUT,
        handler: status,
    },
    Api {
        name: "quota-policy-create",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: POLICY_INPUTS,
        handler: policy_create,
    },
    Api {
        name: "quota-policy-delete",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: POLICY_INPUTS,
        handler: policy_delete,
    },
    Api {
        name: "quota-policy-rename",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: POLICY_PAIR_INPUTS,
        handler: policy_rename,
    },
    Api {
        name: "quota-policy-copy",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: POLICY_PAIR_INPUTS,
        handler: policy_copy,
    },
    Api {
        name: "quota-policy-get-iter",
        access: Access::Read,
        exposure: Exposure::Both,
        inputs: ITER_INPUTS,
        handler: policy_get_iter,
    },
    Api {
        name: "quota-report-iter",
        access: Access::Read,
        exposure: Exposure::Both,
        inputs: REPORT_INPUTS,
        handler: report_iter,
    },
];

/// The rule a request names. The target is `""` or `*` for a default rule; a tree target is a
/// qtree name or its path `/vol/<volume>/<qtree>`.
fn rule_id(el: &Element) -> Result<RuleId, ZapiError> {
    let volume = need(el, "volume").to_string();
    let quota_type = QuotaType::parse(need(el, "quota-type"))?;
    let raw = need(el, "quota-target");
    let target = match raw {
        "" | "*" => String::new(),
        t if quota_type == QuotaType::Tree && t.starts_with("/vol/") => {
            match t["/vol/".len()..].split_once('/') {
                Some((v, q)) if v == volume && !q.is_empty() && !q.contains('/') => q.to_string(),
                _ => {
                    return Err(ZapiError::invalid(format!(
                        "Invalid quota target \"{t}\": a tree target is a qtree of volume \"{volume}\" (/vol/{volume}/<qtree>)"
                    )))
                }
            }
        }
        t => t.to_string(),
    };
    Ok(RuleId {
        volume,
        quota_type,
        target,
        qtree: need(el, "qtree").to_string(),
        policy: text(el, "policy").map(str::to_string),
    })
}

/// The SVM a policy call acts on: the tunnel's; a `vserver` input must name the same one.
fn policy_svm<'a>(ctx: &'a Ctx, el: &Element) -> Result<&'a str, ZapiError> {
    let svm = ctx.svm()?;
    match text(el, "vserver") {
        Some(v) if !v.is_empty() && v != svm => Err(ZapiError::invalid(format!(
            "Invalid value specified for \"vserver\": \"{v}\" (the request is for Vserver \"{svm}\")"
        ))),
        _ => Ok(svm),
    }
}

fn policy_create(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = policy_svm(ctx, el)?;
    ctx.sim
        .mutate(|c| c.create_quota_policy(svm, need(el, "policy-name")))?;
    Ok(vec![])
}

fn policy_delete(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = policy_svm(ctx, el)?;
    ctx.sim
        .mutate(|c| c.delete_quota_policy(svm, need(el, "policy-name")))?;
    Ok(vec![])
}

fn policy_rename(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = policy_svm(ctx, el)?;
    ctx.sim.mutate(|c| {
        c.rename_quota_policy(svm, need(el, "policy-name"), need(el, "new-policy-name"))
    })?;
    Ok(vec![])
}

fn policy_copy(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = policy_svm(ctx, el)?;
    ctx.sim.mutate(|c| {
        c.copy_quota_policy(svm, need(el, "policy-name"), need(el, "new-policy-name"))
    })?;
    Ok(vec![])
}

/// The quota policies of the SVM (every data SVM's at cluster scope).
fn policy_get_iter(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let req = IterRequest::parse(el, "quota-policy-info")?;
    let c = ctx.sim.read();
    let svms: Vec<&crate::model::Svm> = match ctx.svm.as_deref() {
        Some(s) => c.svms.get(&s.to_string()).into_iter().collect(),
        None => c.svms.values().collect(),
    };
    let policies: Vec<(&str, &str)> = svms
        .iter()
        .flat_map(|s| {
            s.quota
                .policies
                .iter()
                .map(|p| (s.name.as_str(), p.as_str()))
        })
        .collect();
    Ok(req.page_tree(
        &el.name,
        policies,
        |(s, p)| vec![s.to_string(), p.to_string()],
        |(s, p)| {
            Element::new("quota-policy-info")
                .with_leaf("policy-name", *p)
                .with_leaf("vserver", *s)
        },
    ))
}

/// A limit input: `-` is unlimited; otherwise KiB (a bare number) or a number with a unit
/// (`KB`, `MB`, `GB`, `TB`), as `volume quota policy rule create` takes them.
fn limit(el: &Element, name: &str) -> Result<Option<Option<u64>>, ZapiError> {
    let Some(v) = text(el, name) else {
        return Ok(None);
    };
    if v == "-" || v.is_empty() {
        return Ok(Some(None));
    }
    let bad = || {
        ZapiError::invalid(format!(
            "Invalid value specified for \"{name}\": \"{v}\" (a number of KB, a size such as 10GB, or \"-\")"
        ))
    };
    let digits = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let n: u64 = v[..digits].parse().map_err(|_| bad())?;
    let files = name.contains("file");
    let shift = match (files, v[digits..].to_ascii_lowercase().as_str()) {
        (_, "") => 0,
        (false, "k" | "kb") => 0,
        (false, "m" | "mb") => 10,
        (false, "g" | "gb") => 20,
        (false, "t" | "tb") => 30,
        _ => return Err(bad()),
    };
    n.checked_mul(1 << shift)
        .map(|k| Some(Some(k)))
        .ok_or_else(bad)
}

fn limits_change(el: &Element) -> Result<LimitsChange, ZapiError> {
    Ok(LimitsChange {
        disk: limit(el, "disk-limit")?,
        soft_disk: limit(el, "soft-disk-limit")?,
        files: limit(el, "file-limit")?,
        soft_files: limit(el, "soft-file-limit")?,
        threshold: limit(el, "threshold")?,
        user_mapping: boolean(el, "perform-user-mapping"),
    })
}

fn set_entry(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    let id = rule_id(el)?;
    let change = limits_change(el)?;
    let limits = Limits {
        disk: change.disk.flatten(),
        soft_disk: change.soft_disk.flatten(),
        files: change.files.flatten(),
        soft_files: change.soft_files.flatten(),
        threshold: change.threshold.flatten(),
    };
    let mapping = change.user_mapping.unwrap_or(false);
    ctx.sim
        .mutate(|c| c.set_quota_rule(svm, &id, limits, mapping, true))?;
    Ok(vec![])
}

fn modify_entry(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    let id = rule_id(el)?;
    let change = limits_change(el)?;
    ctx.sim.mutate(|c| c.modify_quota_rule(svm, &id, change))?;
    Ok(vec![])
}

fn delete_entry(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    let id = rule_id(el)?;
    ctx.sim.mutate(|c| c.delete_quota_rule(svm, &id))?;
    Ok(vec![])
}

fn kb(v: Option<u64>) -> String {
    v.map_or_else(|| "-".to_string(), |k| k.to_string())
}

fn limit_leaves(l: &Limits) -> Vec<Element> {
    vec![
        Element::leaf("disk-limit", kb(l.disk)),
        Element::leaf("file-limit", kb(l.files)),
        Element::leaf("soft-disk-limit", kb(l.soft_disk)),
        Element::leaf("soft-file-limit", kb(l.soft_files)),
        Element::leaf("threshold", kb(l.threshold)),
    ]
}

/// A rule's target as ZAPI shows it: `*` for a default rule, a tree rule's qtree as its path.
fn shown_target(r: &QuotaRule) -> String {
    match (r.quota_type, r.is_default()) {
        (_, true) => "*".to_string(),
        (QuotaType::Tree, false) => format!("/vol/{}/{}", r.volume, r.target),
        _ => r.target.clone(),
    }
}

fn get_entry(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    let id = rule_id(el)?;
    let c = ctx.sim.read();
    c.volume(svm, &id.volume)?;
    let policy = match id.policy.as_deref().filter(|p| !p.is_empty()) {
        Some(p) => {
            if !c.quota_policies(svm)?.iter().any(|x| x == p) {
                return Err(crate::model::ModelError::NotFound {
                    kind: "Quota policy",
                    name: format!("{p}\" in Vserver \"{svm}"),
                }
                .into());
            }
            p
        }
        None => c.assigned_quota_policy(svm),
    };
    let r = c
        .policy_rules_of(svm, policy, &id.volume)
        .find(|r| {
            r.quota_type == id.quota_type && r.target == id.target && r.qtree == id.qtree.trim()
        })
        .ok_or_else(|| {
            ZapiError::new(
                crate::zapi::errno::EOBJECTNOTFOUND,
                format!(
                    "entry doesn't exist: no {} quota rule for target \"{}\" in volume \"{}\"",
                    id.quota_type.as_str(),
                    need(el, "quota-target"),
                    id.volume
                ),
            )
        })?;
    let mut out = limit_leaves(&r.limits);
    out.push(Element::leaf(
        "perform-user-mapping",
        if r.user_mapping { "on" } else { "off" },
    ));
    Ok(out)
}

fn entry(r: &QuotaRule) -> Element {
    let mut e = Element::new("quota-entry");
    e.children = limit_leaves(&r.limits);
    e.with_leaf("perform-user-mapping", r.user_mapping)
        .with_leaf("policy", &r.policy)
        .with_leaf("qtree", &r.qtree)
        .with_leaf("quota-target", shown_target(r))
        .with_leaf("quota-type", r.quota_type.as_str())
        .with_leaf("volume", &r.volume)
        .with_leaf("vserver", &r.svm)
}

fn list_entries(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let req = IterRequest::parse(el, "quota-entry")?;
    let c = ctx.sim.read();
    let rules: Box<dyn Iterator<Item = &QuotaRule>> = match ctx.svm.as_deref() {
        Some(s) => Box::new(
            c.quota_rules
                .range(
                    (
                        s.to_string(),
                        String::new(),
                        String::new(),
                        QuotaType::Tree,
                        String::new(),
                        String::new(),
                    )..,
                )
                .take_while(move |(k, _)| k.0 == s)
                .map(|(_, r)| r),
        ),
        None => Box::new(c.quota_rules.values()),
    };
    Ok(req.page_tree(
        &el.name,
        rules,
        |r| {
            vec![
                r.svm.clone(),
                r.policy.clone(),
                r.volume.clone(),
                (r.quota_type as u8).to_string(),
                r.target.clone(),
                r.qtree.clone(),
            ]
        },
        |r| entry(r),
    ))
}

/// Start a quota job: it ends at once when jobs take no time (`cluster.job_duration_ms` 0),
/// else in the background, as ONTAP's quota jobs run.
fn start_job(
    ctx: &Ctx,
    op: impl FnOnce(&mut Cluster) -> Result<u64, crate::model::ModelError>,
) -> Result<Vec<Element>, ZapiError> {
    let later = ctx.sim.read().job_duration_ms;
    let id = ctx.sim.mutate(|c| {
        let id = op(c)?;
        if later == 0 {
            c.finish_quota_job(id);
        }
        Ok::<_, ZapiError>(id)
    })?;
    if later > 0 {
        Sim::finish_later(ctx.sim, id, later, Cluster::finish_quota_job);
    }
    Ok(super::async_result(id))
}

fn on(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    start_job(ctx, |c| c.quota_on(svm, need(el, "volume")))
}

fn resize(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    start_job(ctx, |c| c.quota_resize(svm, need(el, "volume")))
}

fn off(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    let id = ctx.sim.mutate(|c| c.quota_off(svm, need(el, "volume")))?;
    let mut out = super::async_result(id);
    if let Some(s) = out.iter_mut().find(|e| e.name == "result-status") {
        s.text = "succeeded".into();
    }
    Ok(out)
}

fn status(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    let c = ctx.sim.read();
    let v = c.volume(svm, need(el, "volume"))?;
    let q = &v.quota;
    let pct = match q.status {
        crate::model::QuotaStatus::Initializing | crate::model::QuotaStatus::Resizing => Some(50),
        _ => None,
    };
    let mut out = vec![];
    if let Some(p) = pct {
        out.push(Element::leaf("percent-complete", p));
    }
    if !q.errors.is_empty() {
        out.push(Element::leaf("quota-errors", &q.errors));
    }
    out.push(Element::leaf("status", q.status.as_str()));
    out.push(Element::leaf(
        "substatus",
        match q.status {
            crate::model::QuotaStatus::Initializing => "scanning",
            crate::model::QuotaStatus::Resizing => "setup",
            _ => "none",
        },
    ));
    Ok(out)
}

fn pct(used: u64, limit: Option<u64>) -> String {
    match limit {
        Some(l) if l > 0 => (used.saturating_mul(100) / l).to_string(),
        _ => "-".to_string(),
    }
}

fn report_record(m: &Measured) -> Element {
    let r = &m.row;
    let used_kb = m.bytes.div_ceil(1024);
    let target = match r.quota_type {
        QuotaType::Tree => format!("/vol/{}/{}", r.volume, r.tree),
        _ => r.target.clone(),
    };
    let mut e = Element::new("quota")
        .with_leaf("disk-limit", kb(r.limits.disk))
        .with_leaf("disk-used", used_kb)
        .with_leaf("disk-used-pct-disk-limit", pct(used_kb, r.limits.disk))
        .with_leaf(
            "disk-used-pct-soft-disk-limit",
            pct(used_kb, r.limits.soft_disk),
        )
        .with_leaf("disk-used-pct-threshold", pct(used_kb, r.limits.threshold))
        .with_leaf("file-limit", kb(r.limits.files))
        .with_leaf("files-used", m.files)
        .with_leaf("files-used-pct-file-limit", pct(m.files, r.limits.files))
        .with_leaf(
            "files-used-pct-soft-file-limit",
            pct(m.files, r.limits.soft_files),
        )
        .with_leaf("quota-target", target)
        .with_leaf("quota-type", r.quota_type.as_str());
    if r.quota_type != QuotaType::Tree {
        // As the SVM's UNIX users and groups resolve the target.
        let users = r
            .who
            .iter()
            .map(|w| {
                Element::new("quota-user")
                    .with_leaf(
                        "quota-user-id",
                        w.id.map_or_else(|| "-".to_string(), |i| i.to_string()),
                    )
                    .with_leaf("quota-user-name", &w.name)
                    .with_leaf(
                        "quota-user-type",
                        if r.quota_type == QuotaType::User {
                            "uid"
                        } else {
                            "gid"
                        },
                    )
            })
            .collect();
        e.children
            .push(Element::new("quota-users").with_children(users));
    }
    e.with_leaf("soft-disk-limit", kb(r.limits.soft_disk))
        .with_leaf("soft-file-limit", kb(r.limits.soft_files))
        .with_leaf("threshold", kb(r.limits.threshold))
        .with_leaf("tree", &r.tree)
        .with_leaf("volume", &r.volume)
        .with_leaf("vserver", &r.svm)
}

fn report_iter(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let mut bare = el.clone();
    bare.children.retain(|c| c.name != "path");
    let req = IterRequest::parse(&bare, "quota")?;
    // `path`: /vol/<volume> or /vol/<volume>/<qtree>.
    let path = match text(el, "path").filter(|p| !p.is_empty()) {
        None => None,
        Some(p) => {
            let rest = p.strip_prefix("/vol/").ok_or_else(|| {
                ZapiError::invalid(format!(
                    "Invalid value specified for \"path\": \"{p}\" (/vol/<volume>[/<qtree>])"
                ))
            })?;
            let (v, q) = match rest.split_once('/') {
                Some((v, q)) => (v.to_string(), Some(q.to_string())),
                None => (rest.to_string(), None),
            };
            Some((v, q))
        }
    };
    let mut rows: Vec<(Vec<String>, Measured)> = ctx
        .sim
        .quota_report(ctx.svm.as_deref())
        .into_iter()
        .filter(|m| match &path {
            None => true,
            Some((v, q)) => m.row.volume == *v && q.as_ref().is_none_or(|q| m.row.tree == *q),
        })
        .map(|m| (report_key(&m.row), m))
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(req.page_tree(
        "quota-report-iter",
        rows,
        |(k, _)| k.clone(),
        |(_, m)| report_record(m),
    ))
}

fn report_key(r: &ReportRow) -> Vec<String> {
    vec![
        r.svm.clone(),
        r.volume.clone(),
        (r.quota_type as u8).to_string(),
        r.tree.clone(),
        r.target.clone(),
    ]
}
