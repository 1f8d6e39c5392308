//! Logical interfaces: the addresses clients reach an SVM's data and management services at.
//! Made from the topology or at runtime (`net-interface-create`, `POST
//! /api/network/ip/interfaces`); saved with their SVM.

use super::ModelError;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperStatus {
    Up,
    Down,
}

impl OperStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            OperStatus::Up => "up",
            OperStatus::Down => "down",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lif {
    pub name: String,
    pub uuid: Uuid,
    pub address: IpAddr,
    pub netmask: String,
    /// `data`, `cluster_mgmt`, `node_mgmt`, `intercluster`.
    pub role: String,
    pub protocols: Vec<String>,
    /// Administrative status; the operational status follows it (the simulator's ports are
    /// always up).
    pub status: OperStatus,
    pub home_node: String,
    #[serde(default = "default_port")]
    pub home_port: String,
    /// The REST service policy; derived from the role and protocols when empty.
    #[serde(default)]
    pub service_policy: String,
}

fn default_port() -> String {
    "e0a".into()
}

impl Lif {
    /// The service policy ONTAP would show for this LIF.
    pub fn service_policy(&self) -> String {
        if !self.service_policy.is_empty() {
            return self.service_policy.clone();
        }
        default_policy(&self.role, &self.protocols).to_string()
    }
}

fn default_policy(role: &str, protocols: &[String]) -> &'static str {
    match role {
        "data" if protocols.iter().any(|p| p == "iscsi" || p == "fcp") => "default-data-blocks",
        "data" if protocols.iter().all(|p| p == "none") => "default-management",
        "data" => "default-data-files",
        "intercluster" => "default-intercluster",
        _ => "default-management",
    }
}

/// The service policies a LIF may name, with the role and data protocols each implies.
pub fn policy_protocols(policy: &str) -> Option<(&'static str, Vec<String>)> {
    let v = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
    Some(match policy {
        "default-data-files" => ("data", v(&["nfs", "cifs"])),
        "default-data-blocks" => ("data", v(&["iscsi"])),
        "default-data-iscsi" => ("data", v(&["iscsi"])),
        "default-data-nvme-tcp" => ("data", v(&["nvme"])),
        "default-management" => ("data", v(&["none"])),
        "default-intercluster" => ("intercluster", v(&["none"])),
        _ => return None,
    })
}

/// What a new LIF is made of.
#[derive(Debug, Clone, Default)]
pub struct LifSpec {
    pub name: String,
    pub address: Option<String>,
    pub netmask: Option<String>,
    pub role: Option<String>,
    pub protocols: Option<Vec<String>>,
    pub service_policy: Option<String>,
    pub home_node: Option<String>,
    pub home_port: Option<String>,
    pub admin_up: Option<bool>,
}

/// A change to a LIF: only the fields given change.
#[derive(Debug, Clone, Default)]
pub struct LifChange {
    pub address: Option<String>,
    pub netmask: Option<String>,
    pub home_node: Option<String>,
    pub home_port: Option<String>,
    pub admin_up: Option<bool>,
    pub service_policy: Option<String>,
    pub protocols: Option<Vec<String>>,
}

fn parse_address(a: &str) -> Result<IpAddr, ModelError> {
    a.trim()
        .parse()
        .map_err(|_| ModelError::InvalidInput(format!("\"{a}\" is not a valid IP address")))
}

/// A netmask in dotted form, or a prefix length (`24`), as dotted form.
pub fn parse_netmask(m: &str, v4: bool) -> Result<String, ModelError> {
    let bad = || ModelError::InvalidInput(format!("\"{m}\" is not a valid netmask"));
    if let Ok(len) = m.trim().parse::<u32>() {
        return if v4 {
            if len > 32 {
                return Err(bad());
            }
            let bits = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            Ok(std::net::Ipv4Addr::from(bits).to_string())
        } else {
            if len > 128 {
                return Err(bad());
            }
            let bits = if len == 0 {
                0
            } else {
                u128::MAX << (128 - len)
            };
            Ok(std::net::Ipv6Addr::from(bits).to_string())
        };
    }
    let ip: IpAddr = m.trim().parse().map_err(|_| bad())?;
    let contiguous = match ip {
        IpAddr::V4(a) => {
            let n = u32::from(a);
            n.leading_ones() + n.trailing_zeros() == 32
        }
        IpAddr::V6(a) => {
            let n = u128::from(a);
            n.leading_ones() + n.trailing_zeros() == 128
        }
    };
    if !contiguous || ip.is_ipv4() != v4 {
        return Err(bad());
    }
    Ok(ip.to_string())
}

