//! ONC RPC v2 (RFC 5531) over TCP: record marking, call headers, AUTH_NONE / AUTH_SYS
//! credentials, and the reply envelopes (accepted, mismatched, denied).
//!
//! A call that cannot be parsed far enough to know its xid is dropped; one that can is answered
//! (GARBAGE_ARGS, PROG_UNAVAIL, AUTH_BADCRED, ...). A record larger than [`MAX_RECORD`] closes
//! the connection: the client is broken or hostile, and reading on would only waste memory.

use super::xdr::{Dec, Enc};
use tokio::io::{AsyncRead, AsyncReadExt};

/// The largest record accepted: a 1 MiB WRITE plus its headers, with room to spare.
pub const MAX_RECORD: usize = (1 << 20) + (64 << 10);

pub const PROG_PORTMAP: u32 = 100_000;
pub const PROG_NFS: u32 = 100_003;
pub const PROG_MOUNT: u32 = 100_005;

const CALL: u32 = 0;
const REPLY: u32 = 1;
const MSG_ACCEPTED: u32 = 0;
const MSG_DENIED: u32 = 1;

pub const AUTH_NONE: u32 = 0;
pub const AUTH_SYS: u32 = 1;

/// `accept_stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    Success = 0,
    ProgUnavail = 1,
    ProcUnavail = 3,
    GarbageArgs = 4,
    SystemErr = 5,
}

/// `auth_stat` for denied calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthStat {
    BadCred = 1,
    TooWeak = 5,
}

/// The AUTH_SYS credential body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSys {
    pub machine: String,
    pub uid: u32,
    pub gid: u32,
    pub gids: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cred {
    None,
    Sys(AuthSys),
}

/// A parsed call; `args` is positioned at the procedure's arguments.
pub struct Call<'a> {
    pub xid: u32,
    pub prog: u32,
    pub vers: u32,
    pub proc_: u32,
    pub cred: Cred,
    pub args: Dec<'a>,
}

/// What to do with a record.
pub enum Incoming<'a> {
    Call(Call<'a>),
    /// Answer at once (a rejection) without dispatching.
    Answer(Vec<u8>),
    /// Not a call we can answer (no xid, or a reply): ignore.
    Drop,
}

fn parse_auth_sys(body: &[u8]) -> Option<AuthSys> {
    let mut d = Dec::new(body);
    let _stamp = d.u32().ok()?;
    let machine = d.opaque(255).ok()?;
    let uid = d.u32().ok()?;
    let gid = d.u32().ok()?;
    let n = d.u32().ok()? as usize;
    if n > 16 {
        return None;
    }
    let mut gids = Vec::with_capacity(n);
    for _ in 0..n {
        gids.push(d.u32().ok()?);
    }
    Some(AuthSys {
        machine: String::from_utf8_lossy(machine).into_owned(),
        uid,
        gid,
        gids,
    })
}

/// Parse a record as a call.
pub fn parse(record: &[u8]) -> Incoming<'_> {
    let mut d = Dec::new(record);
    let Ok(xid) = d.u32() else {
        return Incoming::Drop;
    };
    match d.u32() {
        Ok(CALL) => {}
        _ => return Incoming::Drop,
    }
    let Ok(rpcvers) = d.u32() else {
        return Incoming::Drop;
    };
    if rpcvers != 2 {
        return Incoming::Answer(rpc_mismatch(xid));
    }
    let (Ok(prog), Ok(vers), Ok(proc_)) = (d.u32(), d.u32(), d.u32()) else {
        return Incoming::Answer(accepted(xid, Accept::GarbageArgs).finish());
    };
    let (Ok(flavor), Ok(body)) = (d.u32(), d.opaque(400)) else {
        return Incoming::Answer(denied_auth(xid, AuthStat::BadCred));
    };
    // The verifier is not used (AUTH_NONE/AUTH_SYS verifiers are empty) but must be well formed.
    if d.u32().is_err() || d.opaque(400).is_err() {
        return Incoming::Answer(denied_auth(xid, AuthStat::BadCred));
    }
    let cred = match flavor {
        AUTH_NONE => Cred::None,
        AUTH_SYS => match parse_auth_sys(body) {
            Some(a) => Cred::Sys(a),
            None => return Incoming::Answer(denied_auth(xid, AuthStat::BadCred)),
        },
        _ => return Incoming::Answer(denied_auth(xid, AuthStat::BadCred)),
    };
    Incoming::Call(Call {
        xid,
        prog,
        vers,
        proc_,
        cred,
        args: d,
    })
}

/// A reply being built: the record mark is patched in by [`Reply::finish`].
pub struct Reply {
    pub enc: Enc,
}

