//! The call log (recent calls, served as the request journal at `GET /journal`) and the counters
//! behind `/metrics`. Named apart from the durable journal of `store/`, which holds changes.
//! Entries never hold secrets: user names, not passwords; API names, not bodies.

use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use tokio::sync::broadcast;

/// Entries kept for `GET /journal`.
const KEEP: usize = 10_000;
/// Latency histogram bucket bounds, in seconds.
pub const BUCKETS: &[f64] = &[0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0];

#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub seq: u64,
    /// RFC 3339, UTC (formatted when the entry is read, not on the request path).
    #[serde(serialize_with = "rfc3339")]
    pub time: time::OffsetDateTime,
    /// Serialised as `ip:port`; formatted when read, not on the request path.
    pub peer: std::net::SocketAddr,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub svm: Option<String>,
    pub front: &'static str,
    /// ZAPI name, NFS procedure, or the HTTP request line when no API was reached.
    pub api: String,
    /// `passed`, `failed`, `http_<status>` (refused before any API: 401, 404, 405, 413) or
    /// `fault`.
    pub result: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errno: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<u64>,
    pub latency_us: u64,
}

fn rfc3339<S: serde::Serializer>(t: &time::OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(
        &t.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
    )
}

#[derive(Default)]
struct Histogram {
    buckets: Vec<u64>,
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Inner {
    entries: VecDeque<Entry>,
    seq: u64,
    /// front -> api -> result -> count (nested, so counting a known key allocates nothing)
    requests: BTreeMap<String, BTreeMap<String, BTreeMap<String, u64>>>,
    latency: BTreeMap<String, Histogram>,
}

pub struct CallLog {
    inner: Mutex<Inner>,
    tx: broadcast::Sender<Entry>,
}

impl Default for CallLog {
    fn default() -> Self {
        CallLog {
            inner: Mutex::default(),
            tx: broadcast::channel(1024).0,
        }
    }
}

/// What a front reports about one request.
pub struct Record<'a> {
    pub peer: std::net::SocketAddr,
    pub user: Option<&'a str>,
    pub svm: Option<&'a str>,
    pub front: &'static str,
    pub api: &'a str,
    pub result: &'a str,
    pub errno: Option<u32>,
    pub fault: Option<u64>,
    pub latency: std::time::Duration,
}

impl CallLog {
    pub fn record(&self, r: Record) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.seq += 1;
        let e = Entry {
            seq: g.seq,
            time: time::OffsetDateTime::now_utc(),
            peer: r.peer,
            user: r.user.map(str::to_string),
            svm: r.svm.map(str::to_string),
            front: r.front,
            api: r.api.to_string(),
            result: r.result.to_string(),
            errno: r.errno,
            fault: r.fault,
            latency_us: r.latency.as_micros() as u64,
        };
        bump(&mut g.requests, e.front, &e.api, &e.result);
        let secs = r.latency.as_secs_f64();
        if !g.latency.contains_key(e.front) {
            g.latency.insert(e.front.to_string(), Histogram::default());
        }
        let h = g.latency.get_mut(e.front).expect("inserted above");
        if h.buckets.is_empty() {
            h.buckets = vec![0; BUCKETS.len()];
        }
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                h.buckets[i] += 1;
            }
        }
        h.count += 1;
        h.sum += secs;
        if g.entries.len() >= KEEP {
            g.entries.pop_front();
        }
        if self.tx.receiver_count() > 0 {
            let _ = self.tx.send(e.clone());
        }
        g.entries.push_back(e);
    }

    /// Recent entries, oldest first, filtered; `limit` keeps the newest.
    pub fn recent(&self, filter: &Filter, limit: usize) -> Vec<Entry> {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut v: Vec<Entry> = g
            .entries
            .iter()
            .filter(|e| filter.accepts(e))
            .cloned()
            .collect();
        let skip = v.len().saturating_sub(limit);
        v.drain(..skip);
        v
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Entry> {
        self.tx.subscribe()
    }

    /// Request counters and latency histograms in Prometheus text format.
    pub fn render_metrics(&self, out: &mut String) {
        use std::fmt::Write;
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        out.push_str("# HELP ontap_sim_requests_total Requests by front, API and result.\n");
        out.push_str("# TYPE ontap_sim_requests_total counter\n");
        let flat = g.requests.iter().flat_map(|(front, apis)| {
            apis.iter().flat_map(move |(api, results)| {
                results
                    .iter()
                    .map(move |(result, n)| (front, api, result, n))
            })
        });
        for (front, api, result, n) in flat {
            let _ = writeln!(
                out,
                "ontap_sim_requests_total{{front=\"{}\",api=\"{}\",result=\"{}\"}} {n}",
                label(front),
                label(api),
                label(result)
            );
        }
        out.push_str("# HELP ontap_sim_request_duration_seconds Request latency by front.\n");
        out.push_str("# TYPE ontap_sim_request_duration_seconds histogram\n");
        for (front, h) in &g.latency {
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "ontap_sim_request_duration_seconds_bucket{{front=\"{}\",le=\"{b}\"}} {}",
                    label(front),
                    h.buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "ontap_sim_request_duration_seconds_bucket{{front=\"{}\",le=\"+Inf\"}} {}",
                label(front),
                h.count
            );
            let _ = writeln!(
                out,
                "ontap_sim_request_duration_seconds_sum{{front=\"{}\"}} {}",
                label(front),
                h.sum
            );
            let _ = writeln!(
                out,
                "ontap_sim_request_duration_seconds_count{{front=\"{}\"}} {}",
                label(front),
                h.count
            );
        }
    }
}

/// Count one request without allocating when its (front, api, result) was seen before.
fn bump(
    m: &mut BTreeMap<String, BTreeMap<String, BTreeMap<String, u64>>>,
    front: &str,
    api: &str,
    result: &str,
) {
    if !m.contains_key(front) {
        m.insert(front.to_string(), BTreeMap::new());
    }
    let apis = m.get_mut(front).expect("inserted above");
    if !apis.contains_key(api) {
        apis.insert(api.to_string(), BTreeMap::new());
    }
    let results = apis.get_mut(api).expect("inserted above");
    match results.get_mut(result) {
        Some(n) => *n += 1,
        None => {
            results.insert(result.to_string(), 1);
        }
    }
}

/// Escape a Prometheus label value.
pub fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub api: Option<String>,
    pub svm: Option<String>,
    pub result: Option<String>,
    pub front: Option<String>,
}

impl Filter {
    pub fn accepts(&self, e: &Entry) -> bool {
        let m = |want: &Option<String>, have: Option<&str>| {
            want.as_deref()
                .is_none_or(|w| have.is_some_and(|h| crate::pattern::value_matches(w, h)))
        };
        m(&self.api, Some(&e.api))
            && m(&self.svm, e.svm.as_deref())
            && m(&self.result, Some(&e.result))
            && m(&self.front, Some(e.front))
    }
}
