//! NSM, the Network Status Monitor (program 100024 version 1): how NLM clients and servers learn
//! that the other rebooted. A client that restarts sends SM_NOTIFY to every server it held locks
//! on; the locks its previous life held are released here at once (and waiting clients granted).
//!
//! MON and UNMON are a host's lockd talking to its own statd; from another host ONTAP refuses
//! them, and so does this one (STAT_FAIL). STAT answers with this server's state number, which is
//! odd (up) and grows with every start.

use super::nlm;
use super::rpc::{self, Accept, Call};
use super::xdr::Res;
use super::Nfs;

pub const PROG_NSM: u32 = 100_024;

const STAT_SUCC: u32 = 0;
const STAT_FAIL: u32 = 1;
const SM_MAXSTRLEN: usize = 1024;

pub fn procedure_name(proc_: u32) -> Option<&'static str> {
    Some(match proc_ {
        0 => "SM_NULL",
        1 => "SM_STAT",
        2 => "SM_MON",
        3 => "SM_UNMON",
        4 => "SM_UNMON_ALL",
        5 => "SM_SIMU_CRASH",
        6 => "SM_NOTIFY",
        _ => return None,
    })
}

pub fn handle(nfs: &Nfs, call: &mut Call) -> nlm::Answer {
    let xid = call.xid;
    let state = nfs.nsm_state;
    let ok = |f: &dyn Fn(&mut super::xdr::Enc), result: &'static str| {
        let mut r = rpc::accepted(xid, Accept::Success);
        f(&mut r.enc);
        nlm::Answer {
            reply: r.finish(),
            result,
        }
    };
    let garbage = || nlm::Answer {
        reply: rpc::accepted(xid, Accept::GarbageArgs).finish(),
        result: "garbage_args",
    };
    let a = &mut call.args;
    match call.proc_ {
        0 | 5 => ok(&|_| {}, "answered"),
        1 => match a.opaque(SM_MAXSTRLEN) {
            Ok(_) => ok(
                &|e| {
                    e.u32(STAT_SUCC).u32(state);
                },
                "stat_succ",
            ),
            Err(_) => garbage(),
        },
        2 => ok(
            &|e| {
                e.u32(STAT_FAIL).u32(state);
            },
            "stat_fail",
        ),
        3 | 4 => ok(
            &|e| {
                e.u32(state);
            },
            "answered",
        ),
        6 => {
            let Ok((name, _their_state)) = (|| -> Res<_> {
                Ok((
                    String::from_utf8_lossy(a.opaque(SM_MAXSTRLEN)?).into_owned(),
                    a.u32()?,
                ))
            })() else {
                return garbage();
            };
            nlm::free_host(nfs, &name);
            ok(&|_| {}, "answered")
        }
        _ => nlm::Answer {
            reply: rpc::accepted(xid, Accept::ProcUnavail).finish(),
            result: "proc_unavail",
        },
    }
}