impl Reply {
    /// The reply as record-marked bytes ready for the socket.
    pub fn finish(mut self) -> Vec<u8> {
        let len = (self.enc.len() - 4) as u32;
        self.enc.patch_u32(0, 0x8000_0000 | len);
        self.enc.buf
    }
}

fn header(xid: u32, cap: usize) -> Enc {
    let mut e = Enc::with_capacity(cap + 28);
    e.u32(0); // record mark, patched by finish()
    e.u32(xid).u32(REPLY);
    e
}

/// An accepted reply with `stat`; a procedure appends its results after a `Success`.
pub fn accepted(xid: u32, stat: Accept) -> Reply {
    accepted_with_capacity(xid, stat, 256)
}

pub fn accepted_with_capacity(xid: u32, stat: Accept, cap: usize) -> Reply {
    let mut e = header(xid, cap);
    e.u32(MSG_ACCEPTED);
    e.u32(AUTH_NONE).u32(0); // verifier
    e.u32(stat as u32);
    Reply { enc: e }
}

/// PROG_MISMATCH: the program exists but not in this version.
pub fn prog_mismatch(xid: u32, low: u32, high: u32) -> Vec<u8> {
    let mut r = accepted(xid, Accept::Success);
    // Rewrite: accepted(...) wrote SUCCESS; replace the stat with PROG_MISMATCH (2).
    let at = r.enc.len() - 4;
    r.enc.patch_u32(at, 2);
    r.enc.u32(low).u32(high);
    r.finish()
}

fn rpc_mismatch(xid: u32) -> Vec<u8> {
    let mut e = header(xid, 16);
    e.u32(MSG_DENIED).u32(0).u32(2).u32(2);
    Reply { enc: e }.finish()
}

pub fn denied_auth(xid: u32, stat: AuthStat) -> Vec<u8> {
    let mut e = header(xid, 16);
    e.u32(MSG_DENIED).u32(1).u32(stat as u32);
    Reply { enc: e }.finish()
}

/// Why reading a record stopped.
#[derive(Debug)]
pub enum RecordError {
    Io(std::io::Error),
    /// Larger than [`MAX_RECORD`]: the connection is closed.
    TooLarge(usize),
    /// The budget for bodies and records in flight across connections is spent.
    Budget,
}

/// How far a record's buffer may run ahead of the bytes that have arrived: a marker claiming a
/// megabyte costs this much until the data comes.
pub const RECORD_CHUNK: usize = 64 << 10;

/// Read one record (all its fragments). `Ok(None)` at a clean end of stream.
pub async fn read_record<R: AsyncRead + Unpin>(
    r: &mut R,
    max: usize,
) -> Result<Option<Vec<u8>>, RecordError> {
    read_record_within(r, max, None).await
}

