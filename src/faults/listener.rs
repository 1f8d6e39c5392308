//! Listener modes: `normal`, `refuse` (the port is closed: connection refused) and `blackhole` (the
//! port stays bound but its accept queue is kept full, so the kernel drops new SYNs and clients see
//! a connect timeout). Blackhole needs no privileges: the listening socket gets a backlog of 0 and a
//! few connections of our own fill it.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Normal,
    Refuse,
    Blackhole,
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "normal" => Ok(Mode::Normal),
            "refuse" => Ok(Mode::Refuse),
            "blackhole" => Ok(Mode::Blackhole),
            o => Err(format!(
                "unknown listener mode \"{o}\" (normal, refuse, blackhole)"
            )),
        }
    }
}

/// One listener's switch: the mode asked for, and the mode the listener has put in place (so a
/// caller can wait until the port really is closed, or open again).
pub struct Switch {
    want: watch::Sender<Mode>,
    applied: watch::Sender<Mode>,
}

impl Default for Switch {
    fn default() -> Self {
        Switch {
            want: watch::channel(Mode::Normal).0,
            applied: watch::channel(Mode::Normal).0,
        }
    }
}

/// What a listener holds of its switch.
pub struct Subscription {
    want: watch::Receiver<Mode>,
    applied: watch::Sender<Mode>,
}

impl Switch {
    pub fn subscribe(&self) -> Subscription {
        Subscription {
            want: self.want.subscribe(),
            applied: self.applied.clone(),
        }
    }

    pub fn current(&self) -> Mode {
        *self.want.borrow()
    }

    /// Ask for a mode and wait (up to ten seconds: a loaded machine can be slow to schedule the
    /// listener) until the listener has it in place. Returns whether it did (false when no
    /// listener follows this switch, e.g. NFS not served).
    pub async fn set(&self, mode: Mode) -> bool {
        let mut applied = self.applied.subscribe();
        self.want.send_replace(mode);
        tokio::time::timeout(
            std::time::Duration::from_secs(10),
            applied.wait_for(|m| *m == mode),
        )
        .await
        .is_ok_and(|r| r.is_ok())
    }

    /// Back to normal (a reset), without disturbing a listener that already is.
    pub fn reset(&self) {
        self.want.send_if_modified(|m| {
            let changed = *m != Mode::Normal;
            *m = Mode::Normal;
            changed
        });
    }
}

/// The switch for each listener.
#[derive(Default)]
pub struct Modes {
    pub management: Switch,
    pub nfs: Switch,
}

impl Modes {
    pub fn get(&self, which: &str) -> Option<&Switch> {
        match which {
            "management" | "zapi" => Some(&self.management),
            "nfs" => Some(&self.nfs),
            _ => None,
        }
    }
}

enum State {
    Open(TcpListener),
    Refusing,
    /// Held only to keep the port bound and its queue full.
    Blackholed(
        #[allow(dead_code)] std::net::TcpListener,
        #[allow(dead_code)] Vec<std::net::TcpStream>,
    ),
}

/// A listener that follows its mode switch.
pub struct ManagedListener {
    addr: SocketAddr,
    mode: watch::Receiver<Mode>,
    applied: watch::Sender<Mode>,
    state: State,
}

fn blackhole(addr: SocketAddr) -> std::io::Result<State> {
    use socket2::{Domain, Socket, Type};
    let s = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    s.set_reuse_address(true)?;
    s.bind(&addr.into())?;
    s.listen(0)?;
    let listener: std::net::TcpListener = s.into();
    let target = match addr {
        SocketAddr::V4(a) if a.ip().is_unspecified() => {
            SocketAddr::from(([127, 0, 0, 1], a.port()))
        }
        SocketAddr::V6(a) if a.ip().is_unspecified() => {
            SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, a.port()))
        }
        a => a,
    };
    let mut fillers = Vec::new();
    for _ in 0..4 {
        let c = Socket::new(Domain::for_address(target), Type::STREAM, None)?;
        c.set_nonblocking(true)?;
        let _ = c.connect(&target.into());
        fillers.push(c.into());
    }
    std::thread::sleep(std::time::Duration::from_millis(20));
    Ok(State::Blackholed(listener, fillers))
}

impl ManagedListener {
    pub fn new(listener: TcpListener, switch: Subscription) -> std::io::Result<Self> {
        let mut mode = switch.want;
        // A mode asked for before this listener subscribed is applied at its first accept.
        mode.mark_changed();
        Ok(ManagedListener {
            addr: listener.local_addr()?,
            mode,
            applied: switch.applied,
            state: State::Open(listener),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    fn mode_now(&self) -> Mode {
        match self.state {
            State::Open(_) => Mode::Normal,
            State::Refusing => Mode::Refuse,
            State::Blackholed(..) => Mode::Blackhole,
        }
    }

    async fn apply(&mut self) -> std::io::Result<()> {
        let want = *self.mode.borrow_and_update();
        if want == self.mode_now() {
            // Rebinding for nothing would reset connections waiting in the accept queue.
            self.applied.send_replace(want);
            return Ok(());
        }
        // Release the port first, then take it again in the new form.
        self.state = State::Refusing;
        self.state = match want {
            Mode::Refuse => State::Refusing,
            Mode::Normal => State::Open(TcpListener::bind(self.addr).await?),
            Mode::Blackhole => blackhole(self.addr)?,
        };
        tracing::info!(addr = %self.addr, mode = %super::plain(&want), "listener mode changed");
        self.applied.send_replace(want);
        Ok(())
    }

    /// The next connection; mode changes are applied while waiting.
    pub async fn accept(&mut self) -> std::io::Result<(TcpStream, SocketAddr)> {
        loop {
            if let State::Open(l) = &self.state {
                tokio::select! {
                    r = l.accept() => return r,
                    c = self.mode.changed() => {
                        if c.is_err() { return std::future::pending().await; }
                    }
                }
            } else if self.mode.changed().await.is_err() {
                return std::future::pending().await;
            }
            if let Err(e) = self.apply().await {
                tracing::warn!(addr = %self.addr, error = %e, "cannot switch the listener; retrying");
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
    }
}
