//! Management users: who may call which APIs on which SVM.

use std::sync::Arc;

use super::{Cluster, ModelError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Cluster,
    Svm(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Readonly,
}

impl Role {
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Readonly => "readonly",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    /// None: the user can only sign in with a client certificate.
    pub password: Option<String>,
    pub certificate_cn: Option<String>,
    pub scope: Scope,
    pub role: Role,
}

/// Compare without an early exit, so response timing does not leak how much of a password matched.
fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        diff |= (*a.get(i).unwrap_or(&0) ^ *b.get(i).unwrap_or(&0)) as usize;
    }
    diff == 0
}

impl Cluster {
    /// Basic-auth sign-in.
    pub fn authenticate_password(&self, name: &str, password: &str) -> Option<&Arc<User>> {
        self.users.iter().find(|u| {
            u.name == name
                && u.password
                    .as_deref()
                    .is_some_and(|p| same_secret(p, password))
        })
    }

    /// Client-certificate sign-in: the CN names the user (or a user's configured `certificate_cn`).
    pub fn authenticate_certificate(&self, cn: &str) -> Option<&Arc<User>> {
        self.users
            .iter()
            .find(|u| u.certificate_cn.as_deref() == Some(cn))
            .or_else(|| self.users.iter().find(|u| u.name == cn))
    }

    /// The SVM a request acts on: the tunnel target (`vfiler`) when given, else the user's own SVM
    /// (None for cluster context). An SVM-scoped user may not tunnel to another SVM.
    pub fn resolve_context(
        &self,
        user: &User,
        vfiler: Option<&str>,
    ) -> Result<Option<String>, ModelError> {
        match (&user.scope, vfiler) {
            (Scope::Cluster, None) => Ok(None),
            (Scope::Cluster, Some(target)) => {
                self.svm(target)?;
                Ok(Some(target.to_string()))
            }
            (Scope::Svm(own), None) => Ok(Some(own.clone())),
            (Scope::Svm(own), Some(target)) if target == own => Ok(Some(own.clone())),
            (Scope::Svm(own), Some(target)) => Err(ModelError::NotAuthorized(format!(
                "Insufficient privileges: user '{}' is scoped to Vserver \"{own}\" and cannot act on Vserver \"{target}\"",
                user.name
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_compare() {
        assert!(same_secret("netapp1!", "netapp1!"));
        assert!(!same_secret("netapp1!", "netapp1"));
        assert!(!same_secret("", "x"));
    }
}
