//! The ZAPI surface: one file per API family, each contributing a table of [`Api`] entries.
//!
//! An entry declares where the API exists (cluster, SVM or both), whether it writes, and its inputs
//! with their types, so privilege checks and "Missing input" / "Extra input" / type errors are
//! decided once here, before any handler runs.

pub mod aggr;
pub mod clone;
pub mod dns;
pub mod ems;
pub mod export;
pub mod identity;
pub mod job;
pub mod license;
pub mod name_mapping;
pub mod net;
pub mod nfs;
pub mod qtree;
pub mod quota;
pub mod security;
pub mod sis;
pub mod snapmirror;
pub mod snapshot;
pub mod system;
pub mod volume;
pub mod vserver;

use super::errno::ZapiError;
use super::xml::Element;
use crate::model::User;
use crate::sim::Sim;
use std::collections::HashMap;
use std::sync::OnceLock;

/// What a handler gets: the model, who is calling, and the SVM the call acts on.
pub struct Ctx<'a> {
    /// Shared, so work that ends later (a quota job) can hold the simulator.
    pub sim: &'a std::sync::Arc<Sim>,
    pub user: &'a User,
    /// The API being run (its access check is repeated for calls that only sometimes write).
    pub api: &'static Api,
    /// The tunnel target or the user's own SVM; None for cluster context.
    pub svm: Option<String>,
}

pub type Handler = fn(&Ctx, &Element) -> Result<Vec<Element>, ZapiError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// Where an API is exposed: cluster-only APIs are unknown in an SVM context, as on ONTAP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposure {
    Cluster,
    Svm,
    Both,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Str,
    Int,
    Bool,
    /// A structured value (a template, a list).
    Elem,
}

#[derive(Debug, Clone, Copy)]
pub struct Input {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
}

pub const fn req(name: &'static str, kind: Kind) -> Input {
    Input {
        name,
        kind,
        required: true,
    }
}

pub const fn opt(name: &'static str, kind: Kind) -> Input {
    Input {
        name,
        kind,
        required: false,
    }
}

/// The inputs every `*-get-iter` takes.
pub const ITER_INPUTS: &[Input] = &[
    opt("max-records", Kind::Int),
    opt("tag", Kind::Str),
    opt("query", Kind::Elem),
    opt("desired-attributes", Kind::Elem),
];

pub struct Api {
    pub name: &'static str,
    pub access: Access,
    pub exposure: Exposure,
    pub inputs: &'static [Input],
    pub handler: Handler,
}

/// Every API family's table.
pub static FAMILIES: &[&[Api]] = &[
    system::APIS,
    vserver::APIS,
    ems::APIS,
    aggr::APIS,
    net::APIS,
    volume::APIS,
    clone::APIS,
    sis::APIS,
    snapshot::APIS,
    export::APIS,
    qtree::APIS,
    quota::APIS,
    snapmirror::APIS,
    job::APIS,
    nfs::APIS,
    dns::APIS,
    identity::APIS,
    license::APIS,
    security::APIS,
    name_mapping::APIS,
];

fn registry() -> &'static HashMap<&'static str, &'static Api> {
    static REG: OnceLock<HashMap<&'static str, &'static Api>> = OnceLock::new();
    REG.get_or_init(|| {
        let mut m = HashMap::new();
        for family in FAMILIES {
            for api in *family {
                m.insert(api.name, api);
            }
        }
        m
    })
}

pub fn lookup(name: &str) -> Option<&'static Api> {
    registry().get(name).copied()
}

/// Check the request element against the declared inputs: unknown, missing and mistyped values.
pub fn validate_inputs(api: &Api, el: &Element) -> Result<(), ZapiError> {
    for c in &el.children {
        let Some(spec) = api.inputs.iter().find(|i| i.name == c.name) else {
            return Err(ZapiError::invalid(format!("Extra input: {}", c.name)));
        };
        check_kind(spec, c)?;
    }
    if !el.text.trim().is_empty() {
        return Err(ZapiError::invalid(format!(
            "Invalid input: <{}> holds text \"{}\"; inputs are child elements",
            api.name,
            el.text.trim()
        )));
    }
    for spec in api.inputs.iter().filter(|i| i.required) {
        if el.child(spec.name).is_none() {
            return Err(ZapiError::invalid(format!("Missing input: {}", spec.name)));
        }
    }
    Ok(())
}

fn check_kind(spec: &Input, c: &Element) -> Result<(), ZapiError> {
    let bad = |what: &str| {
        Err(ZapiError::invalid(format!(
            "Invalid value specified for \"{}\": {what}",
            spec.name
        )))
    };
    if spec.kind != Kind::Elem && !c.children.is_empty() {
        return bad("expected a value, got elements");
    }
    let v = c.text.trim();
    match spec.kind {
        Kind::Str => Ok(()),
        Kind::Int if v.parse::<i64>().is_ok() || v.parse::<u64>().is_ok() => Ok(()),
        Kind::Int => bad(&format!("\"{v}\" is not an integer")),
        Kind::Bool if parse_bool(v).is_some() => Ok(()),
        Kind::Bool => bad(&format!("\"{v}\" is not a boolean (true or false)")),
        Kind::Elem if c.children.is_empty() && !v.is_empty() => {
            bad(&format!("expected elements, got the value \"{v}\""))
        }
        Kind::Elem => Ok(()),
    }
}