/// [`read_record`], its memory charged to `charge` (when given) as the data arrives (never more
/// than [`RECORD_CHUNK`] ahead of it, nor less than what has arrived); a fragment's buffer is
/// reserved whole when its mark is read, and its pages become resident as they are filled.
pub async fn read_record_within<R: AsyncRead + Unpin>(
    r: &mut R,
    max: usize,
    mut charge: Option<&mut crate::guard::Charge>,
) -> Result<Option<Vec<u8>>, RecordError> {
    let mut record: Vec<u8> = Vec::new();
    let mut first = true;
    loop {
        let mut mark = [0u8; 4];
        if first {
            // A clean close between records is not an error.
            let mut got = 0;
            while got < 4 {
                let n = r.read(&mut mark[got..]).await.map_err(RecordError::Io)?;
                if n == 0 {
                    return if got == 0 {
                        Ok(None)
                    } else {
                        Err(RecordError::Io(std::io::ErrorKind::UnexpectedEof.into()))
                    };
                }
                got += n;
            }
            first = false;
        } else {
            r.read_exact(&mut mark).await.map_err(RecordError::Io)?;
        }
        let word = u32::from_be_bytes(mark);
        let last = word & 0x8000_0000 != 0;
        let len = (word & 0x7fff_ffff) as usize;
        let total = record.len() + len;
        if total > max {
            return Err(RecordError::TooLarge(total));
        }
        // Room for the whole fragment at once (no copy as it grows; its pages are only touched,
        // so only resident, as its bytes arrive), filled without zeroing it first.
        record.reserve_exact(len);
        // Charged up to here: what has arrived, and at most a chunk more (the read under way).
        let mut charged = record.len();
        while record.len() < total {
            let ahead = (record.len() + RECORD_CHUNK).min(total);
            if let Some(c) = charge.as_deref_mut() {
                if ahead > charged && !c.grow(ahead - charged) {
                    return Err(RecordError::Budget);
                }
            }
            charged = charged.max(ahead);
            // Take whatever has arrived, up to the rest of the fragment: a megabyte comes in a
            // few reads, not sixteen. What one read brings past the chunk is charged after it.
            let n = (&mut *r)
                .take((total - record.len()) as u64)
                .read_buf(&mut record)
                .await
                .map_err(RecordError::Io)?;
            if n == 0 {
                return Err(RecordError::Io(std::io::ErrorKind::UnexpectedEof.into()));
            }
            if record.len() > charged {
                if let Some(c) = charge.as_deref_mut() {
                    if !c.grow(record.len() - charged) {
                        return Err(RecordError::Budget);
                    }
                }
                charged = record.len();
            }
        }
        if last {
            return Ok(Some(record));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(flavor: u32, cred: &[u8]) -> Vec<u8> {
        let mut e = Enc::default();
        e.u32(42).u32(CALL).u32(2).u32(PROG_NFS).u32(3).u32(0);
        e.u32(flavor).opaque(cred).u32(0).u32(0);
        e.buf
    }

    #[test]
    fn parses_auth_sys() {
        let mut c = Enc::default();
        c.u32(1)
            .opaque(b"host")
            .u32(1000)
            .u32(100)
            .u32(2)
            .u32(5)
            .u32(6);
        match parse(&call(AUTH_SYS, &c.buf)) {
            Incoming::Call(c) => {
                assert_eq!(c.xid, 42);
                assert_eq!(
                    c.cred,
                    Cred::Sys(AuthSys {
                        machine: "host".into(),
                        uid: 1000,
                        gid: 100,
                        gids: vec![5, 6]
                    })
                );
            }
            _ => panic!("not a call"),
        }
    }

    #[test]
    fn refuses_bad_credentials_and_drops_junk() {
        let mut c = Enc::default();
        c.u32(1).opaque(b"host").u32(1000).u32(100).u32(17);
        assert!(matches!(
            parse(&call(AUTH_SYS, &c.buf)),
            Incoming::Answer(_)
        ));
        assert!(matches!(parse(&call(6, &[])), Incoming::Answer(_)));
        assert!(matches!(parse(&[1, 2]), Incoming::Drop));
        assert!(matches!(parse(&[0, 0, 0, 1, 0, 0, 0, 1]), Incoming::Drop));
    }

    #[tokio::test]
    async fn records_are_bounded() {
        let mut data = Vec::new();
        data.extend_from_slice(&(0x8000_0000u32 | 100).to_be_bytes());
        data.extend_from_slice(&[0u8; 100]);
        let mut r = &data[..];
        assert_eq!(read_record(&mut r, 1000).await.unwrap().unwrap().len(), 100);
        let mut r = &data[..];
        assert!(matches!(
            read_record(&mut r, 50).await,
            Err(RecordError::TooLarge(100))
        ));
        let mut r: &[u8] = &[];
        assert!(read_record(&mut r, 50).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_record_takes_memory_as_its_data_arrives() {
        use tokio::io::AsyncWriteExt;
        let budget = std::sync::Arc::new(crate::guard::Budget::default());
        budget.set_limit(4 << 20);
        let (mut client, mut server) = tokio::io::duplex(1 << 20);
        // A marker claiming 1 MiB, then 10 bytes, then nothing.
        client
            .write_all(&(0x8000_0000u32 | (1 << 20)).to_be_bytes())
            .await
            .unwrap();
        client.write_all(&[7u8; 10]).await.unwrap();
        let b = budget.clone();
        let reader = tokio::spawn(async move {
            let mut charge = b.charge();
            read_record_within(&mut server, MAX_RECORD, Some(&mut charge)).await
        });
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        assert!(!reader.is_finished());
        assert_eq!(
            budget.used(),
            10 + RECORD_CHUNK,
            "charged what arrived and one chunk, not the megabyte"
        );
        // The rest arrives: the record completes and its charge follows its size.
        client.write_all(&vec![7u8; (1 << 20) - 10]).await.unwrap();
        let rec = reader.await.unwrap().unwrap().unwrap();
        assert_eq!(rec.len(), 1 << 20);
        assert_eq!(budget.used(), 0, "the charge went with the reader");
        // A budget too small for the record refuses it.
        budget.set_limit(RECORD_CHUNK);
        let mut data = Vec::new();
        data.extend_from_slice(&(0x8000_0000u32 | (200 << 10)).to_be_bytes());
        data.extend_from_slice(&vec![0u8; 200 << 10]);
        let mut charge = budget.charge();
        let mut r = &data[..];
        assert!(matches!(
            read_record_within(&mut r, MAX_RECORD, Some(&mut charge)).await,
            Err(RecordError::Budget)
        ));
    }
}
