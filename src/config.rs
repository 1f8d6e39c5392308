//! The topology seed: a TOML file (or the built-in default) describing the cluster a run starts from.
//!
//! Every key is checked at start; a bad config is refused with a message that names the key and the
//! reason, so a lab user never gets a half-understood cluster.

use serde::Deserialize;
use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

pub const DEFAULT_PASSWORD: &str = "netapp1!";
pub const PASSWORD_ENV: &str = "ONTAP_SIM_PASSWORD";
pub const DEFAULT_MANAGEMENT_LISTEN: &str = "0.0.0.0:8443";
pub const DEFAULT_NFS_LISTEN: &str = "0.0.0.0:2049";

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Topology {
    /// Seed for every derived identity (UUIDs, serial numbers), so a run is reproducible.
    #[serde(default = "default_seed")]
    pub seed: String,
    #[serde(default)]
    pub cluster: ClusterConfig,
    #[serde(default)]
    pub listen: ListenConfig,
    #[serde(default)]
    pub tls: TlsConfig,
    #[serde(default)]
    pub nodes: Vec<NodeConfig>,
    #[serde(default)]
    pub aggregates: Vec<AggregateConfig>,
    #[serde(default)]
    pub svms: Vec<SvmConfig>,
    #[serde(default)]
    pub users: Vec<UserConfig>,
    /// QoS policy groups that volumes may name.
    #[serde(default)]
    pub qos_policy_groups: Vec<String>,
    /// Fault rules active from the start (the control API's rule format).
    #[serde(default)]
    pub faults: Vec<crate::faults::RuleSpec>,
    /// Timeouts, connection caps and the body budget (`serve` flags override each).
    #[serde(default)]
    pub limits: LimitsConfig,
}

