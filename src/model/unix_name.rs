//! An SVM's local UNIX users and groups (`vserver services name-service unix-user` and
//! `unix-group`): what ONTAP resolves UNIX names through when no NIS or LDAP is configured, so
//! what a quota rule's user or group target names. Every SVM starts with ONTAP's own: the users
//! `root` (0, group 1), `pcuser` (65534) and `nobody` (65535), the groups `root` (0), `daemon`
//! (1), `pcuser` (65534) and `nobody` (65535). Saved with the SVM; an SVM saved before they
//! existed gets the seeded ones.

use super::{Cluster, ModelError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The longest user or group name ONTAP takes.
pub const MAX_NAME: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnixUser {
    pub name: String,
    pub id: u32,
    pub primary_gid: u32,
    #[serde(default)]
    pub full_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnixGroup {
    pub name: String,
    pub id: u32,
    /// Its members (local user names), in the order they were added.
    #[serde(default)]
    pub users: Vec<String>,
}

/// An SVM's local UNIX users and groups, by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnixNames {
    pub users: BTreeMap<String, UnixUser>,
    pub groups: BTreeMap<String, UnixGroup>,
}

impl Default for UnixNames {
    fn default() -> Self {
        let users = [
            ("root", 0, 1),
            ("pcuser", 65534, 65534),
            ("nobody", 65535, 65535),
        ]
        .into_iter()
        .map(|(n, id, gid)| {
            (
                n.to_string(),
                UnixUser {
                    name: n.to_string(),
                    id,
                    primary_gid: gid,
                    full_name: String::new(),
                },
            )
        })
        .collect();
        let groups = [
            ("root", 0),
            ("daemon", 1),
            ("pcuser", 65534),
            ("nobody", 65535),
        ]
        .into_iter()
        .map(|(n, id)| {
            (
                n.to_string(),
                UnixGroup {
                    name: n.to_string(),
                    id,
                    users: Vec::new(),
                },
            )
        })
        .collect();
        UnixNames { users, groups }
    }
}

impl UnixNames {
    /// The uid a user target names: a number, or a local user's name.
    pub fn uid(&self, target: &str) -> Option<u32> {
        target
            .parse()
            .ok()
            .or_else(|| self.users.get(target).map(|u| u.id))
    }

    /// The gid a group target names: a number, or a local group's name.
    pub fn gid(&self, target: &str) -> Option<u32> {
        target
            .parse()
            .ok()
            .or_else(|| self.groups.get(target).map(|g| g.id))
    }

    /// The name of a uid (the first local user with it), if any.
    pub fn user_name(&self, uid: u32) -> Option<&str> {
        self.users
            .values()
            .find(|u| u.id == uid)
            .map(|u| u.name.as_str())
    }

    /// The name of a gid (the first local group with it), if any.
    pub fn group_name(&self, gid: u32) -> Option<&str> {
        self.groups
            .values()
            .find(|g| g.id == gid)
            .map(|g| g.name.as_str())
    }
}

/// A UNIX user or group name: 1 to 64 characters, no `:`, `,`, `\`, `@`, blanks or control
/// characters, not all digits (a number is an ID).
fn check_name(kind: &str, name: &str) -> Result<(), ModelError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && !name.chars().all(|c| c.is_ascii_digit())
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, ':' | ',' | '\\' | '@'));
    if ok {
        Ok(())
    } else {
        Err(ModelError::InvalidInput(format!(
            "Invalid UNIX {kind} name \"{}\": 1 to {MAX_NAME} characters, not all digits, without blanks, \":\", \",\", \"\\\" or \"@\"",
            name.escape_debug()
        )))
    }
}

/// A change to a user: only the fields given change.
#[derive(Debug, Clone, Default)]
pub struct UnixUserChange {
    pub id: Option<u32>,
    pub primary_gid: Option<u32>,
    pub full_name: Option<String>,
}

fn no_user(svm: &str, name: &str) -> ModelError {
    ModelError::NotFound {
        kind: "UNIX user",
        name: format!("{name}\" in Vserver \"{svm}"),
    }
}

fn no_group(svm: &str, name: &str) -> ModelError {
    ModelError::NotFound {
        kind: "UNIX group",
        name: format!("{name}\" in Vserver \"{svm}"),
    }
}

fn check_full_name(f: &str) -> Result<(), ModelError> {
    if f.len() > 256 || f.chars().any(char::is_control) {
        return Err(ModelError::InvalidInput(
            "The full name is longer than 256 characters or holds control characters".into(),
        ));
    }
    Ok(())
}

impl Cluster {
    pub fn unix_names(&self, svm: &str) -> Result<&UnixNames, ModelError> {
        Ok(&self.svm(svm)?.unix)
    }

