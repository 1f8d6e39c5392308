//! REST failures: ONTAP's `{"error": {"message", "code", "target"}}` body with the HTTP status, and
//! the model's typed errors mapped once to the codes clients branch on (Trident: 4, 1, 1704070,
//! 1638555, 524486, 917534; see `shared/spec/trident-rest.md` §5).

use crate::model::ModelError;
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
            ModelError::PasswordReused(_) => (400, GENERIC),
        };
        RestError::new(status, code, e.to_string())
    }
}
