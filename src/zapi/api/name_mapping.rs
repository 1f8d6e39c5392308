//! `name-mapping-unix-user-*` and `name-mapping-unix-group-*`: an SVM's local UNIX users and
//! groups (`vserver services name-service unix-user` / `unix-group`), the names quota rules
//! resolve their user and group targets through. The model owns them (`model::unix_name`).

use super::{need, opt, req, text, uint, Access, Api, Ctx, Exposure, Kind, ITER_INPUTS};
use crate::model::unix_name::{UnixGroup, UnixUser, UnixUserChange};
use crate::zapi::errno::ZapiError;
use crate::zapi::iter::IterRequest;
use crate::zapi::xml::Element;

pub static APIS: &[Api] = &[
    Api {
        name: "name-mapping-unix-user-create",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: &[
            req("user-name", Kind::Str),
            req("user-id", Kind::Int),
            req("group-id", Kind::Int),
            opt("full-name", Kind::Str),
        ],
        handler: user_create,
    },
    Api {
        name: "name-mapping-unix-user-modify",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: &[
            req("user-name", Kind::Str),
            opt("user-id", Kind::Int),
            opt("group-id", Kind::Int),
            opt("full-name", Kind::Str),
        ],
        handler: user_modify,
    },
    Api {
        name: "name-mapping-unix-user-destroy",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: &[req("user-name", Kind::Str)],
        handler: user_destroy,
    },
    Api {
        name: "name-mapping-unix-user-get-iter",
        access: Access::Read,
        exposure: Exposure::Both,
        inputs: ITER_INPUTS,
        handler: user_get_iter,
    },
    Api {
        name: "name-mapping-unix-group-create",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: &[
            req("group-name", Kind::Str),
            req("group-id", Kind::Int),
            opt("skip-name-validation", Kind::Bool),
        ],
        handler: group_create,
    },
    Api {
        name: "name-mapping-unix-group-modify",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: &[req("group-name", Kind::Str), opt("group-id", Kind::Int)],
        handler: group_modify,
    },
    Api {
        name: "name-mapping-unix-group-destroy",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: &[req("group-name", Kind::Str)],
        handler: group_destroy,
    },
    Api {
        name: "name-mapping-unix-group-add-user",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: &[
            req("group-name", Kind::Str),
            req("user-name", Kind::Str),
            opt("skip-name-validation", Kind::Bool),
        ],
        handler: group_add_user,
    },
    Api {
        name: "name-mapping-unix-group-delete-user",
        access: Access::Write,
        exposure: Exposure::Svm,
        inputs: &[req("group-name", Kind::Str), req("user-name", Kind::Str)],
        handler: group_delete_user,
    },
    Api {
        name: "name-mapping-unix-group-get-iter",
        access: Access::Read,
        exposure: Exposure::Both,
        inputs: ITER_INPUTS,
        handler: group_get_iter,
    },
];

/// A required ID input (0 to 4294967295).
fn id(el: &Element, name: &str) -> Result<u32, ZapiError> {
    uint::<u32>(el, name)?.ok_or_else(|| ZapiError::invalid(format!("Missing input: {name}")))
}

fn user_create(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    let user = UnixUser {
        name: need(el, "user-name").to_string(),
        id: id(el, "user-id")?,
        primary_gid: id(el, "group-id")?,
        full_name: text(el, "full-name").unwrap_or_default().to_string(),
    };
    ctx.sim.mutate(|c| c.create_unix_user(svm, user))?;
    Ok(vec![])
}

fn user_modify(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    let ch = UnixUserChange {
        id: uint(el, "user-id")?,
        primary_gid: uint(el, "group-id")?,
        full_name: text(el, "full-name").map(str::to_string),
    };
    ctx.sim
        .mutate(|c| c.modify_unix_user(svm, need(el, "user-name"), ch))?;
    Ok(vec![])
}