    /// `vserver services name-service unix-user create`.
    pub fn create_unix_user(&mut self, svm: &str, user: UnixUser) -> Result<(), ModelError> {
        check_name("user", &user.name)?;
        check_full_name(&user.full_name)?;
        let names = &mut self.svm_mut(svm)?.unix;
        if names.users.contains_key(&user.name) {
            return Err(ModelError::Duplicate {
                kind: "UNIX user",
                name: format!("{}\" in Vserver \"{svm}", user.name),
            });
        }
        names.users.insert(user.name.clone(), user);
        Ok(())
    }

    pub fn modify_unix_user(
        &mut self,
        svm: &str,
        name: &str,
        ch: UnixUserChange,
    ) -> Result<(), ModelError> {
        if let Some(f) = &ch.full_name {
            check_full_name(f)?;
        }
        let u = self
            .svm_mut(svm)?
            .unix
            .users
            .get_mut(name)
            .ok_or_else(|| no_user(svm, name))?;
        if let Some(id) = ch.id {
            u.id = id;
        }
        if let Some(g) = ch.primary_gid {
            u.primary_gid = g;
        }
        if let Some(f) = ch.full_name {
            u.full_name = f;
        }
        Ok(())
    }

    /// `unix-user delete`: the user leaves the groups it is a member of.
    pub fn delete_unix_user(&mut self, svm: &str, name: &str) -> Result<(), ModelError> {
        let names = &mut self.svm_mut(svm)?.unix;
        names.users.remove(name).ok_or_else(|| no_user(svm, name))?;
        for g in names.groups.values_mut() {
            g.users.retain(|u| u != name);
        }
        Ok(())
    }

    /// `vserver services name-service unix-group create`.
    pub fn create_unix_group(&mut self, svm: &str, name: &str, id: u32) -> Result<(), ModelError> {
        check_name("group", name)?;
        let names = &mut self.svm_mut(svm)?.unix;
        if names.groups.contains_key(name) {
            return Err(ModelError::Duplicate {
                kind: "UNIX group",
                name: format!("{name}\" in Vserver \"{svm}"),
            });
        }
        names.groups.insert(
            name.to_string(),
            UnixGroup {
                name: name.to_string(),
                id,
                users: Vec::new(),
            },
        );
        Ok(())
    }

    pub fn modify_unix_group(&mut self, svm: &str, name: &str, id: u32) -> Result<(), ModelError> {
        let g = self
            .svm_mut(svm)?
            .unix
            .groups
            .get_mut(name)
            .ok_or_else(|| no_group(svm, name))?;
        g.id = id;
        Ok(())
    }

    pub fn delete_unix_group(&mut self, svm: &str, name: &str) -> Result<(), ModelError> {
        self.svm_mut(svm)?
            .unix
            .groups
            .remove(name)
            .map(|_| ())
            .ok_or_else(|| no_group(svm, name))
    }

    /// `unix-group adduser`: a user becomes a member (once). The name must be a local user's
    /// unless `skip_validation` (`-skip-name-validation`: a name other name services know).
    pub fn add_unix_group_user(
        &mut self,
        svm: &str,
        group: &str,
        user: &str,
        skip_validation: bool,
    ) -> Result<(), ModelError> {
        check_name("user", user)?;
        let names = &mut self.svm_mut(svm)?.unix;
        if !skip_validation && !names.users.contains_key(user) {
            return Err(no_user(svm, user));
        }
        let g = names
            .groups
            .get_mut(group)
            .ok_or_else(|| no_group(svm, group))?;
        if g.users.iter().any(|u| u == user) {
            return Err(ModelError::Duplicate {
                kind: "UNIX group member",
                name: format!("{user}\" in group \"{group}"),
            });
        }
        g.users.push(user.to_string());
        Ok(())
    }

    /// `unix-group deluser`.
    pub fn delete_unix_group_user(
        &mut self,
        svm: &str,
        group: &str,
        user: &str,
    ) -> Result<(), ModelError> {
        let g = self
            .svm_mut(svm)?
            .unix
            .groups
            .get_mut(group)
            .ok_or_else(|| no_group(svm, group))?;
        let before = g.users.len();
        g.users.retain(|u| u != user);
        if g.users.len() == before {
            return Err(ModelError::NotFound {
                kind: "UNIX group member",
                name: format!("{user}\" in group \"{group}"),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_names_resolve_by_name_and_number() {
        let n = UnixNames::default();
        assert_eq!(n.uid("root"), Some(0));
        assert_eq!(n.uid("pcuser"), Some(65534));
        assert_eq!(n.uid("1234"), Some(1234));
        assert_eq!(n.uid("alice"), None);
        assert_eq!(n.gid("daemon"), Some(1));
        assert_eq!(n.user_name(65535), Some("nobody"));
        assert_eq!(n.group_name(0), Some("root"));
        assert!(check_name("user", "1234").is_err());
        assert!(check_name("user", "a b").is_err());
        assert!(check_name("user", "alice").is_ok());
    }
}
