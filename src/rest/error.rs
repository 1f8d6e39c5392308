//! REST failures: ONTAP's `{"error": {"message", "code", "target"}}` body with the HTTP status, and
//! the model's typed errors mapped once to the codes clients branch on (Trident: 4, 1, 1704070,
//! 1638555, 524486, 917534; see `shared/spec/trident-rest.md` §5).

use crate::model::{ModelError, Refusal, RefusalClass};
use serde_json::{json, Value};

/// `entry doesn't exist`.
pub const ENTRY_DOESNT_EXIST: u32 = 4;
/// `duplicate entry`.
pub const DUPLICATE_ENTRY: u32 = 1;
/// The API path is not served.
pub const API_NOT_FOUND: u32 = 3;
/// Not authorized for the operation (role or SVM scope).
pub const NOT_AUTHORIZED: u32 = 6;
/// A query parameter or body field the endpoint does not have.
pub const UNEXPECTED_ARGUMENT: u32 = 262179;
/// A value of the wrong type or out of range; also an unknown name in `fields=`.
pub const INVALID_VALUE: u32 = 262197;
/// A field that must be present is missing.
pub const MISSING_FIELD: u32 = 262186;
/// The body is not JSON.
pub const INVALID_JSON: u32 = 262185;
pub const EXPORT_POLICY_RULE_EXISTS: u32 = 1704070;
pub const SNAPSHOT_BUSY: u32 = 1638555;
pub const VOLUME_NOT_FOUND: u32 = 917927;
pub const SVM_NOT_FOUND: u32 = 2621462;
pub const AGGREGATE_NOT_FOUND: u32 = 917835;
/// Volume POST: "The target aggregate could not be found."
pub const TARGET_AGGREGATE_NOT_FOUND: u32 = 917508;
/// Volume POST (and PATCH of `name`): "The volume name specified is a duplicate."
pub const VOLUME_DUPLICATE: u32 = 917526;
/// Volume POST/PATCH: the size is below the minimum (Trident: "size too small").
pub const VOLUME_SIZE_TOO_SMALL: u32 = 917534;
/// Volume POST of a clone: "Parent volume not found."
pub const CLONE_PARENT_NOT_FOUND: u32 = 524601;
/// Volume POST: "Specified snapshot policy not found."
pub const SNAPSHOT_POLICY_NOT_FOUND: u32 = 917551;
/// Volume DELETE: "Failed to delete volume because it has one or more clones."
pub const VOLUME_HAS_CLONES: u32 = 524615;
/// Volume PATCH: "The volume is not online."
pub const VOLUME_NOT_ONLINE: u32 = 9437885;
/// Volume PATCH `restore_to`: "Failed to restore snapshot."
pub const RESTORE_FAILED: u32 = 524511;
/// Snapshot POST: "A snapshot with the specified name already exists."
pub const SNAPSHOT_DUPLICATE: u32 = 525059;
/// Snapshot POST: "Cannot exceed maximum number of snapshots."
pub const SNAPSHOT_MAXIMUM: u32 = 525062;
/// Snapshot POST: "The specified volume is not online or does not have enough space."
pub const SNAPSHOT_VOLUME_NOT_ONLINE: u32 = 524479;
/// Snapshot POST/PATCH: "The specified snapshot name is invalid."
pub const SNAPSHOT_NAME_INVALID: u32 = 1638518;
/// Snapshot PATCH/DELETE: "The snapshot does not exist."
pub const SNAPSHOT_NOT_FOUND: u32 = 1638600;
/// Export policy DELETE: "Ruleset is in use by a volume."
pub const POLICY_IN_USE_BY_VOLUME: u32 = 1703945;
/// Export policy DELETE: "Cannot delete default ruleset."
pub const POLICY_DEFAULT: u32 = 1703947;
/// Export policy DELETE: "This ruleset is in use by a qtree export policy."
pub const POLICY_IN_USE_BY_QTREE: u32 = 1703953;
/// Qtree POST: "The specified volume does not exist in Vserver."
pub const QTREE_VOLUME_NOT_FOUND: u32 = 917525;
/// Qtree POST: "Failed to create qtree." (an invalid name, an offline volume)
pub const QTREE_CREATE_FAILED: u32 = 5242886;
/// Qtree DELETE of id 0: "The default qtree cannot be deleted."
pub const QTREE_DEFAULT: u32 = 5242894;
/// Qtree PATCH/DELETE: "Unable to find qtree."
pub const QTREE_NOT_FOUND: u32 = 5242927;
/// Qtree PATCH: "Cannot rename qtree as that name already exists on a volume in the Vserver."
pub const QTREE_RENAME_DUPLICATE: u32 = 5242972;
/// Quota rule PATCH/DELETE: "The specified quota rule UUID is invalid."
pub const QUOTA_RULE_NOT_FOUND: u32 = 5308545;
pub const EXPORT_POLICY_NOT_FOUND: u32 = 1703954;
/// Errors with no number known from a client: ONTAP's generic failure.
pub const GENERIC: u32 = 13001;
pub const INTERNAL: u32 = 13114;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestError {
    pub status: u16,
    pub code: u32,
    pub message: String,
    pub target: Option<String>,
}

