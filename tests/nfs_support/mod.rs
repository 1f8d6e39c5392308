//! Helpers for the NFS tests: a simulator with ZAPI shortcuts for volumes, policies and
//! snapshots; the libnfs-utils command-line clients; and an `nfs3_client` connection that can
//! pick its source address (127.0.0.x) and AUTH_SYS identity.
#![allow(dead_code)]

pub mod rpc;

use crate::common::*;
use nfs3_client::net::Connector;
use nfs3_client::nfs3_types::nfs3::{self, nfs_fh3, nfsstat3, Nfs3Option};
use nfs3_client::nfs3_types::rpc::{auth_unix, opaque_auth};
use nfs3_client::nfs3_types::xdr_codec::Opaque;
use nfs3_client::{ConnectError, MountError, Nfs3Connection, Nfs3ConnectionBuilder};
use ontap_sim::zapi::xml::Element;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::Command;

pub const ADMIN: (&str, &str) = ("admin", PASSWORD);
/// MOUNT v3 statuses.
pub const MNT3ERR_NOENT: u32 = 2;
pub const MNT3ERR_ACCES: u32 = 13;

/// A running simulator with its NFS address.
pub struct Lab {
    pub sim: Sim,
    pub nfs: SocketAddr,
}

impl Lab {
    pub fn start(config: Option<&str>) -> Lab {
        Self::start_in(tempfile::tempdir().expect("tempdir"), config, &[])
    }

    pub fn start_in(dir: tempfile::TempDir, config: Option<&str>, extra: &[&str]) -> Lab {
        let sim = Sim::start_in(dir, config, extra);
        let nfs = sim
            .nfs_addr()
            .unwrap_or_else(|| panic!("no NFS line in the banner: {:#?}", sim.banner));
        Lab { sim, nfs }
    }

    pub fn port(&self) -> u16 {
        self.nfs.port()
    }

    /// One API call tunnelled to svm1 as admin; the body.
    pub async fn zapi(&self, api: &str) -> String {
        let mut c = self.sim.client().await;
        let r = c.post(&zapi_vfiler("svm1", api), Some(ADMIN)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    }

    pub async fn ok(&self, api: &str) -> Element {
        let body = self.zapi(api).await;
        let (status, _, reason) = results(&body);
        assert_eq!(status, "passed", "{api}: {reason:?}");
        results_el(&body)
    }

    pub async fn policy(&self, name: &str) {
        self.ok(&format!(
            "<export-policy-create><policy-name>{name}</policy-name></export-policy-create>"
        ))
        .await;
    }

    /// Add a rule; returns its index.
    pub async fn rule(&self, policy: &str, client: &str, ro: &str, rw: &str, su: &str) -> u32 {
        let flavors = |tag: &str, list: &str| {
            let items: String = list
                .split(',')
                .map(|f| format!("<security-flavor>{f}</security-flavor>"))
                .collect();
            format!("<{tag}>{items}</{tag}>")
        };
        let r = self
            .ok(&format!(
                "<export-rule-create><policy-name>{policy}</policy-name><client-match>{client}</client-match>{}{}{}<return-record>true</return-record></export-rule-create>",
                flavors("ro-rule", ro),
                flavors("rw-rule", rw),
                flavors("super-user-security", su)
            ))
            .await;
        let idx = r
            .path(&["result", "export-rule-info", "rule-index"])
            .map(|e| e.text.clone())
            .unwrap_or_default();
        idx.parse()
            .unwrap_or_else(|_| panic!("rule index in {r:?}"))
    }

    pub async fn drop_rule(&self, policy: &str, index: u32) {
        self.ok(&format!(
            "<export-rule-destroy><policy-name>{policy}</policy-name><rule-index>{index}</rule-index></export-rule-destroy>"
        ))
        .await;
    }

    /// A volume mounted at /NAME with `policy`, mode 0777, no snapshot reserve.
    pub async fn volume(&self, name: &str, size: &str, policy: &str) {
        self.volume_with(name, size, policy, "").await;
    }

    pub async fn volume_with(&self, name: &str, size: &str, policy: &str, extra: &str) {
        self.ok(&format!(
            "<volume-create><volume>{name}</volume><containing-aggr-name>aggr1</containing-aggr-name>\
             <size>{size}</size><junction-path>/{name}</junction-path><export-policy>{policy}</export-policy>\
             <unix-permissions>0777</unix-permissions><space-reserve>none</space-reserve>\
             <snapshot-policy>none</snapshot-policy><percentage-snapshot-reserve>0</percentage-snapshot-reserve>\
             {extra}</volume-create>"
        ))
        .await;
    }

    /// A number from the volume's volume-get-iter record, by path below volume-attributes.
    pub async fn vol_num(&self, name: &str, path: &[&str]) -> u64 {
        let r = self
            .ok(&format!(
                "<volume-get-iter><query><volume-attributes><volume-id-attributes><name>{name}</name></volume-id-attributes></volume-attributes></query></volume-get-iter>"
            ))
            .await;
        let v = r
            .path(&["attributes-list", "volume-attributes"])
            .unwrap_or_else(|| panic!("volume {name} not listed: {r:?}"));
        v.path(path)
            .and_then(|e| e.text.parse().ok())
            .unwrap_or_else(|| panic!("{path:?} of {name}: {v:?}"))
    }

    pub async fn size_used(&self, name: &str) -> u64 {
        self.vol_num(name, &["volume-space-attributes", "size-used"])
            .await
    }

    /// A libnfs URL for `path` (the last component is the file, the rest the export).
    pub fn url(&self, path: &str, uid: u32, gid: u32) -> String {
        format!(
            "nfs://127.0.0.1{path}?nfsport={p}&mountport={p}&uid={uid}&gid={gid}",
            p = self.port()
        )
    }
}

// ---- libnfs-utils ----

/// The libnfs command-line clients must be installed: say how, loudly, rather than skip.
pub fn require_libnfs() {
    for tool in ["nfs-cp", "nfs-cat", "nfs-ls"] {
        let found = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
            .unwrap_or(false);
        assert!(
            found,
            "`{tool}` is not installed: these tests need libnfs-utils (apt-get install -y libnfs-utils)"
        );
    }
}

pub struct Out {
    pub ok: bool,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

pub fn run(tool: &str, args: &[&str]) -> Out {
    let o = Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {tool}: {e}"));
    let stderr = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stderr),
        String::from_utf8_lossy(&o.stdout)
    );
    Out {
        ok: o.status.success(),
        stdout: o.stdout,
        stderr,
    }
}

