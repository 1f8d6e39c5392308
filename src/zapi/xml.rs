//! A small owned element tree for ZAPI bodies.
//!
//! ZAPI is element-only XML (no mixed content, attributes only on the root and `results`), so a tree of
//! name / text / children is all the fronts need. Parsing is strict about well-formedness and bounded in
//! depth so a hostile body cannot exhaust the stack; namespace prefixes are dropped (clients match by
//! local name, as ONTAP does).

use quick_xml::events::Event;
use quick_xml::Reader;
use std::borrow::Cow;
use std::fmt::Write as _;

/// Deepest nesting accepted; real ZAPI bodies stay below 10.
const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element {
    /// Borrowed for the names responses are built from, so a record costs no allocation per
    /// element name.
    pub name: Cow<'static, str>,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    pub fn new(name: impl Into<Cow<'static, str>>) -> Self {
        Element {
            name: name.into(),
            ..Default::default()
        }
    }

    /// A leaf holding a text value.
    pub fn leaf(name: impl Into<Cow<'static, str>>, text: impl ToString) -> Self {
        Element {
            name: name.into(),
            text: text.to_string(),
            ..Default::default()
        }
    }

    pub fn attr(mut self, name: &str, value: impl Into<String>) -> Self {
        self.attrs.push((name.to_string(), value.into()));
        self
    }

    pub fn get_attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Builder: append a child.
    pub fn with(mut self, child: Element) -> Self {
        self.children.push(child);
        self
    }

    /// Builder: append a leaf child.
    pub fn with_leaf(self, name: &'static str, text: impl ToString) -> Self {
        self.with(Element::leaf(name, text))
    }

    /// Builder: append children.
    pub fn with_children(mut self, children: Vec<Element>) -> Self {
        self.children.extend(children);
        self
    }

    /// Builder: append a leaf child only when the value is known.
    pub fn with_opt(self, name: &'static str, text: Option<impl ToString>) -> Self {
        match text {
            Some(t) => self.with_leaf(name, t),
            None => self,
        }
    }

    /// Builder: a list wrapper holding one leaf per value (`<data-protocols><data-protocol>nfs</..>`).
    pub fn with_list<I, T>(self, name: &'static str, item: &'static str, values: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: ToString,
    {
        let mut list = Element::new(name);
        for v in values {
            list.children.push(Element::leaf(item, v));
        }
        self.with(list)
    }

    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// Text of a direct child.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.as_str())
    }

    /// Follow a path of child names.
    pub fn path(&self, path: &[&str]) -> Option<&Element> {
        let mut cur = self;
        for p in path {
            cur = cur.child(p)?;
        }
        Some(cur)
    }

    pub fn is_leaf(&self) -> bool {
        self.children.is_empty()
    }

    /// Serialise this element (and its subtree) without an XML declaration.
    pub fn write_to(&self, out: &mut String) {
        out.push('<');
        out.push_str(&self.name);
        for (k, v) in &self.attrs {
            let _ = write!(out, " {}=\"{}\"", k, escape(v));
        }
        if self.children.is_empty() && self.text.is_empty() {
            out.push_str("/>");
            return;
        }
        out.push('>');
        if self.children.is_empty() {
            out.push_str(&escape(&self.text));
        } else {
            for c in &self.children {
                c.write_to(out);
            }
        }
        out.push_str("</");
        out.push_str(&self.name);
        out.push('>');
    }

    pub fn to_xml(&self) -> String {
        let mut s = String::new();
        self.write_to(&mut s);
        s
    }
}

fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    quick_xml::escape::escape(s)
}

/// Why a body could not be read as XML; shown to the client as the failure reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