impl RestError {
    pub fn new(status: u16, code: u32, message: impl Into<String>) -> Self {
        RestError {
            status,
            code,
            message: message.into(),
            target: None,
        }
    }

    pub fn target(mut self, t: impl Into<String>) -> Self {
        self.target = Some(t.into());
        self
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            404,
            ENTRY_DOESNT_EXIST,
            format!("entry doesn't exist: {what}"),
        )
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::new(400, INVALID_VALUE, message).target(field)
    }

    pub fn unexpected(name: &str) -> Self {
        Self::new(
            400,
            UNEXPECTED_ARGUMENT,
            format!("Unexpected argument \"{name}\"."),
        )
        .target(name)
    }

    pub fn missing(field: &str) -> Self {
        Self::new(
            400,
            MISSING_FIELD,
            format!("Field \"{field}\" is required for this operation."),
        )
        .target(field)
    }

    pub fn body(&self) -> Value {
        // A message never echoes control characters raw (a terminal would act on them).
        let message = crate::model::text::shown(&self.message);
        let mut e = json!({"message": message, "code": self.code.to_string()});
        if let Some(t) = &self.target {
            e["target"] = json!(crate::model::text::shown(t));
        }
        json!({ "error": e })
    }
}

impl From<ModelError> for RestError {
    fn from(e: ModelError) -> Self {
        if let Some((status, code)) = day0_code(&e) {
            return RestError::new(status, code, e.to_string());
        }
        let (status, code) = match &e {
            ModelError::NotFound { kind, .. } => match *kind {
                "Volume" => (404, VOLUME_NOT_FOUND),
                "Vserver" => (404, SVM_NOT_FOUND),
                "Aggregate" => (404, AGGREGATE_NOT_FOUND),
                "Export policy" | "Policy" => (404, EXPORT_POLICY_NOT_FOUND),
                _ => (404, ENTRY_DOESNT_EXIST),
            },
            ModelError::Duplicate { .. } => (409, DUPLICATE_ENTRY),
            ModelError::InvalidInput(_) => (400, INVALID_VALUE),
            ModelError::NotAuthorized(_) => (403, NOT_AUTHORIZED),
            ModelError::SnapshotBusy(_) => (409, SNAPSHOT_BUSY),
            ModelError::Busy(_) | ModelError::Conflict(_) => (409, GENERIC),
            ModelError::NoSpace(_)
            | ModelError::QuotaExceeded(_)
            | ModelError::Offline(_)
            | ModelError::NotMounted(_) => (400, GENERIC),
            ModelError::NotClone(_) | ModelError::QuotaNoRules(_) => (400, GENERIC),
            ModelError::Internal(_) => (500, INTERNAL),
            ModelError::Refused { reason, .. } => match reason.class() {
                RefusalClass::Busy | RefusalClass::Conflict => (409, GENERIC),
                RefusalClass::InvalidInput => (400, INVALID_VALUE),
            },
            ModelError::PasswordReused(_) => (400, GENERIC),
        };
        RestError::new(status, code, e.to_string())
    }
}

/// `POST /svm/svms`: the name is taken by another SVM, IPspace or the cluster.
pub const SVM_NAME_IN_USE: u32 = 13434908;
/// `POST /svm/svms`: the IPspace does not exist.
pub const IPSPACE_NOT_FOUND: u32 = 13434912;
/// `POST /network/ip/interfaces`: an interface of that name exists.
pub const INTERFACE_NAME_EXISTS: u32 = 1966140;
/// `POST /network/ip/interfaces`: the address is another interface's.
pub const DUPLICATE_IP_ADDRESS: u32 = 1376963;
/// `POST /network/ip/interfaces`: the service policy does not exist.
pub const SERVICE_POLICY_NOT_FOUND: u32 = 53281065;

/// The codes ONTAP documents for refusals of the day-0 objects (SVMs, interfaces), which the
/// generic mapping below would give generic numbers.
fn day0_code(e: &ModelError) -> Option<(u16, u32)> {
    match e {
        ModelError::Duplicate {
            kind: "Vserver", ..
        } => Some((409, SVM_NAME_IN_USE)),
        ModelError::Duplicate {
            kind: "Interface", ..
        } => Some((409, INTERFACE_NAME_EXISTS)),
        ModelError::Duplicate {
            kind: "IP address", ..
        } => Some((409, DUPLICATE_IP_ADDRESS)),
        ModelError::NotFound {
            kind: "IPspace", ..
        } => Some((404, IPSPACE_NOT_FOUND)),
        ModelError::NotFound {
            kind: "Service policy",
            ..
        } => Some((404, SERVICE_POLICY_NOT_FOUND)),
        _ => None,
    }
}

/// An endpoint and verb whose refusals ONTAP numbers in its own error table (the REST API
/// reference lists them per operation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    VolumeCreate,
    VolumeModify,
    VolumeDelete,
    SnapshotCreate,
    SnapshotModify,
    SnapshotDelete,
    ExportPolicyDelete,
    QtreeCreate,
    QtreeModify,
    QtreeDelete,
    QuotaRuleModify,
    QuotaRuleDelete,
}

