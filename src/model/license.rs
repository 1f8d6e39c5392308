//! Licenses: the packages a cluster is licensed for. A new cluster has the base license and the
//! protocol and data-protection licenses an ONTAP simulator comes with; more are added with
//! license codes (`license-v2-add`, `POST /api/cluster/licensing/licenses`) and removed by package.
//!
//! A license code is 28 letters, as ONTAP's are. The simulator's code for a package is `SIM`, the
//! package name's letters (digits and `_` dropped) in upper case, then `X` up to 28 letters
//! (`nvme_of` -> `SIMNVMEOFXXXXXXXXXXXXXXXXXXX`, `s3` -> `SIMSXXXXXXXXXXXXXXXXXXXXXXXX`); any
//! other code is refused as invalid.

use super::ModelError;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct License {
    pub package: String,
    pub serial_number: String,
    /// When it was installed (0: the cluster came with it).
    pub installed_at: u64,
}

/// Every package the simulator knows, with ONTAP's description.
pub const PACKAGES: &[(&str, &str)] = &[
    ("base", "Cluster Base License"),
    ("nfs", "NFS License"),
    ("cifs", "CIFS License"),
    ("iscsi", "iSCSI License"),
    ("fcp", "FCP License"),
    ("snaprestore", "SnapRestore License"),
    ("snapmirror", "SnapMirror License"),
    ("flexclone", "FlexClone License"),
    ("snapvault", "SnapVault License"),
    ("snaplock", "SnapLock License"),
    ("snapmanagersuite", "SnapManagerSuite License"),
    ("snapprotectapps", "SNAPPROTECTAPPS License"),
    ("insight_balance", "OnCommand Balance"),
    ("nvme_of", "NVMe-oF License"),
    ("s3", "S3 License"),
];

/// The licenses a new cluster has.
pub const INSTALLED_AT_START: &[&str] = &[
    "base",
    "nfs",
    "cifs",
    "iscsi",
    "fcp",
    "snaprestore",
    "snapmirror",
    "flexclone",
];

pub fn description(package: &str) -> &'static str {
    PACKAGES
        .iter()
        .find(|(p, _)| *p == package)
        .map(|(_, d)| *d)
        .unwrap_or("")
}

/// The simulator's license code for a package (see the module comment).
pub fn code_for(package: &str) -> String {
    let mut code: String = "SIM".into();
    code.extend(
        package
            .chars()
            .filter(|c| c.is_ascii_alphabetic())
            .map(|c| c.to_ascii_uppercase()),
    );
    while code.len() < 28 {
        code.push('X');
    }
    code.truncate(28);
    code
}

/// The package a code licenses.
pub fn package_of(code: &str) -> Result<&'static str, ModelError> {
    let code = code.trim().to_ascii_uppercase();
    if code.len() != 28 || !code.chars().all(|c| c.is_ascii_uppercase()) {
        return Err(ModelError::InvalidInput(format!(
            "Invalid license key \"{code}\": a license key is 28 letters"
        )));
    }
    PACKAGES
        .iter()
        .map(|(p, _)| *p)
        .find(|p| code_for(p) == code)
        .ok_or_else(|| {
            ModelError::InvalidInput(format!(
                "Invalid license key \"{code}\": it is not a key for this cluster"
            ))
        })
}

impl super::Cluster {
    /// Install the licenses these codes carry: all of them or none. A package already licensed
    /// stays as it is. Returns the packages the codes named.
    pub fn add_licenses(&mut self, codes: &[String]) -> Result<Vec<String>, ModelError> {
        if codes.is_empty() {
            return Err(ModelError::InvalidInput("No license key given".into()));
        }
        let packages = codes
            .iter()
            .map(|c| package_of(c).map(str::to_string))
            .collect::<Result<Vec<_>, _>>()?;
        let now = super::volume::now_secs();
        for p in &packages {
            if !self.licenses.contains_key(p) {
                let l = License {
                    package: p.clone(),
                    serial_number: self.serial_number.clone(),
                    installed_at: now,
                };
                self.licenses.insert(p.clone(), l);
            }
        }
        Ok(packages)
    }

    /// Remove a package's license (`serial`, when given, must be the license's).
    pub fn delete_license(
        &mut self,
        package: &str,
        serial: Option<&str>,
    ) -> Result<(), ModelError> {
        let l = self
            .licenses
            .get(package)
            .ok_or_else(|| ModelError::NotFound {
                kind: "License",
                name: package.to_string(),
            })?;
        if serial.is_some_and(|s| s != l.serial_number) {
            return Err(ModelError::NotFound {
                kind: "License",
                name: format!("{package}\" with serial number \"{}", serial.unwrap_or("")),
            });
        }
        if package == "base" {
            return Err(ModelError::InvalidInput(
                "The base license cannot be deleted".into(),
            ));
        }
        self.licenses.remove(&package.to_string());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_others_are_refused() {
        for (p, _) in PACKAGES {
            let c = code_for(p);
            assert_eq!(c.len(), 28, "{p}");
            assert_eq!(package_of(&c).unwrap(), *p);
            assert_eq!(package_of(&c.to_lowercase()).unwrap(), *p);
        }
        assert!(package_of("SIMNOSUCHPACKAGEXXXXXXXXXXXX").is_err());
        assert!(package_of("SHORT").is_err());
        assert!(package_of("SIMNFSXXXXXXXXXXXXXXXXXXXX1X").is_err());
    }
}
