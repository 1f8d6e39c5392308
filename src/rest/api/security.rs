//! `/api/security/accounts` and `/api/security/roles`: management users and access-control
//! roles, synchronous as on ONTAP. An account or role belongs to an owner (the cluster, whose
//! admin SVM has the cluster's UUID, or a data SVM) and is addressed as `{owner.uuid}/{name}`. A
//! role's privileges are REST paths (`/api/storage/volumes`) or command directories (`volume`);
//! its privilege sub-collection is addressed by the path, URL-encoded.

use super::super::body::Body;
use super::super::error::{self, RestError};
use super::super::query::{links, Schema};
use super::super::{delete, get, patch, post, Call, Ctx, Reply, Route};
use super::instance;
use crate::model::role::{self, AccessLevel, Privilege};
use crate::model::{AccountChange, Application, Cluster, Scope, User};
use serde_json::{json, Map, Value};

pub static ROUTES: &[Route] = &[
    get("/security/accounts", accounts),
    post("/security/accounts", account_create),
    get("/security/accounts/{owner}/{name}", account_show),
    patch("/security/accounts/{owner}/{name}", account_modify),
    delete("/security/accounts/{owner}/{name}", account_delete),
    get("/security/roles", roles),
    post("/security/roles", role_create),
    get("/security/roles/{owner}/{name}", role_show),
    delete("/security/roles/{owner}/{name}", role_delete),
    get("/security/roles/{owner}/{name}/privileges", privileges),
    post(
        "/security/roles/{owner}/{name}/privileges",
        privilege_create,
    ),
    get(
        "/security/roles/{owner}/{name}/privileges/{path}",
        privilege_show,
    ),
    patch(
        "/security/roles/{owner}/{name}/privileges/{path}",
        privilege_modify,
    ),
    delete(
        "/security/roles/{owner}/{name}/privileges/{path}",
        privilege_delete,
    ),
];

pub const ACCOUNT: Schema = Schema {
    keys: &["owner", "name"],
    defaults: &[],
    order: &["owner.name", "name"],
    fields: &[
        "owner",
        "owner.name",
        "owner.uuid",
        "name",
        "role",
        "role.name",
        "applications",
        "applications.application",
        "applications.authentication_methods",
        "applications.second_authentication_method",
        "locked",
        "scope",
        "comment",
        // Write-only: asking for it is allowed, it is never returned.
        "password",
        "_links",
    ],
};

pub const ROLE: Schema = Schema {
    keys: &["owner", "name"],
    defaults: &[],
    order: &["owner.name", "name"],
    fields: &[
        "owner",
        "owner.name",
        "owner.uuid",
        "name",
        "privileges",
        "privileges.path",
        "privileges.access",
        "privileges.query",
        "builtin",
        "scope",
        "_links",
    ],
};

pub const PRIVILEGE: Schema = Schema {
    keys: &["path"],
    defaults: &["access", "query"],
    order: &["path"],
    fields: &["path", "access", "query", "_links"],
};

/// REST says `certificate` where ZAPI and the model say `cert`.
fn method_out(m: &str) -> &str {
    if m == "cert" {
        "certificate"
    } else {
        m
    }
}

fn method_in(m: &str) -> String {
    if m == "certificate" {
        "cert".into()
    } else {
        m.to_string()
    }
}

fn owner_uuid(c: &Cluster, scope: &Scope) -> String {
    match scope {
        Scope::Cluster => c.uuid.to_string(),
        Scope::Svm(s) => c
            .svms
            .get(s)
            .map(|s| s.uuid.to_string())
            .unwrap_or_default(),
    }
}

fn owner(c: &Cluster, scope: &Scope) -> Value {
    let uuid = owner_uuid(c, scope);
    json!({"name": c.vserver_of(scope), "uuid": uuid,
           "_links": links(format!("/api/svm/svms/{uuid}"))})
}

fn scope_word(scope: &Scope) -> &'static str {
    match scope {
        Scope::Cluster => "cluster",
        Scope::Svm(_) => "svm",
    }
}