fn check_lif_protocols(list: &[String]) -> Result<Vec<String>, ModelError> {
    let mut out = Vec::new();
    for p in list {
        let p = p.to_ascii_lowercase();
        if ![
            "nfs", "cifs", "iscsi", "fcp", "nvme", "s3", "fcache", "none",
        ]
        .contains(&p.as_str())
        {
            return Err(ModelError::InvalidInput(format!(
                "Invalid data protocol \"{p}\" (nfs, cifs, iscsi, fcp, fcache, none)"
            )));
        }
        if !out.contains(&p) {
            out.push(p);
        }
    }
    Ok(out)
}

impl super::Cluster {
    /// Take a LIF down or bring it up (a switch for rehearsing a lost data path).
    pub fn set_lif_status(&mut self, name: &str, status: OperStatus) -> Result<(), ModelError> {
        let svm = self
            .svms
            .values()
            .find(|s| s.lifs.iter().any(|l| l.name == name))
            .map(|s| s.name.clone())
            .ok_or_else(|| ModelError::NotFound {
                kind: "LIF",
                name: name.to_string(),
            })?;
        let s = self.svm_mut(&svm)?;
        if let Some(l) = s.lifs.iter_mut().find(|l| l.name == name) {
            l.status = status;
        }
        Ok(())
    }

    pub fn lif(&self, svm: &str, name: &str) -> Result<&super::Lif, ModelError> {
        self.svm(svm)?
            .lifs
            .iter()
            .find(|l| l.name == name)
            .ok_or_else(|| lif_not_found(svm, name))
    }

    /// The SVM and LIF with this UUID.
    pub fn lif_by_uuid(&self, uuid: &str) -> Option<(&super::Svm, &super::Lif)> {
        self.svms.values().find_map(|s| {
            s.lifs
                .iter()
                .find(|l| l.uuid.to_string() == uuid)
                .map(|l| (s, l))
        })
    }

    fn address_taken(&self, addr: &IpAddr, except: Option<(&str, &str)>) -> bool {
        self.svms.values().any(|s| {
            s.lifs.iter().any(|l| {
                l.address.to_canonical() == addr.to_canonical()
                    && except != Some((s.name.as_str(), l.name.as_str()))
            })
        })
    }

    pub fn create_lif(&mut self, svm: &str, spec: LifSpec) -> Result<(), ModelError> {
        self.svm(svm)?;
        crate::config::check_name(&spec.name, crate::config::NameKind::Lif).map_err(|r| {
            ModelError::InvalidInput(format!("Invalid interface name \"{}\": {r}", spec.name))
        })?;
        if self.svm(svm)?.lifs.iter().any(|l| l.name == spec.name) {
            return Err(ModelError::Duplicate {
                kind: "Interface",
                name: format!("{}\" in Vserver \"{svm}", spec.name),
            });
        }
        let address = parse_address(
            spec.address
                .as_deref()
                .ok_or_else(|| ModelError::InvalidInput("An IP address is required".into()))?,
        )?;
        if self.address_taken(&address, None) {
            return Err(ModelError::Duplicate {
                kind: "IP address",
                name: address.to_string(),
            });
        }
        let netmask = parse_netmask(
            spec.netmask
                .as_deref()
                .ok_or_else(|| ModelError::InvalidInput("A netmask is required".into()))?,
            address.is_ipv4(),
        )?;
        let (mut role, mut protocols) =
            ("data".to_string(), vec!["nfs".to_string(), "cifs".into()]);
        let mut policy = String::new();
        if let Some(p) = spec.service_policy.filter(|p| !p.is_empty()) {
            let (r, ps) = policy_protocols(&p).ok_or_else(|| ModelError::NotFound {
                kind: "Service policy",
                name: p.clone(),
            })?;
            role = r.into();
            protocols = ps;
            policy = p;
        }
        if let Some(r) = spec.role.filter(|r| !r.is_empty()) {
            if !["data", "intercluster", "cluster_mgmt", "node_mgmt"].contains(&r.as_str()) {
                return Err(ModelError::InvalidInput(format!(
                    "Invalid role \"{r}\" (data, intercluster, cluster_mgmt, node_mgmt)"
                )));
            }
            role = r;
        }
        if let Some(p) = spec.protocols {
            protocols = check_lif_protocols(&p)?;
        }
        let home_node = match spec.home_node.filter(|n| !n.is_empty()) {
            Some(n) => {
                if self.node(&n).is_none() {
                    return Err(ModelError::NotFound {
                        kind: "Node",
                        name: n,
                    });
                }
                n
            }
            None => self
                .nodes
                .first()
                .map(|n| n.name.clone())
                .unwrap_or_default(),
        };
        let home_port = spec
            .home_port
            .filter(|p| !p.is_empty())
            .unwrap_or_else(default_port);
        check_port(&home_port)?;
        self.counters.next_object += 1;
        let uuid = self.uuid_for(&format!(
            "lif/{svm}/{}/{}",
            spec.name, self.counters.next_object
        ));
        let lif = super::Lif {
            name: spec.name,
            uuid,
            address,
            netmask,
            role,
            protocols,
            status: if spec.admin_up == Some(false) {
                OperStatus::Down
            } else {
                OperStatus::Up
            },
            home_node,
            home_port,
            service_policy: policy,
        };
        self.svm_mut(svm)?.lifs.push(lif);
        Ok(())
    }

