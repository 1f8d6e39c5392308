//! Portmapper v2 (RFC 1833): GETPORT and DUMP for the programs this server runs, so a kernel
//! client can mount without `port=`/`mountport=`. SET and UNSET are refused: nobody registers
//! with us.

use super::nlm::PROG_NLM;
use super::nsm::PROG_NSM;
use super::rpc::{self, Accept, Call, PROG_MOUNT, PROG_NFS, PROG_PORTMAP};
use super::xdr::Enc;
use super::Nfs;

const IPPROTO_TCP: u32 = 6;

/// (program, version, protocol, port) of everything served here.
fn mappings(nfs: &Nfs) -> Vec<(u32, u32, u32, u32)> {
    let n = u32::from(nfs.nfs_port);
    let pm = u32::from(nfs.portmap_port.unwrap_or(nfs.nfs_port));
    vec![
        (PROG_PORTMAP, 2, IPPROTO_TCP, pm),
        (PROG_NFS, 3, IPPROTO_TCP, n),
        (PROG_MOUNT, 1, IPPROTO_TCP, n),
        (PROG_MOUNT, 2, IPPROTO_TCP, n),
        (PROG_MOUNT, 3, IPPROTO_TCP, n),
        (PROG_NLM, 1, IPPROTO_TCP, n),
        (PROG_NLM, 3, IPPROTO_TCP, n),
        (PROG_NLM, 4, IPPROTO_TCP, n),
        (PROG_NSM, 1, IPPROTO_TCP, n),
    ]
}

pub fn handle(nfs: &Nfs, call: &mut Call) -> Vec<u8> {
    let xid = call.xid;
    let ok = |f: &dyn Fn(&mut Enc)| {
        let mut r = rpc::accepted(xid, Accept::Success);
        f(&mut r.enc);
        r.finish()
    };
    match call.proc_ {
        0 => ok(&|_| {}),
        // SET, UNSET: refused.
        1 | 2 => ok(&|e| {
            e.bool(false);
        }),
        3 => {
            let a = &mut call.args;
            let (Ok(prog), Ok(vers), Ok(prot), Ok(_port)) = (a.u32(), a.u32(), a.u32(), a.u32())
            else {
                return rpc::accepted(xid, Accept::GarbageArgs).finish();
            };
            let port = mappings(nfs)
                .into_iter()
                .find(|m| m.0 == prog && m.1 == vers && m.2 == prot)
                .map_or(0, |m| m.3);
            ok(&|e| {
                e.u32(port);
            })
        }
        4 => ok(&|e| {
            for (prog, vers, prot, port) in mappings(nfs) {
                e.bool(true).u32(prog).u32(vers).u32(prot).u32(port);
            }
            e.bool(false);
        }),
        _ => rpc::accepted(xid, Accept::ProcUnavail).finish(),
    }
}