/// The scope an `{owner}` path variable names (the cluster's UUID, or an SVM's), within the
/// caller's reach.
fn scope_by_uuid(ctx: &Ctx, c: &Cluster, uuid: &str, what: &str) -> Result<Scope, RestError> {
    let scope = if uuid == c.uuid.to_string() {
        Scope::Cluster
    } else {
        match c.svm_by_uuid(uuid) {
            Some(s) => Scope::Svm(s.name.clone()),
            None => return Err(RestError::not_found(what)),
        }
    };
    visible(ctx, &scope, what)?;
    Ok(scope)
}

/// An SVM-scoped caller reaches its own SVM's accounts and roles only.
fn visible(ctx: &Ctx, scope: &Scope, what: &str) -> Result<(), RestError> {
    match (ctx.scope(), scope) {
        (None, _) => Ok(()),
        (Some(own), Scope::Svm(s)) if s == own => Ok(()),
        _ => Err(RestError::not_found(what)),
    }
}

/// The owner a POST names (`owner.name` / `owner.uuid`); none: the caller's SVM, else the
/// cluster.
fn scope_from_body(ctx: &Ctx, c: &Cluster, b: &Body) -> Result<Scope, RestError> {
    let name = b.str("owner.name")?;
    let uuid = b.str("owner.uuid")?;
    let scope = match (name.as_deref(), uuid.as_deref()) {
        (None, None) => match ctx.scope() {
            Some(s) => Scope::Svm(s.to_string()),
            None => Scope::Cluster,
        },
        (Some(n), u) => {
            let scope = c.scope_named(n).map_err(|_| {
                RestError::new(
                    404,
                    error::SVM_NOT_FOUND,
                    format!("SVM \"{n}\" does not exist."),
                )
                .target("owner.name")
            })?;
            if u.is_some_and(|u| u != owner_uuid(c, &scope)) {
                return Err(RestError::invalid(
                    "owner.uuid",
                    "owner.name and owner.uuid name different SVMs.",
                ));
            }
            scope
        }
        (None, Some(u)) => scope_by_uuid(ctx, c, u, u)?,
    };
    if visible(ctx, &scope, "").is_err() {
        return Err(RestError::new(
            403,
            error::NOT_AUTHORIZED,
            "not authorized for that command",
        ));
    }
    Ok(scope)
}

fn account_record(c: &Cluster, u: &User) -> Value {
    let uuid = owner_uuid(c, &u.scope);
    let apps: Vec<Value> = u
        .applications
        .iter()
        .map(|a| {
            let methods: Vec<&str> = a
                .authentication_methods
                .iter()
                .map(|m| method_out(m))
                .collect();
            json!({"application": a.application, "authentication_methods": methods,
                   "second_authentication_method": "none"})
        })
        .collect();
    let mut r = json!({
        "owner": owner(c, &u.scope),
        "name": u.name,
        "role": {"name": u.role, "_links": links(format!("/api/security/roles/{uuid}/{}", u.role))},
        "applications": apps,
        "locked": u.locked,
        "scope": scope_word(&u.scope),
        "_links": links(format!("/api/security/accounts/{uuid}/{}", u.name)),
    });
    if !u.comment.is_empty() {
        r["comment"] = json!(u.comment);
    }
    r
}

/// Accounts in (owner name, name) order.
fn account_records(ctx: &Ctx, c: &Cluster) -> Vec<Value> {
    let mut users: Vec<&User> = c
        .users
        .values()
        .map(|u| &**u)
        .filter(|u| visible(ctx, &u.scope, "").is_ok())
        .collect();
    users.sort_by(|a, b| (c.vserver_of(&a.scope), &a.name).cmp(&(c.vserver_of(&b.scope), &b.name)));
    users.into_iter().map(|u| account_record(c, u)).collect()
}

fn accounts(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let c = ctx.sim.read();
    call.collection(&ACCOUNT, account_records(ctx, &c))
}

fn account_of<'a>(ctx: &Ctx, c: &'a Cluster, call: &Call) -> Result<(Scope, &'a User), RestError> {
    let what = format!("account {}", call.var(1));
    let scope = scope_by_uuid(ctx, c, call.var(0), &what)?;
    let u = c
        .user(&scope, call.var(1))
        .map_err(|_| RestError::not_found(&what))?;
    Ok((scope, u))
}

fn account_show(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let c = ctx.sim.read();
    let (_, u) = account_of(ctx, &c, call)?;
    let body = instance(&call.query, &ACCOUNT, account_record(&c, u), call.var(1))?;
    Ok(Reply::ok(body))
}