pub fn nfs_put(local: &Path, url: &str) -> Out {
    run("nfs-cp", &[local.to_str().expect("utf-8 path"), url])
}

pub fn nfs_cat(url: &str) -> Out {
    run("nfs-cat", &[url])
}

pub fn nfs_ls(url: &str) -> Out {
    run("nfs-ls", &[url])
}

// ---- nfs3_client ----

/// Connects from a chosen local address (any 127.0.0.x works on Linux loopback without an alias).
pub struct From(pub IpAddr);

pub type Io = nfs3_client::tokio::TokioIo<tokio::net::TcpStream>;

impl Connector for From {
    type Connection = Io;

    async fn connect(&self, addr: SocketAddr) -> std::io::Result<Io> {
        self.connect_with_port(addr, 0).await
    }

    async fn connect_with_port(&self, addr: SocketAddr, port: u16) -> std::io::Result<Io> {
        let s = tokio::net::TcpSocket::new_v4()?;
        s.bind(SocketAddr::new(self.0, port))?;
        Ok(nfs3_client::tokio::TokioIo::new(s.connect(addr).await?))
    }
}

pub fn auth_sys(uid: u32, gid: u32) -> opaque_auth<'static> {
    opaque_auth::auth_unix(&auth_unix {
        stamp: 1,
        machinename: Opaque::owned(b"test-client".to_vec()),
        uid,
        gid,
        gids: vec![],
    })
}

/// Bound a client call: `nfs3_client` spins forever on a connection the server closed, so a
/// server that hangs up must fail the test, not hang it.
pub async fn within<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(std::time::Duration::from_secs(30), f)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within 30 s"))
}

/// A mounted NFSv3 client.
pub struct Nfs {
    pub conn: Nfs3Connection<Io>,
    pub root: nfs_fh3,
}

pub type NfsResult<T> = Result<T, nfsstat3>;

fn name(n: &str) -> nfs3::filename3<'static> {
    nfs3::filename3(Opaque::owned(n.as_bytes().to_vec()))
}

fn dirop(dir: &nfs_fh3, n: &str) -> nfs3::diropargs3<'static> {
    nfs3::diropargs3 {
        dir: dir.clone(),
        name: name(n),
    }
}