pub fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// Typed accessors for validated inputs.
pub fn text<'a>(el: &'a Element, name: &str) -> Option<&'a str> {
    el.child_text(name).map(str::trim)
}

pub fn int(el: &Element, name: &str) -> Option<i64> {
    text(el, name).and_then(|v| v.parse().ok())
}

pub fn boolean(el: &Element, name: &str) -> Option<bool> {
    text(el, name).and_then(parse_bool)
}

/// A required text input (presence was checked by [`validate_inputs`]).
pub fn need<'a>(el: &'a Element, name: &str) -> &'a str {
    text(el, name).unwrap_or_default()
}

/// A non-negative integer input that must fit `T`.
pub fn uint<T: TryFrom<i64>>(el: &Element, name: &str) -> Result<Option<T>, ZapiError> {
    match int(el, name) {
        None => Ok(None),
        Some(n) => T::try_from(n).map(Some).map_err(|_| {
            ZapiError::invalid(format!(
                "Invalid value specified for \"{name}\": {n} is out of range"
            ))
        }),
    }
}

/// The values of a list input (`<protocol><access-protocol>nfs</access-protocol></protocol>`).
pub fn list(el: &Element, name: &str) -> Option<Vec<String>> {
    el.child(name).map(|l| {
        l.children
            .iter()
            .map(|c| c.text.trim().to_string())
            .collect()
    })
}

impl Ctx<'_> {
    /// For APIs that only sometimes write (`volume-size` with a new size): the role must grant
    /// writing the API's command. Takes the cluster the handler holds (inside an operation).
    pub fn require_write(&self, c: &crate::model::Cluster) -> Result<(), ZapiError> {
        crate::zapi::authorize(c, self.user, self.api, true)
    }
    /// The SVM of an SVM-exposed API (the dispatcher guarantees one).
    pub fn svm(&self) -> Result<&str, ZapiError> {
        self.svm.as_deref().ok_or_else(|| {
            ZapiError::new(
                crate::zapi::errno::EAPINOTFOUND,
                "This API needs a Vserver context: tunnel with the vfiler attribute",
            )
        })
    }
}

/// The `result-*` outputs of an asynchronous API whose job has been recorded.
pub fn async_result(job_id: u64) -> Vec<Element> {
    vec![
        Element::leaf("result-error-code", 0),
        Element::leaf("result-error-message", ""),
        Element::leaf("result-jobid", job_id),
        Element::leaf("result-status", "in_progress"),
    ]
}

/// Sizes as ONTAP prints them: the largest unit that divides exactly (`1g`, `512m`), else bytes.
pub fn format_size(bytes: u64) -> String {
    for (unit, shift) in [("t", 40), ("g", 30), ("m", 20), ("k", 10)] {
        if bytes >= 1 << shift && bytes.is_multiple_of(1u64 << shift) {
            return format!("{}{unit}", bytes >> shift);
        }
    }
    bytes.to_string()
}

/// Parse a size input: bytes or a number with ONTAP's binary units (`1g`, `500m`).
pub fn parse_size(name: &str, v: &str) -> Result<u64, ZapiError> {
    crate::config::parse_size(v)
        .map_err(|e| ZapiError::invalid(format!("Invalid value specified for \"{name}\": {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_api_is_registered_once_with_sane_inputs() {
        let mut n = 0;
        for family in FAMILIES {
            for api in *family {
                n += 1;
                assert!(std::ptr::eq(lookup(api.name).unwrap(), api), "{}", api.name);
                let mut names: Vec<_> = api.inputs.iter().map(|i| i.name).collect();
                names.sort();
                names.dedup();
                assert_eq!(names.len(), api.inputs.len(), "{}", api.name);
            }
        }
        assert_eq!(registry().len(), n);
    }

    #[test]
    fn input_validation() {
        let api = lookup("ems-autosupport-log").unwrap();
        let el = Element::new("ems-autosupport-log");
        assert_eq!(
            validate_inputs(api, &el).unwrap_err().reason,
            "Missing input: app-version"
        );
        let el = Element::new("system-get-version").with_leaf("bogus", 1);
        let api = lookup("system-get-version").unwrap();
        assert_eq!(
            validate_inputs(api, &el).unwrap_err().reason,
            "Extra input: bogus"
        );
        let api = lookup("vserver-get-iter").unwrap();
        let el = Element::new("vserver-get-iter").with_leaf("max-records", "x");
        assert!(validate_inputs(api, &el)
            .unwrap_err()
            .reason
            .contains("not an integer"));
    }
}
