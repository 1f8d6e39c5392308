//! The portmapper (program 100000): version 2 (PMAP, RFC 1833: GETPORT, DUMP) and versions 3
//! and 4 (RPCBIND: GETADDR, DUMP, GETTIME, GETVERSADDR, GETADDRLIST), over TCP and UDP, for the
//! programs this server runs (NFS, MOUNT, NLM, NSM), so a kernel client mounts and locks without
//! `port=`/`mountport=` and `rpcinfo -p` lists them. SET and UNSET are refused: nobody registers
//! with us.

use super::nlm::PROG_NLM;
use super::nsm::PROG_NSM;
use super::rpc::{self, Accept, Call, PROG_MOUNT, PROG_NFS, PROG_PORTMAP};
use super::xdr::{Dec, Enc, Res};
use super::{Conn, Nfs};
use std::net::IpAddr;

pub const IPPROTO_TCP: u32 = 6;
pub const IPPROTO_UDP: u32 = 17;

/// The longest netid or universal address taken.
const MAXSTR: usize = 255;

/// (program, version, protocol, port) of everything served here. NFS is served over TCP only;
/// MOUNT, NLM, NSM and the portmapper also over UDP when the UDP sockets are bound.
pub fn mappings(nfs: &Nfs) -> Vec<(u32, u32, u32, u32)> {
    let n = u32::from(nfs.nfs_port);
    let pm = u32::from(nfs.portmap_port.unwrap_or(nfs.nfs_port));
    let mut m = vec![];
    let mut protos = vec![IPPROTO_TCP];
    if nfs.udp {
        protos.push(IPPROTO_UDP);
    }
    for &p in &protos {
        for v in [2, 3, 4] {
            m.push((PROG_PORTMAP, v, p, pm));
        }
    }
    m.push((PROG_NFS, 3, IPPROTO_TCP, n));
    for &p in &protos {
        for (prog, vers) in [
            (PROG_MOUNT, 1),
            (PROG_MOUNT, 2),
            (PROG_MOUNT, 3),
            (PROG_NLM, 1),
            (PROG_NLM, 3),
            (PROG_NLM, 4),
            (PROG_NSM, 1),
        ] {
            m.push((prog, vers, p, n));
        }
    }
    m
}

fn netid(proto: u32) -> &'static str {
    if proto == IPPROTO_UDP {
        "udp"
    } else {
        "tcp"
    }
}

fn proto_of(netid: &str) -> Option<u32> {
    match netid {
        "tcp" => Some(IPPROTO_TCP),
        "udp" => Some(IPPROTO_UDP),
        _ => None,
    }
}

/// A universal address, `h1.h2.h3.h4.p1.p2` (IPv4) or `addr.p1.p2` (IPv6).
fn uaddr(ip: IpAddr, port: u32) -> String {
    let ip = ip.to_canonical();
    format!("{ip}.{}.{}", (port >> 8) & 0xff, port & 0xff)
}

pub fn handle(nfs: &Nfs, conn: &Conn, call: &mut Call) -> Vec<u8> {
    let xid = call.xid;
    let ok = |f: &dyn Fn(&mut Enc)| {
        let mut r = rpc::accepted(xid, Accept::Success);
        f(&mut r.enc);
        r.finish()
    };
    let garbage = || rpc::accepted(xid, Accept::GarbageArgs).finish();
    let a = &mut call.args;
    let my_proto = if conn.udp { IPPROTO_UDP } else { IPPROTO_TCP };
    let local = conn.local.ip();
    match (call.vers, call.proc_) {
        (_, 0) => ok(&|_| {}),
        // SET, UNSET: refused.
        (_, 1 | 2) => ok(&|e| {
            e.bool(false);
        }),
        (2, 3) => {
            let (Ok(prog), Ok(vers), Ok(prot), Ok(_port)) = (a.u32(), a.u32(), a.u32(), a.u32())
            else {
                return garbage();
            };
            let port = mappings(nfs)
                .into_iter()
                .find(|m| m.0 == prog && m.1 == vers && m.2 == prot)
                .map_or(0, |m| m.3);
            ok(&|e| {
                e.u32(port);
            })
        }
        (2, 4) => ok(&|e| {
            for (prog, vers, prot, port) in mappings(nfs) {
                e.bool(true).u32(prog).u32(vers).u32(prot).u32(port);
            }
            e.bool(false);
        }),
        // GETADDR (v3, v4: any version of the program in v3's loose sense, as rpcbind does: the
        // exact version if served, else none), GETVERSADDR (v4).
        (3 | 4, 3) | (4, 9) => {
            let Ok(q) = rpcb(a) else {
                return garbage();
            };
            let proto = if q.netid.is_empty() {
                Some(my_proto)
            } else {
                proto_of(&q.netid)
            };
            let found = proto.and_then(|p| {
                mappings(nfs)
                    .into_iter()
                    .find(|m| m.0 == q.prog && m.1 == q.vers && m.2 == p)
            });
            let addr = found.map_or(String::new(), |m| uaddr(local, m.3));
            ok(&|e| {
                e.opaque(addr.as_bytes());
            })
        }
        (3 | 4, 4) => ok(&|e| {
            for (prog, vers, prot, port) in mappings(nfs) {
                e.bool(true).u32(prog).u32(vers);
                e.opaque(netid(prot).as_bytes());
                e.opaque(uaddr(local, port).as_bytes());
                e.opaque(b"superuser");
            }
            e.bool(false);
        }),
        // GETTIME
        (3 | 4, 6) => ok(&|e| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as u32);
            e.u32(now);
        }),
        // GETADDRLIST: every transport the program's version is on.
        (4, 11) => {
            let Ok(q) = rpcb(a) else {
                return garbage();
            };
            let found: Vec<_> = mappings(nfs)
                .into_iter()
                .filter(|m| m.0 == q.prog && m.1 == q.vers)
                .collect();
            ok(&|e| {
                for (_, _, prot, port) in &found {
                    e.bool(true);
                    e.opaque(uaddr(local, *port).as_bytes());
                    e.opaque(netid(*prot).as_bytes());
                    // NC_TPI_COTS_ORD for TCP, NC_TPI_CLTS for UDP.
                    e.u32(if *prot == IPPROTO_UDP { 1 } else { 3 });
                    e.opaque(b"inet");
                    e.opaque(netid(*prot).as_bytes());
                }
                e.bool(false);
            })
        }
        _ => rpc::accepted(xid, Accept::ProcUnavail).finish(),
    }
}

/// The `rpcb` argument of RPCBIND v3/v4.
struct Rpcb {
    prog: u32,
    vers: u32,
    netid: String,
}

fn rpcb(a: &mut Dec) -> Res<Rpcb> {
    let prog = a.u32()?;
    let vers = a.u32()?;
    let netid = String::from_utf8_lossy(a.opaque(MAXSTR)?).into_owned();
    let _addr = a.opaque(MAXSTR)?;
    let _owner = a.opaque(MAXSTR)?;
    Ok(Rpcb { prog, vers, netid })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn universal_addresses() {
        assert_eq!(uaddr("10.0.2.2".parse().unwrap(), 2049), "10.0.2.2.8.1");
        assert_eq!(
            uaddr("::ffff:127.0.0.1".parse().unwrap(), 111),
            "127.0.0.1.0.111"
        );
    }
}
