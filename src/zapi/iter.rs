//! The generic `*-get-iter` engine every iterator API uses: `query` matching with ONTAP's query
//! syntax, `max-records` / `tag` / `next-tag` paging, `desired-attributes` pruning, `num-records`.
//!
//! Records arrive in key order and are rendered lazily, so a page costs the records it skips by key
//! plus the ones it renders, not the whole table. The tag names the key of the last record returned
//! (shaped like ONTAP's `<api-key-td><key-0>..</key-0></api-key-td>` tags), so paging stays correct
//! when records are created or deleted between pages.

use super::errno::ZapiError;
use super::xml::{self, Element};

/// ONTAP's page size when the caller sends no `max-records`.
pub const DEFAULT_MAX_RECORDS: u64 = 20;

pub struct IterRequest {
    pub max_records: u64,
    pub tag: Option<Vec<String>>,
    pub query: Option<Element>,
    pub desired: Option<Element>,
}

impl IterRequest {
    /// Read the standard iterator inputs; `record` is the record element name (`vserver-info`).
    pub fn parse(api: &Element, record: &str) -> Result<IterRequest, ZapiError> {
        let max_records = match api.child_text("max-records") {
            None => DEFAULT_MAX_RECORDS,
            Some(s) => {
                let n: u64 = s.trim().parse().map_err(|_| {
                    let what = if s.trim().parse::<i64>().is_ok() {
                        "must be a positive integer"
                    } else {
                        "is not an integer"
                    };
                    ZapiError::invalid(format!(
                        "Invalid value specified for \"max-records\": \"{s}\" {what}"
                    ))
                })?;
                if n == 0 {
                    return Err(ZapiError::invalid(
                        "Invalid value specified for \"max-records\": 0 (must be at least 1)",
                    ));
                }
                n
            }
        };
        let tag = match api.child_text("tag") {
            None => None,
            Some(t) if t.trim().is_empty() => None,
            Some(t) => Some(parse_tag(&api.name, t)?),
        };
        let template = |field: &str| -> Result<Option<Element>, ZapiError> {
            let Some(el) = api.child(field) else {
                return Ok(None);
            };
            match el.children.as_slice() {
                [] => Ok(None),
                [one] if one.name == record => Ok(Some(one.clone())),
                [one] => Err(ZapiError::invalid(format!(
                    "Invalid value specified for \"{field}\": expected <{record}>, got <{}>",
                    one.name
                ))),
                _ => Err(ZapiError::invalid(format!(
                    "Invalid value specified for \"{field}\": it must hold exactly one <{record}>"
                ))),
            }
        };
        Ok(IterRequest {
            max_records,
            tag,
            query: template("query")?,
            desired: template("desired-attributes")?,
        })
    }

    /// Produce one page. `items` must be in ascending `key` order.
    pub fn page<T>(
        &self,
        api: &str,
        items: impl IntoIterator<Item = T>,
        key: impl Fn(&T) -> Vec<String>,
        render: impl Fn(&T) -> Element,
    ) -> Vec<Element> {
        let mut out: Vec<Element> = Vec::new();
        let mut last_key: Option<Vec<String>> = None;
        let mut more = false;
        let mut previous: Option<Vec<String>> = None;
        for item in items {
            let k = key(&item);
            // Paging by key is only sound when records arrive in key order.
            debug_assert!(
                previous.as_ref().is_none_or(|p| p < &k),
                "{api}: records out of key order: {previous:?} then {k:?}"
            );
            previous = Some(k.clone());
            if let Some(tag) = &self.tag {
                if &k <= tag {
                    continue;
                }
            }
            let record = render(&item);
            if let Some(q) = &self.query {
                if !matches(&record, q) {
                    continue;
                }
            }
            if out.len() as u64 >= self.max_records {
                more = true;
                break;
            }
            last_key = Some(k);
            out.push(match &self.desired {
                Some(d) => prune(&record, d),
                None => record,
            });
        }
        let mut results = Vec::new();
        let count = out.len();
        if count > 0 {
            results.push(Element {
                name: "attributes-list".into(),
                children: out,
                ..Default::default()
            });
        }
        if more {
            if let Some(k) = last_key {
                results.push(Element::leaf("next-tag", make_tag(api, &k)));
            }
        }
        results.push(Element::leaf("num-records", count));
        results
    }
}

