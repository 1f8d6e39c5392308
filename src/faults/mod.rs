//! Fault injection: rules that match a point on a request's way in (TCP accept, TLS handshake,
//! ZAPI call, REST call, NFS procedure) and make it fail the way field failures look, plus listener modes
//! (refuse, blackhole). Rules are runtime state: switched through the control API, preloaded from
//! the topology or a scenario file, and gone after a restart or `reset`.

pub mod listener;

use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Front {
    Tcp,
    Tls,
    Zapi,
    Rest,
    Nfs,
}

/// What a rule matches; absent fields match anything. Names take `*` globs and `|` alternatives.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Match {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub front: Option<Front>,
    /// ZAPI name, REST path or NFS procedure (`volume-create`, `volume-*`,
    /// `/api/storage/volumes*`, `WRITE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
    /// REST method (`POST`, `GET|PATCH`); only REST calls have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub svm: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Client address: an IP or a CIDR.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Answer late: a fixed delay, or one drawn from [ms, max_ms].
    Delay {
        ms: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_ms: Option<u64>,
    },
    /// Hold the connection and never answer.
    Hang,
    /// Close without an answer (the client sees EOF).
    Close,
    /// Close with a TCP reset.
    Reset,
    /// Fail the TLS handshake with a fatal alert.
    TlsFail,
    /// Answer with this HTTP status instead of the ZAPI result.
    HttpStatus { status: u16 },
    /// Fail the ZAPI call with this errno and reason.
    Zapi { errno: u32, reason: String },
    /// Fail the REST call with ONTAP's error body: this HTTP status, code and message.
    RestError {
        status: u16,
        code: u32,
        message: String,
    },
    /// Accept the REST call (202 and a job) but end its job in failure with this code and
    /// message, changing nothing (Trident retries code 524486 on a volume delete).
    JobFailure { code: u32, message: String },
    /// Fail an NFS procedure with this status (EIO, NOSPC, JUKEBOX, STALE, ...).
    NfsError { status: String },
    /// Answer an NLM lock call with this NLM status instead (`denied`, `grace` for
    /// DENIED_GRACE_PERIOD, `nolocks`, `failed`, `deadlck`, ...).
    Nlm { status: String },
}

/// How often a rule fires.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Fire {
    #[default]
    Always,
    Times(u64),
    Probability(f64),
}

/// A rule as clients submit it, e.g.
/// `{"match": {"api": "volume-create"}, "action": {"type": "zapi", "errno": 13001, "reason": "..."},
///   "fire": {"times": 2}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, rename = "match")]
    pub matcher: Match,
    pub action: Action,
    #[serde(default)]
    pub fire: Fire,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    pub id: u64,
    pub spec: RuleSpec,
    /// How many times it has fired.
    pub fired: u64,
}

/// Where a request is on its way in.
#[derive(Debug, Clone, Copy)]
pub struct Point<'a> {
    pub front: Front,
    pub client: IpAddr,
    pub api: Option<&'a str>,
    pub method: Option<&'a str>,
    pub svm: Option<&'a str>,
    pub volume: Option<&'a str>,
    pub user: Option<&'a str>,
}

impl<'a> Point<'a> {
    pub fn new(front: Front, client: IpAddr) -> Self {
        Point {
            front,
            client,
            api: None,
            method: None,
            svm: None,
            volume: None,
            user: None,
        }
    }
}

#[derive(Default)]
pub struct Faults {
    rules: Mutex<Vec<Rule>>,
    next_id: AtomicU64,
    rng: Mutex<u64>,
    fired_total: AtomicU64,
    pub listeners: listener::Modes,
}

fn glob_any(pattern: &str, value: Option<&str>) -> bool {
    let Some(v) = value else { return false };
    pattern
        .split('|')
        .any(|p| crate::pattern::value_matches(p.trim(), v))
}

fn client_matches(spec: &str, ip: IpAddr) -> bool {
    spec.split(',')
        .map(str::trim)
        .any(|e| match e.split_once('/') {
            None => e.parse::<IpAddr>().is_ok_and(|a| a == ip),
            Some((net, len)) => match (net.parse::<IpAddr>(), len.parse::<u32>(), ip) {
                (Ok(IpAddr::V4(n)), Ok(l), IpAddr::V4(a)) if l <= 32 => {
                    let mask = if l == 0 { 0 } else { u32::MAX << (32 - l) };
                    u32::from(n) & mask == u32::from(a) & mask
                }
                (Ok(IpAddr::V6(n)), Ok(l), IpAddr::V6(a)) if l <= 128 => {
                    let mask = if l == 0 { 0 } else { u128::MAX << (128 - l) };
                    u128::from(n) & mask == u128::from(a) & mask
                }
                _ => false,
            },
        })
}

