//! `PATCH /api/cluster`: the cluster's name, location and contact (a job, as ONTAP answers it).
//! The GET is in `cluster.rs`.

use super::super::error::RestError;
use super::super::job::{self, Op};
use super::super::{patch, Call, Ctx, Reply, Route};
use crate::model::Cluster;

pub static ROUTES: &[Route] = &[patch("/cluster", modify)];

fn modify(ctx: &Ctx, call: &mut Call) -> Result<Reply, RestError> {
    if ctx.scope().is_some() {
        return Err(RestError::new(
            403,
            super::super::error::NOT_AUTHORIZED,
            "not authorized for that command: the cluster identity is changed by a cluster administrator",
        ));
    }
    let b = &call.body;
    let name = b.str("name")?;
    let location = b.str("location")?;
    let contact = b.str("contact")?;
    let op: Op = Box::new(move |c: &mut Cluster| {
        c.modify_identity(name.as_deref(), location.as_deref(), contact.as_deref())
    });
    let admin = ctx.sim.read().name.clone();
    job::start(ctx, call, &admin, op)
}