/// `[limits]`: see [`crate::guard::Limits`]; times in seconds.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    pub header_timeout: Option<u64>,
    pub body_timeout: Option<u64>,
    pub idle_timeout: Option<u64>,
    pub nfs_idle_timeout: Option<u64>,
    pub max_connections: Option<usize>,
    pub max_connections_per_peer: Option<usize>,
    pub body_budget: Option<Size>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    #[serde(default = "default_cluster_name")]
    pub name: String,
    /// ONTAP release, `generation.major.minor` (optionally with a patch suffix such as `P3`).
    #[serde(default = "default_version")]
    pub version: String,
    /// ONTAPI version `1.N`; derived from the release when absent (9.x.y -> 1.(100 + 10x + y)).
    pub ontapi: Option<String>,
    pub location: Option<String>,
    pub contact: Option<String>,
    /// How long an asynchronous REST job takes, queued then running, before it ends (0: jobs end
    /// before the 202 is sent). Lets clients' job polling be exercised.
    #[serde(default)]
    pub job_duration_ms: u64,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            name: default_cluster_name(),
            version: default_version(),
            ontapi: None,
            location: None,
            contact: None,
            job_duration_ms: 0,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ListenConfig {
    pub management: Option<String>,
    pub nfs: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM server certificate chain; with `key`, replaces the generated certificate.
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// PEM CA whose signed client certificates authenticate users by CN.
    pub client_ca: Option<PathBuf>,
    /// Extra DNS names or IPs for the generated server certificate.
    #[serde(default)]
    pub extra_names: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    pub name: String,
    pub serial_number: Option<String>,
    #[serde(default = "default_node_model")]
    pub model: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AggregateConfig {
    pub name: String,
    pub size: Size,
    #[serde(default = "default_media")]
    pub media: String,
    /// Owning node; the first node when absent.
    pub node: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SvmConfig {
    pub name: String,
    #[serde(default = "default_svm_state")]
    pub state: String,
    #[serde(default)]
    pub aggregates: Vec<String>,
    /// Allowed protocols; the union of the LIFs' protocols when absent.
    pub protocols: Option<Vec<String>>,
    #[serde(default)]
    pub lifs: Vec<LifConfig>,
    pub comment: Option<String>,
    /// Export policies the SVM starts with (`default` always exists; rules listed for it are added).
    #[serde(default)]
    pub export_policies: Vec<ExportPolicyConfig>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExportPolicyConfig {
    pub name: String,
    #[serde(default)]
    pub rules: Vec<ExportRuleConfig>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExportRuleConfig {
    pub client_match: String,
    #[serde(default = "any")]
    pub protocols: Vec<String>,
    #[serde(default = "any")]
    pub ro_rule: Vec<String>,
    #[serde(default = "any")]
    pub rw_rule: Vec<String>,
    #[serde(default = "any")]
    pub superuser: Vec<String>,
}

fn any() -> Vec<String> {
    vec!["any".into()]
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LifConfig {
    pub name: String,
    /// IP address; the NFS listen address when absent (loopback when that is unspecified).
    pub address: Option<String>,
    #[serde(default = "default_netmask")]
    pub netmask: String,
    #[serde(default = "default_lif_role")]
    pub role: String,
    #[serde(default = "default_lif_protocols")]
    pub protocols: Vec<String>,
    #[serde(default = "default_lif_status")]
    pub status: String,
    /// Home node; the first node when absent.
    pub node: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    pub name: String,
    /// Password for Basic auth; `ONTAP_SIM_PASSWORD` or `netapp1!` when neither it nor a CN is given.
    pub password: Option<String>,
    /// Client-certificate CN that authenticates as this user (the user name itself always does).
    pub certificate_cn: Option<String>,
    /// `cluster`, or the name of the one SVM the user is scoped to.
    #[serde(default = "default_scope")]
    pub scope: String,
    /// `admin` or `readonly` (the built-ins of the scope: `vsadmin`/`vsadmin-readonly` on an
    /// SVM), or a built-in role of the scope by name (`vsadmin-volume`, `none`, ...).
    #[serde(default = "default_role")]
    pub role: String,
}

/// A byte size written as an integer or with ONTAP's binary units (`10TiB`, `500g`, `1.5t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size(pub u64);

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(i64),
            Str(String),
        }
        let raw = Raw::deserialize(d).map_err(|_| {
            serde::de::Error::custom(
                "expected a size: bytes as an integer, or a string such as \"10TiB\"",
            )
        })?;
        match raw {
            Raw::Int(n) if n > 0 => Ok(Size(n as u64)),
            Raw::Int(n) => Err(serde::de::Error::custom(format!(
                "size must be positive, got {n}"
            ))),
            Raw::Str(s) => parse_size(&s).map(Size).map_err(serde::de::Error::custom),
        }
    }
}

/// Parse `10TiB`, `10t`, `500GB`, `1024`: ONTAP's units are binary whatever the spelling.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("size {s:?} does not start with a number"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        "p" | "pb" | "pib" => 1 << 50,
        other => return Err(format!("size {s:?} has an unknown unit {other:?}")),
    };
    let bytes = value * mult as f64;
    if !(bytes >= 1.0 && bytes < u64::MAX as f64) {
        return Err(format!("size {s:?} is out of range"));
    }
    Ok(bytes as u64)
}

fn default_seed() -> String {
    "ontap-sim".into()
}
fn default_cluster_name() -> String {
    "cluster1".into()
}
fn default_version() -> String {
    "9.14.1".into()
}
fn default_node_model() -> String {
    "SIMBOX".into()
}
fn default_media() -> String {
    "ssd".into()
}
fn default_svm_state() -> String {
    "running".into()
}
fn default_netmask() -> String {
    "255.255.255.0".into()
}
fn default_lif_role() -> String {
    "data".into()
}
fn default_lif_protocols() -> Vec<String> {
    vec!["nfs".into()]
}
fn default_lif_status() -> String {
    "up".into()
}
fn default_scope() -> String {
    "cluster".into()
}
fn default_role() -> String {
    "admin".into()
}

/// A config that could not be accepted: which file, which key, and why.
#[derive(Debug, thiserror::Error)]
#[error("config {source_name}: {key}: {reason}")]
pub struct ConfigError {
    pub source_name: String,
    pub key: String,
    pub reason: String,
}