/// SETATTR of the owner and group (None leaves one as it is).
pub fn owner_sattr(uid: Option<u32>, gid: Option<u32>) -> nfs3::sattr3 {
    let set = |v: Option<u32>| v.map_or(Nfs3Option::None, Nfs3Option::Some);
    nfs3::sattr3 {
        uid: set(uid),
        gid: set(gid),
        ..Default::default()
    }
}

/// SETATTR of the size (a truncate or extension).
pub fn size_sattr(size: u64) -> nfs3::sattr3 {
    nfs3::sattr3 {
        size: Nfs3Option::Some(size),
        ..Default::default()
    }
}

pub fn mode_sattr(mode: u32) -> nfs3::sattr3 {
    nfs3::sattr3 {
        mode: Nfs3Option::Some(mode),
        ..Default::default()
    }
}

impl Nfs {
    /// Mount `path` from `src` with AUTH_SYS `uid`/`gid` (or AUTH_NONE when `uid` is None).
    pub async fn mount(
        lab: &Lab,
        src: &str,
        path: &str,
        uid: Option<(u32, u32)>,
    ) -> Result<Nfs, u32> {
        Self::mount_at(lab.nfs, src, path, uid).await
    }

    pub async fn mount_at(
        server: SocketAddr,
        src: &str,
        path: &str,
        uid: Option<(u32, u32)>,
    ) -> Result<Nfs, u32> {
        let cred = match uid {
            Some((u, g)) => auth_sys(u, g),
            None => opaque_auth::default(),
        };
        let b = Nfs3ConnectionBuilder::new(
            From(src.parse().expect("source address")),
            server.ip().to_string(),
            path,
        )
        .connect_from_privileged_port(false)
        .mount_port(server.port())
        .nfs3_port(server.port())
        .credential(cred);
        match within("MNT", b.mount()).await {
            Ok(conn) => {
                let root = conn.root_nfs_fh3();
                Ok(Nfs { conn, root })
            }
            Err(ConnectError::Mount(MountError::Denied(s))) => Err(s as u32),
            Err(e) => panic!("mount {path} from {src}: {e}"),
        }
    }

    pub async fn getattr(&mut self, fh: &nfs_fh3) -> NfsResult<nfs3::fattr3> {
        match within(
            "GETATTR",
            self.conn
                .getattr(&nfs3::GETATTR3args { object: fh.clone() }),
        )
        .await
        .expect("GETATTR")
        {
            nfs3::Nfs3Result::Ok(ok) => Ok(ok.obj_attributes),
            nfs3::Nfs3Result::Err((s, _)) => Err(s),
        }
    }

    pub async fn lookup(&mut self, dir: &nfs_fh3, n: &str) -> NfsResult<nfs_fh3> {
        match within(
            "LOOKUP",
            self.conn.lookup(&nfs3::LOOKUP3args {
                what: dirop(dir, n),
            }),
        )
        .await
        .expect("LOOKUP")
        {
            nfs3::Nfs3Result::Ok(ok) => Ok(ok.object),
            nfs3::Nfs3Result::Err((s, _)) => Err(s),
        }
    }

    /// Walk a relative path from the mount root.
    pub async fn walk(&mut self, path: &str) -> NfsResult<nfs_fh3> {
        let mut fh = self.root.clone();
        for c in path.split('/').filter(|c| !c.is_empty()) {
            fh = self.lookup(&fh, c).await?;
        }
        Ok(fh)
    }

    pub async fn create(&mut self, dir: &nfs_fh3, n: &str, mode: u32) -> NfsResult<nfs_fh3> {
        match within(
            "CREATE",
            self.conn.create(&nfs3::CREATE3args {
                where_: dirop(dir, n),
                how: nfs3::createhow3::GUARDED(mode_sattr(mode)),
            }),
        )
        .await
        .expect("CREATE")
        {
            nfs3::Nfs3Result::Ok(ok) => match ok.obj {
                Nfs3Option::Some(fh) => Ok(fh),
                Nfs3Option::None => self.lookup(dir, n).await,
            },
            nfs3::Nfs3Result::Err((s, _)) => Err(s),
        }
    }

