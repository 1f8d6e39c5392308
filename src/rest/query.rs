//! ONTAP's REST query conventions, shared by every collection: `fields=` (a list, `*`, `**`, or
//! empty for the defaults), filters on any field with ONTAP's query syntax (`*`, `|`, `!`, `<`,
//! `>`, ranges; matched against every element of a list), `max_records` with a `_links.next`
//! cursor, `return_records`, and the `{records, num_records, _links}` envelope.
//!
//! Records are rendered whole and then projected, so a filter on any field works the same way as a
//! field selection; the keys (`uuid`, `name`, `id`, `index`) and `_links` are always returned.

use super::error::RestError;
use crate::pattern::value_matches;
use serde_json::{json, Map, Value};
use std::cmp::Ordering;

/// What a collection's records look like: the fields always returned, the fields returned when the
/// caller asks for none, the fields that order the records (and make the paging cursor), and every
/// field path a record may have (objects and leaves, dotted).
pub struct Schema {
    pub keys: &'static [&'static str],
    pub defaults: &'static [&'static str],
    pub order: &'static [&'static str],
    pub fields: &'static [&'static str],
}

impl Schema {
    /// Whether `path` names a field of this record, or part of one (`nas` and `nas.path` both do).
    pub fn knows(&self, path: &str) -> bool {
        self.fields.iter().any(|f| {
            *f == path
                || f.strip_prefix(path).is_some_and(|r| r.starts_with('.'))
                || path.strip_prefix(f).is_some_and(|r| r.starts_with('.'))
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fields {
    /// No `fields`, or an empty one.
    Default,
    /// `*` or `**`.
    All,
    List(Vec<String>),
}

/// A decoded query string. Control parameters are taken out as it is parsed; endpoint parameters
/// are taken by the handler; whatever remains is a filter (collections) or an error.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub raw: String,
    fields: Option<String>,
    pub max_records: Option<usize>,
    /// Whether `records` is returned: default true; POST answers carry the new record only when
    /// the caller asked (see `wants_records`).
    pub return_records: bool,
    /// `return_records` was given explicitly as true.
    records_asked: bool,
    pub return_timeout: Option<u64>,
    pub ignore_unknown_fields: bool,
    /// `order_by`: fields with their direction (`true`: descending), in the order given.
    order_by: Vec<(String, bool)>,
    start: Vec<(String, String)>,
    params: Vec<(String, String)>,
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Form decoding: `%XX` escapes and `+` for a space (Go's `url.Values.Encode` writes both).
pub fn decode(s: &str) -> Result<String, RestError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let (Some(h), Some(l)) = (
                    b.get(i + 1).copied().and_then(hex),
                    b.get(i + 2).copied().and_then(hex),
                ) else {
                    // Bytes, not a str slice: the escape may be followed by a multi-byte character.
                    let near = String::from_utf8_lossy(&b[i..b.len().min(i + 3)]);
                    return Err(RestError::new(
                        400,
                        super::error::INVALID_VALUE,
                        format!("The query string has a malformed escape near \"{near}\"."),
                    ));
                };
                out.push(h << 4 | l);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| {
        RestError::new(
            400,
            super::error::INVALID_VALUE,
            "The query string is not UTF-8.",
        )
    })
}

fn parse_bool(name: &str, v: &str) -> Result<bool, RestError> {
    // Any case: Python clients send their booleans as `True` / `False`.
    match v.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(RestError::invalid(
            name,
            format!("The value \"{v}\" is invalid for field \"{name}\" (true or false)."),
        )),
    }
}

fn parse_uint(name: &str, v: &str) -> Result<u64, RestError> {
    v.parse::<u64>().map_err(|_| {
        RestError::invalid(
            name,
            format!("The value \"{v}\" is invalid for field \"{name}\" (a non-negative integer)."),
        )
    })
}

/// One `order_by` item: `field`, `field asc` or `field desc`.
fn parse_order(item: &str) -> Result<(String, bool), RestError> {
    let mut words = item.split_whitespace();
    let field = words.next().unwrap_or_default().to_string();
    let desc = match words.next() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => return Err(bad_order(item)),
    };
    if words.next().is_some() {
        return Err(bad_order(item));
    }
    Ok((field, desc))
}

fn bad_order(item: &str) -> RestError {
    RestError::invalid(
        "order_by",
        format!("The value \"{item}\" is invalid for field \"order_by\" (<field> [asc|desc],...)."),
    )
}

impl Query {
    pub fn parse(raw: Option<&str>) -> Result<Query, RestError> {
        let raw = raw.unwrap_or("");
        let mut q = Query {
            raw: raw.to_string(),
            ..Query::default()
        };
        let mut given_records = false;
        for pair in raw.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let (k, v) = (decode(k)?, decode(v)?);
            match k.as_str() {
                "fields" => {
                    // Repeated `fields` parameters add up, as ONTAP reads them.
                    q.fields = Some(match q.fields.take() {
                        Some(f) if !f.is_empty() => format!("{f},{v}"),
                        _ => v,
                    })
                }
                "max_records" => {
                    let n = parse_uint(&k, &v)?;
                    // A page of nothing would lead to itself: a client following `next` would
                    // never stop.
                    if n == 0 {
                        return Err(RestError::invalid(
                            &k,
                            "The value \"0\" is invalid for field \"max_records\" (1 or more).",
                        ));
                    }
                    q.max_records = Some(usize::try_from(n).unwrap_or(usize::MAX));
                }
                "return_records" => {
                    let b = parse_bool(&k, &v)?;
                    q.return_records = b;
                    q.records_asked = b;
                    given_records = true;
                }
                "return_timeout" => {
                    let t = parse_uint(&k, &v)?;
                    if t > 120 {
                        return Err(RestError::invalid(
                            &k,
                            format!("The value \"{v}\" is invalid for field \"return_timeout\" (0 to 120)."),
                        ));
                    }
                    q.return_timeout = Some(t);
                }
                "ignore_unknown_fields" => q.ignore_unknown_fields = parse_bool(&k, &v)?,
                // Repeated (`order_by=a&order_by=b`, as generated clients send a list) or
                // comma-separated; each item is a field and an optional `asc`/`desc`.
                "order_by" => {
                    for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                        q.order_by.push(parse_order(item)?);
                    }
                }
                _ if k.starts_with("start.") => {
                    q.start.push((k["start.".len()..].to_string(), v));
                }
                _ => {
                    if q.params.iter().any(|(n, _)| *n == k) {
                        return Err(RestError::invalid(
                            &k,
                            format!("Field \"{k}\" was specified more than once."),
                        ));
                    }
                    q.params.push((k, v))
                }
            }
        }
        // `return_records` defaults to true for GET; POST callers ask for it explicitly.
        if !given_records {
            q.return_records = true;
        }
        Ok(q)
    }

    /// Whether the caller sent `return_records=true` explicitly (POST answers carry the new
    /// record only then).
    pub fn wants_records(&self) -> bool {
        self.records_asked
    }

    /// Take an endpoint parameter out of the filters.
    pub fn take(&mut self, name: &str) -> Option<String> {
        let i = self.params.iter().position(|(k, _)| k == name)?;
        Some(self.params.remove(i).1)
    }

    pub fn take_bool(&mut self, name: &str) -> Result<Option<bool>, RestError> {
        self.take(name).map(|v| parse_bool(name, &v)).transpose()
    }

    /// Whether any filter (a parameter no control name took) is left.
    pub fn has_filters(&self) -> bool {
        !self.params.is_empty()
    }

    /// Refuse parameters nobody took (endpoints without filters).
    pub fn finish(&self) -> Result<(), RestError> {
        match self.params.first() {
            Some((k, _)) => Err(RestError::unexpected(k)),
            None => Ok(()),
        }
    }

    /// The filters left, after checking each names a field of the record.
    pub fn filters(&self, schema: &Schema) -> Result<&[(String, String)], RestError> {
        for (k, _) in &self.params {
            if !schema.knows(k) {
                return Err(RestError::unexpected(k));
            }
        }
        Ok(&self.params)
    }

    /// A literal value of filter `name` (no wildcard or operator), for a direct lookup.
    pub fn literal(&self, name: &str) -> Option<&str> {
        let v = &self.params.iter().find(|(k, _)| k == name)?.1;
        if let Some(quoted) = unquote(v) {
            return Some(quoted);
        }
        let special = v.contains(['*', '|', '!', '<', '>']) || v.contains("..") || v.is_empty();
        (!special).then_some(v.as_str())
    }

    /// The requested fields, checked against the schema.
    pub fn fields(&self, schema: &Schema) -> Result<Fields, RestError> {
        let Some(f) = &self.fields else {
            return Ok(Fields::Default);
        };
        let names: Vec<&str> = f
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if names.is_empty() {
            return Ok(Fields::Default);
        }
        if names.iter().any(|n| *n == "*" || *n == "**") {
            return Ok(Fields::All);
        }
        let mut out = Vec::new();
        for n in names {
            if schema.knows(n) {
                out.push(n.to_string());
            } else if !self.ignore_unknown_fields {
                return Err(RestError::invalid(
                    "fields",
                    format!("The value \"{n}\" is invalid for field \"fields\" (<field,...>)"),
                ));
            }
        }
        Ok(Fields::List(out))
    }
}