impl Topology {
    /// The topology `serve` runs when no `--config` is given.
    pub fn builtin_default() -> Topology {
        let toml = r#"
            [cluster]
            name = "cluster1"
            version = "9.14.1"

            [[nodes]]
            name = "cluster1-01"

            [[aggregates]]
            name = "aggr1"
            size = "10TiB"
            media = "ssd"

            [[svms]]
            name = "svm1"
            aggregates = ["aggr1"]
            [[svms.lifs]]
            name = "svm1_data1"
            protocols = ["nfs"]
            # A fresh ONTAP SVM's default policy has no rules and so denies every NFS client; the
            # lab topology opens it to all, with root allowed, so a mount works out of the box.
            [[svms.export_policies]]
            name = "default"
            [[svms.export_policies.rules]]
            client_match = "0.0.0.0/0"
            superuser = ["any"]
        "#;
        let mut t: Topology = toml::from_str(toml).expect("built-in topology parses");
        t.fill_defaults();
        t
    }

    pub fn load(path: &Path) -> Result<Topology, ConfigError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            source_name: name.clone(),
            key: "(file)".into(),
            reason: format!("cannot read: {e}"),
        })?;
        Self::parse(&text, &name)
    }

    pub fn parse(text: &str, source_name: &str) -> Result<Topology, ConfigError> {
        let at_line = |e: &toml::de::Error| {
            e.span()
                .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1)
        };
        let syntax = |e: toml::de::Error| ConfigError {
            source_name: source_name.into(),
            key: at_line(&e).map_or_else(|| "(document)".into(), |l| format!("line {l}")),
            reason: e.message().to_string(),
        };
        // The path of the key that failed (`svms[0].lifs[0].protocols`) and its line.
        let de = toml::de::Deserializer::parse(text).map_err(syntax)?;
        let mut t: Topology = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let line = at_line(&inner).map(|l| format!("line {l}"));
            let key = match (path.as_str(), line) {
                (".", Some(l)) => l,
                (".", None) => "(document)".into(),
                (p, Some(l)) => format!("{p} (line {})", l.trim_start_matches("line ")),
                (p, None) => p.to_string(),
            };
            ConfigError {
                source_name: source_name.into(),
                key,
                reason: inner.message().to_string(),
            }
        })?;
        t.fill_defaults();
        t.validate().map_err(|(key, reason)| ConfigError {
            source_name: source_name.into(),
            key,
            reason,
        })?;
        Ok(t)
    }

    /// Nodes and users may be left out of a config; a cluster always has them.
    fn fill_defaults(&mut self) {
        if self.nodes.is_empty() {
            self.nodes.push(NodeConfig {
                name: format!("{}-01", self.cluster.name),
                serial_number: None,
                model: default_node_model(),
            });
        }
        if self.users.is_empty() {
            self.users.push(UserConfig {
                name: "admin".into(),
                password: None,
                certificate_cn: None,
                scope: "cluster".into(),
                role: "admin".into(),
            });
            if let Some(svm) = self.svms.first() {
                self.users.push(UserConfig {
                    name: "vsadmin".into(),
                    password: None,
                    certificate_cn: None,
                    scope: svm.name.clone(),
                    role: "admin".into(),
                });
            }
        }
    }

    fn validate(&self) -> Result<(), (String, String)> {
        parse_version(&self.cluster.version).map_err(|r| ("cluster.version".into(), r))?;
        if self.cluster.job_duration_ms > 600_000 {
            return Err((
                "cluster.job_duration_ms".into(),
                format!(
                    "{} is over the limit of 600000 (clients such as Trident give up polling a job after 2 minutes)",
                    self.cluster.job_duration_ms
                ),
            ));
        }
        for (i, f) in self.faults.iter().enumerate() {
            f.validate().map_err(|r| (format!("faults[{i}]"), r))?;
        }
        if let Some(o) = &self.cluster.ontapi {
            parse_ontapi(o).map_err(|r| ("cluster.ontapi".into(), r))?;
        }
        check_name(&self.cluster.name, NameKind::Svm).map_err(|r| ("cluster.name".into(), r))?;
        if let Some(l) = &self.listen.management {
            check_addr(l).map_err(|r| ("listen.management".into(), r))?;
        }
        if let Some(l) = &self.listen.nfs {
            check_addr(l).map_err(|r| ("listen.nfs".into(), r))?;
        }
        if self.tls.cert.is_some() != self.tls.key.is_some() {
            return Err((
                "tls".into(),
                "`cert` and `key` must be given together".into(),
            ));
        }
        let mut node_names = BTreeSet::new();
        for (i, n) in self.nodes.iter().enumerate() {
            check_name(&n.name, NameKind::Node).map_err(|r| (format!("nodes[{i}].name"), r))?;
            if !node_names.insert(n.name.as_str()) {
                return Err((format!("nodes[{i}].name"), dup(&n.name)));
            }
        }
        let mut aggr_names = BTreeSet::new();
        for (i, a) in self.aggregates.iter().enumerate() {
            check_name(&a.name, NameKind::Aggregate)
                .map_err(|r| (format!("aggregates[{i}].name"), r))?;
            if !aggr_names.insert(a.name.as_str()) {
                return Err((format!("aggregates[{i}].name"), dup(&a.name)));
            }
            if ![
                "ssd", "hdd", "hybrid", "vmdisk", "lun", "ssd-nvm", "ssd-cap",
            ]
            .contains(&a.media.as_str())
            {
                return Err((
                    format!("aggregates[{i}].media"),
                    format!(
                        "unknown media type {:?} (ssd, hdd, hybrid, vmdisk, lun, ssd-nvm, ssd-cap)",
                        a.media
                    ),
                ));
            }
            if let Some(node) = &a.node {
                if !node_names.contains(node.as_str()) {
                    return Err((format!("aggregates[{i}].node"), undefined("node", node)));
                }
            }
        }
        let mut svm_names = BTreeSet::new();
        let mut lif_names = BTreeSet::new();
        let mut addresses = BTreeSet::new();
        for (i, s) in self.svms.iter().enumerate() {
            check_name(&s.name, NameKind::Svm).map_err(|r| (format!("svms[{i}].name"), r))?;
            if s.name == self.cluster.name || node_names.contains(s.name.as_str()) {
                return Err((
                    format!("svms[{i}].name"),
                    format!("{:?} is already the name of the cluster or a node", s.name),
                ));
            }
            if !svm_names.insert(s.name.as_str()) {
                return Err((format!("svms[{i}].name"), dup(&s.name)));
            }
            if !["running", "stopped"].contains(&s.state.as_str()) {
                return Err((
                    format!("svms[{i}].state"),
                    format!("must be \"running\" or \"stopped\", not {:?}", s.state),
                ));
            }
            for (j, a) in s.aggregates.iter().enumerate() {
                if !aggr_names.contains(a.as_str()) {
                    return Err((
                        format!("svms[{i}].aggregates[{j}]"),
                        undefined("aggregate", a),
                    ));
                }
            }
            if let Some(protos) = &s.protocols {
                for (j, p) in protos.iter().enumerate() {
                    check_protocol(p).map_err(|r| (format!("svms[{i}].protocols[{j}]"), r))?;
                }
            }
            let mut policy_names = BTreeSet::new();
            for (j, p) in s.export_policies.iter().enumerate() {
                let key = format!("svms[{i}].export_policies[{j}]");
                crate::model::export_policy::check_policy_name(&p.name)
                    .map_err(|e| (format!("{key}.name"), e.to_string()))?;
                if !policy_names.insert(p.name.as_str()) {
                    return Err((format!("{key}.name"), dup(&p.name)));
                }
                let mut clients = BTreeSet::new();
                for (k, r) in p.rules.iter().enumerate() {
                    let mut norm: Vec<String> = r
                        .client_match
                        .split(',')
                        .map(|e| e.trim().to_ascii_lowercase())
                        .collect();
                    norm.sort();
                    if !clients.insert(norm) {
                        return Err((
                            format!("{key}.rules[{k}].client_match"),
                            format!("the policy already has a rule for \"{}\"", r.client_match),
                        ));
                    }
                    crate::model::export_policy::check_rule_words(
                        &r.client_match,
                        &r.protocols,
                        &r.ro_rule,
                        &r.rw_rule,
                        &r.superuser,
                    )
                    .map_err(|e| (format!("{key}.rules[{k}]"), e.to_string()))?;
                }
            }
            for (j, l) in s.lifs.iter().enumerate() {
                let key = format!("svms[{i}].lifs[{j}]");
                check_name(&l.name, NameKind::Lif).map_err(|r| (format!("{key}.name"), r))?;
                if !lif_names.insert(l.name.as_str()) {
                    return Err((format!("{key}.name"), dup(&l.name)));
                }
                if let Some(a) = &l.address {
                    let ip: IpAddr = a.parse().map_err(|_| {
                        (
                            format!("{key}.address"),
                            format!("{a:?} is not an IP address"),
                        )
                    })?;
                    if !addresses.insert(ip) {
                        return Err((
                            format!("{key}.address"),
                            format!("{a} is already the address of another LIF"),
                        ));
                    }
                }
                if l.netmask.parse::<IpAddr>().is_err() {
                    return Err((
                        format!("{key}.netmask"),
                        format!("{:?} is not a netmask", l.netmask),
                    ));
                }
                if !["data", "cluster_mgmt", "node_mgmt", "intercluster"].contains(&l.role.as_str())
                {
                    return Err((
                        format!("{key}.role"),
                        format!(
                            "unknown role {:?} (data, cluster_mgmt, node_mgmt, intercluster)",
                            l.role
                        ),
                    ));
                }
                for (k, p) in l.protocols.iter().enumerate() {
                    check_protocol(p).map_err(|r| (format!("{key}.protocols[{k}]"), r))?;
                }
                if !["up", "down"].contains(&l.status.as_str()) {
                    return Err((
                        format!("{key}.status"),
                        format!("must be \"up\" or \"down\", not {:?}", l.status),
                    ));
                }
                if let Some(node) = &l.node {
                    if !node_names.contains(node.as_str()) {
                        return Err((format!("{key}.node"), undefined("node", node)));
                    }
                }
            }
        }
        let mut user_names = BTreeSet::new();
        for (i, u) in self.users.iter().enumerate() {
            if u.name.is_empty() || u.name.len() > 64 || u.name.contains(':') {
                return Err((
                    format!("users[{i}].name"),
                    "must be 1 to 64 characters without ':'".into(),
                ));
            }
            if !user_names.insert(u.name.as_str()) {
                return Err((format!("users[{i}].name"), dup(&u.name)));
            }
            if u.scope != "cluster" && !svm_names.contains(u.scope.as_str()) {
                return Err((
                    format!("users[{i}].scope"),
                    format!(
                        "must be \"cluster\" or the name of an SVM; {:?} is neither",
                        u.scope
                    ),
                ));
            }
            // `admin`/`readonly`, or a built-in role of the user's scope by its ONTAP name.
            let builtins = if u.scope == "cluster" {
                crate::model::role::CLUSTER_BUILTINS
            } else {
                crate::model::role::SVM_BUILTINS
            };
            if !["admin", "readonly"].contains(&u.role.as_str())
                && !builtins.contains(&u.role.as_str())
            {
                return Err((
                    format!("users[{i}].role"),
                    format!(
                        "must be \"admin\", \"readonly\" or a built-in role of its scope ({}), not {:?}",
                        builtins.join(", "),
                        u.role
                    ),
                ));
            }
        }
        Ok(())
    }
}