    pub async fn mkdir(&mut self, dir: &nfs_fh3, n: &str, mode: u32) -> NfsResult<nfs_fh3> {
        match within(
            "MKDIR",
            self.conn.mkdir(&nfs3::MKDIR3args {
                where_: dirop(dir, n),
                attributes: mode_sattr(mode),
            }),
        )
        .await
        .expect("MKDIR")
        {
            nfs3::Nfs3Result::Ok(ok) => match ok.obj {
                Nfs3Option::Some(fh) => Ok(fh),
                Nfs3Option::None => self.lookup(dir, n).await,
            },
            nfs3::Nfs3Result::Err((s, _)) => Err(s),
        }
    }

    pub async fn write(&mut self, fh: &nfs_fh3, offset: u64, data: &[u8]) -> NfsResult<u32> {
        match within(
            "WRITE",
            self.conn.write(&nfs3::WRITE3args {
                file: fh.clone(),
                offset,
                count: data.len() as u32,
                stable: nfs3::stable_how::FILE_SYNC,
                data: Opaque::borrowed(data),
            }),
        )
        .await
        .expect("WRITE")
        {
            nfs3::Nfs3Result::Ok(ok) => Ok(ok.count),
            nfs3::Nfs3Result::Err((s, _)) => Err(s),
        }
    }

    /// Write all of `data` in chunks of at most 1 MiB.
    pub async fn write_all(&mut self, fh: &nfs_fh3, offset: u64, data: &[u8]) -> NfsResult<()> {
        let mut at = 0;
        while at < data.len() {
            let end = (at + (1 << 20)).min(data.len());
            let n = self.write(fh, offset + at as u64, &data[at..end]).await?;
            assert!(n > 0, "WRITE wrote nothing");
            at += n as usize;
        }
        Ok(())
    }

    pub async fn read(
        &mut self,
        fh: &nfs_fh3,
        offset: u64,
        count: u32,
    ) -> NfsResult<(Vec<u8>, bool)> {
        match within(
            "READ",
            self.conn.read(&nfs3::READ3args {
                file: fh.clone(),
                offset,
                count,
            }),
        )
        .await
        .expect("READ")
        {
            nfs3::Nfs3Result::Ok(ok) => Ok((ok.data.to_vec(), ok.eof)),
            nfs3::Nfs3Result::Err((s, _)) => Err(s),
        }
    }

