//! NLM v4 and NSM over loopback, spoken by a small RPC client of this test's own: byte-range
//! locks between owners (TEST, LOCK blocking and not, CANCEL, UNLOCK), the GRANTED callback to a
//! client's lockd (a stand-in portmapper and lockd run by the test), share reservations, FREE_ALL,
//! SM_NOTIFY releasing a rebooted client's locks, the grace period after a restart, NLM fault
//! rules, and the lock table in the control API and the journal.

mod common;
mod nfs_support;
use nfs_support::rpc::{read_record, Rpc, R, X};
use nfs_support::*;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

const NLM: u32 = 100_021;
const NSM: u32 = 100_024;
const PORTMAP: u32 = 100_000;

// nlm4_stats
const GRANTED: u32 = 0;
const DENIED: u32 = 1;
const BLOCKED: u32 = 3;
const DENIED_GRACE_PERIOD: u32 = 4;
const STALE_FH: u32 = 7;

/// One lock owner: a client host, a process and the file it locks.
#[derive(Clone)]
struct Owner {
    host: &'static str,
    svid: u32,
    fh: Vec<u8>,
}

impl Owner {
    fn alock(&self, offset: u64, len: u64) -> X {
        X::default()
            .opaque(self.host.as_bytes())
            .opaque(&self.fh)
            .opaque(format!("{}-{}", self.host, self.svid).as_bytes())
            .u32(self.svid)
            .u64(offset)
            .u64(len)
    }

    fn lock_args(
        &self,
        cookie: &[u8],
        block: bool,
        excl: bool,
        off: u64,
        len: u64,
        reclaim: bool,
    ) -> X {
        let mut x = X::default().opaque(cookie).bool(block).bool(excl);
        x.0.extend_from_slice(&self.alock(off, len).0);
        x.bool(reclaim).u32(3)
    }

    async fn lock(&self, c: &mut Rpc, block: bool, excl: bool, off: u64, len: u64) -> u32 {
        let b = c
            .call(
                NLM,
                4,
                2,
                &self.lock_args(b"ck", block, excl, off, len, false),
            )
            .await;
        res_stat(&b, b"ck")
    }

    async fn reclaim(&self, c: &mut Rpc, excl: bool, off: u64, len: u64) -> u32 {
        let b = c
            .call(
                NLM,
                4,
                2,
                &self.lock_args(b"rc", false, excl, off, len, true),
            )
            .await;
        res_stat(&b, b"rc")
    }

    async fn unlock(&self, c: &mut Rpc, off: u64, len: u64) -> u32 {
        let mut x = X::default().opaque(b"uk");
        x.0.extend_from_slice(&self.alock(off, len).0);
        res_stat(&c.call(NLM, 4, 4, &x).await, b"uk")
    }

    async fn cancel(&self, c: &mut Rpc, excl: bool, off: u64, len: u64) -> u32 {
        let mut x = X::default().opaque(b"cc").bool(true).bool(excl);
        x.0.extend_from_slice(&self.alock(off, len).0);
        res_stat(&c.call(NLM, 4, 3, &x).await, b"cc")
    }

    /// TEST: the status and, when denied, (exclusive, svid, offset, length) of the holder.
    async fn test(
        &self,
        c: &mut Rpc,
        excl: bool,
        off: u64,
        len: u64,
    ) -> (u32, Option<(bool, u32, u64, u64)>) {
        let mut x = X::default().opaque(b"tk").bool(excl);
        x.0.extend_from_slice(&self.alock(off, len).0);
        let b = c.call(NLM, 4, 1, &x).await;
        let mut r = R(&b);
        assert_eq!(r.opaque(), b"tk", "the cookie comes back");
        let stat = r.u32();
        if stat != DENIED {
            return (stat, None);
        }
        let excl = r.u32() == 1;
        let svid = r.u32();
        r.opaque();
        (stat, Some((excl, svid, r.u64(), r.u64())))
    }

    async fn share(&self, c: &mut Rpc, unshare: bool, access: u32, deny: u32) -> u32 {
        let x = X::default()
            .opaque(b"sh")
            .opaque(self.host.as_bytes())
            .opaque(&self.fh)
            .opaque(b"share-owner")
            .u32(deny)
            .u32(access)
            .bool(false);
        let b = c.call(NLM, 4, if unshare { 21 } else { 20 }, &x).await;
        let mut r = R(&b);
        assert_eq!(r.opaque(), b"sh");
        r.u32()
    }
}

fn res_stat(body: &[u8], cookie: &[u8]) -> u32 {
    let mut r = R(body);
    assert_eq!(r.opaque(), cookie, "the cookie comes back");
    r.u32()
}