fn make_tag(api: &str, key: &[String]) -> String {
    let mut td = Element::new(format!("{api}-key-td"));
    for (i, part) in key.iter().enumerate() {
        td.children.push(Element::leaf(format!("key-{i}"), part));
    }
    td.to_xml()
}

fn parse_tag(api: &str, tag: &str) -> Result<Vec<String>, ZapiError> {
    let bad = || ZapiError::invalid(format!("Invalid value specified for \"tag\": \"{tag}\""));
    let td = xml::parse(tag).map_err(|_| bad())?;
    if td.name != format!("{api}-key-td") || td.children.is_empty() {
        return Err(bad());
    }
    Ok(td.children.into_iter().map(|c| c.text).collect())
}

/// Does `record` satisfy the query template `q` (same element name, already checked)?
/// Every leaf with a value must match some same-named child; nested templates recurse, and a
/// repeated child (a list) matches when any member does.
pub fn matches(record: &Element, q: &Element) -> bool {
    q.children.iter().all(|tq| {
        if tq.is_leaf() {
            let pattern = tq.text.trim();
            if pattern.is_empty() {
                return true;
            }
            let mut found = record.children_named(&tq.name).peekable();
            if found.peek().is_none() {
                // An absent field only matches a pattern that excludes values.
                return pattern.starts_with('!');
            }
            found.any(|c| value_matches(pattern, c.text.trim()))
        } else {
            record.children_named(&tq.name).any(|c| matches(c, tq))
        }
    })
}

/// ONTAP query syntax for one value: `a|b` alternatives, `!x` negation, `*` wildcards, `<n`, `>n`,
/// `<=n`, `>=n`, `a..b` ranges. Names are case-sensitive (`vol1` and `VOL1` are two volumes), so
/// matching is too.
pub fn value_matches(pattern: &str, value: &str) -> bool {
    pattern.split('|').any(|alt| one_matches(alt.trim(), value))
}

fn one_matches(alt: &str, value: &str) -> bool {
    // Negations counted, not recursed into: a pattern of thousands of `!` must not overflow the
    // stack.
    let rest = alt.trim_start_matches('!');
    if (alt.len() - rest.len()) % 2 == 1 {
        return !one_matches(rest, value);
    }
    let alt = rest;
    let num = |s: &str| s.trim().parse::<f64>().ok();
    for (op, cmp) in [
        ("<=", (|a: f64, b: f64| a <= b) as fn(f64, f64) -> bool),
        (">=", |a, b| a >= b),
        ("<", |a, b| a < b),
        (">", |a, b| a > b),
    ] {
        if let Some(rest) = alt.strip_prefix(op) {
            return match (num(value), num(rest)) {
                (Some(v), Some(r)) => cmp(v, r),
                _ => cmp_str(value, rest.trim(), op),
            };
        }
    }
    if let Some((lo, hi)) = alt.split_once("..") {
        if let (Some(v), Some(l), Some(h)) = (num(value), num(lo), num(hi)) {
            return l <= v && v <= h;
        }
    }
    glob(alt, value)
}

fn cmp_str(value: &str, other: &str, op: &str) -> bool {
    let o = value.cmp(other);
    match op {
        "<=" => o.is_le(),
        ">=" => o.is_ge(),
        "<" => o.is_lt(),
        _ => o.is_gt(),
    }
}

