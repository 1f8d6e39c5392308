//! The ONTAP REST front (`/api/...`) on the same model as ZAPI: a volume made over one front is
//! the same object, with the same UUID, over the other. Decodes the path, query and JSON body,
//! calls the model, and encodes ONTAP's JSON: collections with `records`/`num_records`/`_links`,
//! `fields=` and query filters (see `query`), jobs for asynchronous verbs (see `job`), and errors as
//! `{"error": {"message", "code", "target"}}` (see `error`). One file per API family in `api/`.

pub mod api;
pub mod body;
pub mod bulk;
pub mod commands;
pub mod error;
pub mod job;
pub mod query;

use crate::model::{Cluster, Operation, Request as Access, Scope, User};
use crate::sim::Sim;
use body::Body;
use error::RestError;
use query::Query;
use serde_json::Value;
use std::sync::Arc;

/// One request as a handler sees it.
pub struct Call {
    pub method: &'static str,
    /// The request path (`/api/storage/volumes/<uuid>`).
    pub path: String,
    /// Path variables in order (`{uuid}`, `{id}`, ...).
    pub vars: Vec<String>,
    pub query: Query,
    pub body: Body,
    /// A fault rule's job failure (code, message): the job fails with it and changes nothing.
    pub fail_job: Option<(u32, String)>,
}

impl Call {
    pub fn var(&self, i: usize) -> &str {
        self.vars.get(i).map(String::as_str).unwrap_or("")
    }

    /// Answer a collection GET from its records, in the schema's order (see
    /// [`query::collection`]).
    pub fn collection(
        &self,
        schema: &query::Schema,
        records: impl IntoIterator<Item = Value>,
    ) -> Result<Reply, RestError> {
        Ok(Reply::ok(query::collection(
            &self.query,
            &self.path,
            schema,
            records,
        )?))
    }
}

pub struct Ctx<'a> {
    pub sim: &'a Arc<Sim>,
    pub user: &'a User,
}

impl Ctx<'_> {
    /// The SVM an SVM-scoped user is confined to.
    pub fn scope(&self) -> Option<&str> {
        match &self.user.scope {
            Scope::Cluster => None,
            Scope::Svm(s) => Some(s),
        }
    }

    /// Whether the caller may see objects of `svm`.
    pub fn sees(&self, svm: &str) -> bool {
        self.scope().is_none_or(|s| s == svm)
    }

    /// Resolve an SVM named by `svm.name` and/or `svm.uuid` (both must agree), within the
    /// caller's scope.
    pub fn svm_named(
        &self,
        c: &Cluster,
        name: Option<&str>,
        uuid: Option<&str>,
    ) -> Result<String, RestError> {
        let found = match (name, uuid) {
            (None, None) => match self.scope() {
                Some(s) => return Ok(s.to_string()),
                None => return Err(RestError::missing("svm.name")),
            },
            (Some(n), _) => c.svms.get(n),
            (None, Some(u)) => c.svms.values().find(|s| s.uuid.to_string() == u),
        };
        let what = name.or(uuid).unwrap_or_default();
        let svm = found
            .filter(|s| uuid.is_none_or(|u| s.uuid.to_string() == u))
            .ok_or_else(|| {
                RestError::new(
                    404,
                    error::SVM_NOT_FOUND,
                    format!("SVM \"{what}\" does not exist."),
                )
                .target(if name.is_some() {
                    "svm.name"
                } else {
                    "svm.uuid"
                })
            })?;
        if !self.sees(&svm.name) {
            return Err(RestError::new(
                403,
                error::NOT_AUTHORIZED,
                format!(
                    "not authorized for that command: SVM \"{what}\" is outside this user's scope"
                ),
            ));
        }
        Ok(svm.name.clone())
    }
}

/// What a handler answers. `job` asks the listener to wait (up to `return_timeout`) for the job
/// before answering, as ONTAP does when the caller sets `return_timeout`.
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub job: Option<job::Pending>,
    /// The SVM the call acted on, for the journal.
    pub svm: Option<String>,
    /// The `Location` header of a POST: where the new object is (or, for a job, the query that
    /// finds it once the job has made it).
    pub location: Option<String>,
}

impl Reply {
    pub fn ok(body: Value) -> Reply {
        Reply {
            status: 200,
            body,
            job: None,
            svm: None,
            location: None,
        }
    }

    pub fn created(body: Value) -> Reply {
        Reply {
            status: 201,
            ..Reply::ok(body)
        }
    }

    pub fn svm(mut self, svm: impl Into<String>) -> Reply {
        self.svm = Some(svm.into());
        self
    }

    pub fn location(mut self, href: impl Into<String>) -> Reply {
        self.location = Some(href.into());
        self
    }
}