/// `applications: [{application, authentication_methods, second_authentication_method}]`.
fn applications(b: &Body) -> Result<Option<Vec<Application>>, RestError> {
    let Some(list) = b.objects("applications")? else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for o in list {
        let sub = Body::parse(&serde_json::to_vec(&o).unwrap_or_default())?;
        let application = sub.req_str("application")?;
        let methods = sub
            .strs("authentication_methods")?
            .ok_or_else(|| RestError::missing("applications.authentication_methods"))?;
        match sub.str("second_authentication_method")?.as_deref() {
            None | Some("none") => {}
            Some(m) => {
                return Err(RestError::invalid(
                    "applications.second_authentication_method",
                    format!("\"{m}\" is not supported by the simulator (none only)."),
                ))
            }
        }
        sub.finish()?;
        out.push(Application {
            application,
            authentication_methods: methods.iter().map(|m| method_in(m)).collect(),
        });
    }
    Ok(Some(out))
}

fn role_name(b: &Body) -> Result<Option<String>, RestError> {
    b.str("role.name")
}

fn account_change(b: &Body) -> Result<AccountChange, RestError> {
    Ok(AccountChange {
        role: role_name(b)?,
        password: b.str("password")?,
        applications: applications(b)?,
        locked: b.bool("locked")?,
        comment: b.str("comment")?,
    })
}

fn account_create(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let b = &call.body;
    let scope = scope_from_body(ctx, &ctx.sim.read(), b)?;
    let name = b.req_str("name")?;
    let change = account_change(b)?;
    b.value("scope");
    b.finish()?;
    call.query.finish()?;
    let uuid = ctx.sim.mutate(|c| {
        c.create_user(&scope, &name, change)?;
        Ok::<_, RestError>(owner_uuid(c, &scope))
    })?;
    let href = format!("/api/security/accounts/{uuid}/{name}");
    let mut body = json!({});
    if call.query.wants_records() {
        body = json!({"num_records": 1, "records": [{"owner": {"uuid": uuid}, "name": name,
            "_links": links(href.clone())}]});
    }
    Ok(Reply::created(body).location(href))
}

/// A PATCH may repeat the account's keys as query parameters (Ansible's `na_ontap_user` does);
/// they must name the account in the path.
fn take_key_params(call: &mut Call) -> Result<(), RestError> {
    let what = format!("account {}", call.var(1));
    let name = call.query.take("name");
    let owner = call.query.take("owner.uuid");
    if name.is_some_and(|n| n != call.var(1)) || owner.is_some_and(|o| o != call.var(0)) {
        return Err(RestError::not_found(&what));
    }
    Ok(())
}

fn account_modify(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    take_key_params(call)?;
    let scope = {
        let c = ctx.sim.read();
        account_of(ctx, &c, call)?.0
    };
    let change = account_change(&call.body)?;
    call.body.finish()?;
    call.query.finish()?;
    let name = call.var(1).to_string();
    ctx.sim
        .mutate(|c| c.modify_user(&scope, &name, change))
        .map_err(RestError::from)?;
    Ok(Reply::ok(json!({})))
}

fn account_delete(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    take_key_params(call)?;
    let scope = {
        let c = ctx.sim.read();
        account_of(ctx, &c, call)?.0
    };
    call.query.finish()?;
    let name = call.var(1).to_string();
    ctx.sim
        .mutate(|c| c.delete_user(&scope, &name))
        .map_err(RestError::from)?;
    Ok(Reply::ok(json!({})))
}

fn privilege_record(base: &str, p: &Privilege) -> Value {
    let mut r = json!({"path": p.path, "access": p.access.as_str(),
        "_links": links(format!("{base}/privileges/{}", super::super::query::encode(&p.path)))});
    if let Some(q) = &p.query {
        r["query"] = json!(q);
    }
    r
}

fn role_base(c: &Cluster, scope: &Scope, name: &str) -> String {
    format!("/api/security/roles/{}/{name}", owner_uuid(c, scope))
}

fn role_record(
    c: &Cluster,
    scope: &Scope,
    name: &str,
    privileges: &[Privilege],
    builtin: bool,
) -> Value {
    let base = role_base(c, scope, name);
    let ps: Vec<Value> = privileges
        .iter()
        .map(|p| privilege_record(&base, p))
        .collect();
    json!({
        "owner": owner(c, scope),
        "name": name,
        "privileges": ps,
        "builtin": builtin,
        "scope": scope_word(scope),
        "_links": links(base),
    })
}

