//! The ZAPI surface: one file per API family, each contributing a table of [`Api`] entries.
//!
//! An entry declares where the API exists (cluster, SVM or both), whether it writes, and its inputs
//! with their types, so privilege checks and "Missing input" / "Extra input" / type errors are
//! decided once here, before any handler runs.

pub mod ems;
pub mod system;
pub mod vserver;

use super::errno::ZapiError;
use super::xml::Element;
use crate::model::{Sim, User};
use std::collections::HashMap;
use std::sync::OnceLock;

/// What a handler gets: the model, who is calling, and the SVM the call acts on.
pub struct Ctx<'a> {
    pub sim: &'a Sim,
    pub user: &'a User,
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

fn registry() -> &'static HashMap<&'static str, &'static Api> {
    static REG: OnceLock<HashMap<&'static str, &'static Api>> = OnceLock::new();
    REG.get_or_init(|| {
        let mut m = HashMap::new();
        for family in [system::APIS, vserver::APIS, ems::APIS] {
            for api in family {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_api_is_registered_once_with_sane_inputs() {
        let mut n = 0;
        for family in [system::APIS, vserver::APIS, ems::APIS] {
            for api in family {
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
