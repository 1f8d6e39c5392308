//! Export policies and their ordered rules: which NFS clients may reach a volume, and how.

use super::{Cluster, ModelError, Refusal};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportRule {
    pub index: u32,
    pub client_match: String,
    /// `any`, `nfs`, `nfs3`, `nfs4`, `cifs`, ...
    pub protocols: Vec<String>,
    /// Security flavors: `any`, `none`, `never`, `sys`, `krb5`, `krb5i`, `krb5p`, `ntlm`.
    pub ro_rule: Vec<String>,
    pub rw_rule: Vec<String>,
    pub superuser: Vec<String>,
    pub anon: String,
    pub allow_suid: bool,
    pub allow_dev: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportPolicy {
    pub name: String,
    pub svm: String,
    pub id: u64,
    /// In rule-index order.
    pub rules: Vec<ExportRule>,
}

/// A rule as a client asks for it; absent fields take ONTAP's defaults.
#[derive(Debug, Clone, Default)]
pub struct RuleSpec {
    pub index: Option<u32>,
    pub client_match: Option<String>,
    pub protocols: Option<Vec<String>>,
    pub ro_rule: Option<Vec<String>>,
    pub rw_rule: Option<Vec<String>>,
    pub superuser: Option<Vec<String>>,
    pub anon: Option<String>,
    pub allow_suid: Option<bool>,
    pub allow_dev: Option<bool>,
}

const PROTOCOLS: &[&str] = &["any", "nfs", "nfs3", "nfs4", "cifs", "flexcache"];
const FLAVORS: &[&str] = &[
    "any", "none", "never", "sys", "krb5", "krb5i", "krb5p", "ntlm",
];

pub fn check_policy_name(name: &str) -> Result<(), ModelError> {
    let ok = !name.is_empty()
        && name.len() <= 256
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(ModelError::InvalidInput(format!(
            "Invalid export policy name \"{name}\": use letters, digits, '_', '-' and '.', at most 256 characters"
        )))
    }
}

/// One client-match entry: an IP, a CIDR, a host or domain name, or a netgroup (`@name`).
fn check_client_entry(e: &str) -> bool {
    if e.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    if let Some((ip, len)) = e.split_once('/') {
        let Ok(ip) = ip.parse::<std::net::IpAddr>() else {
            return false;
        };
        let max = if ip.is_ipv4() { 32 } else { 128 };
        return len.parse::<u8>().is_ok_and(|l| l <= max);
    }
    let name = e.strip_prefix('@').unwrap_or(e);
    !name.is_empty()
        && name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
}

pub fn check_client_match(m: &str) -> Result<(), ModelError> {
    let entries: Vec<&str> = m.split(',').map(str::trim).collect();
    if m.trim().is_empty() || entries.iter().any(|e| !check_client_entry(e)) {
        return Err(ModelError::InvalidInput(format!(
            "Invalid client-match \"{m}\": use IP addresses, CIDR subnets (10.0.0.0/8), host names or @netgroups, comma-separated"
        )));
    }
    Ok(())
}

fn check_words(field: &str, words: &[String], allowed: &[&str]) -> Result<(), ModelError> {
    if words.is_empty() {
        return Err(ModelError::InvalidInput(format!(
            "Invalid value specified for \"{field}\": at least one value is needed"
        )));
    }
    for w in words {
        if !allowed.contains(&w.as_str()) {
            return Err(ModelError::InvalidInput(format!(
                "Invalid value specified for \"{field}\": \"{w}\" (one of {})",
                allowed.join(", ")
            )));
        }
    }
    Ok(())
}

fn normalized_clients(m: &str) -> Vec<String> {
    let mut v: Vec<String> = m
        .split(',')
        .map(|e| e.trim().to_ascii_lowercase())
        .collect();
    v.sort();
    v
}

fn policy_not_found(svm: &str, name: &str) -> ModelError {
    ModelError::NotFound {
        kind: "Export policy",
        name: format!("{name}\" in Vserver \"{svm}"),
    }
}

