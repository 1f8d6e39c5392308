//! ZAPI failure codes: the model's typed errors mapped once to the errno numbers clients branch on
//! (see `shared/spec/errno.md`).

use crate::model::{ModelError, RefusalClass};

pub const EINVAL: u32 = 22;
pub const EAPIERROR: u32 = 13001;
pub const EAPIPRIVILEGE: u32 = 13003;
pub const EAPINOTFOUND: u32 = 13005;
pub const ESNAPSHOTBUSY: u32 = 13024;
pub const EVOLUMEDOESNOTEXIST: u32 = 13040;
pub const EVOLUMEOFFLINE: u32 = 13042;
pub const EVOLNOTCLONE: u32 = 13170;
pub const EVOL_NOT_MOUNTED: u32 = 14716;
pub const EVSERVER_OP_NOT_ALLOWED: u32 = 14719;
pub const SOURCEINFONOTFOUND: u32 = 19068;
pub const EINTERNALERROR: u32 = 13114;
pub const EINVALIDINPUTERROR: u32 = 13115;
pub const EDUPLICATEENTRY: u32 = 13130;
pub const EAGGRDOESNOTEXIST: u32 = 14420;
pub const EOBJECTNOTFOUND: u32 = 15661;
pub const EVSERVERNOTFOUND: u32 = 15698;
/// `quota-on` / `quota-resize` on a volume without quota rules (Ansible's na_ontap_quotas
/// branches on "14958:No valid quota rules found").
pub const EQUOTA_NO_RULES: u32 = 14958;
/// A new password that was used before (Ansible's `na_ontap_user` treats it as "unchanged").
pub const EPASSWORD_REUSED: u32 = 13214;

/// A failed `<results>`: the errno and the reason shown to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZapiError {
    pub errno: u32,
    pub reason: String,
}

impl ZapiError {
    pub fn new(errno: u32, reason: impl Into<String>) -> Self {
        ZapiError {
            errno,
            reason: reason.into(),
        }
    }

    pub fn invalid(reason: impl Into<String>) -> Self {
        Self::new(EINVALIDINPUTERROR, reason)
    }
}

impl From<ModelError> for ZapiError {
    fn from(e: ModelError) -> Self {
        let errno = match &e {
            ModelError::NotFound { kind, .. } => match *kind {
                "Vserver" => EVSERVERNOTFOUND,
                "Volume" => EVOLUMEDOESNOTEXIST,
                "Aggregate" => EAGGRDOESNOTEXIST,
                _ => EOBJECTNOTFOUND,
            },
            ModelError::Duplicate { .. } => EDUPLICATEENTRY,
            ModelError::InvalidInput(_) => EINVALIDINPUTERROR,
            ModelError::NotAuthorized(_) => EAPIPRIVILEGE,
            ModelError::Busy(_)
            | ModelError::Conflict(_)
            | ModelError::NoSpace(_)
            | ModelError::QuotaExceeded(_) => EAPIERROR,
            ModelError::SnapshotBusy(_) => ESNAPSHOTBUSY,
            ModelError::Offline(_) => EVOLUMEOFFLINE,
            ModelError::NotMounted(_) => EVOL_NOT_MOUNTED,
            ModelError::NotClone(_) => EVOLNOTCLONE,
            ModelError::Internal(_) => EINTERNALERROR,
            ModelError::QuotaNoRules(_) => EQUOTA_NO_RULES,
            ModelError::Refused { reason, .. } => match reason.class() {
                RefusalClass::Busy | RefusalClass::Conflict => EAPIERROR,
                RefusalClass::InvalidInput => EINVALIDINPUTERROR,
            },
            ModelError::PasswordReused(_) => EPASSWORD_REUSED,
        };
        ZapiError::new(errno, e.to_string())
    }
}
