//! MOUNT v3 (RFC 1813 appendix I): NULL, MNT, DUMP, UMNT, UMNTALL, EXPORT. Versions 1 and 2 are
//! answered for everything but MNT (showmount speaks v1).
//!
//! MNT takes a junction path or a path below one. The volume must be online and mounted, and the
//! export policies of the volume and of every volume on the way from the namespace root must let
//! the client read (as ONTAP requires); the path below the junction must be directories.
//!
//! A qtree's snapshots are reached below the qtree, as on ONTAP: `/<junction>/<qtree>/.snapshot/
//! <snapshot>[/...]` is the qtree's directory in that snapshot (what Trident's ontap-nas-economy
//! driver gives a node for a read-only clone), resolved by LOOKUP as a client would (see
//! `nfs3::lookup_in`): the qtree's export policy must let the client in, and the volume's
//! snapshot directory must be visible.

use super::handle::Fh;
use super::nfs3::{self, Nfsstat};
use super::rpc::{self, Accept, Call, AUTH_SYS};
use super::view::Cx;
use super::{Conn, Nfs};
use crate::model::nfs_access::NfsAccess;
use tracing::info;

const MNT3_OK: u32 = 0;
const MNT3ERR_NOENT: u32 = 2;
const MNT3ERR_ACCES: u32 = 13;
const MNT3ERR_NOTDIR: u32 = 20;
const MNT3ERR_INVAL: u32 = 22;
const MNT3ERR_NAMETOOLONG: u32 = 63;
const MNT3ERR_SERVERFAULT: u32 = 10006;

/// The longest path MNT accepts (MNTPATHLEN).
const MNTPATHLEN: usize = 1024;

pub fn handle(nfs: &Nfs, conn: &Conn, svm: &str, call: &mut Call) -> Vec<u8> {
    let xid = call.xid;
    let cx = Cx {
        nfs,
        peer: conn.peer.ip(),
        svm: svm.to_string(),
        cred: &call.cred,
    };
    match call.proc_ {
        // NULL, UMNT, UMNTALL: nothing to do (no mount list is kept).
        0 | 4 => rpc::accepted(xid, Accept::Success).finish(),
        3 => match call.args.opaque(MNTPATHLEN) {
            Ok(_) => rpc::accepted(xid, Accept::Success).finish(),
            Err(_) => rpc::accepted(xid, Accept::GarbageArgs).finish(),
        },
        1 if call.vers == 3 => {
            let Ok(path) = call.args.opaque(MNTPATHLEN) else {
                return rpc::accepted(xid, Accept::GarbageArgs).finish();
            };
            let path = String::from_utf8_lossy(path).into_owned();
            let mut r = rpc::accepted(xid, Accept::Success);
            match mnt(&cx, &path) {
                Ok(fh) => {
                    info!(path, "mounted");
                    r.enc.u32(MNT3_OK).opaque(&fh.encode());
                    r.enc.u32(1).u32(AUTH_SYS);
                }
                Err(stat) => {
                    info!(path, status = stat, "mount refused");
                    r.enc.u32(stat);
                }
            }
            r.finish()
        }
        // DUMP: the mount list is not kept.
        2 => {
            let mut r = rpc::accepted(xid, Accept::Success);
            r.enc.bool(false);
            r.finish()
        }
        5 => {
            let mut paths: Vec<String> = {
                let c = nfs.sim.read();
                c.volumes_of(svm)
                    .filter(|v| v.state == crate::model::VolumeState::Online)
                    .filter_map(|v| v.junction_path.clone())
                    .collect()
            };
            paths.sort();
            let mut r = rpc::accepted(xid, Accept::Success);
            for p in paths {
                // An empty group list means "everyone"; the policy decides at mount time.
                r.enc.bool(true).opaque(p.as_bytes()).bool(false);
            }
            r.enc.bool(false);
            r.finish()
        }
        _ => rpc::accepted(xid, Accept::ProcUnavail).finish(),
    }
}

fn mnt(cx: &Cx, path: &str) -> Result<Fh, u32> {
    if !path.starts_with('/') {
        return Err(MNT3ERR_NOENT);
    }
    let (view, rest, ancestors) = cx.view_at(path).ok_or(MNT3ERR_NOENT)?;
    for v in ancestors.iter().chain(std::iter::once(&view)) {
        if v.decision.access == NfsAccess::Denied {
            info!(volume = %v.name, reason = %v.decision.reason, "export policy refuses the mount");
            return Err(MNT3ERR_ACCES);
        }
    }
    if cx.data_dir(&view.uuid).is_none() {
        return Err(MNT3ERR_NOENT);
    }
    let mut fh = Fh::Root { volume: view.uuid };
    for comp in rest.split('/').filter(|c| !c.is_empty()) {
        fh = nfs3::lookup_dir(cx, &fh, comp.as_bytes()).map_err(mnt_status)?;
    }
    Ok(fh)
}

fn mnt_status(s: Nfsstat) -> u32 {
    match s {
        Nfsstat::NOENT | Nfsstat::STALE => MNT3ERR_NOENT,
        Nfsstat::ACCES => MNT3ERR_ACCES,
        Nfsstat::NOTDIR => MNT3ERR_NOTDIR,
        Nfsstat::NAMETOOLONG => MNT3ERR_NAMETOOLONG,
        Nfsstat::INVAL => MNT3ERR_INVAL,
        _ => MNT3ERR_SERVERFAULT,
    }
}
