//! Who is calling: a verified client certificate's CN, else HTTP Basic credentials. A locked
//! user, or one without a login for the application the front serves (`ontapi` for ZAPI, `http`
//! for REST), is refused as a wrong password is: ONTAP answers both with 401.

use crate::model::{Cluster, User};
use base64::Engine;
use hyper::header::AUTHORIZATION;
use hyper::HeaderMap;
use std::sync::Arc;

pub enum Outcome {
    User(Arc<User>),
    /// Nothing offered: answer with the Basic challenge (netapp-lib waits for it).
    NoCredentials,
    /// Something offered and refused; the name is for the log only (never the secret).
    Rejected(String),
}

pub fn authenticate(
    cluster: &Cluster,
    application: &str,
    cert_cn: Option<&str>,
    headers: &HeaderMap,
) -> Outcome {
    if let Some(cn) = cert_cn {
        if let Some(u) = cluster.authenticate_certificate(cn, application) {
            return Outcome::User(u.clone());
        }
    }
    let Some(value) = headers.get(AUTHORIZATION) else {
        return match cert_cn {
            Some(cn) => Outcome::Rejected(format!("certificate CN {cn}")),
            None => Outcome::NoCredentials,
        };
    };
    let mut buf = [0u8; MAX_CREDENTIALS];
    let Some((name, password)) = parse_basic(value.as_bytes(), &mut buf) else {
        return Outcome::Rejected("(malformed Authorization header)".into());
    };
    match cluster.authenticate_password(name, password, application) {
        Some(u) => Outcome::User(u.clone()),
        None => Outcome::Rejected(name.to_string()),
    }
}

/// Longest decoded `user:password` accepted; longer headers are refused as malformed.
const MAX_CREDENTIALS: usize = 512;

/// `Basic <base64 of user:password>`, decoded into `buf` (no allocation on every call).
fn parse_basic<'b>(value: &[u8], buf: &'b mut [u8]) -> Option<(&'b str, &'b str)> {
    let text = std::str::from_utf8(value).ok()?.trim();
    let (scheme, b64) = text.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let n = base64::engine::general_purpose::STANDARD
        .decode_slice(b64.trim(), buf)
        .ok()?;
    std::str::from_utf8(&buf[..n]).ok()?.split_once(':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_header() {
        let mut b = [0u8; MAX_CREDENTIALS];
        assert_eq!(
            parse_basic(b"Basic YWRtaW46bmV0YXBwMSE=", &mut b),
            Some(("admin", "netapp1!"))
        );
        assert_eq!(parse_basic(b"Bearer x", &mut b), None);
        assert_eq!(parse_basic(b"Basic !!!", &mut b), None);
        assert_eq!(parse_basic(b"Basic bm9jb2xvbg==", &mut b), None);
        let long = format!("Basic {}", "QUFB".repeat(200));
        assert_eq!(
            parse_basic(long.as_bytes(), &mut b),
            None,
            "longer than the buffer"
        );
    }
}