    pub fn modify_lif(&mut self, svm: &str, name: &str, ch: LifChange) -> Result<(), ModelError> {
        let mut lif = self.lif(svm, name)?.clone();
        if let Some(a) = &ch.address {
            let a = parse_address(a)?;
            if self.address_taken(&a, Some((svm, name))) {
                return Err(ModelError::Duplicate {
                    kind: "IP address",
                    name: a.to_string(),
                });
            }
            lif.address = a;
        }
        if let Some(m) = &ch.netmask {
            lif.netmask = parse_netmask(m, lif.address.is_ipv4())?;
        } else if ch.address.is_some() {
            // A new family needs a mask of that family.
            lif.netmask = parse_netmask(&lif.netmask, lif.address.is_ipv4())?;
        }
        if let Some(n) = ch.home_node.filter(|n| !n.is_empty()) {
            if self.node(&n).is_none() {
                return Err(ModelError::NotFound {
                    kind: "Node",
                    name: n,
                });
            }
            lif.home_node = n;
        }
        if let Some(p) = ch.home_port.filter(|p| !p.is_empty()) {
            check_port(&p)?;
            lif.home_port = p;
        }
        if let Some(up) = ch.admin_up {
            lif.status = if up { OperStatus::Up } else { OperStatus::Down };
        }
        if let Some(p) = ch.service_policy.filter(|p| !p.is_empty()) {
            let (role, protocols) = policy_protocols(&p).ok_or_else(|| ModelError::NotFound {
                kind: "Service policy",
                name: p.clone(),
            })?;
            lif.role = role.into();
            lif.protocols = protocols;
            lif.service_policy = p;
        }
        if let Some(p) = ch.protocols {
            lif.protocols = check_lif_protocols(&p)?;
        }
        let s = self.svm_mut(svm)?;
        if let Some(l) = s.lifs.iter_mut().find(|l| l.name == name) {
            *l = lif;
        }
        Ok(())
    }

    pub fn rename_lif(&mut self, svm: &str, name: &str, new_name: &str) -> Result<(), ModelError> {
        self.lif(svm, name)?;
        if name == new_name {
            return Ok(());
        }
        crate::config::check_name(new_name, crate::config::NameKind::Lif).map_err(|r| {
            ModelError::InvalidInput(format!("Invalid interface name \"{new_name}\": {r}"))
        })?;
        if self.lif(svm, new_name).is_ok() {
            return Err(ModelError::Duplicate {
                kind: "Interface",
                name: format!("{new_name}\" in Vserver \"{svm}"),
            });
        }
        let s = self.svm_mut(svm)?;
        if let Some(l) = s.lifs.iter_mut().find(|l| l.name == name) {
            l.name = new_name.to_string();
        }
        Ok(())
    }

    pub fn delete_lif(&mut self, svm: &str, name: &str) -> Result<(), ModelError> {
        self.lif(svm, name)?;
        self.svm_mut(svm)?.lifs.retain(|l| l.name != name);
        Ok(())
    }
}

fn check_port(p: &str) -> Result<(), ModelError> {
    let ok = p.len() <= 32
        && p.starts_with('e')
        && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(ModelError::InvalidInput(format!(
            "\"{p}\" is not a port of the node (e0a, e0b, ...)"
        )))
    }
}

fn lif_not_found(svm: &str, name: &str) -> ModelError {
    ModelError::NotFound {
        kind: "Interface",
        name: format!("{name}\" in Vserver \"{svm}"),
    }
}
