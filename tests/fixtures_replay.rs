//! Replays the requests captured from real clients (`api-fixtures/`, see its README) against the
//! built-in default topology as `admin`:
//!
//! - single requests (`api-fixtures/<client>/<name>.request.xml`), all against one simulator, each
//!   answer compared byte for byte with `<name>.response.xml`;
//! - scenarios (`api-fixtures/scenarios/<scenario>/NN-<step>.request.xml`), each against a fresh
//!   simulator of its own (empty state directory), step by step in `NN` order, each answer
//!   compared with `NN-<step>.response.xml` after [`normalise`] (clock-dependent element text).
//!
//! Every mismatch is reported, not just the first. Regenerate with
//! `tests/python/capture_fixtures.py` when a response changes on purpose.

mod common;
use common::*;
use std::path::{Path, PathBuf};

/// Reply elements whose text depends on the clock (api-fixtures/README.md, "Normalisation").
const NORMALISED_ELEMENTS: &[&str] = &[
    "creation-time",
    "access-time",
    "create-time",
    "job-start-time",
    "job-end-time",
    "deletion-request-time",
    "volume-expiration-time",
];
const PLACEHOLDER: &str = "#normalised#";

/// The scenarios the capture script writes; a missing one fails the test instead of being
/// silently skipped.
const EXPECTED_SCENARIOS: &[&str] = &[
    "ansible-export",
    "ansible-qtree",
    "ansible-snapshot",
    "ansible-volume",
    "trident-clone",
    "trident-create",
    "trident-destroy",
    "trident-export-policy",
    "trident-resize",
    "trident-snapshots",
];

fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("api-fixtures")
}

/// Replace the text of each leaf `<E>text</E>` (E in [`NORMALISED_ELEMENTS`], text without
/// markup) by [`PLACEHOLDER`]; every other byte stays. The capture script applies the same rule.
fn normalise(body: &str) -> String {
    let mut body = body.to_string();
    for name in NORMALISED_ELEMENTS {
        let (start, end) = (format!("<{name}>"), format!("</{name}>"));
        let mut out = String::with_capacity(body.len());
        let mut rest = body.as_str();
        while let Some(j) = rest.find(&start) {
            let after = j + start.len();
            let Some(k) = rest[after..].find(&end) else {
                break;
            };
            out.push_str(&rest[..after]);
            if rest[after..after + k].contains('<') {
                // Not a leaf: leave it alone and look further.
                rest = &rest[after..];
                continue;
            }
            out.push_str(PLACEHOLDER);
            rest = &rest[after + k..];
        }
        out.push_str(rest);
        body = out;
    }
    body
}

/// Where two bodies first differ, with some context, for a readable report.
fn first_difference(expected: &str, got: &str) -> String {
    let at = expected
        .bytes()
        .zip(got.bytes())
        .position(|(a, b)| a != b)
        .unwrap_or(expected.len().min(got.len()));
    let window = |s: &str| {
        let mut from = at.saturating_sub(120);
        while !s.is_char_boundary(from) {
            from -= 1;
        }
        let mut to = (at + 200).min(s.len());
        while !s.is_char_boundary(to) {
            to += 1;
        }
        s[from..to].to_string()
    };
    format!(
        "first difference at byte {at} (lengths {} expected, {} got)\n  expected: …{}…\n  got:      …{}…",
        expected.len(),
        got.len(),
        window(expected),
        window(got)
    )
}

