//! Read-only questions the NFS front asks the model on every call: which SVM answers on a LIF
//! address, which volume is at a junction path, and what a volume's export policy grants a client.
//!
//! Nothing here changes state or caches anything: the front asks again on every MNT and every
//! NFS call, so a rule changed through ZAPI bites at once. Export policy evaluation follows
//! ONTAP: the first rule in rule-index order whose client-match and protocol fit the client
//! decides; ro-rule and rw-rule say which security flavors get read and write access (rw needs
//! ro); super-user-security says whether root stays root; everyone else squashed is the rule's
//! anonymous user. A policy without rules denies everyone.

use super::{Cluster, ExportPolicy, ExportRule, OperStatus, Svm, SvmState, Volume, VolumeState};
use std::net::IpAddr;

/// The RPC security flavor a call arrived with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFlavor {
    /// AUTH_NONE (AUTH_NULL): no identity; always treated as the anonymous user.
    None,
    /// AUTH_SYS (AUTH_UNIX): a client-asserted uid, gid and groups.
    Sys,
}

impl AuthFlavor {
    fn word(&self) -> &'static str {
        match self {
            AuthFlavor::None => "none",
            AuthFlavor::Sys => "sys",
        }
    }
}

/// What a client may do with a volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NfsAccess {
    Denied,
    ReadOnly,
    ReadWrite,
}

/// The outcome of evaluating an export policy for one client and credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportDecision {
    pub access: NfsAccess,
    /// The rule that decided (none when no rule matched).
    pub rule_index: Option<u32>,
    /// The client acts as `anon_uid` (root squashed, AUTH_NONE, or access granted only "as
    /// anonymous" through the `none` flavor).
    pub squashed: bool,
    /// The rule's anonymous user id (65534 unless the rule says otherwise).
    pub anon_uid: u32,
    /// Why access was denied, in words for the log.
    pub reason: String,
}

/// Why a LIF address does not lead to an NFS service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LifRefusal {
    /// No data LIF has this address.
    NoLif,
    /// The LIF is administratively or operationally down.
    LifDown(String),
    /// The LIF does not carry NFS, or its SVM does not allow it.
    NoNfs(String),
    /// The SVM is stopped.
    SvmStopped(String),
    /// The SVM has no NFS service, or it is disabled, or it does not serve NFSv3.
    NfsOff(String),
}

impl std::fmt::Display for LifRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LifRefusal::NoLif => write!(f, "no data LIF has this address"),
            LifRefusal::LifDown(l) => write!(f, "LIF \"{l}\" is down"),
            LifRefusal::NoNfs(l) => write!(f, "LIF \"{l}\" does not serve NFS"),
            LifRefusal::SvmStopped(s) => write!(f, "Vserver \"{s}\" is stopped"),
            LifRefusal::NfsOff(s) => write!(f, "Vserver \"{s}\" does not serve NFSv3"),
        }
    }
}

/// ONTAP's anonymous uid when a rule's `anon` is not a number.
pub const DEFAULT_ANON: u32 = 65534;
/// An anonymous uid of 65535 means "anonymous users get no access".
pub const ANON_DISABLED: u32 = 65535;

fn carries_nfs(protocols: &[String]) -> bool {
    protocols
        .iter()
        .any(|p| p.eq_ignore_ascii_case("nfs") || p.eq_ignore_ascii_case("nfs3"))
}

impl Cluster {
    /// The SVM whose up, NFS-carrying data LIF has `local` (the address the client connected
    /// to).
    pub fn nfs_svm_for_address(&self, local: IpAddr) -> Result<&Svm, LifRefusal> {
        let local = local.to_canonical();
        let mut refusal = LifRefusal::NoLif;
        for svm in self.svms.values() {
            for lif in svm
                .lifs
                .iter()
                .filter(|l| l.address.to_canonical() == local)
            {
                if !carries_nfs(&lif.protocols) || lif.role != "data" {
                    refusal = LifRefusal::NoNfs(lif.name.clone());
                } else if lif.status != OperStatus::Up {
                    refusal = LifRefusal::LifDown(lif.name.clone());
                } else if svm.state != SvmState::Running {
                    refusal = LifRefusal::SvmStopped(svm.name.clone());
                } else if !svm.allowed_protocols.is_empty() && !carries_nfs(&svm.allowed_protocols)
                {
                    refusal = LifRefusal::NoNfs(lif.name.clone());
                } else if !svm.nfs.as_ref().is_some_and(|n| n.enabled && n.v3) {
                    refusal = LifRefusal::NfsOff(svm.name.clone());
                } else {
                    return Ok(svm);
                }
            }
        }
        Err(refusal)
    }

