//! Waiting for a quick client's next call by polling its socket instead of sleeping.
//!
//! A client with one call out at a time (a `stat` loop, `ls` without read-ahead, a
//! single-threaded program) sends its next call tens of microseconds after our reply. Sleeping in
//! the kernel meanwhile lets the vCPU halt, and on a VM without guest halt polling, waking it
//! again costs about as much as the call itself: on this project's 2-vCPU machine a GETATTR
//! round trip took 75-80 us sleeping between calls and about 40 us polling (13 us with client
//! and server pinned to one vCPU, where nothing has to be woken).
//!
//! So after answering a call on an idle connection, the connection's task polls its socket for
//! up to a window (`--nfs-busy-poll-us`, 0 turns it off), yielding the CPU between polls. The
//! window adapts, as the kernel's `haltpoll` does: a call that arrives within it keeps it full; a
//! window that passes without one is halved, down to nothing; while closed, calls that keep
//! arriving within the longest window after our replies (`REOPEN` in a row) open it again, so a
//! client that is quick only now and then is not polled for. At most one connection of a server
//! polls at a time, so a busy-polling client cannot hold every runtime worker.

use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Quick calls in a row that open a closed window again.
const REOPEN: u32 = 4;

/// One connection's polling state.
pub struct BusyPoll {
    /// The longest window (0: never poll).
    max: Duration,
    /// The window now.
    window: Duration,
    /// When the last reply went out without polling after it (to learn from the next call's gap).
    replied: Option<Instant>,
    /// Quick calls in a row while the window is closed.
    quick: u32,
}

/// What polling after a reply found.
#[derive(Debug, PartialEq, Eq)]
pub enum Polled {
    /// The next call has arrived.
    Call,
    /// The window passed without one.
    Nothing,
    /// Not polled: the window is closed or another connection polls.
    Skipped,
}

impl BusyPoll {
    pub fn new(max: Duration) -> Self {
        BusyPoll {
            max,
            window: max,
            replied: None,
            quick: 0,
        }
    }

    /// A reply has gone out on an idle connection: poll `sock` for the next call within the
    /// window, unless another connection of the server polls (`polling` is the server's flag).
    pub fn after_reply(&mut self, sock: &impl AsFd, polling: &AtomicBool) -> Polled {
        let started = Instant::now();
        if self.window.is_zero()
            || polling
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
        {
            self.replied = Some(started);
            return Polled::Skipped;
        }
        let got = loop {
            if readable(sock) {
                break true;
            }
            if started.elapsed() >= self.window {
                break false;
            }
            // Let a thread woken onto this CPU (the client, often) run first.
            std::thread::yield_now();
        };
        polling.store(false, Ordering::Release);
        self.learn(got, started);
        if got {
            Polled::Call
        } else {
            Polled::Nothing
        }
    }

    fn learn(&mut self, got: bool, started: Instant) {
        if got {
            self.window = self.max;
            self.replied = None;
        } else {
            self.window /= 2;
            if self.window < self.max / 8 {
                self.window = Duration::ZERO;
                self.quick = 0;
            }
            self.replied = Some(started);
        }
    }

    /// The next call has begun to arrive (after a reply not followed by a successful poll): a
    /// client that keeps answering within the longest window is worth polling for again.
    pub fn arrived(&mut self) {
        self.arrived_at(Instant::now());
    }

    fn arrived_at(&mut self, now: Instant) {
        let Some(t) = self.replied.take() else {
            return;
        };
        if self.max.is_zero() {
            return;
        }
        if now.saturating_duration_since(t) > self.max {
            self.quick = 0;
        } else if self.window.is_zero() {
            self.quick += 1;
            if self.quick >= REOPEN {
                self.window = self.max;
            }
        } else {
            // A call just after a window that passed empty: the window was too short.
            self.window = self.max;
        }
    }

    #[cfg(test)]
    fn window(&self) -> Duration {
        self.window
    }
}

/// Data (or an end of stream, or an error) is waiting on `sock`.
fn readable(sock: &impl AsFd) -> bool {
    use rustix::event::{poll, PollFd, PollFlags, Timespec};
    let mut fds = [PollFd::new(sock, PollFlags::IN)];
    let now = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    matches!(poll(&mut fds, Some(&now)), Ok(n) if n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn pair() -> (std::net::TcpStream, std::net::TcpStream) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        (c, s)
    }

    #[test]
    fn a_call_waiting_is_found_and_keeps_the_window_full() {
        let (mut client, server) = pair();
        let polling = AtomicBool::new(false);
        let mut p = BusyPoll::new(Duration::from_millis(50));
        client.write_all(b"call").unwrap();
        // Loopback delivers within the write; the 50 ms window only bounds the wait.
        assert_eq!(p.after_reply(&server, &polling), Polled::Call);
        assert_eq!(p.window(), Duration::from_millis(50));
        assert!(!polling.load(Ordering::Relaxed), "the flag is given back");
    }

    #[test]
    fn windows_without_a_call_close_and_quick_calls_in_a_row_open_them_again() {
        let (_client, server) = pair();
        let polling = AtomicBool::new(false);
        let max = Duration::from_micros(400);
        let mut p = BusyPoll::new(max);
        assert_eq!(p.after_reply(&server, &polling), Polled::Nothing);
        assert_eq!(p.window(), max / 2);
        assert_eq!(p.after_reply(&server, &polling), Polled::Nothing);
        assert_eq!(p.after_reply(&server, &polling), Polled::Nothing);
        assert_eq!(p.window(), max / 8);
        assert_eq!(p.after_reply(&server, &polling), Polled::Nothing);
        assert_eq!(p.window(), Duration::ZERO, "below an eighth it closes");
        // While closed: a reply, not polled after, then the next call `gap` later.
        let call = |p: &mut BusyPoll, gap: Duration| {
            assert_eq!(p.after_reply(&server, &polling), Polled::Skipped);
            let replied = p.replied.expect("a reply not polled after is remembered");
            p.arrived_at(replied + gap);
        };
        // Quick calls in a row open it again; a slow one among them starts the count over.
        for _ in 1..REOPEN {
            call(&mut p, max / 2);
        }
        call(&mut p, max * 2);
        for _ in 1..REOPEN {
            call(&mut p, max / 2);
            assert_eq!(p.window(), Duration::ZERO);
        }
        call(&mut p, max / 2);
        assert_eq!(p.window(), max);
    }

    #[test]
    fn one_connection_polls_at_a_time_and_zero_never_polls() {
        let (mut client, server) = pair();
        client.write_all(b"call").unwrap();
        let polling = AtomicBool::new(true);
        let mut p = BusyPoll::new(Duration::from_millis(50));
        assert_eq!(p.after_reply(&server, &polling), Polled::Skipped);
        let mut off = BusyPoll::new(Duration::ZERO);
        let free = AtomicBool::new(false);
        assert_eq!(off.after_reply(&server, &free), Polled::Skipped);
        off.arrived();
        assert_eq!(off.window(), Duration::ZERO);
    }
}
