//! The generic `*-get-iter` engine every iterator API uses: `query` matching with ONTAP's query
//! syntax, `max-records` / `tag` / `next-tag` paging, `desired-attributes` pruning, `num-records`.
//!
//! Records arrive in key order and are rendered lazily, so a page costs the records it skips by key
//! plus the ones it renders, not the whole table. The tag names the key of the last record returned
//! (shaped like ONTAP's `<api-key-td><key-0>..</key-0></api-key-td>` tags), so paging stays correct
//! when records are created or deleted between pages.

use super::errno::ZapiError;
use super::xml::{self, Element, Sink, TreeBuilder, XmlWriter};
use crate::pattern::value_matches;

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

    /// Take a leaf pattern out of the query so the caller can apply it to its own items before
    /// any record is written (a lookup by name then costs no record per volume). Containers left
    /// empty on the way are dropped, and a query left with nothing is no query. Only for paths
    /// every record has.
    pub fn take_query_leaf(&mut self, path: &[&str]) -> Option<String> {
        fn take(el: &mut Element, path: &[&str]) -> Option<String> {
            let (first, rest) = path.split_first()?;
            let i = el.children.iter().position(|c| c.name == *first)?;
            let child = &mut el.children[i];
            let found = if rest.is_empty() {
                let pattern = child.text.trim();
                (child.is_leaf() && !pattern.is_empty()).then(|| pattern.to_string())
            } else {
                take(child, rest)
            };
            if found.is_some() && (rest.is_empty() || el.children[i].children.is_empty()) {
                el.children.remove(i);
            }
            found
        }
        let found = take(self.query.as_mut()?, path);
        if self.query.as_ref().is_some_and(|q| q.children.is_empty()) {
            self.query = None;
        }
        found
    }

    /// Produce one page. `items` must be in ascending `key` order; `render` writes one record to
    /// a sink. Records go straight to XML; one is built as a tree only when a query must
    /// inspect it.
    pub fn page<T>(
        &self,
        api: &str,
        items: impl IntoIterator<Item = T>,
        key: impl Fn(&T) -> Vec<String>,
        render: impl Fn(&T, &mut dyn Sink),
    ) -> Vec<Element> {
        // About 4 KiB per volume record: sized for one, doubling beyond.
        let mut xml = String::with_capacity(4096);
        let mut count: u64 = 0;
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
            if cfg!(debug_assertions) {
                previous = Some(k.clone());
            }
            if let Some(tag) = &self.tag {
                if &k <= tag {
                    continue;
                }
            }
            let record = match &self.query {
                Some(q) => {
                    let record = TreeBuilder::build(|s| render(&item, s));
                    if !matches(&record, q) {
                        continue;
                    }
                    Some(record)
                }
                None => None,
            };
            if count >= self.max_records {
                more = true;
                break;
            }
            last_key = Some(k);
            count += 1;
            let mut w = XmlWriter::new(&mut xml, self.desired.as_ref());
            match record {
                Some(r) => r.emit(&mut w),
                None => render(&item, &mut w),
            }
        }
        let mut results = Vec::new();
        if count > 0 {
            results.push(Element::verbatim("attributes-list", xml));
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

impl IterRequest {
    /// [`IterRequest::page`] for families whose small records are built as trees.
    pub fn page_tree<T>(
        &self,
        api: &str,
        items: impl IntoIterator<Item = T>,
        key: impl Fn(&T) -> Vec<String>,
        render: impl Fn(&T) -> Element,
    ) -> Vec<Element> {
        self.page(api, items, key, |t, s| render(t).emit(s))
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
                |n, s| rec(n, &[]).emit(s),
            );
            let num: usize = page
                .iter()
                .find(|e| e.name == "num-records")
                .unwrap()
                .text
                .parse()
                .unwrap();
            if let Some(list) = page.iter().find(|e| e.name == "attributes-list") {
                let list = xml::parse(&list.to_xml()).unwrap();
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
    fn written_pages_prune_as_trees_do() {
        let r = rec("svm1", &["nfs", "cifs"]).with_leaf("comment", "a < b");
        for d in [
            None,
            Some(Element::new("vserver-info")),
            Some(Element::new("vserver-info").with(Element::new("allowed-protocols"))),
            Some(Element::new("vserver-info").with_leaf("comment", "")),
            Some(
                Element::new("vserver-info")
                    .with(Element::new("state").with(Element::new("x")))
                    .with(Element::new("missing")),
            ),
        ] {
            let mut out = String::new();
            r.emit(&mut XmlWriter::new(&mut out, d.as_ref()));
            let want = d.as_ref().map(|d| prune(&r, d)).unwrap_or(r.clone());
            assert_eq!(xml::parse(&out).unwrap(), want, "template {d:?}");
            assert_eq!(TreeBuilder::build(|s| r.emit(s)), r);
        }
    }

    #[test]
    fn query_leaves_taken_out() {
        let api = Element::new("vserver-get-iter").with(
            Element::new("query").with(
                Element::new("vserver-info")
                    .with_leaf("vserver-name", " svm* ")
                    .with_leaf("state", "running"),
            ),
        );
        let mut req = IterRequest::parse(&api, "vserver-info").unwrap();
        assert_eq!(
            req.take_query_leaf(&["vserver-name"]).as_deref(),
            Some("svm*")
        );
        assert_eq!(req.take_query_leaf(&["vserver-name"]), None);
        assert_eq!(req.query.as_ref().unwrap().children.len(), 1);
        assert_eq!(req.take_query_leaf(&["state"]).as_deref(), Some("running"));
        assert!(req.query.is_none(), "nothing left to match");
        let api = Element::new("volume-get-iter").with(
            Element::new("query").with(
                Element::new("volume-attributes").with(
                    Element::new("volume-id-attributes")
                        .with_leaf("name", "v1")
                        .with_leaf("comment", ""),
                ),
            ),
        );
        let mut req = IterRequest::parse(&api, "volume-attributes").unwrap();
        let path = ["volume-id-attributes", "name"];
        assert_eq!(req.take_query_leaf(&path).as_deref(), Some("v1"));
        assert!(req.query.is_some(), "the empty comment leaf is still there");
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