fn user_destroy(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    ctx.sim
        .mutate(|c| c.delete_unix_user(svm, need(el, "user-name")))?;
    Ok(vec![])
}

/// The SVMs a read covers: the tunnel's, or every data SVM at cluster scope.
fn svms<'a>(ctx: &Ctx, c: &'a crate::model::Cluster) -> Vec<&'a crate::model::Svm> {
    match ctx.svm.as_deref() {
        Some(s) => c.svms.get(&s.to_string()).into_iter().collect(),
        None => c.svms.values().collect(),
    }
}

fn user_get_iter(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let req = IterRequest::parse(el, "unix-user-info")?;
    let c = ctx.sim.read();
    let users: Vec<(&str, &UnixUser)> = svms(ctx, &c)
        .into_iter()
        .flat_map(|s| s.unix.users.values().map(move |u| (s.name.as_str(), u)))
        .collect();
    Ok(req.page_tree(
        &el.name,
        users,
        |(s, u)| vec![s.to_string(), u.name.clone()],
        |(s, u)| {
            Element::new("unix-user-info")
                .with_leaf("full-name", &u.full_name)
                .with_leaf("group-id", u.primary_gid)
                .with_leaf("user-id", u.id)
                .with_leaf("user-name", &u.name)
                .with_leaf("vserver", *s)
        },
    ))
}

fn group_create(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    let gid = id(el, "group-id")?;
    ctx.sim
        .mutate(|c| c.create_unix_group(svm, need(el, "group-name"), gid))?;
    Ok(vec![])
}

fn group_modify(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    let name = need(el, "group-name");
    ctx.sim.mutate(|c| match uint::<u32>(el, "group-id")? {
        Some(gid) => c.modify_unix_group(svm, name, gid).map_err(ZapiError::from),
        // Nothing to change, but the group must exist.
        None => c
            .unix_names(svm)?
            .groups
            .get(name)
            .map(|_| ())
            .ok_or_else(|| {
                crate::model::ModelError::NotFound {
                    kind: "UNIX group",
                    name: format!("{name}\" in Vserver \"{svm}"),
                }
                .into()
            }),
    })?;
    Ok(vec![])
}

fn group_destroy(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    ctx.sim
        .mutate(|c| c.delete_unix_group(svm, need(el, "group-name")))?;
    Ok(vec![])
}

fn group_add_user(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    let skip = super::boolean(el, "skip-name-validation").unwrap_or(false);
    ctx.sim.mutate(|c| {
        c.add_unix_group_user(svm, need(el, "group-name"), need(el, "user-name"), skip)
    })?;
    Ok(vec![])
}

fn group_delete_user(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let svm = ctx.svm()?;
    ctx.sim
        .mutate(|c| c.delete_unix_group_user(svm, need(el, "group-name"), need(el, "user-name")))?;
    Ok(vec![])
}

fn group_get_iter(ctx: &Ctx, el: &Element) -> Result<Vec<Element>, ZapiError> {
    let req = IterRequest::parse(el, "unix-group-info")?;
    let c = ctx.sim.read();
    let groups: Vec<(&str, &UnixGroup)> = svms(ctx, &c)
        .into_iter()
        .flat_map(|s| s.unix.groups.values().map(move |g| (s.name.as_str(), g)))
        .collect();
    Ok(req.page_tree(
        &el.name,
        groups,
        |(s, g)| vec![s.to_string(), g.name.clone()],
        |(s, g)| {
            let mut e = Element::new("unix-group-info")
                .with_leaf("group-id", g.id)
                .with_leaf("group-name", &g.name);
            if !g.users.is_empty() {
                e = e.with(
                    Element::new("users").with_children(
                        g.users
                            .iter()
                            .map(|u| Element::new("unix-group-user-info").with_leaf("user-name", u))
                            .collect(),
                    ),
                );
            }
            e.with_leaf("vserver", *s)
        },
    ))
}