/// Every value at a dotted path, descending into lists.
fn values_at<'a>(v: &'a Value, parts: &[&str], out: &mut Vec<&'a Value>) {
    match v {
        Value::Array(a) => a.iter().for_each(|e| values_at(e, parts, out)),
        Value::Object(m) if !parts.is_empty() => {
            if let Some(c) = m.get(parts[0]) {
                values_at(c, &parts[1..], out)
            }
        }
        _ if parts.is_empty() => out.push(v),
        _ => {}
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A value in double quotes is taken literally, query characters and all (Ansible quotes names).
fn unquote(pattern: &str) -> Option<&str> {
    pattern.strip_prefix('"')?.strip_suffix('"')
}

/// Whether a rendered record passes one filter.
pub fn matches(record: &Value, path: &str, pattern: &str) -> bool {
    let parts: Vec<&str> = path.split('.').collect();
    let mut found = Vec::new();
    values_at(record, &parts, &mut found);
    if found.is_empty() {
        return pattern.starts_with('!');
    }
    match unquote(pattern) {
        Some(literal) => found.iter().any(|v| text(v) == literal),
        None => found.iter().any(|v| value_matches(pattern, &text(v))),
    }
}

/// Copy the field at `parts` from `src` into `dst`, keeping the shape (lists stay lists).
fn project(src: &Value, parts: &[&str], dst: &mut Value) {
    match src {
        Value::Array(a) => {
            if !matches!(dst, Value::Array(d) if d.len() == a.len()) {
                *dst = Value::Array(vec![json!({}); a.len()]);
            }
            for (i, e) in a.iter().enumerate() {
                project(e, parts, &mut dst[i]);
            }
        }
        Value::Object(m) => {
            let Some(child) = m.get(parts[0]) else {
                return;
            };
            if !dst.is_object() {
                *dst = json!({});
            }
            let slot = dst
                .as_object_mut()
                .map(|d| d.entry(parts[0].to_string()).or_insert(Value::Null));
            let Some(slot) = slot else { return };
            if parts.len() == 1 {
                *slot = child.clone();
            } else {
                project(child, &parts[1..], slot);
            }
        }
        _ => {}
    }
}

/// The record reduced to what the caller asked for, plus keys and `_links`.
pub fn select(record: &Value, fields: &Fields, schema: &Schema) -> Value {
    let wanted: Vec<&str> = match fields {
        Fields::All => return record.clone(),
        Fields::Default => schema.defaults.to_vec(),
        Fields::List(l) => l.iter().map(String::as_str).collect(),
    };
    let mut out = Value::Object(Map::new());
    for f in schema.keys.iter().copied().chain(wanted).chain(["_links"]) {
        let parts: Vec<&str> = f.split('.').collect();
        project(record, &parts, &mut out);
    }
    out
}

/// Compare cursor keys: numerically where both sides are numbers (rule indexes, ids).
fn cmp_keys(a: &[String], b: &[String]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let o = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(m), Ok(n)) => m.cmp(&n),
            _ => x.cmp(y),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

fn order_key(record: &Value, schema: &Schema) -> Vec<String> {
    schema
        .order
        .iter()
        .map(|p| {
            let parts: Vec<&str> = p.split('.').collect();
            let mut v = Vec::new();
            values_at(record, &parts, &mut v);
            v.first().map(|v| text(v)).unwrap_or_default()
        })
        .collect()
}

/// Percent-encode a query value (unreserved characters and `*` stay as they are).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~*".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The record as the caller gets it: the asked fields, keys and `_links`, and the fields used as
/// filters (Trident re-checks the clone-parent filters).
fn shown(r: &Value, fields: &Fields, schema: &Schema, filters: &[(String, String)]) -> Value {
    let mut rec = select(r, fields, schema);
    if *fields != Fields::All {
        for (k, _) in filters {
            let parts: Vec<&str> = k.split('.').collect();
            project(r, &parts, &mut rec);
        }
    }
    rec
}

/// Answer a collection GET: filter, order, page and project `records` (which must arrive in the
/// schema's order), and build the envelope. With `order_by` the matching records are sorted
/// first (see [`ordered`]).
pub fn collection(
    q: &Query,
    path: &str,
    schema: &Schema,
    records: impl IntoIterator<Item = Value>,
) -> Result<Value, RestError> {
    let filters = q.filters(schema)?;
    let fields = q.fields(schema)?;
    if !q.order_by.is_empty() {
        return ordered(q, path, schema, filters, &fields, records);
    }
    let cursor: Option<Vec<String>> = (!q.start.is_empty()).then(|| {
        schema
            .order
            .iter()
            .map(|p| {
                q.start
                    .iter()
                    .find(|(k, _)| k == p)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            })
            .collect()
    });
    for (k, _) in &q.start {
        if !schema.order.contains(&k.as_str()) {
            return Err(RestError::unexpected(&format!("start.{k}")));
        }
    }
    let limit = q.max_records.unwrap_or(usize::MAX);
    let mut out = Vec::new();
    let mut next: Option<Vec<String>> = None;
    let mut last: Vec<String> = Vec::new();
    for r in records {
        if let Some(c) = &cursor {
            if cmp_keys(&order_key(&r, schema), c) != Ordering::Greater {
                continue;
            }
        }
        if !filters.iter().all(|(k, p)| matches(&r, k, p)) {
            continue;
        }
        if out.len() >= limit {
            next = Some(std::mem::take(&mut last));
            break;
        }
        last = order_key(&r, schema);
        out.push(shown(&r, &fields, schema, filters));
    }
    let next = next.map(|key| schema.order.iter().copied().zip(key).collect());
    Ok(envelope(q, path, out, next))
}

/// `{num_records, records, _links}`; `next` holds the `start.<field>` values of the next page's
/// cursor (the last record returned), when there is one.
fn envelope(q: &Query, path: &str, out: Vec<Value>, next: Option<Vec<(&str, String)>>) -> Value {
    let mut links = json!({"self": {"href": href(path, &q.raw)}});
    if let Some(key) = next {
        let mut params: Vec<String> = q
            .raw
            .split('&')
            .filter(|p| !p.is_empty() && !p.starts_with("start.") && !p.starts_with("max_records="))
            .map(str::to_string)
            .collect();
        for (p, v) in key {
            params.push(format!("start.{p}={}", encode(&v)));
        }
        if let Some(limit) = q.max_records {
            params.push(format!("max_records={limit}"));
        }
        links["next"] = json!({"href": href(path, &params.join("&"))});
    }
    let n = out.len();
    let mut body = json!({"num_records": n, "_links": links});
    if q.return_records {
        body["records"] = Value::Array(out);
    }
    body
}

/// One field's value in a record, taken once per record for sorting: numbers compare as numbers,
/// everything else as text; a record without the field sorts before those with it.
#[derive(Debug, Clone, PartialEq)]
enum SortVal {
    Missing,
    Num(f64),
    Text(String),
}

fn sort_val(record: &Value, parts: &[&str]) -> SortVal {
    let mut found = Vec::new();
    values_at(record, parts, &mut found);
    match found.first() {
        None | Some(Value::Null) => SortVal::Missing,
        Some(Value::Number(n)) => SortVal::Num(n.as_f64().unwrap_or(0.0)),
        Some(v) => SortVal::Text(text(v)),
    }
}

fn cmp_val(a: &SortVal, b: &SortVal) -> Ordering {
    match (a, b) {
        (SortVal::Missing, SortVal::Missing) => Ordering::Equal,
        (SortVal::Missing, _) => Ordering::Less,
        (_, SortVal::Missing) => Ordering::Greater,
        (SortVal::Num(x), SortVal::Num(y)) => x.total_cmp(y),
        (SortVal::Text(x), SortVal::Text(y)) => x.cmp(y),
        (SortVal::Num(_), SortVal::Text(_)) => Ordering::Less,
        (SortVal::Text(_), SortVal::Num(_)) => Ordering::Greater,
    }
}

/// A value compared with a `start.<field>` cursor value (text, as the next link carries it).
fn cmp_cursor(v: &SortVal, c: &str) -> Ordering {
    match v {
        SortVal::Missing if c.is_empty() => Ordering::Equal,
        SortVal::Missing => Ordering::Less,
        SortVal::Num(x) => match c.parse::<f64>() {
            Ok(y) => x.total_cmp(&y),
            Err(_) if c.is_empty() => Ordering::Greater,
            Err(_) => Ordering::Less,
        },
        SortVal::Text(s) => s.as_str().cmp(c),
    }
}

/// How a cursor writes a value.
fn cursor_text(v: &SortVal) -> String {
    match v {
        SortVal::Missing => String::new(),
        SortVal::Num(x) => x.to_string(),
        SortVal::Text(s) => s.clone(),
    }
}

/// The sort of an `order_by` request: the asked fields (each ascending or descending), then the
/// collection's own order fields, so that ties keep the natural order and every record has a
/// distinct place for the paging cursor.
struct SortKeys<'a> {
    fields: Vec<(&'a str, bool)>,
    parts: Vec<Vec<&'a str>>,
}

impl<'a> SortKeys<'a> {
    fn new(q: &'a Query, schema: &'a Schema) -> Result<SortKeys<'a>, RestError> {
        let mut fields: Vec<(&str, bool)> = Vec::new();
        for (f, desc) in &q.order_by {
            if !schema.knows(f) || f == "_links" {
                return Err(RestError::invalid(
                    "order_by",
                    format!("The value \"{f}\" is invalid for field \"order_by\": the record has no such field."),
                ));
            }
            if !fields.iter().any(|(k, _)| k == f) {
                fields.push((f.as_str(), *desc));
            }
        }
        for f in schema.order {
            if !fields.iter().any(|(k, _)| k == f) {
                fields.push((f, false));
            }
        }
        let parts = fields.iter().map(|(f, _)| f.split('.').collect()).collect();
        Ok(SortKeys { fields, parts })
    }

    fn key(&self, record: &Value) -> Vec<SortVal> {
        self.parts.iter().map(|p| sort_val(record, p)).collect()
    }

    fn cmp(&self, a: &[SortVal], b: &[SortVal]) -> Ordering {
        for ((x, y), (_, desc)) in a.iter().zip(b).zip(&self.fields) {
            let o = cmp_val(x, y);
            if o != Ordering::Equal {
                return if *desc { o.reverse() } else { o };
            }
        }
        Ordering::Equal
    }

    fn after(&self, key: &[SortVal], cursor: &[&str]) -> bool {
        for ((v, c), (_, desc)) in key.iter().zip(cursor).zip(&self.fields) {
            let o = cmp_cursor(v, c);
            if o != Ordering::Equal {
                return (if *desc { o.reverse() } else { o }) == Ordering::Greater;
            }
        }
        false
    }
}

