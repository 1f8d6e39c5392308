//! The OpenAPI document (`docs/openapi.yaml`) and the REST routing table agree: every served
//! (method, path) is documented and every documented one is served. Path variables are compared by
//! position only (the document uses ONTAP's names, e.g. `{volume_uuid}` for the table's `{uuid}`).
//!
//! The document's `paths:` section is read with a small scanner for the block style it is written
//! in (a path at two spaces of indent, its methods at four); tests/python/test_rest_openapi.py reads
//! it with a real YAML parser and checks the same set against the running server.

use std::collections::BTreeSet;

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// `/storage/volumes/{uuid}/snapshots/{snapshot}` -> `/storage/volumes/{}/snapshots/{}`.
fn shape(path: &str) -> String {
    let mut out = String::new();
    let mut in_var = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_var = true;
                out.push_str("{}");
            }
            '}' => in_var = false,
            c if !in_var => out.push(c),
            _ => {}
        }
    }
    out
}

/// (METHOD, path shape) of every operation under `paths:`.
fn documented(doc: &str) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    let mut in_paths = false;
    let mut path: Option<String> = None;
    for line in doc.lines() {
        let body = line.trim_end();
        if body.trim_start().starts_with('#') || body.is_empty() {
            continue;
        }
        let indent = body.len() - body.trim_start().len();
        if indent == 0 {
            in_paths = body == "paths:";
            path = None;
            continue;
        }
        if !in_paths {
            continue;
        }
        if indent == 2 {
            let key = body.trim().strip_suffix(':').unwrap_or_else(|| {
                panic!("docs/openapi.yaml: expected `/path:` under paths, found {body:?}")
            });
            assert!(
                key.starts_with('/'),
                "docs/openapi.yaml: bad path key {key:?}"
            );
            path = Some(key.trim_matches(['\'', '"']).to_string());
        } else if indent == 4 {
            let key = body.trim().trim_end_matches(':');
            if METHODS.contains(&key) {
                let p = path.as_ref().expect("a method under a path");
                ops.insert((key.to_uppercase(), shape(p)));
            }
        }
    }
    ops
}

#[test]
fn openapi_document_lists_exactly_the_served_routes() {
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/openapi.yaml");
    let doc = std::fs::read_to_string(file).expect("docs/openapi.yaml is readable");
    let documented = documented(&doc);
    let served: BTreeSet<(String, String)> = ontap_sim::rest::routes()
        .map(|(m, p)| (m.to_string(), shape(p)))
        .collect();
    assert!(!served.is_empty());
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty() && unserved.is_empty(),
        "served but not in docs/openapi.yaml: {undocumented:?}\n\
         in docs/openapi.yaml but not served: {unserved:?}"
    );
}

#[test]
fn shapes_ignore_variable_names() {
    assert_eq!(
        shape("/storage/qtrees/{volume_uuid}/{id}"),
        shape("/storage/qtrees/{volume}/{id}")
    );
    let doc = "openapi: 3.0.3\npaths:\n  /a/{x}:\n    get:\n      responses: {}\n    \
               parameters: []\n  /b:\n    post:\n      x: 1\ncomponents:\n  schemas:\n    get:\n";
    let got: Vec<_> = documented(doc).into_iter().collect();
    assert_eq!(
        got,
        vec![
            ("GET".to_string(), "/a/{}".to_string()),
            ("POST".to_string(), "/b".to_string())
        ]
    );
}