impl Match {
    fn matches(&self, p: &Point) -> bool {
        self.front.is_none_or(|f| f == p.front)
            && self.api.as_deref().is_none_or(|g| glob_any(g, p.api))
            && self.method.as_deref().is_none_or(|g| glob_any(g, p.method))
            && self.svm.as_deref().is_none_or(|g| glob_any(g, p.svm))
            && self.volume.as_deref().is_none_or(|g| glob_any(g, p.volume))
            && self.user.as_deref().is_none_or(|g| glob_any(g, p.user))
            && self
                .client
                .as_deref()
                .is_none_or(|c| client_matches(c, p.client))
    }
}

impl RuleSpec {
    /// Refuse rules that cannot fire or make no sense at their front.
    pub fn validate(&self) -> Result<(), String> {
        if let Fire::Probability(p) = self.fire {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("probability {p} is not between 0 and 1"));
            }
        }
        if let Action::Delay {
            ms,
            max_ms: Some(max),
        } = self.action
        {
            if max < ms {
                return Err(format!("max_ms {max} is below ms {ms}"));
            }
        }
        if let Action::HttpStatus { status } | Action::RestError { status, .. } = self.action {
            if !(100..=599).contains(&status) {
                return Err(format!("{status} is not an HTTP status"));
            }
        }
        if let Some(c) = &self.matcher.client {
            for e in c.split(',').map(str::trim) {
                let ok = match e.split_once('/') {
                    None => e.parse::<IpAddr>().is_ok(),
                    Some((n, l)) => n.parse::<IpAddr>().is_ok() && l.parse::<u8>().is_ok(),
                };
                if !ok {
                    return Err(format!("client \"{e}\" is not an IP address or CIDR"));
                }
            }
        }
        let front = self.matcher.front;
        let ok = match &self.action {
            Action::TlsFail => front.is_none_or(|f| f == Front::Tls),
            Action::HttpStatus { .. } => front.is_none_or(|f| f == Front::Zapi || f == Front::Rest),
            Action::Zapi { .. } => front.is_none_or(|f| f == Front::Zapi),
            Action::RestError { .. } | Action::JobFailure { .. } => {
                front.is_none_or(|f| f == Front::Rest)
            }
            Action::NfsError { status } => {
                crate::faults::nfs_status(status).is_some() && front.is_none_or(|f| f == Front::Nfs)
            }
            Action::Nlm { status } => {
                crate::nfs::nlm::Stat::from_name(status).is_some()
                    && front.is_none_or(|f| f == Front::Nfs)
            }
            _ => true,
        };
        if !ok {
            return Err(format!(
                "action {:?} cannot apply at front {:?}",
                self.action, front
            ));
        }
        Ok(())
    }

    /// The front an action belongs to when the rule does not say.
    fn front(&self) -> Option<Front> {
        self.matcher.front.or(match self.action {
            Action::TlsFail => Some(Front::Tls),
            Action::Zapi { .. } => Some(Front::Zapi),
            // An HTTP status bites the REST front when the rule names a method, else the servlet.
            Action::HttpStatus { .. } if self.matcher.method.is_none() => Some(Front::Zapi),
            Action::HttpStatus { .. } | Action::RestError { .. } | Action::JobFailure { .. } => {
                Some(Front::Rest)
            }
            Action::NfsError { .. } | Action::Nlm { .. } => Some(Front::Nfs),
            _ => None,
        })
    }
}

/// NFS3 status codes a rule may inject.
pub fn nfs_status(name: &str) -> Option<u32> {
    Some(
        match name.to_ascii_uppercase().trim_start_matches("NFS3ERR_") {
            "PERM" => 1,
            "NOENT" => 2,
            "IO" | "EIO" => 5,
            "ACCES" => 13,
            "NOSPC" => 28,
            "ROFS" => 30,
            "DQUOT" => 69,
            "STALE" => 70,
            "SERVERFAULT" => 10006,
            "JUKEBOX" => 10008,
            _ => return None,
        },
    )
}

impl Faults {
    pub fn add(&self, spec: RuleSpec) -> Result<Rule, String> {
        spec.validate()?;
        let mut spec = spec;
        spec.matcher.front = spec.front();
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let rule = Rule { id, spec, fired: 0 };
        self.rules
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(rule.clone());
        Ok(rule)
    }