    pub async fn read_all(&mut self, fh: &nfs_fh3) -> NfsResult<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            let (d, eof) = self.read(fh, out.len() as u64, 1 << 20).await?;
            out.extend_from_slice(&d);
            if eof || d.is_empty() {
                return Ok(out);
            }
        }
    }

    pub async fn remove(&mut self, dir: &nfs_fh3, n: &str) -> NfsResult<()> {
        match within(
            "REMOVE",
            self.conn.remove(&nfs3::REMOVE3args {
                object: dirop(dir, n),
            }),
        )
        .await
        .expect("REMOVE")
        {
            nfs3::Nfs3Result::Ok(_) => Ok(()),
            nfs3::Nfs3Result::Err((s, _)) => Err(s),
        }
    }

    pub async fn rmdir(&mut self, dir: &nfs_fh3, n: &str) -> NfsResult<()> {
        match within(
            "RMDIR",
            self.conn.rmdir(&nfs3::RMDIR3args {
                object: dirop(dir, n),
            }),
        )
        .await
        .expect("RMDIR")
        {
            nfs3::Nfs3Result::Ok(_) => Ok(()),
            nfs3::Nfs3Result::Err((s, _)) => Err(s),
        }
    }

    pub async fn rename(
        &mut self,
        from: &nfs_fh3,
        a: &str,
        to: &nfs_fh3,
        b: &str,
    ) -> NfsResult<()> {
        match within(
            "RENAME",
            self.conn.rename(&nfs3::RENAME3args {
                from: dirop(from, a),
                to: dirop(to, b),
            }),
        )
        .await
        .expect("RENAME")
        {
            nfs3::Nfs3Result::Ok(_) => Ok(()),
            nfs3::Nfs3Result::Err((s, _)) => Err(s),
        }
    }

    pub async fn link(&mut self, file: &nfs_fh3, dir: &nfs_fh3, n: &str) -> NfsResult<()> {
        match within(
            "LINK",
            self.conn.link(&nfs3::LINK3args {
                file: file.clone(),
                link: dirop(dir, n),
            }),
        )
        .await
        .expect("LINK")
        {
            nfs3::Nfs3Result::Ok(_) => Ok(()),
            nfs3::Nfs3Result::Err((s, _)) => Err(s),
        }
    }

    pub async fn symlink(&mut self, dir: &nfs_fh3, n: &str, target: &str) -> NfsResult<nfs_fh3> {
        match within(
            "SYMLINK",
            self.conn.symlink(&nfs3::SYMLINK3args {
                where_: dirop(dir, n),
                symlink: nfs3::symlinkdata3 {
                    symlink_attributes: nfs3::sattr3::default(),
                    symlink_data: nfs3::nfspath3(Opaque::owned(target.as_bytes().to_vec())),
                },
            }),
        )
        .await
        .expect("SYMLINK")
        {
            nfs3::Nfs3Result::Ok(ok) => match ok.obj {
                Nfs3Option::Some(fh) => Ok(fh),
                Nfs3Option::None => self.lookup(dir, n).await,
            },
            nfs3::Nfs3Result::Err((s, _)) => Err(s),
        }
    }

    pub async fn readlink(&mut self, fh: &nfs_fh3) -> NfsResult<String> {
        match within(
            "READLINK",
            self.conn.readlink(&nfs3::READLINK3args {
                symlink: fh.clone(),
            }),
        )
        .await
        .expect("READLINK")
        {
            nfs3::Nfs3Result::Ok(ok) => {
                Ok(String::from_utf8_lossy(ok.data.0.as_ref()).into_owned())
            }
            nfs3::Nfs3Result::Err((s, _)) => Err(s),
        }
    }

    pub async fn setattr(&mut self, fh: &nfs_fh3, s: nfs3::sattr3) -> NfsResult<()> {
        match within(
            "SETATTR",
            self.conn.setattr(&nfs3::SETATTR3args {
                object: fh.clone(),
                new_attributes: s,
                guard: Nfs3Option::None,
            }),
        )
        .await
        .expect("SETATTR")
        {
            nfs3::Nfs3Result::Ok(_) => Ok(()),
            nfs3::Nfs3Result::Err((s, _)) => Err(s),
        }
    }

    pub async fn access(&mut self, fh: &nfs_fh3, want: u32) -> NfsResult<u32> {
        match within(
            "ACCESS",
            self.conn.access(&nfs3::ACCESS3args {
                object: fh.clone(),
                access: want,
            }),
        )
        .await
        .expect("ACCESS")
        {
            nfs3::Nfs3Result::Ok(ok) => Ok(ok.access),
            nfs3::Nfs3Result::Err((s, _)) => Err(s),
        }
    }

    pub async fn fsstat(&mut self, fh: &nfs_fh3) -> NfsResult<nfs3::FSSTAT3resok> {
        match within(
            "FSSTAT",
            self.conn.fsstat(&nfs3::FSSTAT3args { fsroot: fh.clone() }),
        )
        .await
        .expect("FSSTAT")
        {
            nfs3::Nfs3Result::Ok(ok) => Ok(ok),
            nfs3::Nfs3Result::Err((s, _)) => Err(s),
        }
    }

    /// Every name in a directory, through READDIRPLUS (several calls when needed).
    pub async fn list(&mut self, dir: &nfs_fh3) -> NfsResult<Vec<String>> {
        let mut names = Vec::new();
        let mut cookie = 0;
        loop {
            let r = within(
                "READDIRPLUS",
                self.conn.readdirplus(&nfs3::READDIRPLUS3args {
                    dir: dir.clone(),
                    cookie,
                    cookieverf: nfs3::cookieverf3::default(),
                    dircount: 4096,
                    maxcount: 4096,
                }),
            )
            .await
            .expect("READDIRPLUS");
            match r {
                nfs3::Nfs3Result::Ok(ok) => {
                    for e in ok.reply.entries.0 {
                        cookie = e.cookie;
                        names.push(String::from_utf8_lossy(e.name.0.as_ref()).into_owned());
                    }
                    if ok.reply.eof {
                        names.sort();
                        return Ok(names);
                    }
                }
                nfs3::Nfs3Result::Err((s, _)) => return Err(s),
            }
        }
    }
}

/// Raw handle bytes (for keeping a handle across a restart).
pub fn fh_bytes(fh: &nfs_fh3) -> Vec<u8> {
    fh.data.to_vec()
}

pub fn fh_from(bytes: &[u8]) -> nfs_fh3 {
    nfs_fh3 {
        data: Opaque::owned(bytes.to_vec()),
    }
}