impl RestError {
    /// A model refusal met by `op`: the code ONTAP documents for that endpoint, else the
    /// generic mapping (`From<ModelError>`).
    pub fn at(op: Endpoint, e: ModelError) -> RestError {
        use Endpoint as E;
        let own = match (op, &e) {
            (E::VolumeCreate | E::VolumeModify, ModelError::Duplicate { kind: "Volume", .. }) => {
                Some((409, VOLUME_DUPLICATE))
            }
            (
                E::VolumeCreate | E::VolumeModify,
                ModelError::Refused {
                    reason: Refusal::SizeTooSmall,
                    ..
                },
            ) => Some((400, VOLUME_SIZE_TOO_SMALL)),
            (E::VolumeCreate, ModelError::NotFound { kind, .. }) => match *kind {
                "Aggregate" => Some((404, TARGET_AGGREGATE_NOT_FOUND)),
                "Volume" => Some((404, CLONE_PARENT_NOT_FOUND)),
                "Snapshot policy" => Some((404, SNAPSHOT_POLICY_NOT_FOUND)),
                _ => None,
            },
            (E::VolumeModify, ModelError::Offline(_)) => Some((400, VOLUME_NOT_ONLINE)),
            (
                E::VolumeModify,
                ModelError::NotFound {
                    kind: "Snapshot", ..
                },
            ) => Some((404, RESTORE_FAILED)),
            (
                E::VolumeDelete,
                ModelError::Refused {
                    reason: Refusal::VolumeHasClones,
                    ..
                },
            ) => Some((409, VOLUME_HAS_CLONES)),
            (
                E::SnapshotCreate,
                ModelError::Duplicate {
                    kind: "Snapshot", ..
                },
            ) => Some((409, SNAPSHOT_DUPLICATE)),
            (
                E::SnapshotCreate,
                ModelError::Refused {
                    reason: Refusal::TooManySnapshots,
                    ..
                },
            ) => Some((400, SNAPSHOT_MAXIMUM)),
            (E::SnapshotCreate, ModelError::Offline(_)) => Some((400, SNAPSHOT_VOLUME_NOT_ONLINE)),
            (E::SnapshotCreate | E::SnapshotModify, ModelError::InvalidInput(_)) => {
                Some((400, SNAPSHOT_NAME_INVALID))
            }
            (
                E::SnapshotModify | E::SnapshotDelete,
                ModelError::NotFound {
                    kind: "Snapshot", ..
                },
            ) => Some((404, SNAPSHOT_NOT_FOUND)),
            (E::ExportPolicyDelete, ModelError::Refused { reason, .. }) => match reason {
                Refusal::PolicyUsedByVolume => Some((409, POLICY_IN_USE_BY_VOLUME)),
                Refusal::PolicyUsedByQtree => Some((409, POLICY_IN_USE_BY_QTREE)),
                Refusal::DefaultPolicy => Some((400, POLICY_DEFAULT)),
                _ => None,
            },
            (E::QtreeCreate, ModelError::NotFound { kind: "Volume", .. }) => {
                Some((404, QTREE_VOLUME_NOT_FOUND))
            }
            (E::QtreeCreate, ModelError::InvalidInput(_) | ModelError::Offline(_)) => {
                Some((400, QTREE_CREATE_FAILED))
            }
            (E::QtreeModify | E::QtreeDelete, ModelError::NotFound { kind: "Qtree", .. }) => {
                Some((404, QTREE_NOT_FOUND))
            }
            (E::QtreeModify, ModelError::Duplicate { kind: "Qtree", .. }) => {
                Some((409, QTREE_RENAME_DUPLICATE))
            }
            (
                E::QuotaRuleModify | E::QuotaRuleDelete,
                ModelError::NotFound {
                    kind: "Quota rule", ..
                },
            ) => Some((404, QUOTA_RULE_NOT_FOUND)),
            _ => None,
        };
        match own {
            Some((status, code)) => RestError::new(status, code, e.to_string()),
            None => RestError::from(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Refusals too costly to provoke through requests (`tests/rest_error_codes.rs` drives the
    /// others): the table itself.
    #[test]
    fn endpoint_codes() {
        let too_many = || ModelError::refused(Refusal::TooManySnapshots, "full");
        let e = RestError::at(Endpoint::SnapshotCreate, too_many());
        assert_eq!((e.status, e.code), (400, SNAPSHOT_MAXIMUM));
        // Elsewhere a refusal keeps its class's generic code.
        assert_eq!(RestError::from(too_many()).code, INVALID_VALUE);
        let clones = || ModelError::refused(Refusal::VolumeHasClones, "kids");
        assert_eq!(RestError::at(Endpoint::VolumeDelete, clones()).code, 524615);
        assert_eq!(
            RestError::at(Endpoint::VolumeModify, clones()).code,
            GENERIC
        );
        let gone = ModelError::NotFound {
            kind: "Quota rule",
            name: "r".into(),
        };
        let e = RestError::at(Endpoint::QuotaRuleDelete, gone);
        assert_eq!((e.status, e.code), (404, QUOTA_RULE_NOT_FOUND));
    }
}