/// A collection GET with `order_by`: the matching records are keyed once each, sorted once (a
/// stable sort), then paged; the next link carries the `order_by` and a cursor on every sort
/// field.
fn ordered(
    q: &Query,
    path: &str,
    schema: &Schema,
    filters: &[(String, String)],
    fields: &Fields,
    records: impl IntoIterator<Item = Value>,
) -> Result<Value, RestError> {
    let keys = SortKeys::new(q, schema)?;
    for (k, _) in &q.start {
        if !keys.fields.iter().any(|(f, _)| f == k) {
            return Err(RestError::unexpected(&format!("start.{k}")));
        }
    }
    let cursor: Option<Vec<&str>> = (!q.start.is_empty()).then(|| {
        keys.fields
            .iter()
            .map(|(f, _)| {
                q.start
                    .iter()
                    .find(|(k, _)| k == f)
                    .map(|(_, v)| v.as_str())
                    .unwrap_or("")
            })
            .collect()
    });
    let mut rows: Vec<(Vec<SortVal>, Value)> = Vec::new();
    for r in records {
        if !filters.iter().all(|(k, p)| matches(&r, k, p)) {
            continue;
        }
        let key = keys.key(&r);
        if cursor.as_ref().is_some_and(|c| !keys.after(&key, c)) {
            continue;
        }
        rows.push((key, shown(&r, fields, schema, filters)));
    }
    let limit = q.max_records.unwrap_or(usize::MAX);
    let more = rows.len() > limit;
    if more {
        // Only the page is wanted in order: select its records first (every record's key is
        // distinct, the collection's own order fields being among them), then sort the page.
        rows.select_nth_unstable_by(limit - 1, |a, b| keys.cmp(&a.0, &b.0));
        rows.truncate(limit);
    }
    rows.sort_by(|a, b| keys.cmp(&a.0, &b.0));
    let next = more.then(|| {
        let last = &rows[limit - 1].0;
        keys.fields
            .iter()
            .zip(last)
            .map(|((f, _), v)| (*f, cursor_text(v)))
            .collect()
    });
    let out = rows.into_iter().map(|(_, r)| r).collect();
    Ok(envelope(q, path, out, next))
}