/// Every role the caller sees, built-in and custom, in (owner name, name) order.
fn role_records(ctx: &Ctx, c: &Cluster) -> Vec<Value> {
    let mut scopes = vec![Scope::Cluster];
    scopes.extend(c.svms.keys().map(|s| Scope::Svm(s.clone())));
    let mut rows: Vec<(String, String, Value)> = Vec::new();
    for scope in scopes.iter().filter(|s| visible(ctx, s, "").is_ok()) {
        let builtins = match scope {
            Scope::Cluster => role::CLUSTER_BUILTINS,
            Scope::Svm(_) => role::SVM_BUILTINS,
        };
        for n in builtins {
            if let Some(p) = role::builtin(n, scope) {
                rows.push((
                    c.vserver_of(scope).to_string(),
                    n.to_string(),
                    role_record(c, scope, n, &p, true),
                ));
            }
        }
        for r in c.roles.values().filter(|r| &r.scope == scope) {
            rows.push((
                c.vserver_of(scope).to_string(),
                r.name.clone(),
                role_record(c, scope, &r.name, &r.privileges, false),
            ));
        }
    }
    rows.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    rows.into_iter().map(|r| r.2).collect()
}

fn roles(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let c = ctx.sim.read();
    call.collection(&ROLE, role_records(ctx, &c))
}

/// The role `{owner}/{name}` names: (scope, its privileges, built-in?).
fn role_of(
    ctx: &Ctx,
    c: &Cluster,
    call: &Call,
) -> Result<(Scope, Vec<Privilege>, bool), RestError> {
    let what = format!("role {}", call.var(1));
    let scope = scope_by_uuid(ctx, c, call.var(0), &what)?;
    let name = call.var(1);
    if let Ok(r) = c.role(&scope, name) {
        return Ok((scope, r.privileges.clone(), false));
    }
    match role::builtin(name, &scope) {
        Some(p) => Ok((scope, p, true)),
        None => Err(RestError::not_found(&what)),
    }
}

fn role_show(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let c = ctx.sim.read();
    let (scope, p, builtin) = role_of(ctx, &c, call)?;
    let rec = role_record(&c, &scope, call.var(1), &p, builtin);
    Ok(Reply::ok(instance(&call.query, &ROLE, rec, call.var(1))?))
}

/// One privilege of a body: `{path, access, query}`; path and access are required.
fn privilege(b: &Body, prefix: &str) -> Result<Privilege, RestError> {
    let field = |f: &str| {
        if prefix.is_empty() {
            f.to_string()
        } else {
            format!("{prefix}.{f}")
        }
    };
    let path = b
        .str("path")?
        .ok_or_else(|| RestError::missing(&field("path")))?;
    let access = match b.str("access")? {
        None => return Err(RestError::missing(&field("access"))),
        Some(a) => AccessLevel::parse(&a).ok_or_else(|| {
            RestError::invalid(
                &field("access"),
                format!(
                    "\"{a}\" is not one of none, readonly, read_create, read_modify, read_create_modify, all."
                ),
            )
        })?,
    };
    Ok(Privilege {
        path,
        access,
        query: b.str("query")?,
    })
}

fn objects_as_bodies(list: Vec<Map<String, Value>>) -> Result<Vec<Body>, RestError> {
    list.into_iter()
        .map(|o| Body::parse(&serde_json::to_vec(&o).unwrap_or_default()))
        .collect()
}

fn role_create(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let b = &call.body;
    let scope = scope_from_body(ctx, &ctx.sim.read(), b)?;
    let name = b.req_str("name")?;
    let mut ps = Vec::new();
    for sub in objects_as_bodies(b.objects("privileges")?.unwrap_or_default())? {
        ps.push(privilege(&sub, "privileges")?);
        sub.finish()?;
    }
    b.value("scope");
    b.finish()?;
    call.query.finish()?;
    let base = ctx.sim.mutate(|c| {
        c.create_role(&scope, &name, ps)?;
        Ok::<_, RestError>(role_base(c, &scope, &name))
    })?;
    let mut body = json!({});
    if call.query.wants_records() {
        body =
            json!({"num_records": 1, "records": [{"name": name, "_links": links(base.clone())}]});
    }
    Ok(Reply::created(body).location(base))
}