    /// The online, mounted volume whose junction path is the longest prefix of `path`, and the
    /// rest of the path below its junction (without a leading '/'; empty for the junction
    /// itself). `path` is absolute; `.`/`..` components and repeated slashes are refused.
    pub fn nfs_volume_at<'a>(&'a self, svm: &'a str, path: &str) -> Option<(&'a Volume, String)> {
        if !path.starts_with('/') || path.split('/').any(|c| c == "." || c == "..") {
            return None;
        }
        let trimmed = if path.len() > 1 {
            path.trim_end_matches('/')
        } else {
            path
        };
        let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
        if trimmed.contains("//") {
            return None;
        }
        let mut best: Option<(&Volume, usize)> = None;
        for v in self.volumes_of(svm) {
            if v.state != VolumeState::Online {
                continue;
            }
            let Some(j) = v.junction_path.as_deref() else {
                continue;
            };
            let fits = trimmed == j
                || j == "/"
                || (trimmed.starts_with(j) && trimmed.as_bytes().get(j.len()) == Some(&b'/'));
            if fits && best.is_none_or(|(_, len)| j.len() > len) {
                best = Some((v, j.len()));
            }
        }
        let (v, len) = best?;
        let rest = trimmed[len..].trim_start_matches('/').to_string();
        Some((v, rest))
    }

    /// A volume of `svm` by its UUID (file handles name volumes by UUID, so renames keep them).
    pub fn nfs_volume_by_uuid<'a>(&'a self, svm: &'a str, uuid: &uuid::Uuid) -> Option<&'a Volume> {
        self.volume_by_uuid(uuid).filter(|v| v.svm == svm)
    }

    /// Online volumes mounted directly below `volume`'s junction: (entry name, volume).
    pub fn nfs_junction_children<'a>(
        &'a self,
        svm: &'a str,
        volume: &'a Volume,
    ) -> impl Iterator<Item = (&'a str, &'a Volume)> + 'a {
        let parent = volume.junction_path.as_deref();
        self.volumes_of(svm).filter_map(move |v| {
            let parent = parent?;
            if v.state != VolumeState::Online || v.uuid == volume.uuid {
                return None;
            }
            let j = v.junction_path.as_deref()?;
            let (dir, name) = j.rsplit_once('/')?;
            let dir = if dir.is_empty() { "/" } else { dir };
            (dir == parent && !name.is_empty()).then_some((name, v))
        })
    }

    /// The online volume whose root holds `volume`'s junction (None for the namespace root).
    pub fn nfs_junction_parent<'a>(&'a self, svm: &'a str, volume: &Volume) -> Option<&'a Volume> {
        let j = volume.junction_path.as_deref()?;
        if j == "/" {
            return None;
        }
        let (dir, _) = j.rsplit_once('/')?;
        let dir = if dir.is_empty() { "/" } else { dir };
        self.volumes_of(svm)
            .find(|v| v.state == VolumeState::Online && v.junction_path.as_deref() == Some(dir))
    }

    /// The volumes a client passes through to reach `volume`, from the namespace root down,
    /// `volume` excluded (ONTAP wants read access on each for a mount).
    pub fn nfs_junction_ancestors<'a>(
        &'a self,
        svm: &'a str,
        volume: &'a Volume,
    ) -> Vec<&'a Volume> {
        let mut out = Vec::new();
        let mut cur = volume;
        while let Some(p) = self.nfs_junction_parent(svm, cur) {
            if out.iter().any(|v: &&Volume| v.uuid == p.uuid) || out.len() > 1024 {
                break;
            }
            out.push(p);
            cur = p;
        }
        out.reverse();
        out
    }

    /// The export policy that governs `volume`.
    pub fn nfs_policy_of(&self, volume: &Volume) -> Option<&ExportPolicy> {
        self.export_policy(&volume.svm, &volume.export_policy).ok()
    }
}

/// Does one client-match entry cover `client`? Host names are resolved by `resolve`.
fn entry_matches(
    entry: &str,
    client: IpAddr,
    resolve: &mut dyn FnMut(&str) -> Vec<IpAddr>,
) -> bool {
    let entry = entry.trim();
    if entry.is_empty() {
        return false;
    }
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return ip.to_canonical() == client;
    }
    if let Some((net, len)) = entry.split_once('/') {
        let (Ok(net), Ok(len)) = (net.parse::<IpAddr>(), len.parse::<u32>()) else {
            return false;
        };
        return match (net.to_canonical(), client) {
            (IpAddr::V4(n), IpAddr::V4(c)) if len <= 32 => {
                let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
                u32::from(n) & mask == u32::from(c) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(c)) if len <= 128 => {
                let mask = if len == 0 {
                    0
                } else {
                    u128::MAX << (128 - len)
                };
                u128::from(n) & mask == u128::from(c) & mask
            }
            _ => false,
        };
    }
    if entry.starts_with('@') || entry.starts_with('.') {
        // Netgroups need NIS/LDAP and domains need reverse DNS; the simulator has neither.
        return false;
    }
    resolve(entry)
        .into_iter()
        .any(|ip| ip.to_canonical() == client)
}

