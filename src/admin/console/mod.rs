//! The web console: `GET /` on the control listener. Plain HTML, CSS and one ES module, written
//! by hand and built into the binary (no CDN, no build step). The page reads the control API's
//! views and changes state only through the control API's own endpoints, like any client, so
//! there is one way to change state. The page and its assets hold no state and no secret and load
//! without the control token; the page asks for the token when the API answers 401, keeps it in
//! the tab's sessionStorage and sends it as a Bearer header (never in a URL).

use super::Body;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Response, StatusCode};

const INDEX: &str = include_str!("index.html");
const APP: &str = include_str!("app.js");
const STYLE: &str = include_str!("style.css");
const ICON: &str = include_str!("icon.svg");

/// The console's files by path; None for paths that are not the console's.
fn asset(path: &str) -> Option<(&'static str, &'static str)> {
    Some(match path {
        "/" | "/console" | "/console/" | "/console/index.html" => {
            ("text/html; charset=utf-8", INDEX)
        }
        "/console/app.js" => ("text/javascript; charset=utf-8", APP),
        "/console/style.css" => ("text/css; charset=utf-8", STYLE),
        "/console/icon.svg" => ("image/svg+xml", ICON),
        _ => return None,
    })
}

/// Answer a GET for the console's page or one of its assets; None for any other request (the
/// control API's own routes, with its token rules).
pub fn serve(method: &Method, path: &str) -> Option<Response<Body>> {
    if method != Method::GET {
        return None;
    }
    let (status, content_type, body) = match asset(path) {
        Some((ct, body)) => (StatusCode::OK, ct, body),
        None if path.starts_with("/console/") => (
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "no such console file\n",
        ),
        None => return None,
    };
    let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())).boxed());
    *r.status_mut() = status;
    let h = r.headers_mut();
    for (k, v) in [
        ("content-type", content_type),
        // Built into the binary: a new build may change them, so the browser asks each time.
        ("cache-control", "no-cache"),
        // Everything the page loads or calls comes from this listener.
        (
            "content-security-policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        ),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
    ] {
        if let Ok(v) = hyper::header::HeaderValue::from_str(v) {
            h.insert(k, v);
        }
    }
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_and_assets_are_served_and_nothing_else() {
        for p in ["/", "/console/", "/console/app.js", "/console/style.css"] {
            let r = serve(&Method::GET, p).unwrap();
            assert_eq!(r.status(), StatusCode::OK, "{p}");
        }
        assert_eq!(
            serve(&Method::GET, "/console/nope.js").unwrap().status(),
            StatusCode::NOT_FOUND
        );
        assert!(serve(&Method::GET, "/faults").is_none());
        assert!(serve(&Method::POST, "/").is_none());
    }

    #[test]
    fn the_page_loads_only_its_own_files() {
        // No CDN: every src and href in the page is one of ours.
        for part in INDEX.split(['"', '\'']) {
            if part.starts_with("http") || part.starts_with("//") {
                panic!("the page refers outside the listener: {part}");
            }
            if part.starts_with("/console/") {
                assert!(asset(part).is_some(), "{part} is not served");
            }
        }
        // The only URL in the script is the SVG namespace, which is a name, not a fetch.
        let urls = APP.matches("://").count();
        assert_eq!(urls, APP.matches("http://www.w3.org/2000/svg").count());
    }
}
