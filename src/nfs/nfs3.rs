//! NFS version 3 (RFC 1813): all 22 procedures.
//!
//! Every call starts the same way: decode the arguments (GARBAGE_ARGS if they do not parse), turn
//! the handle into an [`Obj`] (the model's view of its volume with this client's export-policy
//! decision, and the object on disk), check what the identity may do, charge the model for any
//! growth, then touch the disk under the volume's data lock. The volume root shows the volume's
//! unix permissions and owner; `chmod`/`chown` of the root change them in the model.
//!
//! This file holds the status codes, the argument decoders every family shares and the dispatch;
//! the procedures live in one file per family: `attrs` (GETATTR, SETATTR, ACCESS), `lookup`,
//! `io` (READ, WRITE, COMMIT, READLINK), `create` (CREATE, MKDIR, SYMLINK, MKNOD), `names`
//! (REMOVE, RMDIR, RENAME, LINK), `readdir` (READDIR, READDIRPLUS) and `fsinfo` (FSSTAT, FSINFO,
//! PATHCONF); `object` turns a handle into an object and holds the checks they share, and `reply`
//! the shared reply encoding (attributes, weak cache consistency data, handles).

use super::access::{may, Who, R, W, X};
use super::fs::{self, is_dir, is_lnk, is_reg, valid_name, NameError, Node, Tree};
use super::handle::{
    qtree_snapdir_fileid, snaproot_fileid, Fh, TreeKey, FHSIZE3, ROOT_FILEID, SNAPDIR_FILEID,
};
use super::rpc::{self, Accept, Call};
use super::view::{Cx, ViewError, VolView};
use super::xdr::{Dec, Enc, Res};
use super::{Conn, Nfs};
use crate::model::{ModelError, VolumeChange};
use rustix::fs::{self as rfs, AtFlags, Gid, Mode, OFlags, Statx, Timespec, Timestamps, Uid};
use rustix::io::Errno;
use std::ffi::{OsStr, OsString};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use tracing::{debug, warn};
use uuid::Uuid;

mod attrs;
mod create;
mod fsinfo;
mod io;
mod lookup;
mod names;
mod object;
pub(crate) mod readdir;
mod reply;

use attrs::*;
use create::*;
use fsinfo::*;
use io::*;
pub use lookup::lookup_dir;
use lookup::*;
use names::*;
use object::*;
pub use object::{obtain, obtain_fh, Obj};
use reply::*;

/// Largest READ and WRITE (FSINFO rtmax/wtmax).
pub const MAX_IO: u32 = 1 << 20;
/// Largest symlink target.
const MAX_PATH: usize = 4096;
/// Largest name accepted on the wire (longer than NAME_MAX, so the answer can be NAMETOOLONG).
const WIRE_NAME: usize = 1024;

/// `nfsstat3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nfsstat(pub u32);

impl Nfsstat {
    pub const OK: Nfsstat = Nfsstat(0);
    pub const PERM: Nfsstat = Nfsstat(1);
    pub const NOENT: Nfsstat = Nfsstat(2);
    pub const IO: Nfsstat = Nfsstat(5);
    pub const ACCES: Nfsstat = Nfsstat(13);
    pub const EXIST: Nfsstat = Nfsstat(17);
    pub const XDEV: Nfsstat = Nfsstat(18);
    pub const NOTDIR: Nfsstat = Nfsstat(20);
    pub const ISDIR: Nfsstat = Nfsstat(21);
    pub const INVAL: Nfsstat = Nfsstat(22);
    pub const FBIG: Nfsstat = Nfsstat(27);
    pub const NOSPC: Nfsstat = Nfsstat(28);
    pub const ROFS: Nfsstat = Nfsstat(30);
    pub const MLINK: Nfsstat = Nfsstat(31);
    pub const NAMETOOLONG: Nfsstat = Nfsstat(63);
    pub const NOTEMPTY: Nfsstat = Nfsstat(66);
    pub const DQUOT: Nfsstat = Nfsstat(69);
    pub const STALE: Nfsstat = Nfsstat(70);
    pub const BADHANDLE: Nfsstat = Nfsstat(10001);
    pub const NOT_SYNC: Nfsstat = Nfsstat(10002);
    pub const BAD_COOKIE: Nfsstat = Nfsstat(10003);
    pub const NOTSUPP: Nfsstat = Nfsstat(10004);
    pub const TOOSMALL: Nfsstat = Nfsstat(10005);
    pub const SERVERFAULT: Nfsstat = Nfsstat(10006);
    pub const BADTYPE: Nfsstat = Nfsstat(10007);
}