fn custom_scope(ctx: &Ctx, call: &Call) -> Result<Scope, RestError> {
    let c = ctx.sim.read();
    let (scope, _, builtin) = role_of(ctx, &c, call)?;
    if builtin {
        return Err(RestError::new(
            400,
            error::INVALID_VALUE,
            format!(
                "Role \"{}\" is a built-in role and cannot be changed.",
                call.var(1)
            ),
        ));
    }
    Ok(scope)
}

fn role_delete(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let scope = custom_scope(ctx, call)?;
    call.query.finish()?;
    let name = call.var(1).to_string();
    ctx.sim
        .mutate(|c| c.delete_role(&scope, &name))
        .map_err(RestError::from)?;
    Ok(Reply::ok(json!({})))
}

fn privileges(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let c = ctx.sim.read();
    let (scope, mut ps, _) = role_of(ctx, &c, call)?;
    ps.sort_by(|a, b| a.path.cmp(&b.path));
    let base = role_base(&c, &scope, call.var(1));
    call.collection(&PRIVILEGE, ps.iter().map(|p| privilege_record(&base, p)))
}

fn privilege_create(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let scope = custom_scope(ctx, call)?;
    let p = privilege(&call.body, "")?;
    call.body.finish()?;
    call.query.finish()?;
    let name = call.var(1).to_string();
    let path = p.path.clone();
    let base = ctx.sim.mutate(|c| {
        c.add_role_entry(&scope, &name, p)?;
        Ok::<_, RestError>(role_base(c, &scope, &name))
    })?;
    Ok(Reply::created(json!({})).location(format!(
        "{base}/privileges/{}",
        super::super::query::encode(&path)
    )))
}

fn find_privilege(ps: &[Privilege], path: &str) -> Option<Privilege> {
    let wanted = if path.starts_with('/') {
        path.trim_end_matches('/').to_string()
    } else {
        role::normalise_command(path)
    };
    ps.iter().find(|p| p.path == wanted).cloned()
}

fn privilege_show(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let c = ctx.sim.read();
    let (scope, ps, _) = role_of(ctx, &c, call)?;
    let what = format!("privilege {}", call.var(2));
    let p = find_privilege(&ps, call.var(2))
        .ok_or_else(|| RestError::not_found(&what).target("path"))?;
    let base = role_base(&c, &scope, call.var(1));
    Ok(Reply::ok(instance(
        &call.query,
        &PRIVILEGE,
        privilege_record(&base, &p),
        call.var(2),
    )?))
}

fn privilege_modify(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let scope = custom_scope(ctx, call)?;
    let b = &call.body;
    let access = match b.str("access")? {
        None => None,
        Some(a) => Some(AccessLevel::parse(&a).ok_or_else(|| {
            RestError::invalid("access", format!("\"{a}\" is not a valid access level."))
        })?),
    };
    let query = b.has("query").then(|| b.str("query")).transpose()?;
    b.value("path");
    b.finish()?;
    call.query.finish()?;
    let (name, path) = (call.var(1).to_string(), call.var(2).to_string());
    ctx.sim
        .mutate(|c| c.modify_role_entry(&scope, &name, &path, access, query))
        .map_err(|e| privilege_error(e, &path))?;
    Ok(Reply::ok(json!({})))
}

/// A missing privilege is "entry doesn't exist" with target `path` (Ansible's
/// `na_ontap_user_role` skips exactly that when it removes privileges).
fn privilege_error(e: crate::model::ModelError, path: &str) -> RestError {
    match e {
        crate::model::ModelError::NotFound {
            kind: "Role entry", ..
        } => RestError::new(
            404,
            error::ENTRY_DOESNT_EXIST,
            format!("entry doesn't exist: privilege \"{path}\""),
        )
        .target("path"),
        other => other.into(),
    }
}

fn privilege_delete(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    let scope = custom_scope(ctx, call)?;
    call.query.finish()?;
    let (name, path) = (call.var(1).to_string(), call.var(2).to_string());
    ctx.sim
        .mutate(|c| c.delete_role_entry(&scope, &name, &path))
        .map_err(|e| privilege_error(e, &path))?;
    Ok(Reply::ok(json!({})))
}