impl Cluster {
    pub fn export_policy(&self, svm: &str, name: &str) -> Result<&ExportPolicy, ModelError> {
        self.export_policies
            .get(&(svm.to_string(), name.to_string()))
            .ok_or_else(|| policy_not_found(svm, name))
    }

    fn export_policy_mut(
        &mut self,
        svm: &str,
        name: &str,
    ) -> Result<&mut ExportPolicy, ModelError> {
        self.export_policies
            .get_mut(&(svm.to_string(), name.to_string()))
            .ok_or_else(|| policy_not_found(svm, name))
    }

    pub fn export_policies_of<'a>(
        &'a self,
        svm: &'a str,
    ) -> impl Iterator<Item = &'a ExportPolicy> + 'a {
        self.export_policies
            .range((svm.to_string(), String::new())..)
            .take_while(move |((s, _), _)| s == svm)
            .map(|(_, p)| p)
    }

    /// `export-policy-create`.
    pub fn create_export_policy(&mut self, svm: &str, name: &str) -> Result<(), ModelError> {
        self.svm(svm)?;
        check_policy_name(name)?;
        let key = (svm.to_string(), name.to_string());
        if self.export_policies.contains_key(&key) {
            return Err(ModelError::Duplicate {
                kind: "Export policy",
                name: format!("{name}\" in Vserver \"{svm}"),
            });
        }
        self.counters.next_policy_id += 1;
        let id = self.counters.next_policy_id;
        self.export_policies.insert(
            key,
            ExportPolicy {
                name: name.to_string(),
                svm: svm.to_string(),
                id,
                rules: Vec::new(),
            },
        );
        Ok(())
    }

    /// Who uses a policy: volumes and qtrees.
    fn policy_user(&self, svm: &str, name: &str) -> Option<(Refusal, String)> {
        self.volumes_of(svm)
            .find(|v| v.export_policy == name)
            .map(|v| {
                (
                    Refusal::PolicyUsedByVolume,
                    format!("volume \"{}\"", v.name),
                )
            })
            .or_else(|| {
                self.qtrees
                    .values()
                    .find(|q| q.svm == svm && q.export_policy.as_deref() == Some(name))
                    .map(|q| {
                        (
                            Refusal::PolicyUsedByQtree,
                            format!("qtree \"{}\" of volume \"{}\"", q.name, q.volume),
                        )
                    })
            })
    }

    /// `export-policy-destroy`: refused for `default` and for a policy in use.
    pub fn destroy_export_policy(&mut self, svm: &str, name: &str) -> Result<(), ModelError> {
        self.export_policy(svm, name)?;
        if name == "default" {
            return Err(ModelError::refused(
                Refusal::DefaultPolicy,
                format!("The \"default\" export policy of Vserver \"{svm}\" cannot be deleted"),
            ));
        }
        if let Some((reason, user)) = self.policy_user(svm, name) {
            return Err(ModelError::refused(
                reason,
                format!(
                    "Export policy \"{name}\" in Vserver \"{svm}\" cannot be deleted: it is in use by {user}"
                ),
            ));
        }
        self.export_policies
            .remove(&(svm.to_string(), name.to_string()));
        Ok(())
    }

    /// `export-policy-rename`: volumes and qtrees (those snapshots hold too) follow the new name.
    pub fn rename_export_policy(
        &mut self,
        svm: &str,
        name: &str,
        new_name: &str,
    ) -> Result<(), ModelError> {
        check_policy_name(new_name)?;
        self.export_policy(svm, name)?;
        if name == "default" {
            return Err(ModelError::InvalidInput(
                "The \"default\" export policy cannot be renamed".into(),
            ));
        }
        if self
            .export_policies
            .contains_key(&(svm.to_string(), new_name.to_string()))
        {
            return Err(ModelError::Duplicate {
                kind: "Export policy",
                name: format!("{new_name}\" in Vserver \"{svm}"),
            });
        }
        let mut p = self
            .export_policies
            .remove(&(svm.to_string(), name.to_string()))
            .ok_or_else(|| policy_not_found(svm, name))?;
        p.name = new_name.to_string();
        self.export_policies
            .insert((svm.to_string(), new_name.to_string()), p);
        self.volumes.update_where(
            |v| v.svm == svm && v.export_policy == name,
            |v| v.export_policy = new_name.to_string(),
        );
        self.qtrees.update_where(
            |q| q.svm == svm && q.export_policy.as_deref() == Some(name),
            |q| q.export_policy = Some(new_name.to_string()),
        );
        // So do the qtrees snapshots hold (what a restore or a clone brings back).
        let held = |q: &super::Qtree| q.export_policy.as_deref() == Some(name);
        self.volumes.update_where(
            |v| v.svm == svm && v.snapshots.values().any(|s| s.qtrees.iter().any(held)),
            |v| {
                for q in v.snapshots.values_mut().flat_map(|s| s.qtrees.iter_mut()) {
                    if held(q) {
                        q.export_policy = Some(new_name.to_string());
                    }
                }
            },
        );
        Ok(())
    }

    /// `export-rule-create`. Returns the rule index.
    pub fn add_export_rule(
        &mut self,
        svm: &str,
        policy: &str,
        spec: RuleSpec,
    ) -> Result<u32, ModelError> {
        let client_match = spec
            .client_match
            .clone()
            .ok_or_else(|| ModelError::InvalidInput("Missing input: client-match".into()))?;
        let rule = ExportRule {
            index: 0,
            client_match,
            protocols: spec.protocols.clone().unwrap_or_else(|| vec!["any".into()]),
            ro_rule: spec.ro_rule.clone().unwrap_or_else(|| vec!["any".into()]),
            rw_rule: spec.rw_rule.clone().unwrap_or_else(|| vec!["any".into()]),
            superuser: spec.superuser.clone().unwrap_or_else(|| vec!["any".into()]),
            anon: spec.anon.clone().unwrap_or_else(|| "65534".into()),
            allow_suid: spec.allow_suid.unwrap_or(true),
            allow_dev: spec.allow_dev.unwrap_or(true),
        };
        check_rule(&rule)?;
        let p = self.export_policy_mut(svm, policy)?;
        let clients = normalized_clients(&rule.client_match);
        if let Some(dup) = p
            .rules
            .iter()
            .find(|r| normalized_clients(&r.client_match) == clients)
        {
            return Err(ModelError::Conflict(format!(
                "Export policy \"{policy}\" already contains a rule (index {}) for client-match \"{}\": policy already contains a rule with the same client match",
                dup.index, dup.client_match
            )));
        }
        let max = p.rules.iter().map(|r| r.index).max().unwrap_or(0);
        let index = match spec.index {
            None => max + 1,
            Some(0) => {
                return Err(ModelError::InvalidInput(
                    "Invalid value specified for \"rule-index\": 0 (rule indexes start at 1)"
                        .into(),
                ))
            }
            Some(i) if i > 999_999 => {
                return Err(ModelError::InvalidInput(format!(
                    "Invalid value specified for \"rule-index\": {i} (at most 999999)"
                )))
            }
            Some(i) => i,
        };
        // Inserting at a taken index pushes that rule and the ones after it down by one.
        if p.rules.iter().any(|r| r.index == index) {
            for r in p.rules.iter_mut().filter(|r| r.index >= index) {
                r.index += 1;
            }
        }
        p.rules.push(ExportRule { index, ..rule });
        p.rules.sort_by_key(|r| r.index);
        Ok(index)
    }

    /// Replace every rule of a policy with these, in order (REST's PATCH of `rules`).
    pub fn replace_export_rules(
        &mut self,
        svm: &str,
        policy: &str,
        specs: Vec<RuleSpec>,
    ) -> Result<(), ModelError> {
        self.export_policy_mut(svm, policy)?.rules.clear();
        for s in specs {
            self.add_export_rule(svm, policy, s)?;
        }
        Ok(())
    }

    /// `export-rule-modify`.
    pub fn modify_export_rule(
        &mut self,
        svm: &str,
        policy: &str,
        index: u32,
        spec: RuleSpec,
    ) -> Result<(), ModelError> {
        let p = self.export_policy_mut(svm, policy)?;
        let pos = p
            .rules
            .iter()
            .position(|r| r.index == index)
            .ok_or_else(|| rule_not_found(policy, index))?;
        let mut r = p.rules[pos].clone();
        if let Some(x) = spec.client_match {
            r.client_match = x;
        }
        if let Some(x) = spec.protocols {
            r.protocols = x;
        }
        if let Some(x) = spec.ro_rule {
            r.ro_rule = x;
        }
        if let Some(x) = spec.rw_rule {
            r.rw_rule = x;
        }
        if let Some(x) = spec.superuser {
            r.superuser = x;
        }
        if let Some(x) = spec.anon {
            r.anon = x;
        }
        if let Some(x) = spec.allow_suid {
            r.allow_suid = x;
        }
        if let Some(x) = spec.allow_dev {
            r.allow_dev = x;
        }
        check_rule(&r)?;
        let clients = normalized_clients(&r.client_match);
        if let Some(dup) = p
            .rules
            .iter()
            .find(|o| o.index != index && normalized_clients(&o.client_match) == clients)
        {
            return Err(ModelError::Conflict(format!(
                "Export policy \"{policy}\" already contains a rule (index {}) for client-match \"{}\": policy already contains a rule with the same client match",
                dup.index, dup.client_match
            )));
        }
        p.rules[pos] = r;
        Ok(())
    }

    /// `export-rule-destroy`.
    pub fn destroy_export_rule(
        &mut self,
        svm: &str,
        policy: &str,
        index: u32,
    ) -> Result<(), ModelError> {
        let p = self.export_policy_mut(svm, policy)?;
        let before = p.rules.len();
        p.rules.retain(|r| r.index != index);
        if p.rules.len() == before {
            return Err(rule_not_found(policy, index));
        }
        Ok(())
    }

    /// `export-rule-set-index`: move a rule; the others keep their order around it.
    pub fn set_export_rule_index(
        &mut self,
        svm: &str,
        policy: &str,
        index: u32,
        new_index: u32,
    ) -> Result<(), ModelError> {
        if new_index == 0 {
            return Err(ModelError::InvalidInput(
                "Invalid value specified for \"new-rule-index\": 0".into(),
            ));
        }
        let p = self.export_policy_mut(svm, policy)?;
        let pos = p
            .rules
            .iter()
            .position(|r| r.index == index)
            .ok_or_else(|| rule_not_found(policy, index))?;
        let r = p.rules.remove(pos);
        let at = (new_index as usize - 1).min(p.rules.len());
        p.rules.insert(at, r);
        for (i, r) in p.rules.iter_mut().enumerate() {
            r.index = i as u32 + 1;
        }
        Ok(())
    }
}