/// A client's portmapper, lockd and statd in one: GETPORT answers its own port; GRANTED calls
/// are handed to the test as (cookie, svid) and answered with `answer`; SM_NOTIFY calls as
/// (mon_name, state).
async fn fake_client_lockd(
    answer: u32,
) -> (u16, tokio::sync::mpsc::UnboundedReceiver<(Vec<u8>, u32)>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else {
                return;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                while let Some(rec) = read_record(&mut s).await {
                    let mut r = R(&rec);
                    let xid = r.u32();
                    r.u32();
                    r.u32();
                    let (prog, _vers, proc_) = (r.u32(), r.u32(), r.u32());
                    r.u32();
                    r.opaque();
                    r.u32();
                    r.opaque();
                    let mut out = X::default().u32(xid).u32(1).u32(0).u32(0).u32(0).u32(0);
                    match (prog, proc_) {
                        (PORTMAP, 3) => out = out.u32(u32::from(port)),
                        (NLM, 5) => {
                            let cookie = r.opaque();
                            r.u32();
                            r.opaque();
                            r.opaque();
                            r.opaque();
                            let svid = r.u32();
                            let _ = tx.send((cookie.clone(), svid));
                            out = out.opaque(&cookie).u32(answer);
                        }
                        // SM_NOTIFY: the server restarted (mon_name, state); no results.
                        (NSM, 6) => {
                            let name = r.opaque();
                            let state = r.u32();
                            let _ = tx.send((name, state));
                        }
                        _ => out = out.u32(0),
                    }
                    let mut b = (0x8000_0000u32 | out.0.len() as u32).to_be_bytes().to_vec();
                    b.extend_from_slice(&out.0);
                    if s.write_all(&b).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, rx)
}

/// A lab with a volume `v`, a file in it, and the simulator's GRANTED callbacks pointed at
/// `client_portmap`.
async fn lab_with_file(client_portmap: u16, extra: &[&str]) -> (Lab, Vec<u8>) {
    let port = client_portmap.to_string();
    let mut args = vec!["--nlm-client-portmap", port.as_str()];
    args.extend_from_slice(extra);
    let lab = Lab::start_in(tempfile::tempdir().unwrap(), None, &args);
    lab.volume("v", "100m", "default").await;
    let mut c = Nfs::mount(&lab, "127.0.0.1", "/v", Some((0, 0)))
        .await
        .unwrap();
    let root = c.root.clone();
    let f = c.create(&root, "db", 0o644).await.unwrap();
    (lab, fh_bytes(&f))
}

async fn locks(lab: &Lab) -> serde_json::Value {
    serde_json::from_str(
        &lab.sim
            .control()
            .call("GET", "/locks", vec![])
            .await
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn locks_conflict_between_owners_and_are_released() {
    let (lab, fh) = lab_with_file(1, &[]).await;
    let a = Owner {
        host: "alpha",
        svid: 11,
        fh: fh.clone(),
    };
    let b = Owner {
        host: "beta",
        svid: 22,
        fh: fh.clone(),
    };
    let a2 = Owner {
        host: "alpha",
        svid: 12,
        fh: fh.clone(),
    };
    let mut c = Rpc::connect(lab.nfs).await;
    // NULL answers.
    c.call(NLM, 4, 0, &X::default()).await;

    assert_eq!(a.lock(&mut c, false, true, 0, 100).await, GRANTED);
    // The same owner again: still granted (clients poll).
    assert_eq!(a.lock(&mut c, false, true, 0, 100).await, GRANTED);
    assert_eq!(
        b.test(&mut c, false, 50, 10).await,
        (DENIED, Some((true, 11, 0, 100)))
    );
    assert_eq!(b.lock(&mut c, false, false, 50, 10).await, DENIED);
    // Another process of the same host is another owner.
    assert_eq!(a2.lock(&mut c, false, true, 99, 1).await, DENIED);
    // Beyond the range, and to the end of the file (length 0).
    assert_eq!(b.lock(&mut c, false, false, 100, 0).await, GRANTED);
    assert_eq!(
        a2.lock(&mut c, false, false, 200, 0).await,
        GRANTED,
        "shared locks share"
    );
    assert_eq!(a.test(&mut c, true, 150, 1).await.0, DENIED);
    assert_eq!(b.test(&mut c, false, 150, 1).await, (GRANTED, None));

    // The control API lists them; the journal names the procedures and outcomes.
    let t = locks(&lab).await;
    let held: Vec<(String, u64, bool)> = t["locks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["owner"]["host"].as_str().unwrap().to_string(),
                l["range"]["start"].as_u64().unwrap(),
                l["exclusive"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(held.len(), 3, "{t}");
    assert!(held.contains(&("alpha".into(), 0, true)), "{t}");
    let j = lab
        .sim
        .control()
        .call("GET", "/journal?api=NLM_LOCK", vec![])
        .await
        .unwrap();
    assert!(j.contains("\"denied\"") && j.contains("\"granted\""), "{j}");

    // Unlock the middle of a's range: the rest stays a's.
    assert_eq!(a.unlock(&mut c, 40, 20).await, GRANTED);
    assert_eq!(b.lock(&mut c, false, true, 45, 10).await, GRANTED);
    assert_eq!(b.test(&mut c, false, 30, 1).await.0, DENIED);
    assert_eq!(a.unlock(&mut c, 0, 0).await, GRANTED);
    assert_eq!(b.lock(&mut c, false, true, 0, 40).await, GRANTED);

    // A handle of no file: NLM4_STALE_FH; a truncated call: GARBAGE_ARGS; NLM v2 is no version.
    let ghost = Owner {
        host: "alpha",
        svid: 1,
        fh: vec![0; 32],
    };
    assert_eq!(ghost.lock(&mut c, false, true, 0, 1).await, STALE_FH);
    assert_eq!(c.call_raw(NLM, 4, 2, &X::default().opaque(b"x")).await.0, 4);
    assert_eq!(c.call_raw(NLM, 2, 0, &X::default()).await.0, 2);

    // NLM v1/v3 carry 32-bit ranges.
    let args = X::default()
        .opaque(b"v3")
        .bool(false)
        .bool(true)
        .opaque(b"gamma")
        .opaque(&fh)
        .opaque(b"g")
        .u32(5)
        .u32(60)
        .u32(10)
        .bool(false)
        .u32(1);
    assert_eq!(res_stat(&c.call(NLM, 3, 2, &args).await, b"v3"), GRANTED);
    assert_eq!(
        b.test(&mut c, true, 65, 1).await,
        (DENIED, Some((true, 5, 60, 10)))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_blocked_lock_is_granted_by_callback_or_cancelled() {
    let (port, mut granted) = fake_client_lockd(GRANTED).await;
    let (lab, fh) = lab_with_file(port, &[]).await;
    let a = Owner {
        host: "alpha",
        svid: 1,
        fh: fh.clone(),
    };
    let b = Owner {
        host: "beta",
        svid: 2,
        fh: fh.clone(),
    };
    let g = Owner {
        host: "gamma",
        svid: 3,
        fh: fh.clone(),
    };
    let mut c = Rpc::connect(lab.nfs).await;
    assert_eq!(a.lock(&mut c, false, true, 0, 0).await, GRANTED);
    assert_eq!(b.lock(&mut c, true, true, 10, 5).await, BLOCKED);
    assert_eq!(g.lock(&mut c, true, false, 100, 5).await, BLOCKED);
    assert_eq!(locks(&lab).await["waiting"].as_array().unwrap().len(), 2);
    // gamma gives up.
    assert_eq!(g.cancel(&mut c, false, 100, 5).await, GRANTED);
    assert_eq!(
        g.cancel(&mut c, false, 100, 5).await,
        DENIED,
        "nothing left to cancel"
    );
    // alpha lets go: beta is called back with its cookie and holds the lock.
    assert_eq!(a.unlock(&mut c, 0, 0).await, GRANTED);
    let (cookie, svid) = within("the GRANTED callback", granted.recv())
        .await
        .unwrap();
    assert_eq!((cookie.as_slice(), svid), (&b"ck"[..], 2));
    let t = locks(&lab).await;
    assert_eq!(t["waiting"].as_array().unwrap().len(), 0, "{t}");
    assert_eq!(t["locks"][0]["owner"]["host"], "beta", "{t}");
    assert_eq!(a.lock(&mut c, false, true, 12, 1).await, DENIED);
    // The callback is in the journal.
    let mut tries = 0;
    loop {
        let j = lab
            .sim
            .control()
            .call("GET", "/journal", vec![])
            .await
            .unwrap();
        if j.contains("NLM_GRANTED_CALLBACK") {
            assert!(j.contains("\"granted\""), "{j}");
            break;
        }
        tries += 1;
        assert!(tries < 100, "no callback in the journal: {j}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_grant_the_client_refuses_is_released() {
    let (port, mut granted) = fake_client_lockd(DENIED).await;
    let (lab, fh) = lab_with_file(port, &[]).await;
    let a = Owner {
        host: "alpha",
        svid: 1,
        fh: fh.clone(),
    };
    let b = Owner {
        host: "beta",
        svid: 2,
        fh: fh.clone(),
    };
    let mut c = Rpc::connect(lab.nfs).await;
    assert_eq!(a.lock(&mut c, false, true, 0, 10).await, GRANTED);
    assert_eq!(b.lock(&mut c, true, true, 0, 10).await, BLOCKED);
    assert_eq!(a.unlock(&mut c, 0, 10).await, GRANTED);
    within("the GRANTED callback", granted.recv())
        .await
        .unwrap();
    // The lock goes back once the refusal is in: poll for the end state.
    let mut tries = 0;
    while !locks(&lab).await["locks"].as_array().unwrap().is_empty() {
        tries += 1;
        assert!(tries < 100, "the refused grant was kept");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(a.lock(&mut c, false, true, 0, 10).await, GRANTED);
}

#[tokio::test(flavor = "multi_thread")]
async fn shares_free_all_and_sm_notify() {
    let (lab, fh) = lab_with_file(1, &[]).await;
    let a = Owner {
        host: "alpha",
        svid: 1,
        fh: fh.clone(),
    };
    let b = Owner {
        host: "beta",
        svid: 2,
        fh: fh.clone(),
    };
    let mut c = Rpc::connect(lab.nfs).await;
    // alpha reads and denies writers; beta may read but not write.
    assert_eq!(a.share(&mut c, false, 1, 2).await, GRANTED);
    assert_eq!(b.share(&mut c, false, 2, 0).await, DENIED);
    assert_eq!(b.share(&mut c, false, 1, 0).await, GRANTED);
    assert_eq!(b.share(&mut c, true, 1, 0).await, GRANTED);
    // FREE_ALL for alpha (no results) releases its share and its locks.
    assert_eq!(a.lock(&mut c, false, true, 0, 0).await, GRANTED);
    let free = X::default().opaque(b"alpha").u32(7);
    assert!(c.call(NLM, 4, 23, &free).await.is_empty());
    assert_eq!(b.share(&mut c, false, 3, 3).await, GRANTED);
    assert_eq!(b.lock(&mut c, false, true, 0, 0).await, GRANTED);
    assert_eq!(locks(&lab).await["shares"].as_array().unwrap().len(), 1);

    // NSM: STAT answers STAT_SUCC and an odd state; MON from afar is refused; beta's NOTIFY
    // (it rebooted) releases what its earlier life held.
    let st = c.call(NSM, 1, 1, &X::default().opaque(b"beta")).await;
    let mut r = R(&st);
    assert_eq!(r.u32(), 0);
    assert_eq!(r.u32() % 2, 1);
    let notify = X::default().opaque(b"beta").u32(3);
    assert!(c.call(NSM, 1, 6, &notify).await.is_empty());
    let t = locks(&lab).await;
    assert!(t["locks"].as_array().unwrap().is_empty(), "{t}");
    assert!(t["shares"].as_array().unwrap().is_empty(), "{t}");
    assert_eq!(a.lock(&mut c, false, true, 0, 0).await, GRANTED);
    let j = lab
        .sim
        .control()
        .call("GET", "/journal?api=SM_NOTIFY", vec![])
        .await
        .unwrap();
    assert!(j.contains("SM_NOTIFY"), "{j}");

    // The portmapper names NLM v4 and NSM v1 on the NFS port.
    for (prog, vers) in [(NLM, 4), (NLM, 1), (NSM, 1)] {
        let b = c
            .call(
                PORTMAP,
                2,
                3,
                &X::default().u32(prog).u32(vers).u32(6).u32(0),
            )
            .await;
        assert_eq!(R(&b).u32(), u32::from(lab.port()), "program {prog} v{vers}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn nlm_fault_rules_deny_grace_and_hang() {
    let (lab, fh) = lab_with_file(1, &[]).await;
    let a = Owner {
        host: "alpha",
        svid: 1,
        fh: fh.clone(),
    };
    let ctl = lab.sim.control();
    let add = |rule: &'static str| ctl.call("POST", "/faults", rule.as_bytes().to_vec());
    let mut c = Rpc::connect(lab.nfs).await;
    add(r#"{"match":{"api":"NLM_LOCK"},"action":{"type":"nlm","status":"denied"},"fire":{"times":1}}"#).await.unwrap();
    assert_eq!(a.lock(&mut c, false, true, 0, 0).await, DENIED);
    add(r#"{"match":{"api":"NLM_LOCK|NLM_TEST"},"action":{"type":"nlm","status":"grace"},"fire":{"times":2}}"#).await.unwrap();
    assert_eq!(a.lock(&mut c, false, true, 0, 0).await, DENIED_GRACE_PERIOD);
    assert_eq!(
        a.test(&mut c, true, 0, 0).await,
        (DENIED_GRACE_PERIOD, None)
    );
    assert_eq!(a.lock(&mut c, false, true, 0, 0).await, GRANTED);
    // A bad status name is refused.
    let bad = ctl
        .call(
            "POST",
            "/faults",
            br#"{"action":{"type":"nlm","status":"maybe"}}"#.to_vec(),
        )
        .await;
    assert!(bad.is_err(), "{bad:?}");
    // hang: the call is journaled as a fault and never answered; other connections go on.
    add(r#"{"match":{"api":"NLM_UNLOCK"},"action":{"type":"hang"},"fire":{"times":1}}"#)
        .await
        .unwrap();
    let mut hung = Rpc::connect(lab.nfs).await;
    let mut x = X::default().opaque(b"uk");
    x.0.extend_from_slice(&a.alock(0, 0).0);
    let send = tokio::spawn(async move { hung.call(NLM, 4, 4, &x).await });
    let mut tries = 0;
    loop {
        let j = ctl
            .call("GET", "/journal?api=NLM_UNLOCK", vec![])
            .await
            .unwrap();
        if j.contains("\"fault\"") {
            break;
        }
        tries += 1;
        assert!(tries < 100, "{j}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!send.is_finished(), "a hung call got an answer");
    send.abort();
    assert_eq!(a.unlock(&mut c, 0, 0).await, GRANTED);
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_restart_clients_are_told_and_only_reclaims_are_granted_in_the_grace_period() {
    let (port, mut events) = fake_client_lockd(GRANTED).await;
    let port_s = port.to_string();
    let args = [
        "--nlm-client-portmap",
        port_s.as_str(),
        "--nlm-grace-secs",
        "5",
    ];
    let (lab, fh) = lab_with_file(port, &args[2..]).await;
    let a = Owner {
        host: "alpha",
        svid: 1,
        fh: fh.clone(),
    };
    let b = Owner {
        host: "beta",
        svid: 2,
        fh: fh.clone(),
    };
    {
        let mut c = Rpc::connect(lab.nfs).await;
        // A first start has no grace period.
        assert_eq!(a.lock(&mut c, false, true, 0, 10).await, GRANTED);
    }
    let t = locks(&lab).await;
    assert_eq!(t["monitored"][0]["host"], "alpha", "{t}");
    let mut lab = lab;
    assert!(lab.sim.terminate().success());
    let dir = std::mem::replace(&mut lab.sim.dir, tempfile::tempdir().unwrap());
    drop(lab);
    let lab = Lab::start_in(dir, None, &args);
    // alpha's statd hears of the restart: the server's address as alpha reached it, a new state.
    let (name, state) = within("SM_NOTIFY", events.recv()).await.unwrap();
    assert_eq!((name.as_slice(), state % 2), (&b"127.0.0.1"[..], 1));
    let mut c = Rpc::connect(lab.nfs).await;
    // The lock was forgotten; a new lock waits for the grace period; alpha reclaims.
    let t = locks(&lab).await;
    assert!(t["grace_remaining_secs"].as_f64().unwrap() > 0.0, "{t}");
    assert!(t["locks"].as_array().unwrap().is_empty(), "{t}");
    assert_eq!(
        b.lock(&mut c, false, true, 0, 10).await,
        DENIED_GRACE_PERIOD
    );
    assert_eq!(b.test(&mut c, true, 0, 10).await.0, DENIED_GRACE_PERIOD);
    assert_eq!(a.reclaim(&mut c, true, 0, 10).await, GRANTED);
    assert_eq!(locks(&lab).await["monitored"][0]["host"], "alpha");
    let j = lab
        .sim
        .control()
        .call("GET", "/journal?api=SM_NOTIFY_SENT", vec![])
        .await
        .unwrap();
    assert!(j.contains("\"answered\""), "{j}");
    // After the grace period: new locks are decided by conflicts again.
    let mut tries = 0;
    let end = loop {
        let s = b.lock(&mut c, false, true, 0, 10).await;
        if s != DENIED_GRACE_PERIOD {
            break s;
        }
        tries += 1;
        assert!(tries < 300, "the grace period never ended");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(end, DENIED, "alpha's reclaimed lock holds");
    assert_eq!(
        a.reclaim(&mut c, true, 20, 1).await,
        DENIED_GRACE_PERIOD,
        "a late reclaim"
    );
}
