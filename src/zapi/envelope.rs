//! The `<netapp>` request envelope and the `<results>` response envelope.

use super::errno::{ZapiError, EAPIERROR};
use super::xml::{self, Element};

/// A decoded request: the one API element and the envelope attributes that matter.
#[derive(Debug)]
pub struct Request {
    pub api: Element,
    pub vfiler: Option<String>,
    pub version: Option<String>,
}

pub fn decode(body: &[u8]) -> Result<Request, ZapiError> {
    let text = std::str::from_utf8(body)
        .map_err(|e| ZapiError::new(EAPIERROR, format!("Request body is not UTF-8: {e}")))?;
    let root = xml::parse(text)
        .map_err(|e| ZapiError::new(EAPIERROR, format!("Unable to parse the request: {e}")))?;
    if root.name != "netapp" {
        return Err(ZapiError::new(
            EAPIERROR,
            format!(
                "Unable to parse the request: the root element is <{}>, expected <netapp>",
                root.name
            ),
        ));
    }
    if !root.text.trim().is_empty() {
        return Err(ZapiError::new(
            EAPIERROR,
            format!(
                "Unable to parse the request: <netapp> holds text \"{}\"; it may hold only the API element",
                root.text.trim()
            ),
        ));
    }
    let vfiler = root
        .get_attr("vfiler")
        .filter(|v| !v.is_empty())
        .map(str::to_string);
    let version = root.get_attr("version").map(str::to_string);
    let mut children = root.children;
    match children.len() {
        1 => Ok(Request {
            api: children.remove(0),
            vfiler,
            version,
        }),
        0 => Err(ZapiError::new(
            EAPIERROR,
            "No API in the request: <netapp> holds no API element",
        )),
        n => Err(ZapiError::new(
            EAPIERROR,
            format!(
                "Only one API may be invoked per request: <netapp> holds {n} elements ({})",
                children
                    .iter()
                    .map(|c| c.name.as_ref())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

const PROLOGUE: &str =
    "<?xml version='1.0' encoding='UTF-8' ?>\n<!DOCTYPE netapp SYSTEM 'file:/etc/netapp_gx.dtd'>\n";

fn open(ontapi: &str, content: usize) -> String {
    // Sized for the answer, so it rarely grows.
    let mut s = String::with_capacity(content + 1024);
    s.push_str(PROLOGUE);
    s.push_str("<netapp version='");
    s.push_str(ontapi);
    s.push_str("' xmlns='http://www.netapp.com/filer/admin'>\n");
    s
}

pub fn passed(ontapi: &str, outputs: &[Element]) -> String {
    // A written page is most of an answer; other outputs are small trees.
    let content = outputs.iter().map(|o| o.text.len() + 256).sum();
    let mut s = open(ontapi, content);
    s.push_str("<results status=\"passed\"");
    if outputs.is_empty() {
        s.push_str("/>");
    } else {
        s.push('>');
        for o in outputs {
            o.write_to(&mut s);
        }
        s.push_str("</results>");
    }
    s.push_str("</netapp>\n");
    s
}

pub fn failed(ontapi: &str, err: &ZapiError) -> String {
    let mut s = open(ontapi, err.reason.len());
    Element::new("results")
        .attr("status", "failed")
        .attr("errno", err.errno.to_string())
        .attr("reason", crate::model::text::shown(&err.reason))
        .write_to(&mut s);
    s.push_str("</netapp>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_attributes_and_one_api() {
        let r = decode(b"<netapp xmlns=\"http://www.netapp.com/filer/admin\" version=\"1.21\" vfiler=\"svm1\">\n <system-get-version/>\n</netapp>").unwrap();
        assert_eq!(r.api.name, "system-get-version");
        assert_eq!(r.vfiler.as_deref(), Some("svm1"));
        assert_eq!(r.version.as_deref(), Some("1.21"));
    }

    #[test]
    fn refuses_zero_or_two_apis_and_bad_roots() {
        assert!(decode(b"<netapp/>").unwrap_err().reason.contains("no API"));
        assert!(decode(b"<netapp><a/><b/></netapp>")
            .unwrap_err()
            .reason
            .contains("2 elements"));
        assert!(decode(b"<filer><a/></filer>")
            .unwrap_err()
            .reason
            .contains("<filer>"));
        assert!(decode(b"<netapp><a></netapp>").is_err());
        assert!(decode(&[0xff, 0xfe]).unwrap_err().reason.contains("UTF-8"));
    }

    #[test]
    fn failure_reason_is_escaped() {
        let s = failed("1.241", &ZapiError::new(13005, "Unable to find API: <x>"));
        let root = xml::parse(&s).unwrap();
        let r = root.child("results").unwrap();
        assert_eq!(r.get_attr("reason"), Some("Unable to find API: <x>"));
        assert_eq!(r.get_attr("errno"), Some("13005"));
    }
}
