//! A JSON request body read field by field: each read checks the type, and `finish` refuses any
//! field no handler read, so a misspelt or unsupported field is an error, never silently ignored.

use super::error::{self, RestError};
use serde_json::{Map, Value};
use std::cell::RefCell;

#[derive(Debug, Default)]
pub struct Body {
    value: Option<Map<String, Value>>,
    used: RefCell<Vec<String>>,
}

fn get<'a>(m: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut v = m.get(parts.next()?)?;
    for p in parts {
        v = v.as_object()?.get(p)?;
    }
    Some(v)
}

fn wrong(path: &str, v: &Value, want: &str) -> RestError {
    RestError::invalid(
        path,
        format!(
            "The value \"{}\" is invalid for field \"{path}\" ({want}).",
            text(v)
        ),
    )
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Turn dotted keys (`{"svm.name": "s"}`, as Ansible sends them) into nested objects, as ONTAP
/// reads them; a field given twice is refused.
fn expand(m: Map<String, Value>) -> Result<Map<String, Value>, RestError> {
    let mut out = Map::new();
    for (k, v) in m {
        let v = match v {
            Value::Object(o) => Value::Object(expand(o)?),
            other => other,
        };
        let parts: Vec<&str> = k.split('.').collect();
        let mut slot = &mut out;
        for p in &parts[..parts.len() - 1] {
            let e = slot
                .entry(p.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            slot = e.as_object_mut().ok_or_else(|| twice(&k))?;
        }
        let last = parts[parts.len() - 1].to_string();
        match (slot.get_mut(&last), v) {
            (None, v) => {
                slot.insert(last, v);
            }
            (Some(Value::Object(have)), Value::Object(more)) => {
                for (mk, mv) in more {
                    if have.insert(mk.clone(), mv).is_some() {
                        return Err(twice(&format!("{k}.{mk}")));
                    }
                }
            }
            _ => return Err(twice(&k)),
        }
    }
    Ok(out)
}

fn twice(field: &str) -> RestError {
    RestError::invalid(
        field,
        format!("Field \"{field}\" was specified more than once."),
    )
}

/// Leaf paths of an object (lists and scalars are leaves).
fn leaves(prefix: &str, m: &Map<String, Value>, out: &mut Vec<String>) {
    for (k, v) in m {
        let p = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            Value::Object(o) if !o.is_empty() => leaves(&p, o, out),
            _ => out.push(p),
        }
    }
}

impl Body {
    pub fn parse(raw: &[u8]) -> Result<Body, RestError> {
        if raw.iter().all(u8::is_ascii_whitespace) {
            return Ok(Body::default());
        }
        let v: Value = serde_json::from_slice(raw).map_err(|e| {
            RestError::new(
                400,
                error::INVALID_JSON,
                format!("The request body is not valid JSON: {e}."),
            )
        })?;
        match v {
            Value::Object(m) => Ok(Body {
                value: Some(expand(m)?),
                used: RefCell::default(),
            }),
            _ => Err(RestError::new(
                400,
                error::INVALID_JSON,
                "The request body must be a JSON object.",
            )),
        }
    }

    /// The same body, unread (for applying one body to several records).
    pub fn again(&self) -> Body {
        Body {
            value: self.value.clone(),
            used: RefCell::default(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.value.as_ref().is_none_or(Map::is_empty)
    }

    /// The raw value at `path`, marked as read. JSON `null` counts as absent.
    pub fn value(&self, path: &str) -> Option<&Value> {
        self.used.borrow_mut().push(path.to_string());
        self.value
            .as_ref()
            .and_then(|m| get(m, path))
            .filter(|v| !v.is_null())
    }

    pub fn has(&self, path: &str) -> bool {
        self.value.as_ref().and_then(|m| get(m, path)).is_some()
    }

    pub fn str(&self, path: &str) -> Result<Option<String>, RestError> {
        match self.value(path) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(wrong(path, v, "a string")),
        }
    }

    pub fn req_str(&self, path: &str) -> Result<String, RestError> {
        self.str(path)?.ok_or_else(|| RestError::missing(path))
    }

    pub fn u64(&self, path: &str) -> Result<Option<u64>, RestError> {
        match self.value(path) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_u64()
                .map(Some)
                .ok_or_else(|| wrong(path, &Value::Number(n.clone()), "a non-negative integer")),
            Some(v) => Err(wrong(path, v, "a non-negative integer")),
        }
    }

    pub fn bool(&self, path: &str) -> Result<Option<bool>, RestError> {
        match self.value(path) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(wrong(path, v, "true or false")),
        }
    }

    /// A list of strings.
    pub fn strs(&self, path: &str) -> Result<Option<Vec<String>>, RestError> {
        match self.value(path) {
            None => Ok(None),
            Some(Value::Array(a)) => a
                .iter()
                .map(|e| match e {
                    Value::String(s) => Ok(s.clone()),
                    v => Err(wrong(path, v, "a list of strings")),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(v) => Err(wrong(path, v, "a list of strings")),
        }
    }

    /// A list of objects (each read whole: `[{"match": ...}]`, `[{"name": ...}]`).
    pub fn objects(&self, path: &str) -> Result<Option<Vec<Map<String, Value>>>, RestError> {
        match self.value(path) {
            None => Ok(None),
            Some(Value::Array(a)) => a
                .iter()
                .map(|e| match e {
                    Value::Object(o) => Ok(o.clone()),
                    v => Err(wrong(path, v, "a list of objects")),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(v) => Err(wrong(path, v, "a list of objects")),
        }
    }

    /// Refuse fields that no handler read (`_links` and other read-only decorations included).
    pub fn finish(&self) -> Result<(), RestError> {
        let Some(m) = &self.value else {
            return Ok(());
        };
        let mut all = Vec::new();
        leaves("", m, &mut all);
        let used = self.used.borrow();
        for p in all {
            let covered = used.iter().any(|u| {
                *u == p
                    || p.strip_prefix(u.as_str())
                        .is_some_and(|r| r.starts_with('.'))
            });
            if !covered {
                return Err(RestError::unexpected(&p));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_reads_and_leftovers() {
        let b =
            Body::parse(br#"{"name":"v","size":10,"nas":{"path":"/v","x":1},"svm":{"name":"s"}}"#)
                .unwrap();
        assert_eq!(b.str("name").unwrap().as_deref(), Some("v"));
        assert_eq!(b.u64("size").unwrap(), Some(10));
        assert_eq!(b.str("nas.path").unwrap().as_deref(), Some("/v"));
        assert!(b.str("size").is_err());
        b.value("svm");
        assert_eq!(b.finish().unwrap_err().target.as_deref(), Some("nas.x"));
        assert!(Body::parse(b"[1]").is_err());
        assert!(Body::parse(b"{").is_err());
        assert!(Body::parse(b"").unwrap().is_empty());
        let b = Body::parse(br#"{"svm.name":"s","nas":{"path":"/p"},"nas.uid":3}"#).unwrap();
        assert_eq!(b.str("svm.name").unwrap().as_deref(), Some("s"));
        assert_eq!(b.u64("nas.uid").unwrap(), Some(3));
        assert_eq!(b.str("nas.path").unwrap().as_deref(), Some("/p"));
        assert!(Body::parse(br#"{"nas.path":"/a","nas":{"path":"/b"}}"#).is_err());
    }
}