fn rule_not_found(policy: &str, index: u32) -> ModelError {
    ModelError::NotFound {
        kind: "Export rule",
        name: format!("{index}\" in export policy \"{policy}"),
    }
}

/// The checks a rule's client match, protocols and flavors must pass (also used on config files).
pub fn check_rule_words(
    client_match: &str,
    protocols: &[String],
    ro: &[String],
    rw: &[String],
    superuser: &[String],
) -> Result<(), ModelError> {
    check_client_match(client_match)?;
    check_words("protocol", protocols, PROTOCOLS)?;
    check_words("ro-rule", ro, FLAVORS)?;
    check_words("rw-rule", rw, FLAVORS)?;
    check_words("super-user-security", superuser, FLAVORS)
}

fn check_rule(r: &ExportRule) -> Result<(), ModelError> {
    check_rule_words(
        &r.client_match,
        &r.protocols,
        &r.ro_rule,
        &r.rw_rule,
        &r.superuser,
    )?;
    if r.anon.is_empty() || r.anon.len() > 64 {
        return Err(ModelError::InvalidInput(format!(
            "Invalid value specified for \"anonymous-user-id\": \"{}\"",
            r.anon
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_match_forms() {
        for ok in [
            "0.0.0.0/0",
            "10.0.0.1",
            "::/0",
            "10.0.0.1,10.0.0.2",
            "host.example.com",
            "@ng1",
        ] {
            check_client_match(ok).unwrap();
        }
        for bad in ["", "10.0.0.0/33", "a b", "10.0.0.1,,x y"] {
            assert!(check_client_match(bad).is_err(), "{bad}");
        }
    }
}