#[tokio::test]
async fn captured_requests_get_the_recorded_responses() {
    let root = fixtures_root();
    let mut pairs = Vec::new();
    for client in std::fs::read_dir(&root).expect("api-fixtures") {
        let client = client.unwrap().path();
        if !client.is_dir() || client.file_name().is_some_and(|n| n == "scenarios") {
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

/// One scenario's steps as (NN, request, response) in `NN` order; NN runs 1, 2, ... without gaps.
fn scenario_steps(dir: &Path) -> Vec<(u32, PathBuf, PathBuf)> {
    let mut steps = Vec::new();
    for f in std::fs::read_dir(dir).unwrap() {
        let p = f.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let Some(stem) = name.strip_suffix(".request.xml") else {
            continue;
        };
        let nn: u32 = stem
            .split_once('-')
            .and_then(|(n, _)| n.parse().ok())
            .unwrap_or_else(|| panic!("{}: the name must start with NN-", p.display()));
        let resp = dir.join(format!("{stem}.response.xml"));
        assert!(resp.is_file(), "{} has no {}", p.display(), resp.display());
        steps.push((nn, p, resp));
    }
    steps.sort();
    for (i, (nn, p, _)) in steps.iter().enumerate() {
        assert_eq!(
            *nn as usize,
            i + 1,
            "{}: steps must be numbered 01, 02, ... without gaps or repeats",
            p.display()
        );
    }
    steps
}

/// Replay one scenario against a fresh simulator; returns its mismatches.
async fn replay_scenario(name: &str, steps: &[(u32, PathBuf, PathBuf)]) -> Vec<String> {
    let sim = Sim::start(None);
    let mut c = sim.client().await;
    let mut mismatches = Vec::new();
    for (nn, req, resp) in steps {
        let step = req
            .file_name()
            .unwrap()
            .to_string_lossy()
            .trim_end_matches(".request.xml")
            .to_string();
        let body = std::fs::read(req).unwrap();
        let expected = std::fs::read_to_string(resp).unwrap();
        let r = match c
            .request("POST", ZAPI_PATH, body, Some(("admin", PASSWORD)))
            .await
        {
            Ok(r) => r,
            Err(e) => {
                mismatches.push(format!(
                    "scenarios/{name}/{step}: the request failed ({e}); the rest of the scenario was not replayed"
                ));
                break;
            }
        };
        if r.status != 200 {
            mismatches.push(format!(
                "scenarios/{name}/{step}: HTTP {} (expected 200): {}",
                r.status, r.body
            ));
            continue;
        }
        let (want, got) = (normalise(&expected), normalise(&r.body));
        if want != got {
            mismatches.push(format!(
                "scenarios/{name}/{step} (step {nn} of {}): {}\n--- expected (normalised)\n{want}\n--- got (normalised)\n{got}",
                steps.len(),
                first_difference(&want, &got)
            ));
        }
    }
    mismatches
}

#[tokio::test]
async fn captured_scenarios_replay_in_order() {
    let root = fixtures_root().join("scenarios");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("api-fixtures/scenarios")
        .map(|d| d.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let names: Vec<String> = dirs
        .iter()
        .map(|d| d.file_name().unwrap().to_string_lossy().to_string())
        .collect();
    for want in EXPECTED_SCENARIOS {
        assert!(
            names.iter().any(|n| n == want),
            "api-fixtures/scenarios/{want} is missing (found {names:?})"
        );
    }
    let mut mismatches = Vec::new();
    let mut total = 0;
    for (dir, name) in dirs.iter().zip(&names) {
        let steps = scenario_steps(dir);
        assert!(!steps.is_empty(), "{} holds no steps", dir.display());
        total += steps.len();
        mismatches.extend(replay_scenario(name, &steps).await);
    }
    assert!(
        mismatches.is_empty(),
        "{} of {total} scenario steps differ:\n\n{}",
        mismatches.len(),
        mismatches.join("\n\n")
    );
    println!("replayed {} scenarios, {total} steps", dirs.len());
}

#[test]
fn normalisation_replaces_only_clock_text() {
    let body = "<a><creation-time>1764072000</creation-time><name>creation-time</name>\
                <create-time/><access-time>17</access-time><job-end-time><x>1</x></job-end-time></a>";
    assert_eq!(
        normalise(body),
        "<a><creation-time>#normalised#</creation-time><name>creation-time</name>\
         <create-time/><access-time>#normalised#</access-time><job-end-time><x>1</x></job-end-time></a>"
    );
    assert_eq!(normalise(&normalise(body)), normalise(body));
    assert_eq!(normalise("<creation-time>1"), "<creation-time>1");
}
