//! The ONTAPI (ZAPI) front: decode the `<netapp>` envelope, resolve the SVM context, check the
//! caller's rights, validate inputs, run the handler and encode `<results>`.

pub mod api;
pub mod envelope;
pub mod errno;
pub mod iter;
pub mod xml;

use crate::model::{Role, User};
use crate::sim::Sim;
use api::{Access, Ctx, Exposure};
use errno::{ZapiError, EAPINOTFOUND, EAPIPRIVILEGE};

/// What one call did: the body to send and what to log.
pub struct Outcome {
    pub api: Option<String>,
    pub svm: Option<String>,
    pub errno: Option<u32>,
    pub body: String,
}

pub fn handle(sim: &Sim, user: &User, body: &[u8]) -> Outcome {
    let ontapi = sim.read().version.ontapi();
    let mut api_name = None;
    let mut svm = None;
    let result = (|| {
        let req = envelope::decode(body)?;
        api_name = Some(req.api.name.clone());
        let context = sim
            .read()
            .resolve_context(user, req.vfiler.as_deref())
            .map_err(|e| match e {
                crate::model::ModelError::NotFound { name, .. } => ZapiError::new(
                    errno::EVSERVERNOTFOUND,
                    format!("Specified vserver not found: \"{name}\""),
                ),
                other => other.into(),
            })?;
        svm = context.clone();
        let api = api::lookup(&req.api.name).ok_or_else(|| {
            ZapiError::new(
                EAPINOTFOUND,
                format!("Unable to find API: {}", req.api.name),
            )
        })?;
        match (api.exposure, &context) {
            (Exposure::Cluster, Some(s)) => {
                return Err(ZapiError::new(
                    EAPINOTFOUND,
                    format!("Unable to find API: {} on data vserver {s}", api.name),
                ))
            }
            (Exposure::Svm, None) => {
                return Err(ZapiError::new(
                    EAPINOTFOUND,
                    format!(
                        "Unable to find API: {} on the admin vserver; tunnel to a data Vserver with the vfiler attribute",
                        api.name
                    ),
                ))
            }
            _ => {}
        }
        if api.access == Access::Write && user.role == Role::Readonly {
            return Err(ZapiError::new(
                EAPIPRIVILEGE,
                format!(
                    "Insufficient privileges: user '{}' does not have write access to this resource",
                    user.name
                ),
            ));
        }
        api::validate_inputs(api, &req.api)?;
        let ctx = Ctx {
            sim,
            user,
            svm: context,
        };
        (api.handler)(&ctx, &req.api)
    })();
    match result {
        Ok(outputs) => Outcome {
            api: api_name,
            svm,
            errno: None,
            body: envelope::passed(&ontapi, &outputs),
        },
        Err(e) => Outcome {
            api: api_name,
            svm,
            errno: Some(e.errno),
            body: envelope::failed(&ontapi, &e),
        },
    }
}