pub fn href(path: &str, query: &str) -> String {
    if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{query}")
    }
}

/// `_links.self` for one object.
pub fn links(href: String) -> Value {
    json!({"self": {"href": href}})
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Schema = Schema {
        keys: &["uuid", "name"],
        defaults: &[],
        order: &["svm.name", "name"],
        fields: &[
            "uuid",
            "name",
            "svm",
            "svm.name",
            "nas",
            "nas.path",
            "aggregates",
            "aggregates.name",
            "size",
            "_links",
        ],
    };

    fn rec(svm: &str, name: &str, size: u64) -> Value {
        json!({"uuid": format!("u-{name}"), "name": name, "svm": {"name": svm, "uuid": "s"},
               "nas": {"path": format!("/{name}")}, "aggregates": [{"name": "a1", "uuid": "x"}],
               "size": size, "_links": {"self": {"href": format!("/api/v/{name}")}}})
    }

    #[test]
    fn fields_filters_and_paging() {
        let recs = || vec![rec("s1", "a", 10), rec("s1", "b", 20), rec("s1", "c", 30)];
        let q = Query::parse(Some(
            "fields=nas.path,aggregates.name&size=%3E15&max_records=1",
        ))
        .unwrap();
        let body = collection(&q, "/api/v", &S, recs()).unwrap();
        assert_eq!(body["num_records"], 1);
        let r = &body["records"][0];
        assert_eq!(r["name"], "b");
        assert_eq!(r["nas"]["path"], "/b");
        assert_eq!(r["aggregates"][0]["name"], "a1");
        assert!(r["aggregates"][0].get("uuid").is_none());
        assert_eq!(r["size"], 20, "a filter's field comes back");
        assert!(r.get("svm").is_none());
        let next = body["_links"]["next"]["href"].as_str().unwrap();
        assert!(next.contains("start.name=b"), "{next}");
        let q2 = Query::parse(next.split_once('?').map(|x| x.1)).unwrap();
        let body2 = collection(&q2, "/api/v", &S, recs()).unwrap();
        assert_eq!(body2["records"][0]["name"], "c");
        assert!(body2["_links"].get("next").is_none());
    }

    #[test]
    fn bad_queries_are_refused() {
        let q = Query::parse(Some("fields=nope")).unwrap();
        assert_eq!(q.fields(&S).unwrap_err().code, 262197);
        let q = Query::parse(Some("fields=nope&ignore_unknown_fields=true")).unwrap();
        assert_eq!(q.fields(&S).unwrap(), Fields::List(vec![]));
        let q = Query::parse(Some("colour=red")).unwrap();
        assert_eq!(collection(&q, "/", &S, vec![]).unwrap_err().code, 262179);
        assert!(Query::parse(Some("max_records=x")).is_err());
        assert!(Query::parse(Some("max_records=0")).is_err());
        // A malformed escape before a multi-byte character is refused, not a panic.
        assert_eq!(
            Query::parse(Some("name=%z\u{e9}")).unwrap_err().code,
            262197
        );
        assert!(Query::parse(Some("return%5Frecords=true"))
            .unwrap()
            .wants_records());
        let q = Query::parse(Some("return_records=false")).unwrap();
        assert!(!q.return_records && !q.wants_records());
        let q = Query::parse(Some("fields=name")).unwrap();
        assert!(q.return_records && !q.wants_records());
        assert!(Query::parse(Some("name=%zz")).is_err());
        let q = Query::parse(Some("fields=&name=a%2Ab")).unwrap();
        assert_eq!(q.fields(&S).unwrap(), Fields::Default);
        assert_eq!(q.literal("name"), None);
    }

    #[test]
    fn order_by_sorts_before_paging() {
        let recs = || {
            vec![
                rec("s1", "a", 30),
                rec("s1", "b", 5),
                rec("s2", "a", 100),
                rec("s2", "c", 5),
            ]
        };
        let names = |body: &Value| -> Vec<String> {
            body["records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    format!(
                        "{}/{}",
                        r["svm"]["name"].as_str().unwrap_or("-"),
                        r["name"].as_str().unwrap()
                    )
                })
                .collect()
        };
        // Numbers sort as numbers (5 < 30 < 100, not "100" < "30"); ties keep the natural order.
        let q = Query::parse(Some("order_by=size&fields=svm.name")).unwrap();
        let body = collection(&q, "/api/v", &S, recs()).unwrap();
        assert_eq!(names(&body), ["s1/b", "s2/c", "s1/a", "s2/a"]);
        let q = Query::parse(Some("order_by=size%20desc,name&fields=svm.name")).unwrap();
        let body = collection(&q, "/api/v", &S, recs()).unwrap();
        assert_eq!(names(&body), ["s2/a", "s1/a", "s1/b", "s2/c"]);
        // Several fields, repeated parameters, a nested field.
        let q = Query::parse(Some(
            "order_by=name+desc&order_by=svm.name+desc&fields=svm.name",
        ))
        .unwrap();
        let body = collection(&q, "/api/v", &S, recs()).unwrap();
        assert_eq!(names(&body), ["s2/c", "s1/b", "s2/a", "s1/a"]);
        // Paging follows the order; the next link carries it.
        let q = Query::parse(Some("order_by=size&max_records=1&fields=svm.name")).unwrap();
        let mut body = collection(&q, "/api/v", &S, recs()).unwrap();
        let mut seen = names(&body);
        while let Some(next) = body["_links"]["next"]["href"].as_str() {
            assert!(next.contains("order_by=size"), "{next}");
            let q = Query::parse(next.split_once('?').map(|x| x.1)).unwrap();
            body = collection(&q, "/api/v", &S, recs()).unwrap();
            seen.extend(names(&body));
        }
        assert_eq!(seen, ["s1/b", "s2/c", "s1/a", "s2/a"]);
        // With a filter.
        let q = Query::parse(Some("order_by=size+desc&svm.name=s1&fields=svm.name")).unwrap();
        let body = collection(&q, "/api/v", &S, recs()).unwrap();
        assert_eq!(names(&body), ["s1/a", "s1/b"]);
    }

    #[test]
    fn bad_order_by_is_refused() {
        for bad in ["order_by=colour", "order_by=_links"] {
            let q = Query::parse(Some(bad)).unwrap();
            let e = collection(&q, "/", &S, vec![rec("s1", "a", 1)]).unwrap_err();
            assert_eq!((e.status, e.code), (400, 262197), "{bad}");
            assert_eq!(e.target.as_deref(), Some("order_by"));
        }
        for bad in ["order_by=name+up", "order_by=name+asc+desc"] {
            let e = Query::parse(Some(bad)).unwrap_err();
            assert_eq!(e.code, 262197, "{bad}");
        }
        let q = Query::parse(Some("order_by=size&start.colour=1")).unwrap();
        assert_eq!(collection(&q, "/", &S, vec![]).unwrap_err().code, 262179);
    }

    #[test]
    fn list_filters_match_any_element() {
        let r = json!({"services": ["data_core", "data_nfs"]});
        assert!(matches(&r, "services", "data_nfs"));
        assert!(!matches(&r, "services", "data_cifs"));
        assert!(matches(&r, "absent", "!x"));
    }
}
