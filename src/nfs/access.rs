//! Who a call acts as, and what that identity may do: export-policy decisions (asked of the model
//! on every call) turned into an effective uid/gid/groups, POSIX mode-bit checks as a local file
//! system makes them (the server runs as root, so it must enforce them itself), and a small
//! cache for host names in client-match.

use super::rpc::Cred;
use crate::model::nfs_access::{
    evaluate_export_policy, AuthFlavor, ExportDecision, NfsAccess, DEFAULT_ANON,
};
use crate::model::ExportPolicy;
use std::collections::HashMap;
use std::net::{IpAddr, ToSocketAddrs};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The identity a call acts as after the export policy's mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Who {
    pub uid: u32,
    pub gid: u32,
    pub gids: Vec<u32>,
}

impl Who {
    pub fn root() -> Who {
        Who {
            uid: 0,
            gid: 0,
            gids: Vec::new(),
        }
    }

    pub fn is_root(&self) -> bool {
        self.uid == 0
    }

    pub fn in_group(&self, gid: u32) -> bool {
        self.gid == gid || self.gids.contains(&gid)
    }
}

pub fn flavor_of(cred: &Cred) -> AuthFlavor {
    match cred {
        Cred::None => AuthFlavor::None,
        Cred::Sys(_) => AuthFlavor::Sys,
    }
}

pub fn uid_of(cred: &Cred) -> u32 {
    match cred {
        Cred::None => DEFAULT_ANON,
        Cred::Sys(a) => a.uid,
    }
}

/// The identity a decision maps a credential to. Ids the kernel cannot store (-1) become anon.
pub fn who_for(cred: &Cred, d: &ExportDecision) -> Who {
    let anon = if d.anon_uid == u32::MAX {
        DEFAULT_ANON
    } else {
        d.anon_uid
    };
    match cred {
        Cred::Sys(a) if !d.squashed && a.uid != u32::MAX && a.gid != u32::MAX => Who {
            uid: a.uid,
            gid: a.gid,
            gids: a.gids.iter().copied().filter(|g| *g != u32::MAX).collect(),
        },
        _ => Who {
            uid: anon,
            gid: anon,
            gids: Vec::new(),
        },
    }
}

/// Read, write, execute (search) wanted of an object.
pub const R: u32 = 4;
pub const W: u32 = 2;
pub const X: u32 = 1;

/// May `who` have `want` (R|W|X) on an object with `mode`, `uid`, `gid`? Root may do anything
/// except execute a file nobody may execute.
pub fn may(who: &Who, mode: u32, uid: u32, gid: u32, want: u32) -> bool {
    if who.is_root() {
        let is_dir = mode & 0o170_000 == 0o040_000;
        return want & X == 0 || is_dir || mode & 0o111 != 0;
    }
    let bits = if who.uid == uid {
        (mode >> 6) & 7
    } else if who.in_group(gid) {
        (mode >> 3) & 7
    } else {
        mode & 7
    };
    bits & want == want
}

/// Evaluates export policies, resolving host names in client-match with a short-lived cache
/// (so a rule naming a host does not cost a DNS query per call).
#[derive(Default)]
pub struct Policies {
    hosts: Mutex<HashMap<String, (Instant, Vec<IpAddr>)>>,
}

const HOST_TTL: Duration = Duration::from_secs(30);

impl Policies {
    fn resolve(&self, name: &str) -> Vec<IpAddr> {
        let key = name.to_ascii_lowercase();
        if let Some((at, ips)) = self
            .hosts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            if at.elapsed() < HOST_TTL {
                return ips.clone();
            }
        }
        // A DNS query may take seconds: not on an async task.
        if !super::inline::may_block() {
            return Vec::new();
        }
        let ips: Vec<IpAddr> = (key.as_str(), 0)
            .to_socket_addrs()
            .map(|it| it.map(|a| a.ip()).collect())
            .unwrap_or_default();
        let mut m = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        if m.len() > 4096 {
            m.clear();
        }
        m.insert(key, (Instant::now(), ips.clone()));
        ips
    }

    /// Evaluate `policy` (a copy taken from the model; never hold the model lock across this:
    /// it may resolve host names).
    pub fn decide(
        &self,
        policy: Option<&ExportPolicy>,
        client: IpAddr,
        cred: &Cred,
    ) -> ExportDecision {
        match policy {
            Some(p) => evaluate_export_policy(p, client, flavor_of(cred), uid_of(cred), &mut |h| {
                self.resolve(h)
            }),
            None => ExportDecision {
                access: NfsAccess::Denied,
                rule_index: None,
                squashed: true,
                anon_uid: DEFAULT_ANON,
                reason: "the volume's export policy does not exist".into(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_bits_like_posix() {
        let u = Who {
            uid: 1000,
            gid: 100,
            gids: vec![200],
        };
        assert!(may(&u, 0o100_600, 1000, 1, R | W));
        assert!(!may(&u, 0o100_600, 1001, 1, R));
        assert!(may(&u, 0o100_060, 1, 200, R | W));
        // The owner class decides for the owner even when others may do more.
        assert!(!may(&u, 0o100_007, 1000, 1, R));
        assert!(may(&Who::root(), 0o100_000, 5, 5, R | W));
        assert!(!may(&Who::root(), 0o100_644, 5, 5, X));
        assert!(may(&Who::root(), 0o040_000, 5, 5, X));
    }
}