/// `*` matches any run of characters; everything else is literal.
fn glob(pattern: &str, value: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == value;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    // Check both ends before slicing, so the slice bounds fall on character boundaries.
    if !value.starts_with(first) || !value.ends_with(last) || value.len() < first.len() + last.len()
    {
        return false;
    }
    let mut rest = &value[first.len()..value.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

/// Keep only what the template asks for; an empty template element keeps the whole subtree.
pub fn prune(record: &Element, template: &Element) -> Element {
    if template.children.is_empty() {
        return record.clone();
    }
    let mut out = Element::new(record.name.clone());
    for c in &record.children {
        if let Some(t) = template.child(&c.name) {
            out.children.push(prune(c, t));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(name: &str, protos: &[&str]) -> Element {
        Element::new("vserver-info")
            .with_leaf("vserver-name", name)
            .with_leaf("state", "running")
            .with_list("allowed-protocols", "protocol", protos.iter())
    }

    #[test]
    fn value_syntax() {
        assert!(value_matches("trident_*", "trident_pvc_1"));
        assert!(!value_matches("trident_*", "other"));
        assert!(value_matches("aggr1|aggr2", "aggr2"));
        assert!(value_matches("*mid*", "a-mid-b"));
        assert!(value_matches("a*b*c", "axxbyyc"));
        assert!(!value_matches("a*b*c", "axxc"));
        assert!(value_matches("!svm1", "svm2"));
        assert!(!value_matches("!svm1", "svm1"));
        assert!(value_matches("!!svm1", "svm1"));
        // Deep negation is counted, not recursed into.
        assert!(value_matches(
            &format!("{}svm1", "!".repeat(100_001)),
            "svm2"
        ));
        assert!(value_matches(">100", "1000"));
        assert!(!value_matches("<100", "1000"));
        assert!(value_matches("10..20", "15"));
        assert!(!value_matches("SVM1", "svm1"));
        assert!(value_matches("default|default-DR", "default-DR"));
    }

    #[test]
    fn query_matching_nested_and_lists() {
        let r = rec("svm1", &["nfs", "cifs"]);
        let q = Element::new("vserver-info")
            .with(Element::new("allowed-protocols").with_leaf("protocol", "cifs"));
        assert!(matches(&r, &q));
        let q = Element::new("vserver-info")
            .with(Element::new("allowed-protocols").with_leaf("protocol", "iscsi"));
        assert!(!matches(&r, &q));
        let q = Element::new("vserver-info").with_leaf("vserver-name", "");
        assert!(matches(&r, &q), "an empty value does not filter");
        let q = Element::new("vserver-info").with_leaf("comment", "x");
        assert!(!matches(&r, &q), "an absent field does not match a value");
    }

    #[test]
    fn paging_with_tags() {
        let names: Vec<String> = (0..5).map(|i| format!("svm{i}")).collect();
        let api = Element::new("vserver-get-iter").with_leaf("max-records", 2);
        let mut req = IterRequest::parse(&api, "vserver-info").unwrap();
        let mut seen = Vec::new();
        for _ in 0..10 {
            let page = req.page(
                "vserver-get-iter",
                names.iter(),
                |n| vec![n.to_string()],
                |n| rec(n, &[]),
            );
            let num: usize = page
                .iter()
                .find(|e| e.name == "num-records")
                .unwrap()
                .text
                .parse()
                .unwrap();
            if let Some(list) = page.iter().find(|e| e.name == "attributes-list") {
                assert_eq!(list.children.len(), num);
                seen.extend(
                    list.children
                        .iter()
                        .map(|c| c.child_text("vserver-name").unwrap().to_string()),
                );
            }
            match page.iter().find(|e| e.name == "next-tag") {
                Some(t) => {
                    let again = api.clone().with_leaf("tag", &t.text);
                    req = IterRequest::parse(&again, "vserver-info").unwrap();
                }
                None => break,
            }
        }
        assert_eq!(seen, names);
    }

    #[test]
    fn bad_inputs() {
        let api = Element::new("x-get-iter").with_leaf("max-records", "ten");
        assert!(IterRequest::parse(&api, "x-info").is_err());
        let api = Element::new("x-get-iter").with_leaf("tag", "garbage");
        assert!(IterRequest::parse(&api, "x-info").is_err());
        let api =
            Element::new("x-get-iter").with(Element::new("query").with(Element::new("y-info")));
        assert!(IterRequest::parse(&api, "x-info")
            .err()
            .unwrap()
            .reason
            .contains("expected <x-info>"));
    }

    #[test]
    fn desired_attributes_prune() {
        let r = rec("svm1", &["nfs"]);
        let d = Element::new("vserver-info").with(Element::new("allowed-protocols"));
        let p = prune(&r, &d);
        assert_eq!(p.children.len(), 1);
        assert_eq!(p.children[0].children.len(), 1);
    }
}