fn dup(name: &str) -> String {
    format!("{name:?} is defined more than once")
}

fn undefined(kind: &str, name: &str) -> String {
    format!("{kind} {name:?} is not defined")
}

fn check_addr(s: &str) -> Result<SocketAddr, String> {
    s.parse()
        .map_err(|_| format!("{s:?} is not an ADDRESS:PORT socket address"))
}

pub fn check_protocol(p: &str) -> Result<(), String> {
    if [
        "nfs", "cifs", "iscsi", "fcp", "nvme", "s3", "fcache", "none",
    ]
    .contains(&p)
    {
        Ok(())
    } else {
        Err(format!(
            "unknown protocol {p:?} (nfs, cifs, iscsi, fcp, nvme, s3)"
        ))
    }
}

pub enum NameKind {
    Node,
    Aggregate,
    Svm,
    Lif,
}

/// ONTAP's naming rules, simplified to what a lab needs: aggregates are identifiers; SVM, node and
/// LIF names may also carry '-' and '.'.
pub fn check_name(name: &str, kind: NameKind) -> Result<(), String> {
    let (max, extra): (usize, &[char]) = match kind {
        NameKind::Aggregate => (255, &[]),
        NameKind::Svm => (47, &['-', '.']),
        NameKind::Node | NameKind::Lif => (255, &['-', '.']),
    };
    let first_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let rest_ok = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || extra.contains(&c));
    if !first_ok || !rest_ok || name.len() > max {
        let allowed = if extra.is_empty() {
            "letters, digits and '_'"
        } else {
            "letters, digits, '_', '-' and '.'"
        };
        return Err(format!(
            "{name:?} is not a valid name: it must start with a letter or '_', hold only {allowed}, and be at most {max} characters"
        ));
    }
    Ok(())
}

