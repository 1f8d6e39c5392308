//! A small ONC RPC client for the tests that speak protocols the NFS client crates do not (NLM,
//! NSM, the portmapper's v3/v4, UDP): XDR helpers and one connection (TCP or UDP).

use super::within;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// XDR encoding, enough for NLM arguments.
#[derive(Default, Clone)]
pub struct X(pub Vec<u8>);

impl X {
    pub fn u32(mut self, v: u32) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn u64(mut self, v: u64) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn bool(self, v: bool) -> Self {
        self.u32(v as u32)
    }
    pub fn opaque(mut self, b: &[u8]) -> Self {
        self = self.u32(b.len() as u32);
        self.0.extend_from_slice(b);
        while !self.0.len().is_multiple_of(4) {
            self.0.push(0);
        }
        self
    }
}

/// XDR decoding of a reply.
pub struct R<'a>(pub &'a [u8]);

impl R<'_> {
    pub fn u32(&mut self) -> u32 {
        let (h, t) = self.0.split_at(4);
        self.0 = t;
        u32::from_be_bytes(h.try_into().unwrap())
    }
    pub fn u64(&mut self) -> u64 {
        (u64::from(self.u32()) << 32) | u64::from(self.u32())
    }
    pub fn opaque(&mut self) -> Vec<u8> {
        let n = self.u32() as usize;
        let v = self.0[..n].to_vec();
        self.0 = &self.0[n + (4 - n % 4) % 4..];
        v
    }
}

pub async fn read_record(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let mut m = [0u8; 4];
        s.read_exact(&mut m).await.ok()?;
        let w = u32::from_be_bytes(m);
        let mut b = vec![0u8; (w & 0x7fff_ffff) as usize];
        s.read_exact(&mut b).await.ok()?;
        out.extend_from_slice(&b);
        if w & 0x8000_0000 != 0 {
            return Some(out);
        }
    }
}

/// An RPC client on one TCP connection, AUTH_SYS as root from `machine`.
pub struct Rpc {
    tcp: Option<TcpStream>,
    udp: Option<(UdpSocket, SocketAddr)>,
    xid: u32,
}

impl Rpc {
    pub async fn connect(to: SocketAddr) -> Rpc {
        Rpc {
            tcp: Some(TcpStream::connect(to).await.expect("connect")),
            udp: None,
            xid: 1,
        }
    }

    /// Calls in UDP datagrams to `to`.
    pub async fn udp(to: SocketAddr) -> Rpc {
        let s = UdpSocket::bind("127.0.0.1:0").await.expect("bind UDP");
        Rpc {
            tcp: None,
            udp: Some((s, to)),
            xid: 1,
        }
    }

    /// The accept_stat and the results.
    pub async fn call_raw(&mut self, prog: u32, vers: u32, proc_: u32, args: &X) -> (u32, Vec<u8>) {
        self.xid += 1;
        let cred = X::default().u32(0).opaque(b"testhost").u32(0).u32(0).u32(0);
        let mut m = X::default()
            .u32(self.xid)
            .u32(0)
            .u32(2)
            .u32(prog)
            .u32(vers)
            .u32(proc_)
            .u32(1)
            .opaque(&cred.0)
            .u32(0)
            .u32(0);
        m.0.extend_from_slice(&args.0);
        let reply = match (&mut self.tcp, &self.udp) {
            (Some(tcp), _) => {
                let mut rec = (0x8000_0000u32 | m.0.len() as u32).to_be_bytes().to_vec();
                rec.extend_from_slice(&m.0);
                tcp.write_all(&rec).await.expect("send");
                within("an RPC reply", read_record(tcp))
                    .await
                    .expect("a reply")
            }
            (None, Some((s, to))) => {
                s.send_to(&m.0, to).await.expect("send");
                let mut buf = vec![0u8; 65536];
                let n = within("an RPC reply", s.recv(&mut buf))
                    .await
                    .expect("a reply");
                buf.truncate(n);
                buf
            }
            _ => unreachable!("a connection is TCP or UDP"),
        };
        let mut r = R(&reply);
        assert_eq!(r.u32(), self.xid);
        assert_eq!(r.u32(), 1, "a reply");
        assert_eq!(r.u32(), 0, "accepted");
        r.u32();
        r.opaque();
        let stat = r.u32();
        (stat, r.0.to_vec())
    }

    pub async fn call(&mut self, prog: u32, vers: u32, proc_: u32, args: &X) -> Vec<u8> {
        let (stat, body) = self.call_raw(prog, vers, proc_, args).await;
        assert_eq!(stat, 0, "accept_stat of program {prog} procedure {proc_}");
        body
    }
}