pub type Handler = fn(&Ctx, &mut Call) -> Result<Reply, RestError>;

/// One served method on one path pattern (`{..}` segments are variables).
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub handler: Handler,
    /// Whether the call changes state (refused for read-only users).
    pub write: bool,
}

pub const fn get(path: &'static str, handler: Handler) -> Route {
    Route {
        method: "GET",
        path,
        handler,
        write: false,
    }
}

pub const fn post(path: &'static str, handler: Handler) -> Route {
    Route {
        method: "POST",
        path,
        handler,
        write: true,
    }
}

pub const fn patch(path: &'static str, handler: Handler) -> Route {
    Route {
        method: "PATCH",
        path,
        handler,
        write: true,
    }
}

pub const fn delete(path: &'static str, handler: Handler) -> Route {
    Route {
        method: "DELETE",
        path,
        handler,
        write: true,
    }
}

/// Every served (method, path pattern) under `/api`, in table order; `docs/openapi.yaml` documents
/// exactly these (`tests/rest_openapi.rs` checks it).
pub fn routes() -> impl Iterator<Item = (&'static str, &'static str)> {
    api::ROUTES
        .iter()
        .flat_map(|f| f.iter())
        .map(|r| (r.method, r.path))
}

/// Match `path` against a route pattern; the variables on success.
fn bind(pattern: &str, path: &str) -> Option<Vec<String>> {
    if !shape_matches(pattern, path) {
        return None;
    }
    let vars = pattern
        .trim_matches('/')
        .split('/')
        .zip(segments(path))
        .filter(|(p, _)| p.starts_with('{'))
        // An undecodable variable still names this route; the handler finds no such object.
        .map(|(_, a)| query::decode(a).unwrap_or_else(|_| a.to_string()))
        .collect();
    Some(vars)
}

fn segments(path: &str) -> std::str::Split<'_, char> {
    path.trim_end_matches('/')
        .trim_start_matches('/')
        .split('/')
}

/// Whether `path` has the pattern's segments (a variable matches any non-empty one), without
/// allocating: every REST call tries the route table until one matches.
fn shape_matches(pattern: &str, path: &str) -> bool {
    let (mut p, mut a) = (pattern.trim_matches('/').split('/'), segments(path));
    loop {
        match (p.next(), a.next()) {
            (None, None) => return true,
            (Some(p), Some(a)) if p.starts_with('{') && !a.is_empty() => {}
            (Some(p), Some(a)) if p == a => {}
            _ => return false,
        }
    }
}

/// The route for a method and path: `Err` with 404 (no such path) or 405 (path without that
/// method).
pub fn find(method: &str, path: &str) -> Result<(&'static Route, Vec<String>), RestError> {
    let mut path_known = false;
    for r in api::ROUTES.iter().flat_map(|f| f.iter()) {
        if shape_matches(r.path, path) {
            if r.method == method {
                return Ok((r, bind(r.path, path).unwrap_or_default()));
            }
            path_known = true;
        }
    }
    if path_known {
        Err(RestError::new(
            405,
            error::API_NOT_FOUND,
            format!("The method \"{method}\" is not supported on \"{path}\"."),
        ))
    } else {
        Err(RestError::new(
            404,
            error::API_NOT_FOUND,
            format!("API not found: \"{path}\"."),
        ))
    }
}

/// The methods served on `path` (for the `Allow` header of a 405).
pub fn allowed(path: &str) -> Vec<&'static str> {
    api::ROUTES
        .iter()
        .flat_map(|f| f.iter())
        .filter(|r| shape_matches(r.path, path))
        .map(|r| r.method)
        .collect()
}

/// A request as the listener hands it over.
pub struct Request<'a> {
    pub route: &'static Route,
    pub vars: Vec<String>,
    /// The full path (`/api/...`).
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub body: &'a [u8],
    pub fail_job: Option<(u32, String)>,
}

/// Answer one request.
pub fn handle(sim: &Arc<Sim>, user: &User, req: Request) -> Result<Reply, RestError> {
    let route = req.route;
    // The access check: the user's role must grant this path (or the command it stands for).
    let command = commands::command(route.method, route.path);
    let access = Access {
        command: &command,
        rest_path: Some(req.path),
        op: Operation::of_command(&command, route.write),
    };
    if sim.read().authorize(user, &access).is_err() {
        return Err(RestError::new(
            403,
            error::NOT_AUTHORIZED,
            "not authorized for that command",
        ));
    }
    let mut call = Call {
        method: route.method,
        path: req.path.trim_end_matches('/').to_string(),
        vars: req.vars,
        query: Query::parse(req.query)?,
        body: Body::parse(req.body)?,
        fail_job: req.fail_job,
    };
    let ctx = Ctx { sim, user };
    (route.handler)(&ctx, &mut call)
}