/// `9.14.1` or `9.14.1P3` -> (9, 14, 1).
pub fn parse_version(v: &str) -> Result<(u32, u32, u32), String> {
    let core: String = v
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let parts: Vec<&str> = core.split('.').collect();
    let bad = || format!("{v:?} is not an ONTAP release such as \"9.14.1\"");
    if parts.len() != 3 {
        return Err(bad());
    }
    let n = |s: &str| s.parse::<u32>().map_err(|_| bad());
    Ok((n(parts[0])?, n(parts[1])?, n(parts[2])?))
}

/// `1.241` -> (1, 241).
pub fn parse_ontapi(v: &str) -> Result<(u32, u32), String> {
    let bad = || format!("{v:?} is not an ONTAPI version such as \"1.241\"");
    let (a, b) = v.split_once('.').ok_or_else(bad)?;
    Ok((a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_topology_is_valid() {
        let t = Topology::builtin_default();
        t.validate().unwrap();
        assert_eq!(t.aggregates[0].size.0, 10 << 40);
        assert_eq!(t.users.len(), 2);
        assert_eq!(t.users[1].scope, "svm1");
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("10TiB").unwrap(), 10 << 40);
        assert_eq!(parse_size("500g").unwrap(), 500 << 30);
        assert_eq!(parse_size("1.5k").unwrap(), 1536);
        assert!(parse_size("ten").is_err());
        assert!(parse_size("5x").is_err());
    }

    #[test]
    fn errors_name_the_key() {
        let e = Topology::parse(
            "[[aggregates]]\nname='a1'\nsize='1t'\n[[svms]]\nname='s'\naggregates=['a1','nope']\n",
            "t.toml",
        )
        .unwrap_err();
        assert_eq!(e.key, "svms[0].aggregates[1]");
        assert!(e.to_string().contains("\"nope\""), "{e}");

        let e = Topology::parse("[cluster]\nnmae='x'\n", "t.toml").unwrap_err();
        assert!(e.to_string().contains("nmae"), "{e}");

        let e = Topology::parse("[[users]]\nname='u'\nscope='svm9'\n", "t.toml").unwrap_err();
        assert_eq!(e.key, "users[0].scope");
    }

    #[test]
    fn users_may_name_the_built_in_roles_of_their_scope() {
        let svm = "[[aggregates]]\nname='aggr1'\nsize='1TiB'\n[[svms]]\nname='svm1'\naggregates=['aggr1']\n";
        let ok = format!("{svm}[[users]]\nname='v'\nscope='svm1'\nrole='vsadmin-volume'\n");
        assert!(Topology::parse(&ok, "t.toml").is_ok());
        let wrong = format!("{svm}[[users]]\nname='v'\nrole='vsadmin'\n");
        let e = Topology::parse(&wrong, "t.toml").unwrap_err();
        assert_eq!(e.key, "users[0].role");
        assert!(e.to_string().contains("admin, readonly, none"), "{e}");
    }
}