impl From<Errno> for Nfsstat {
    fn from(e: Errno) -> Nfsstat {
        match e {
            Errno::NOENT => Nfsstat::NOENT,
            Errno::ACCESS => Nfsstat::ACCES,
            Errno::PERM => Nfsstat::PERM,
            Errno::EXIST => Nfsstat::EXIST,
            Errno::NOTDIR => Nfsstat::NOTDIR,
            Errno::ISDIR => Nfsstat::ISDIR,
            Errno::INVAL => Nfsstat::INVAL,
            Errno::FBIG => Nfsstat::FBIG,
            Errno::NOSPC => Nfsstat::NOSPC,
            Errno::ROFS => Nfsstat::ROFS,
            Errno::MLINK => Nfsstat::MLINK,
            Errno::NAMETOOLONG => Nfsstat::NAMETOOLONG,
            Errno::NOTEMPTY => Nfsstat::NOTEMPTY,
            Errno::DQUOT => Nfsstat::DQUOT,
            Errno::STALE => Nfsstat::STALE,
            Errno::XDEV => Nfsstat::XDEV,
            // A symlink where a directory or file was expected.
            Errno::LOOP => Nfsstat::INVAL,
            _ => Nfsstat::IO,
        }
    }
}

impl From<std::io::Error> for Nfsstat {
    fn from(e: std::io::Error) -> Nfsstat {
        Errno::from_io_error(&e).map_or(Nfsstat::IO, Nfsstat::from)
    }
}

type NfsRes<T> = Result<T, Nfsstat>;

// ---------------------------------------------------------------------------------------------
// Arguments every family decodes

fn fh_arg<'a>(a: &mut Dec<'a>) -> Res<&'a [u8]> {
    a.opaque(FHSIZE3)
}

fn name_arg<'a>(a: &mut Dec<'a>) -> Res<&'a [u8]> {
    a.opaque(WIRE_NAME)
}

// ---------------------------------------------------------------------------------------------
// Dispatch

pub fn handle(nfs: &Nfs, conn: &Conn, svm: &str, call: &mut Call) -> Vec<u8> {
    let xid = call.xid;
    let cx = Cx {
        nfs,
        peer: conn.peer.ip(),
        svm: svm.to_string(),
        cred: &call.cred,
    };
    let a = &mut call.args;
    let cap = match call.proc_ {
        // A READ reserves room for the count it is asked for (see `io::read`).
        16 | 17 => 64 << 10,
        _ => 512,
    };
    let mut r = rpc::accepted_with_capacity(xid, Accept::Success, cap);
    let e = &mut r.enc;
    // The directories a create, remove, rename or link changes: their listings are read again.
    let changes = readdir::dirs_changed_by(call.proc_, a.clone());
    let res = match call.proc_ {
        0 => Ok(()),
        1 => getattr(&cx, a, e),
        2 => setattr(&cx, a, e),
        3 => lookup(&cx, a, e),
        4 => access(&cx, a, e),
        5 => readlink(&cx, a, e),
        6 => read(&cx, a, e),
        7 => write(&cx, a, e),
        8 => create(&cx, a, e),
        9 => mkdir(&cx, a, e),
        10 => symlink(&cx, a, e),
        11 => mknod(&cx, a, e),
        12 => remove(&cx, a, e, false),
        13 => remove(&cx, a, e, true),
        14 => rename(&cx, a, e),
        15 => link(&cx, a, e),
        16 => readdir::readdir(&cx, a, e, false),
        17 => readdir::readdir(&cx, a, e, true),
        18 => fsstat(&cx, a, e),
        19 => fsinfo(&cx, a, e),
        20 => pathconf(&cx, a, e),
        21 => commit(&cx, a, e),
        _ => return rpc::accepted(xid, Accept::ProcUnavail).finish(),
    };
    for dir in changes.iter().flatten() {
        nfs.listings.changed(dir);
    }
    match res {
        Ok(()) => r.finish(),
        Err(_) => rpc::accepted(xid, Accept::GarbageArgs).finish(),
    }
}

fn status(e: &mut Enc, s: Nfsstat) {
    e.u32(s.0);
}
