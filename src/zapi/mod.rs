//! The ONTAPI (ZAPI) front: decode the `<netapp>` envelope, resolve the SVM context, check the
//! caller's rights, validate inputs, run the handler and encode `<results>`.
//!
//! A call is prepared first (everything up to the handler) so that the listener can match fault
//! rules against the API, SVM and volume it names before anything runs.

pub mod api;
pub mod commands;
pub mod envelope;
pub mod errno;
pub mod iter;
pub mod xml;

use crate::model::{Operation, Request, User};
use crate::sim::Sim;
use api::{Access, Api, Ctx, Exposure};
use errno::{ZapiError, EAPINOTFOUND, EAPIPRIVILEGE};

/// What one call did: the body to send and what to log.
pub struct Outcome {
    pub api: Option<String>,
    pub svm: Option<String>,
    pub errno: Option<u32>,
    pub body: String,
}

/// A decoded, authorised call that has not run yet.
pub struct Call {
    api: &'static Api,
    element: xml::Element,
    svm: Option<String>,
}

impl Call {
    pub fn api(&self) -> &str {
        self.api.name
    }

    pub fn svm(&self) -> Option<&str> {
        self.svm.as_deref()
    }

    /// The volume the call names, when it names one (for fault rules).
    pub fn volume(&self) -> Option<&str> {
        ["volume", "volume-name", "name", "parent-volume"]
            .iter()
            .find_map(|n| self.element.child_text(n))
            .or_else(|| {
                self.element
                    .path(&["query", "volume-attributes", "volume-id-attributes", "name"])
                    .map(|e| e.text.as_str())
            })
    }
}

fn ontapi(sim: &Sim) -> String {
    sim.read().version.ontapi()
}

/// An outcome for a failure at any stage.
pub fn failure(sim: &Sim, api: Option<&str>, svm: Option<&str>, e: &ZapiError) -> Outcome {
    Outcome {
        api: api.map(str::to_string),
        svm: svm.map(str::to_string),
        errno: Some(e.errno),
        body: envelope::failed(&ontapi(sim), e),
    }
}

/// Decode and authorise; a refusal is returned as the failed outcome to send.
pub fn prepare(sim: &Sim, user: &User, body: &[u8]) -> Result<Call, Outcome> {
    let req = envelope::decode(body).map_err(|e| failure(sim, None, None, &e))?;
    let name = req.api.name.clone();
    let fail = |svm: Option<&str>, e: ZapiError| failure(sim, Some(&name), svm, &e);
    let context = sim
        .read()
        .resolve_context(user, req.vfiler.as_deref())
        .map_err(|e| match e {
            crate::model::ModelError::NotFound { name, .. } => ZapiError::new(
                errno::EVSERVERNOTFOUND,
                format!("Specified vserver not found: \"{name}\""),
            ),
            other => other.into(),
        })
        .map_err(|e| fail(None, e))?;
    let svm = context.as_deref();
    let api = api::lookup(&name).ok_or_else(|| {
        fail(
            svm,
            ZapiError::new(EAPINOTFOUND, format!("Unable to find API: {name}")),
        )
    })?;
    match (api.exposure, svm) {
        (Exposure::Cluster, Some(s)) => {
            return Err(fail(
                svm,
                ZapiError::new(
                    EAPINOTFOUND,
                    format!("Unable to find API: {} on data vserver {s}", api.name),
                ),
            ))
        }
        (Exposure::Svm, None) => {
            return Err(fail(
                svm,
                ZapiError::new(
                    EAPINOTFOUND,
                    format!(
                        "Unable to find API: {} on the admin vserver; tunnel to a data Vserver with the vfiler attribute",
                        api.name
                    ),
                ),
            ))
        }
        _ => {}
    }
    authorize(&sim.read(), user, api, api.access == Access::Write).map_err(|e| fail(svm, e))?;
    api::validate_inputs(api, &req.api).map_err(|e| fail(svm, e))?;
    Ok(Call {
        api,
        element: req.api,
        svm: context,
    })
}

/// The access check: the user's role must grant the command the API stands for (see
/// [`commands`]), for writing when the call writes.
pub fn authorize(
    c: &crate::model::Cluster,
    user: &User,
    api: &Api,
    writes: bool,
) -> Result<(), ZapiError> {
    let command = commands::command(api.name).unwrap_or(api.name);
    let req = Request {
        command,
        rest_path: None,
        op: Operation::of_command(command, writes),
    };
    c.authorize(user, &req).map_err(|e| match e {
        crate::model::ModelError::NotAuthorized(m) => ZapiError::new(EAPIPRIVILEGE, m),
        other => other.into(),
    })
}

/// Run a prepared call.
pub fn run(sim: &std::sync::Arc<Sim>, user: &User, call: Call) -> Outcome {
    let ctx = Ctx {
        sim,
        user,
        api: call.api,
        svm: call.svm.clone(),
    };
    match (call.api.handler)(&ctx, &call.element) {
        Ok(outputs) => Outcome {
            api: Some(call.api.name.to_string()),
            svm: call.svm,
            errno: None,
            body: envelope::passed(&ontapi(sim), &outputs),
        },
        Err(e) => failure(sim, Some(call.api.name), call.svm.as_deref(), &e),
    }
}