/// Does a rule's client-match (a comma list) cover `client`?
pub fn client_matches(
    client_match: &str,
    client: IpAddr,
    resolve: &mut dyn FnMut(&str) -> Vec<IpAddr>,
) -> bool {
    let client = client.to_canonical();
    client_match
        .split(',')
        .any(|e| entry_matches(e, client, resolve))
}

/// How a flavor list treats a flavor: Some(false) = granted as the caller, Some(true) = granted
/// as anonymous, None = refused.
fn flavor_grant(list: &[String], flavor: AuthFlavor) -> Option<bool> {
    let has = |w: &str| list.iter().any(|x| x.eq_ignore_ascii_case(w));
    if has("never") {
        return None;
    }
    if has("any") || has(flavor.word()) {
        return Some(flavor == AuthFlavor::None);
    }
    if has("none") {
        return Some(true);
    }
    None
}

fn anon_of(rule: &ExportRule) -> u32 {
    rule.anon.trim().parse().unwrap_or(DEFAULT_ANON)
}

/// Evaluate `policy` for a call from `client` with `flavor` and `uid`. Rules are tried in
/// rule-index order; the first whose client-match and protocols fit decides.
pub fn evaluate_export_policy(
    policy: &ExportPolicy,
    client: IpAddr,
    flavor: AuthFlavor,
    uid: u32,
    resolve: &mut dyn FnMut(&str) -> Vec<IpAddr>,
) -> ExportDecision {
    let mut rules: Vec<&ExportRule> = policy.rules.iter().collect();
    rules.sort_by_key(|r| r.index);
    let denied = |reason: String, rule: Option<&ExportRule>| ExportDecision {
        access: NfsAccess::Denied,
        rule_index: rule.map(|r| r.index),
        squashed: true,
        anon_uid: rule.map_or(DEFAULT_ANON, anon_of),
        reason,
    };
    let Some(rule) = rules.into_iter().find(|r| {
        r.protocols.iter().any(|p| {
            p.eq_ignore_ascii_case("any")
                || p.eq_ignore_ascii_case("nfs")
                || p.eq_ignore_ascii_case("nfs3")
        }) && client_matches(&r.client_match, client, resolve)
    }) else {
        return denied(
            format!(
                "no rule of export policy \"{}\" matches client {client}",
                policy.name
            ),
            None,
        );
    };
    let anon = anon_of(rule);
    let Some(ro_as_anon) = flavor_grant(&rule.ro_rule, flavor) else {
        return denied(
            format!(
                "rule {} of export policy \"{}\" gives {} no read access",
                rule.index,
                policy.name,
                flavor.word()
            ),
            Some(rule),
        );
    };
    let rw = flavor_grant(&rule.rw_rule, flavor);
    let (access, as_anon) = match rw {
        Some(rw_as_anon) => (NfsAccess::ReadWrite, rw_as_anon),
        None => (NfsAccess::ReadOnly, ro_as_anon),
    };
    let root_kept = flavor == AuthFlavor::Sys
        && uid == 0
        && rule
            .superuser
            .iter()
            .any(|s| s.eq_ignore_ascii_case("any") || s.eq_ignore_ascii_case("sys"));
    let squashed = as_anon || flavor == AuthFlavor::None || (uid == 0 && !root_kept);
    if squashed && anon == ANON_DISABLED {
        return denied(
            format!(
                "rule {} of export policy \"{}\" maps the caller to anonymous user 65535, which has no access",
                rule.index, policy.name
            ),
            Some(rule),
        );
    }
    ExportDecision {
        access,
        rule_index: Some(rule.index),
        squashed,
        anon_uid: anon,
        reason: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(index: u32, m: &str, ro: &[&str], rw: &[&str], su: &[&str]) -> ExportRule {
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect();
        ExportRule {
            index,
            client_match: m.into(),
            protocols: vec!["any".into()],
            ro_rule: v(ro),
            rw_rule: v(rw),
            superuser: v(su),
            anon: "65534".into(),
            allow_suid: true,
            allow_dev: true,
        }
    }

    fn policy(rules: Vec<ExportRule>) -> ExportPolicy {
        ExportPolicy {
            name: "p".into(),
            svm: "svm1".into(),
            id: 1,
            rules,
        }
    }

    fn no_dns(_: &str) -> Vec<IpAddr> {
        Vec::new()
    }

    fn eval(p: &ExportPolicy, ip: &str, f: AuthFlavor, uid: u32) -> ExportDecision {
        evaluate_export_policy(p, ip.parse().unwrap(), f, uid, &mut no_dns)
    }

    #[test]
    fn empty_policy_denies_everyone() {
        let p = policy(vec![]);
        assert_eq!(
            eval(&p, "10.0.0.1", AuthFlavor::Sys, 1000).access,
            NfsAccess::Denied
        );
    }

    #[test]
    fn first_matching_rule_in_index_order_decides() {
        let p = policy(vec![
            rule(2, "0.0.0.0/0", &["any"], &["any"], &["none"]),
            rule(1, "10.0.0.0/8", &["sys"], &["never"], &["none"]),
        ]);
        let d = eval(&p, "10.1.2.3", AuthFlavor::Sys, 1000);
        assert_eq!((d.access, d.rule_index), (NfsAccess::ReadOnly, Some(1)));
        let d = eval(&p, "192.168.1.1", AuthFlavor::Sys, 1000);
        assert_eq!((d.access, d.rule_index), (NfsAccess::ReadWrite, Some(2)));
    }

    #[test]
    fn client_match_forms() {
        let mut dns = |h: &str| -> Vec<IpAddr> {
            if h == "client.lab" {
                vec!["10.9.9.9".parse().unwrap()]
            } else {
                vec![]
            }
        };
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(client_matches("10.0.0.1", ip("10.0.0.1"), &mut dns));
        assert!(!client_matches("10.0.0.1", ip("10.0.0.2"), &mut dns));
        assert!(client_matches("10.0.0.0/24", ip("10.0.0.200"), &mut dns));
        assert!(!client_matches("10.0.0.0/24", ip("10.0.1.1"), &mut dns));
        assert!(client_matches(
            "1.1.1.1, 10.0.0.7",
            ip("10.0.0.7"),
            &mut dns
        ));
        assert!(client_matches("client.lab", ip("10.9.9.9"), &mut dns));
        assert!(!client_matches("@ng", ip("10.9.9.9"), &mut dns));
        assert!(client_matches("0.0.0.0/0", ip("::ffff:10.0.0.1"), &mut dns));
        assert!(client_matches("::/0", ip("::1"), &mut dns));
        assert!(!client_matches("::/0", ip("10.0.0.1"), &mut dns));
    }

    #[test]
    fn flavors_and_root_squash() {
        let p = policy(vec![rule(1, "0.0.0.0/0", &["sys"], &["sys"], &["none"])]);
        let d = eval(&p, "10.0.0.1", AuthFlavor::Sys, 0);
        assert_eq!(d.access, NfsAccess::ReadWrite);
        assert!(d.squashed);
        assert_eq!(d.anon_uid, 65534);
        let d = eval(&p, "10.0.0.1", AuthFlavor::Sys, 1000);
        assert!(!d.squashed);
        // AUTH_NONE is not in the lists: refused.
        assert_eq!(
            eval(&p, "10.0.0.1", AuthFlavor::None, 0).access,
            NfsAccess::Denied
        );
        let p = policy(vec![rule(1, "0.0.0.0/0", &["any"], &["none"], &["sys"])]);
        let d = eval(&p, "10.0.0.1", AuthFlavor::Sys, 0);
        assert_eq!(d.access, NfsAccess::ReadWrite);
        assert!(d.squashed, "rw granted only as anonymous");
        let p = policy(vec![rule(1, "0.0.0.0/0", &["any"], &["any"], &["sys"])]);
        assert!(!eval(&p, "10.0.0.1", AuthFlavor::Sys, 0).squashed);
        assert!(eval(&p, "10.0.0.1", AuthFlavor::None, 0).squashed);
        let p = policy(vec![rule(1, "0.0.0.0/0", &["never"], &["any"], &["any"])]);
        assert_eq!(
            eval(&p, "10.0.0.1", AuthFlavor::Sys, 5).access,
            NfsAccess::Denied
        );
    }

    #[test]
    fn anon_65535_denies_squashed_callers() {
        let mut r = rule(1, "0.0.0.0/0", &["any"], &["any"], &["none"]);
        r.anon = "65535".into();
        let p = policy(vec![r]);
        assert_eq!(
            eval(&p, "10.0.0.1", AuthFlavor::Sys, 0).access,
            NfsAccess::Denied
        );
        assert_eq!(
            eval(&p, "10.0.0.1", AuthFlavor::Sys, 7).access,
            NfsAccess::ReadWrite
        );
    }
}