    /// No rule is set (cheaper than `list().is_empty()`).
    pub fn is_empty(&self) -> bool {
        self.rules
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    pub fn list(&self) -> Vec<Rule> {
        self.rules.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn remove(&self, id: u64) -> bool {
        let mut r = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        let before = r.len();
        r.retain(|x| x.id != id);
        r.len() != before
    }

    pub fn clear(&self) {
        self.rules.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    pub fn fired_total(&self) -> u64 {
        self.fired_total.load(Ordering::Relaxed)
    }

    fn random(&self) -> f64 {
        let mut s = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        if *s == 0 {
            *s = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
                | 1;
        }
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        (*s >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Whether any rule matches on a volume name (so a caller need not work one out otherwise).
    pub fn names_volumes(&self) -> bool {
        self.rules
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .any(|r| r.spec.matcher.volume.is_some())
    }

    /// The action of the first matching rule that fires here, if any. A `times` rule that has
    /// fired its count is removed.
    pub fn check(&self, p: &Point) -> Option<(u64, Action)> {
        let mut rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        let mut hit = None;
        for (i, r) in rules.iter_mut().enumerate() {
            if !r.spec.matcher.matches(p) {
                continue;
            }
            let fires = match r.spec.fire {
                Fire::Always => true,
                Fire::Times(n) => r.fired < n,
                Fire::Probability(prob) => self.random() < prob,
            };
            if fires {
                r.fired += 1;
                hit = Some((i, r.id, r.spec.action.clone()));
                break;
            }
        }
        let (i, id, action) = hit?;
        if let Fire::Times(n) = rules[i].spec.fire {
            if rules[i].fired >= n {
                rules.remove(i);
            }
        }
        self.fired_total.fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            rule = id,
            action = %serde_json::to_string(&action).unwrap_or_default(),
            front = %plain(&p.front),
            api = p.api.unwrap_or(""),
            "fault injected"
        );
        Some((id, action))
    }

    /// How long a delay action waits.
    pub fn delay_of(&self, action: &Action) -> Option<std::time::Duration> {
        match action {
            Action::Delay { ms, max_ms } => {
                let extra = max_ms.map_or(0, |m| ((m - ms) as f64 * self.random()) as u64);
                Some(std::time::Duration::from_millis(ms + extra))
            }
            _ => None,
        }
    }
}

/// A serialisable value as its JSON text without quotes (`"zapi"` logs as `zapi`).
pub(crate) fn plain(v: &impl Serialize) -> String {
    let t = serde_json::to_string(v).unwrap_or_default();
    t.trim_matches('"').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zapi_point(api: &'static str) -> Point<'static> {
        Point {
            api: Some(api),
            svm: Some("svm1"),
            ..Point::new(Front::Zapi, "10.1.2.3".parse().unwrap())
        }
    }

    #[test]
    fn rules_match_fire_and_expire() {
        let f = Faults::default();
        let spec: RuleSpec = serde_json::from_str(
            r#"{"match":{"api":"volume-*","client":"10.0.0.0/8"},"action":{"type":"zapi","errno":13001,"reason":"boom"},"fire":{"times":2}}"#,
        )
        .unwrap();
        let r = f.add(spec).unwrap();
        assert_eq!(r.spec.matcher.front, Some(Front::Zapi));
        assert!(f.check(&zapi_point("system-get-version")).is_none());
        assert!(f.check(&zapi_point("volume-create")).is_some());
        assert!(f.check(&zapi_point("volume-get-iter")).is_some());
        assert!(
            f.check(&zapi_point("volume-create")).is_none(),
            "fired its two times"
        );
        assert!(f.list().is_empty());
        assert_eq!(f.fired_total(), 2);
    }

    #[test]
    fn bad_rules_are_refused() {
        for bad in [
            r#"{"action":{"type":"delay","ms":10,"max_ms":5}}"#,
            r#"{"action":{"type":"http_status","status":999}}"#,
            r#"{"action":{"type":"nfs_error","status":"BOGUS"}}"#,
            r#"{"match":{"front":"tcp"},"action":{"type":"zapi","errno":1,"reason":"x"}}"#,
            r#"{"match":{"client":"nope"},"action":{"type":"hang"}}"#,
            r#"{"action":{"type":"hang"},"fire":{"probability":2.0}}"#,
        ] {
            let spec: RuleSpec = serde_json::from_str(bad).unwrap();
            assert!(Faults::default().add(spec).is_err(), "{bad}");
        }
    }
}