fn local(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

fn resolve_entity(name: &str) -> Option<char> {
    match name {
        "lt" => Some('<'),
        "gt" => Some('>'),
        "amp" => Some('&'),
        "apos" => Some('\''),
        "quot" => Some('"'),
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix('x') {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(code).filter(|c| *c != '\0')
        }
    }
}

/// Parse a whole document and return its root element.
pub fn parse(doc: &str) -> Result<Element, ParseError> {
    let mut reader = Reader::from_str(doc);
    let cfg = reader.config_mut();
    cfg.check_end_names = true;
    cfg.expand_empty_elements = false;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let err = |reader: &Reader<&[u8]>, e: String| {
        ParseError(format!(
            "XML is not well-formed at byte {}: {e}",
            reader.buffer_position()
        ))
    };
    loop {
        let ev = reader
            .read_event()
            .map_err(|e| err(&reader, e.to_string()))?;
        match ev {
            ev @ (Event::Start(_) | Event::Empty(_)) => {
                let (s, is_empty) = match ev {
                    Event::Start(s) => (s, false),
                    Event::Empty(s) => (s, true),
                    _ => unreachable!("matched above"),
                };
                if root.is_some() {
                    return Err(err(&reader, "content after the root element".into()));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(err(
                        &reader,
                        format!("elements nested deeper than {MAX_DEPTH}"),
                    ));
                }
                let name = local(s.name().as_ref()).to_string();
                let mut el = Element::new(name);
                for a in s.attributes() {
                    let a = a.map_err(|e| err(&reader, e.to_string()))?;
                    let key = a.key.as_ref();
                    if key == "xmlns" || key.starts_with("xmlns:") {
                        continue;
                    }
                    let v = a
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map_err(|e| err(&reader, e.to_string()))?;
                    el.attrs.push((local(key).to_string(), v.into_owned()));
                }
                if is_empty {
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(el),
                        None => root = Some(el),
                    }
                } else {
                    stack.push(el);
                }
            }
            Event::End(_) => {
                let mut el = stack
                    .pop()
                    .ok_or_else(|| err(&reader, "unexpected end tag".into()))?;
                if !el.children.is_empty() && el.text.trim().is_empty() {
                    // Whitespace between child elements is formatting, not content; anything
                    // else is kept so callers can refuse mixed content.
                    el.text.clear();
                }
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                let content = t.xml10_content();
                match stack.last_mut() {
                    Some(el) => el.text.push_str(&content),
                    None if content.trim().is_empty() => {}
                    None => return Err(err(&reader, "text outside the root element".into())),
                }
            }
            Event::CData(c) => match stack.last_mut() {
                Some(el) => el.text.push_str(&c.xml10_content()),
                None => return Err(err(&reader, "CDATA outside the root element".into())),
            },
            Event::GeneralRef(r) => {
                let name: &str = &r;
                let ch = resolve_entity(name)
                    .ok_or_else(|| err(&reader, format!("unknown entity &{name};")))?;
                match stack.last_mut() {
                    Some(el) => el.text.push(ch),
                    None => return Err(err(&reader, "text outside the root element".into())),
                }
            }
            Event::Eof => break,
            Event::Decl(_) | Event::DocType(_) | Event::Comment(_) | Event::PI(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(ParseError(format!(
            "XML is not well-formed: element <{}> is not closed",
            stack.last().map(|e| e.name.as_ref()).unwrap_or("")
        )));
    }
    root.ok_or_else(|| ParseError("the body holds no XML element".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_with_declaration_doctype_and_whitespace() {
        let doc = "<?xml version=\"1.0\"?>\n<!DOCTYPE netapp SYSTEM 'x.dtd'>\n<netapp xmlns=\"http://www.netapp.com/filer/admin\" version=\"1.21\">\n <a>\n   <b>x &amp; y</b>\n <c/></a></netapp>";
        let root = parse(doc).unwrap();
        assert_eq!(root.name, "netapp");
        assert_eq!(root.get_attr("version"), Some("1.21"));
        let a = root.child("a").unwrap();
        assert_eq!(a.text, "");
        assert_eq!(a.child_text("b"), Some("x & y"));
        assert!(a.child("c").unwrap().is_leaf());
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "<a><b></a>",
            "<a>",
            "",
            "just text",
            "<a/><b/>",
            "<a>&bogus;</a>",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should fail");
        }
    }

    #[test]
    fn bounded_depth() {
        let doc = "<a>".repeat(100) + &"</a>".repeat(100);
        assert!(parse(&doc).unwrap_err().0.contains("deeper"));
    }

    #[test]
    fn round_trip_escapes() {
        let el = Element::new("r")
            .attr("reason", "a \"b\" <c>")
            .with_leaf("v", "1 < 2 & 3");
        let back = parse(&el.to_xml()).unwrap();
        assert_eq!(back, el);
    }
}
