//! Entry points for the decoders' fuzz targets (`fuzz/`, run with `cargo fuzz`) and for the
//! deterministic mutation test (`tests/decoder_mutations.rs`): each takes arbitrary bytes, runs
//! them through one decoder as a client would reach it, and checks what must hold whatever the
//! input (no panic, an answer every strict reader accepts). Not part of the simulator's API.

use crate::model::{Cluster, Listeners};
use crate::sim::Sim;
use std::sync::{Arc, OnceLock};

/// One simulator shared by every input: the built-in topology in memory, its data in a temporary
/// directory, reset now and then so that what inputs create does not pile up.
fn sim() -> &'static Arc<Sim> {
    static SIM: OnceLock<Arc<Sim>> = OnceLock::new();
    SIM.get_or_init(|| {
        let topology = crate::config::Topology::builtin_default();
        let listeners = Listeners {
            management: "127.0.0.1:8443".parse().expect("address"),
            nfs: "127.0.0.1:2049".parse().expect("address"),
        };
        let cluster = Cluster::from_topology(&topology, &listeners);
        Arc::new(Sim::ephemeral(cluster, (topology, listeners)).expect("an ephemeral simulator"))
    })
}

fn every(n: u64) -> bool {
    use std::sync::atomic::{AtomicU64, Ordering};
    static CALLS: AtomicU64 = AtomicU64::new(0);
    CALLS.fetch_add(1, Ordering::Relaxed) % n == n - 1
}

fn admin() -> Arc<crate::model::User> {
    sim()
        .read()
        .users
        .values()
        .next()
        .cloned()
        .expect("the default topology has users")
}

/// Panic when `xml` holds a character XML 1.0 cannot carry or does not parse.
fn check_xml(xml: &str) {
    if let Some(c) = xml.chars().find(|c| crate::model::text::forbidden(*c)) {
        panic!("an answer holds U+{:04X}: {xml:?}", c as u32);
    }
    let doc = xml
        .split_once("?>")
        .map_or(xml, |(_, rest)| rest)
        .trim_start();
    if let Err(e) = crate::zapi::xml::parse(doc) {
        panic!("an answer does not parse ({e}): {xml}");
    }
}

/// The ZAPI XML reader alone: whatever it accepts writes back to XML that reads the same.
pub fn zapi_xml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Mixed content (text beside child elements) is kept for callers to refuse; the writer
    // writes the children only, so such trees are not expected to come back whole.
    fn mixed(el: &crate::zapi::xml::Element) -> bool {
        (!el.children.is_empty() && !el.text.is_empty()) || el.children.iter().any(mixed)
    }
    if let Ok(el) = crate::zapi::xml::parse(text) {
        let again = el.to_xml();
        check_xml(&again);
        let back = crate::zapi::xml::parse(&again).expect("written XML reads back");
        if !mixed(&el) {
            assert_eq!(back, el, "a tree changed through writing: {text:?}");
        }
    }
}

/// A whole ZAPI request as the cluster admin: envelope, API lookup, the handler's reading of
/// its arguments, the model; the answer must be XML every client can read.
pub fn zapi_request(data: &[u8]) {
    let sim = sim();
    if every(5000) {
        let _ = sim.reset();
    }
    let user = admin();
    let outcome = match crate::zapi::prepare(sim, &user, data) {
        Err(o) => o,
        Ok(call) => crate::zapi::run(sim, &user, call),
    };
    check_xml(&outcome.body);
}

/// A REST request as the cluster admin: the first line is `METHOD /api/path?query`, the rest
/// the body. Query, body and handler run; errors must be ONTAP's JSON error shape.
pub fn rest_request(data: &[u8]) {
    let sim = sim();
    if every(5000) {
        let _ = sim.reset();
    }
    let (line, body) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(line) = std::str::from_utf8(line) else {
        return;
    };
    let (method, target) = line.split_once(' ').unwrap_or(("GET", line));
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    let api_path = path
        .trim_end_matches('/')
        .strip_prefix("/api")
        .unwrap_or("");
    let (route, vars) = match crate::rest::find(method, api_path) {
        Ok(x) => x,
        Err(e) => {
            let _ = e.body().to_string();
            return;
        }
    };
    let full = format!("/api{api_path}");
    let out = crate::rest::handle(
        sim,
        &admin(),
        crate::rest::Request {
            route,
            vars,
            path: &full,
            query,
            body,
            fail_job: None,
        },
    );
    let text = match out {
        Ok(reply) => reply.body.to_string(),
        Err(e) => e.body().to_string(),
    };
    serde_json::from_str::<serde_json::Value>(&text).expect("an answer that is JSON");
}

/// A REST query string alone.
pub fn rest_query(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = crate::rest::query::Query::parse(Some(text));
    }
}

/// One ONC RPC record through the NFS port's dispatcher: RPC header, credentials, portmap,
/// MOUNT and NFS v3 argument decoding and the procedures themselves.
pub fn rpc_record(data: &[u8]) {
    static NFS: OnceLock<crate::nfs::Nfs> = OnceLock::new();
    let nfs = NFS.get_or_init(|| crate::nfs::Nfs::new(sim().clone(), 2049, None));
    let conn = crate::nfs::Conn {
        peer: "127.0.0.1:700".parse().expect("address"),
        local: "127.0.0.1:2049".parse().expect("address"),
        udp: false,
    };
    let _ = crate::nfs::dispatch(nfs, &conn, data);
}

/// The record-marking layer: a byte stream split into records, with a small size limit.
pub fn rpc_stream(data: &[u8]) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    rt.block_on(async {
        let mut r = data;
        let budget = Arc::new(crate::guard::Budget::default());
        budget.set_limit(1 << 20);
        for _ in 0..64 {
            let mut charge = budget.charge();
            match crate::nfs::rpc::read_record_within(&mut r, 64 << 10, Some(&mut charge)).await {
                Ok(Some(rec)) => assert!(rec.len() <= 64 << 10),
                _ => break,
            }
        }
        assert_eq!(budget.used(), 0, "every record's charge was given back");
    });
}
