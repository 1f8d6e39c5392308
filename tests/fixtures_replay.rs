//! Replays the requests captured from real clients (`api-fixtures/<client>/<name>.request.xml`)
//! against the default topology as `admin` and compares each answer byte for byte with
//! `<name>.response.xml`. Regenerate with `tests/python/capture_fixtures.py` when a response
//! changes on purpose.

mod common;
use common::*;
use std::path::Path;

#[tokio::test]
async fn captured_requests_get_the_recorded_responses() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("api-fixtures");
    let mut pairs = Vec::new();
    for client in std::fs::read_dir(&root).expect("api-fixtures") {
        let client = client.unwrap().path();
        if !client.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&client).unwrap() {
            let p = f.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if let Some(stem) = name.strip_suffix(".request.xml") {
                pairs.push((p.clone(), client.join(format!("{stem}.response.xml"))));
            }
        }
    }
    pairs.sort();
    assert!(
        pairs.len() >= 5,
        "expected captured fixtures, found {}",
        pairs.len()
    );
    let sim = Sim::start(None);
    let mut c = sim.client().await;
    let mut mismatches = Vec::new();
    for (req, resp) in &pairs {
        let body = std::fs::read(req).unwrap();
        let expected = std::fs::read_to_string(resp)
            .unwrap_or_else(|_| panic!("{} has no {}", req.display(), resp.display()));
        let r = c
            .request("POST", ZAPI_PATH, body, Some(("admin", PASSWORD)))
            .await
            .unwrap();
        assert_eq!(r.status, 200, "{}", req.display());
        if r.body != expected {
            mismatches.push(format!(
                "{}:\n--- expected\n{expected}\n--- got\n{}",
                req.display(),
                r.body
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    println!("replayed {} captured requests", pairs.len());
}
