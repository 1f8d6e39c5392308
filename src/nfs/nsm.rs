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

/// After a restart: tell every client that held locks before it (SM_NOTIFY to its statd, found
/// through its portmapper), so it reclaims them in the grace period. A client told is forgotten
/// until it locks again; one that cannot be reached is tried a few times and kept for the next
/// start.
pub async fn announce_restart(nfs: std::sync::Arc<Nfs>) {
    let clients = nfs.sim.lock_table().monitored();
    if clients.is_empty() {
        return;
    }
    let mut tasks = tokio::task::JoinSet::new();
    for c in clients {
        let nfs = nfs.clone();
        tasks.spawn(async move {
            let started = std::time::Instant::now();
            let mut delay = std::time::Duration::from_millis(500);
            let mut outcome = Err(std::io::Error::other("not tried"));
            for _ in 0..5 {
                outcome = notify(&c, nfs.nlm_client_portmap, nfs.nsm_state).await;
                if outcome.is_ok() {
                    break;
                }
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            let result = match &outcome {
                Ok(()) => "answered",
                Err(e) => {
                    tracing::info!(client = %c.address, host = %c.host, error = %e, "the client could not be told of the restart");
                    "unreachable"
                }
            };
            nfs.sim.calls.record(crate::calls::Record {
                peer: std::net::SocketAddr::new(c.address, nfs.nlm_client_portmap),
                user: None,
                svm: None,
                front: "nfs",
                api: "SM_NOTIFY_SENT",
                result,
                errno: None,
                fault: None,
                latency: started.elapsed(),
            });
            (c.host, outcome.is_ok())
        });
    }
    let mut told = false;
    while let Some(r) = tasks.join_next().await {
        if let Ok((host, true)) = r {
            told |= nfs.sim.lock_table().unmonitor(&host);
        }
    }
    if told {
        nfs.sim.save_nlm_clients();
    }
}

/// One SM_NOTIFY: this server (by the address the client reached) is up with a new state.
async fn notify(
    c: &crate::model::lock::NsmClient,
    portmap_port: u16,
    state: u32,
) -> std::io::Result<()> {
    let mut args = super::xdr::Enc::default();
    args.u32(PROG_NSM)
        .u32(1)
        .u32(super::portmap::IPPROTO_TCP)
        .u32(0);
    let reply = nlm::call(
        std::net::SocketAddr::new(c.address, portmap_port),
        rpc::PROG_PORTMAP,
        2,
        3,
        &args.buf,
    )
    .await?;
    let port = super::xdr::Dec::new(&reply)
        .u32()
        .map_err(|_| std::io::Error::other("short portmapper reply"))?;
    if port == 0 || port > u32::from(u16::MAX) {
        return Err(std::io::Error::other(
            "the client's statd is not registered",
        ));
    }
    let mut n = super::xdr::Enc::default();
    n.opaque(c.server.to_canonical().to_string().as_bytes())
        .u32(state);
    nlm::call(
        std::net::SocketAddr::new(c.address, port as u16),
        PROG_NSM,
        1,
        6,
        &n.buf,
    )
    .await
    .map(|_| ())
}
