//! Who is calling: a verified client certificate's CN, else HTTP Basic credentials.

use crate::model::{Cluster, User};
use base64::Engine;
use hyper::header::AUTHORIZATION;
use hyper::HeaderMap;

pub enum Outcome {
    User(User),
    /// Nothing offered: answer with the Basic challenge (netapp-lib waits for it).
    NoCredentials,
    /// Something offered and refused; the name is for the log only (never the secret).
    Rejected(String),
}

pub fn authenticate(cluster: &Cluster, cert_cn: Option<&str>, headers: &HeaderMap) -> Outcome {
    if let Some(cn) = cert_cn {
        if let Some(u) = cluster.authenticate_certificate(cn) {
            return Outcome::User(u.clone());
        }
    }
    let Some(value) = headers.get(AUTHORIZATION) else {
        return match cert_cn {
            Some(cn) => Outcome::Rejected(format!("certificate CN {cn}")),
            None => Outcome::NoCredentials,
        };
    };
    let Some((name, password)) = parse_basic(value.as_bytes()) else {
        return Outcome::Rejected("(malformed Authorization header)".into());
    };
    match cluster.authenticate_password(&name, &password) {
        Some(u) => Outcome::User(u.clone()),
        None => Outcome::Rejected(name),
    }
}

fn parse_basic(value: &[u8]) -> Option<(String, String)> {
    let text = std::str::from_utf8(value).ok()?.trim();
    let (scheme, b64) = text.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (u, p) = s.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_header() {
        assert_eq!(
            parse_basic(b"Basic YWRtaW46bmV0YXBwMSE="),
            Some(("admin".into(), "netapp1!".into()))
        );
        assert_eq!(parse_basic(b"Bearer x"), None);
        assert_eq!(parse_basic(b"Basic !!!"), None);
        assert_eq!(parse_basic(b"Basic bm9jb2xvbg=="), None);
    }
}
