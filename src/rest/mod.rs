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
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

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
            (None, Some(u)) => c.svm_by_uuid(u),
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

/// The route table, indexed once: a call looks at the few routes of its path's shape (segment
/// count and first two segments) instead of trying all of them, and the command a route stands
/// for is worked out once, not on every call.
struct RouteIndex {
    routes: Vec<&'static Route>,
    shapes: HashMap<(usize, &'static str, &'static str), Vec<usize>>,
    /// Routes with a variable among their first two segments: candidates for every path.
    wild: Vec<usize>,
    commands: HashMap<(&'static str, &'static str), String>,
}

fn index() -> &'static RouteIndex {
    static INDEX: OnceLock<RouteIndex> = OnceLock::new();
    INDEX.get_or_init(|| {
        let routes: Vec<&'static Route> = api::ROUTES.iter().flat_map(|f| f.iter()).collect();
        let (mut shapes, mut wild) = (HashMap::<_, Vec<usize>>::new(), Vec::new());
        for (i, r) in routes.iter().enumerate() {
            let key = shape_key(r.path);
            if key.1.starts_with('{') || key.2.starts_with('{') {
                wild.push(i);
            } else {
                shapes.entry(key).or_default().push(i);
            }
        }
        let commands = routes
            .iter()
            .map(|r| ((r.method, r.path), commands::command(r.method, r.path)))
            .collect();
        RouteIndex {
            routes,
            shapes,
            wild,
            commands,
        }
    })
}

/// Segment count and first two segments (empty when absent).
fn shape_key(path: &str) -> (usize, &str, &str) {
    let mut s = segments(path);
    let (a, b) = (s.next().unwrap_or(""), s.next().unwrap_or(""));
    (segments(path).count(), a, b)
}

/// The routes whose pattern `path` has, in table order.
fn routes_of(path: &str) -> impl Iterator<Item = &'static Route> + '_ {
    let ix = index();
    let (mut a, mut b) = (
        ix.shapes
            .get(&shape_key(path))
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .peekable(),
        ix.wild.iter().peekable(),
    );
    // Both lists ascend: merge them so the table's order decides between two patterns.
    std::iter::from_fn(move || match (a.peek(), b.peek()) {
        (Some(x), Some(y)) if y < x => b.next(),
        (Some(_), _) => a.next(),
        (None, _) => b.next(),
    })
    .map(|&i| ix.routes[i])
    .filter(move |r| shape_matches(r.path, path))
}

/// The command a route stands for (see [`commands::command`]), worked out once.
fn command_of(route: &'static Route) -> std::borrow::Cow<'static, str> {
    match index().commands.get(&(route.method, route.path)) {
        Some(c) => std::borrow::Cow::Borrowed(c.as_str()),
        None => std::borrow::Cow::Owned(commands::command(route.method, route.path)),
    }
}

/// The route for a method and path: `Err` with 404 (no such path) or 405 (path without that
/// method).
pub fn find(method: &str, path: &str) -> Result<(&'static Route, Vec<String>), RestError> {
    let mut path_known = false;
    for r in routes_of(path) {
        if r.method == method {
            return Ok((r, bind(r.path, path).unwrap_or_default()));
        }
        path_known = true;
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
    routes_of(path).map(|r| r.method).collect()
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
    let command = command_of(route);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// What `find` answered before the index: the first route of the whole table that matches.
    fn scan(method: &str, path: &str) -> Option<&'static Route> {
        api::ROUTES
            .iter()
            .flat_map(|f| f.iter())
            .find(|r| r.method == method && shape_matches(r.path, path))
    }

    #[test]
    fn the_index_finds_what_a_scan_of_the_table_finds() {
        let mut paths: Vec<String> = Vec::new();
        for (_, pattern) in routes() {
            // Each variable as a plain value, and as a literal another route may have there.
            paths.push(
                pattern
                    .split('/')
                    .map(|s| if s.starts_with('{') { "x1" } else { s })
                    .collect::<Vec<_>>()
                    .join("/"),
            );
            paths.push(pattern.replace(['{', '}'], ""));
            paths.push(format!("{pattern}/"));
            paths.push(format!("{pattern}/extra"));
        }
        paths.extend(["/", "", "/nothing", "/storage", "/storage/volumes//x"].map(String::from));
        let methods = ["GET", "POST", "PATCH", "DELETE", "PUT"];
        for path in &paths {
            for m in methods {
                let want = scan(m, path).map(|r| (r.method, r.path));
                let got = find(m, path).ok().map(|(r, _)| (r.method, r.path));
                assert_eq!(got, want, "{m} {path}");
            }
            let want: Vec<_> = api::ROUTES
                .iter()
                .flat_map(|f| f.iter())
                .filter(|r| shape_matches(r.path, path))
                .map(|r| r.method)
                .collect();
            assert_eq!(allowed(path), want, "{path}");
        }
    }

    #[test]
    fn every_route_has_its_command_worked_out_once() {
        for r in api::ROUTES.iter().flat_map(|f| f.iter()) {
            assert_eq!(command_of(r), commands::command(r.method, r.path));
            assert!(matches!(command_of(r), std::borrow::Cow::Borrowed(_)));
        }
    }
}
