//! NFS figures of ontap-sim beside nfs-ganesha (VFS FSAL, NFSv3) in one run, with the same client.
//!
//! ```text
//! cargo build --release && cargo run --release --example nfs_bench [-- --size-mib 256 --files 1000 --ops 20000 --rounds 3 --no-listings]
//! scripts/nfs-bench.sh [ARGS]   # installs nfs-ganesha, nfs-ganesha-vfs and rpcbind first (root)
//! ```
//!
//! It starts the `ontap-sim` binary next to this example (or `$ONTAP_SIM_BIN`) with `--ephemeral`
//! on a free NFS port and mounts the SVM root (`/`). Beside it, it starts `ganesha.nfsd` on two
//! free loopback ports (NFS and MOUNT) exporting a fresh directory (NFSv3 only, TCP, MaxRead and
//! MaxWrite 1 MiB), after starting `rpcbind -f` when no portmapper answers on 127.0.0.1:111
//! (ganesha refuses to start without one). Where ganesha is missing or cannot start, the bench
//! says why and prints the simulator's figures alone.
//!
//! The same client code drives both servers, alternating which goes first in each round; each row
//! gives the median over the rounds for ontap-sim and for ganesha, their ratio (ontap-sim over
//! ganesha: above 1 is faster than ganesha, for every row), and the spread (min-max) of each:
//!
//! - sequential write of one file in 1 MiB UNSTABLE WRITEs then COMMIT, one in flight (what
//!   `nfs-cp` does) and eight in flight (a pipelined client);
//! - sequential read of that file in 1 MiB READs, one and eight in flight;
//! - small files: CREATE (GUARDED) plus one 4 KiB FILE_SYNC WRITE each, one call in flight;
//! - CREATE alone (empty files, GUARDED, mode 0644), one call in flight;
//! - GETATTR of a file and LOOKUP of its name, with 1 and 16 calls in flight on one connection;
//! - NLM LOCK + UNLOCK (ontap-sim only: the peer runs without NLM);
//! - `nfs-cp` and `nfs-cat` of the file when libnfs-utils is installed;
//! - whole listings of 1k, 10k and 100k-entry directories: READDIRPLUS (dircount 8 KiB, maxcount
//!   32 KiB, what `nfs-ls` and `ls -l` send) and READDIR 32 KiB, resuming with the last cookie and
//!   verifier. The entries are made on each server's disk directly (the SVM root volume's file
//!   limit, 31k, would refuse 100k CREATEs), the simulator's by a second simulator with a state
//!   directory of its own. A last line gives the READDIRPLUS cost per entry at 100k over 1k.
//!
//! `examples/bench.rs` includes this file as a module and calls [`measure`] with the defaults, so
//! the one benchmark command reports the same figures.

use nfs3_client::nfs3_types::nfs3::{self, nfs_fh3, Nfs3Option, Nfs3Result};
use nfs3_client::nfs3_types::rpc::{auth_unix, opaque_auth};
use nfs3_client::nfs3_types::xdr_codec::Opaque;
use nfs3_client::tokio::{TokioConnector, TokioIo};
use nfs3_client::{Nfs3Connection, Nfs3ConnectionBuilder};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

type Conn = Nfs3Connection<TokioIo<tokio::net::TcpStream>>;
pub type Res<T> = Result<T, Box<dyn std::error::Error>>;

const CHUNK: usize = 1 << 20;
/// LOCK + UNLOCK pairs per round.
const LOCK_PAIRS: usize = 2000;
const SMALL: usize = 4096;

pub struct Opts {
    pub size_mib: usize,
    pub files: usize,
    /// GETATTR and LOOKUP calls per round and depth.
    pub ops: usize,
    pub rounds: usize,
    /// Measure the directory listings too (`--no-listings` leaves them out).
    pub listings: bool,
}

impl Default for Opts {
    fn default() -> Self {
        Opts {
            size_mib: 256,
            files: 1000,
            ops: 20_000,
            rounds: 3,
            listings: true,
        }
    }
}

fn opts() -> Opts {
    let mut o = Opts::default();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        if args[i] == "--no-listings" {
            o.listings = false;
            i += 1;
            continue;
        }
        let v = args.get(i + 1).and_then(|v| v.parse().ok());
        match (args[i].as_str(), v) {
            ("--size-mib", Some(v)) => o.size_mib = v,
            ("--files", Some(v)) => o.files = v,
            ("--ops", Some(v)) => o.ops = v,
            ("--rounds", Some(v)) => o.rounds = v,
            (a, _) => {
                eprintln!("unknown argument {a}: use --size-mib N --files N --ops N --rounds N --no-listings");
                std::process::exit(2);
            }
        }
        i += 2;
    }
    o.rounds = o.rounds.max(1);
    o.files = o.files.max(1);
    o.ops = o.ops.max(16);
    o.size_mib = o.size_mib.max(1);
    o
}

// ---------------------------------------------------------------------------------------------
// The servers

/// The simulator under test, stopped when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn binary() -> Res<PathBuf> {
    if let Some(p) = std::env::var_os("ONTAP_SIM_BIN") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or("cannot find the target directory")?;
    let bin = dir.join("ontap-sim");
    if !bin.is_file() {
        return Err(format!(
            "{} is not built: run `cargo build --release` first (or set ONTAP_SIM_BIN)",
            bin.display()
        )
        .into());
    }
    Ok(bin)
}

fn start_with(extra: &[&str]) -> Res<Server> {
    let mut child = Command::new(binary()?)
        .args([
            "serve",
            "--admin-listen",
            "127.0.0.1:0",
            "--listen",
            "127.0.0.1:0",
            "--nfs-listen",
            "127.0.0.1:0",
        ])
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let out = child.stdout.take().ok_or("no stdout")?;
    let mut port = None;
    for line in BufReader::new(out).lines() {
        let line = line?;
        if let Some(rest) = line.trim().strip_prefix("NFS") {
            port = rest
                .split_whitespace()
                .next()
                .and_then(|a| a.parse::<std::net::SocketAddr>().ok())
                .map(|a| a.port());
        }
        if line == "ready" {
            break;
        }
    }
    let port = port.ok_or("the simulator did not print its NFS address")?;
    Ok(Server { child, port })
}

/// nfs-ganesha serving one fresh directory; stopped (with the rpcbind it started) when dropped.
pub struct Ganesha {
    dir: tempfile::TempDir,
    child: Child,
    rpcbind: Option<Child>,
    nfs_port: u16,
    mount_port: u16,
}

impl Drop for Ganesha {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(r) = &mut self.rpcbind {
            let _ = r.kill();
            let _ = r.wait();
        }
    }
}

fn free_port() -> Res<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn answers(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(200),
    )
    .is_ok()
}

fn tool(name: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&paths)
        .chain(["/usr/sbin".into(), "/sbin".into(), "/usr/bin".into()])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

impl Ganesha {
    /// Start the peer, or say why it cannot run here.
    pub fn start() -> Result<Ganesha, String> {
        let install = "install it with scripts/nfs-bench.sh, or `apt-get install -y \
                       --no-install-recommends nfs-ganesha nfs-ganesha-vfs rpcbind` as root";
        let nfsd =
            tool("ganesha.nfsd").ok_or(format!("ganesha.nfsd is not installed: {install}"))?;
        let fsal = ["/usr/lib/x86_64-linux-gnu/ganesha", "/usr/lib/ganesha"]
            .iter()
            .any(|d| Path::new(d).join("libfsalvfs.so").exists());
        if !fsal {
            return Err(format!(
                "the VFS FSAL (nfs-ganesha-vfs) is not installed: {install}"
            ));
        }
        if !rustix::process::geteuid().is_root() {
            return Err(
                "ganesha's VFS FSAL serves file handles by open_by_handle_at, which \
                        needs root: run the bench as root"
                    .into(),
            );
        }
        let rpcbind = if answers(111) {
            None
        } else {
            let bin = tool("rpcbind").ok_or(format!(
                "no portmapper on 127.0.0.1:111 and rpcbind is not installed (ganesha will not \
                 start without one): {install}"
            ))?;
            let child = Command::new(bin)
                .arg("-f")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("rpcbind -f: {e}"))?;
            let t = Instant::now();
            while !answers(111) {
                if t.elapsed() > Duration::from_secs(5) {
                    return Err("rpcbind -f started but 127.0.0.1:111 does not answer".into());
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Some(child)
        };
        match Ganesha::spawn(&nfsd) {
            Ok(mut g) => {
                g.rpcbind = rpcbind;
                Ok(g)
            }
            Err(e) => {
                if let Some(mut r) = rpcbind {
                    let _ = r.kill();
                    let _ = r.wait();
                }
                Err(format!("ganesha.nfsd: {e}"))
            }
        }
    }

    fn spawn(nfsd: &Path) -> Res<Ganesha> {
        let dir = tempfile::Builder::new()
            .prefix("nfs-bench-ganesha")
            .tempdir()?;
        let export = dir.path().join("export");
        std::fs::create_dir_all(&export)?;
        std::fs::create_dir_all(dir.path().join("recov"))?;
        let (nfs_port, mount_port) = (free_port()?, free_port()?);
        let conf = dir.path().join("ganesha.conf");
        std::fs::write(
            &conf,
            format!(
                "NFS_Core_Param {{ Protocols = 3; Enable_NLM = false; Enable_RQUOTA = false; \
                 Enable_UDP = false; NFS_Port = {nfs_port}; MNT_Port = {mount_port}; \
                 Bind_addr = 127.0.0.1; }}\n\
                 NFSV4 {{ Graceless = true; RecoveryBackend = fs; RecoveryRoot = {recov}; }}\n\
                 EXPORT_DEFAULTS {{ Access_Type = RW; Squash = No_Root_Squash; SecType = sys; \
                 Protocols = 3; Transports = TCP; MaxRead = 1048576; MaxWrite = 1048576; }}\n\
                 EXPORT {{ Export_Id = 1; Path = {export}; Pseudo = /export; \
                 FSAL {{ Name = VFS; }} }}\n\
                 LOG {{ Default_Log_Level = EVENT; }}\n\
                 NFS_KRB5 {{ Active_krb5 = false; }}\n",
                recov = dir.path().join("recov").display(),
                export = export.display(),
            ),
        )?;
        let log = dir.path().join("ganesha.log");
        let child = Command::new(nfsd)
            .arg("-F")
            .arg("-L")
            .arg(&log)
            .arg("-f")
            .arg(&conf)
            .arg("-p")
            .arg(dir.path().join("ganesha.pid"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let mut g = Ganesha {
            dir,
            child,
            rpcbind: None,
            nfs_port,
            mount_port,
        };
        let t = Instant::now();
        while !(answers(nfs_port) && answers(mount_port)) {
            let ended = g.child.try_wait()?;
            if ended.is_some() || t.elapsed() > Duration::from_secs(20) {
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                let tail: Vec<&str> = text
                    .lines()
                    .filter(|l| l.contains(":CRIT") || l.contains(":FATAL") || l.contains(":MAJ"))
                    .collect();
                let why = match ended {
                    Some(s) => format!("exited ({s})"),
                    None => "did not listen within 20 s".into(),
                };
                return Err(format!("{why}; its log says: {}", tail.join(" | ")).into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(g)
    }

    fn export(&self) -> PathBuf {
        self.dir.path().join("export")
    }
}

/// One server as the client sees it.
struct Target {
    name: &'static str,
    nfs_port: u16,
    mount_port: u16,
    /// The mount path (and the path in `nfs://` URLs).
    export: String,
    /// A directory on the server's disk under which the export's files are found.
    disk: PathBuf,
    /// The NLM program is served on the NFS port.
    nlm: bool,
}

impl Target {
    fn shim(s: &Server, disk: &Path) -> Target {
        Target {
            name: "ontap-sim",
            nfs_port: s.port,
            mount_port: s.port,
            export: "/".into(),
            disk: disk.to_path_buf(),
            nlm: true,
        }
    }

    fn ganesha(g: &Ganesha) -> Target {
        Target {
            name: "ganesha",
            nfs_port: g.nfs_port,
            mount_port: g.mount_port,
            export: g.export().to_string_lossy().into_owned(),
            disk: g.export(),
            nlm: false,
        }
    }

    async fn mount(&self) -> Res<(Conn, nfs_fh3)> {
        let cred = opaque_auth::auth_unix(&auth_unix {
            stamp: 0,
            machinename: Opaque::owned(b"nfs-bench".to_vec()),
            uid: 0,
            gid: 0,
            gids: vec![],
        });
        let conn = Nfs3ConnectionBuilder::new(TokioConnector, "127.0.0.1", &self.export)
            .connect_from_privileged_port(false)
            .mount_port(self.mount_port)
            .nfs3_port(self.nfs_port)
            .credential(cred)
            .mount()
            .await
            .map_err(|e| format!("{}: mount {}: {e:?}", self.name, self.export))?;
        let root = conn.root_nfs_fh3();
        Ok((conn, root))
    }

    fn url(&self, file: &str) -> String {
        format!(
            "nfs://127.0.0.1/{}/{file}?nfsport={}&mountport={}&uid=0&gid=0",
            self.export.trim_start_matches('/'),
            self.nfs_port,
            self.mount_port
        )
    }
}

// ---------------------------------------------------------------------------------------------
// The client: nfs3_client for one call in flight

fn dirop(dir: &nfs_fh3, name: &str) -> nfs3::diropargs3<'static> {
    nfs3::diropargs3 {
        dir: dir.clone(),
        name: nfs3::filename3(Opaque::owned(name.as_bytes().to_vec())),
    }
}

fn fail<T: std::fmt::Debug>(what: &str, e: T) -> Box<dyn std::error::Error> {
    format!("{what}: {e:?}").into()
}

async fn create(c: &mut Conn, dir: &nfs_fh3, name: &str, how: u32) -> Res<nfs_fh3> {
    let attrs = nfs3::sattr3 {
        mode: Nfs3Option::Some(0o644),
        size: Nfs3Option::Some(0),
        ..Default::default()
    };
    let how = if how == 0 {
        nfs3::createhow3::UNCHECKED(attrs)
    } else {
        nfs3::createhow3::GUARDED(nfs3::sattr3 {
            size: Nfs3Option::None,
            ..attrs
        })
    };
    match c
        .create(&nfs3::CREATE3args {
            where_: dirop(dir, name),
            how,
        })
        .await?
    {
        Nfs3Result::Ok(ok) => match ok.obj {
            Nfs3Option::Some(fh) => Ok(fh),
            Nfs3Option::None => Err("CREATE returned no handle".into()),
        },
        Nfs3Result::Err((s, _)) => Err(fail("CREATE", s)),
    }
}

async fn write(
    c: &mut Conn,
    fh: &nfs_fh3,
    offset: u64,
    data: &[u8],
    stable: nfs3::stable_how,
) -> Res<()> {
    match c
        .write(&nfs3::WRITE3args {
            file: fh.clone(),
            offset,
            count: data.len() as u32,
            stable,
            data: Opaque::borrowed(data),
        })
        .await?
    {
        Nfs3Result::Ok(ok) if ok.count as usize == data.len() => Ok(()),
        Nfs3Result::Ok(ok) => Err(format!("short WRITE: {}", ok.count).into()),
        Nfs3Result::Err((s, _)) => Err(fail("WRITE", s)),
    }
}

async fn commit(c: &mut Conn, fh: &nfs_fh3) -> Res<()> {
    match c
        .commit(&nfs3::COMMIT3args {
            file: fh.clone(),
            offset: 0,
            count: 0,
        })
        .await?
    {
        Nfs3Result::Ok(_) => Ok(()),
        Nfs3Result::Err((s, _)) => Err(fail("COMMIT", s)),
    }
}

async fn lookup(c: &mut Conn, dir: &nfs_fh3, name: &str) -> Res<nfs_fh3> {
    match c
        .lookup(&nfs3::LOOKUP3args {
            what: dirop(dir, name),
        })
        .await?
    {
        Nfs3Result::Ok(ok) => Ok(ok.object),
        Nfs3Result::Err((s, _)) => Err(fail("LOOKUP", s)),
    }
}

async fn mkdir(c: &mut Conn, dir: &nfs_fh3, name: &str) -> Res<nfs_fh3> {
    match c
        .mkdir(&nfs3::MKDIR3args {
            where_: dirop(dir, name),
            attributes: nfs3::sattr3::default(),
        })
        .await?
    {
        Nfs3Result::Ok(ok) => match ok.obj {
            Nfs3Option::Some(fh) => Ok(fh),
            Nfs3Option::None => Err("MKDIR returned no handle".into()),
        },
        Nfs3Result::Err((s, _)) => Err(fail("MKDIR", s)),
    }
}

async fn nfs_write(c: &mut Conn, root: &nfs_fh3, data: &[u8], size: usize) -> Res<Duration> {
    let t = Instant::now();
    let fh = create(c, root, "bench.bin", 0).await?;
    let mut at = 0;
    while at < size {
        let n = CHUNK.min(size - at);
        write(c, &fh, at as u64, &data[..n], nfs3::stable_how::UNSTABLE).await?;
        at += n;
    }
    commit(c, &fh).await?;
    Ok(t.elapsed())
}

async fn nfs_read(c: &mut Conn, root: &nfs_fh3, size: usize) -> Res<Duration> {
    let t = Instant::now();
    let fh = lookup(c, root, "bench.bin").await?;
    let mut got = 0;
    loop {
        match c
            .read(&nfs3::READ3args {
                file: fh.clone(),
                offset: got as u64,
                count: CHUNK as u32,
            })
            .await?
        {
            Nfs3Result::Ok(ok) => {
                got += ok.data.len();
                if ok.eof || ok.data.is_empty() {
                    break;
                }
            }
            Nfs3Result::Err((s, _)) => return Err(fail("READ", s)),
        }
    }
    if got != size {
        return Err(format!("read {got} bytes of {size}").into());
    }
    Ok(t.elapsed())
}

/// `files` CREATEs (GUARDED), each followed by one 4 KiB FILE_SYNC WRITE when `data`.
async fn nfs_small(
    c: &mut Conn,
    root: &nfs_fh3,
    dir: &str,
    files: usize,
    data: bool,
) -> Res<Duration> {
    let dir = mkdir(c, root, dir).await?;
    let block = vec![0x5au8; SMALL];
    let t = Instant::now();
    for i in 0..files {
        let fh = create(c, &dir, &format!("f{i:05}"), 1).await?;
        if data {
            write(c, &fh, 0, &block, nfs3::stable_how::FILE_SYNC).await?;
        }
    }
    Ok(t.elapsed())
}

/// `nfs-cp` upload and `nfs-cat` read of the same file, as in the project's notes on the peer.
fn libnfs(t: &Target, local: &Path, size: usize) -> Res<(Duration, Duration)> {
    let url = t.url("bench-cp.bin");
    let started = Instant::now();
    let up = Command::new("nfs-cp")
        .arg(local)
        .arg(&url)
        .stdout(Stdio::null())
        .status()?;
    let w = started.elapsed();
    if !up.success() {
        return Err(format!("nfs-cp to {} failed", t.name).into());
    }
    let started = Instant::now();
    let mut cat = Command::new("nfs-cat")
        .arg(&url)
        .stdout(Stdio::piped())
        .spawn()?;
    let mut got = 0;
    if let Some(mut out) = cat.stdout.take() {
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = out.read(&mut buf)?;
            if n == 0 {
                break;
            }
            got += n;
        }
    }
    cat.wait()?;
    let r = started.elapsed();
    if got != size {
        return Err(format!("nfs-cat read {got} bytes of {size} from {}", t.name).into());
    }
    Ok((w, r))
}

// ---------------------------------------------------------------------------------------------
// The client: raw RPC records for several calls in flight on one connection

const NFS_PROGRAM: u32 = 100_003;
const GETATTR: u32 = 1;
const LOOKUP: u32 = 3;
const READ: u32 = 6;
const WRITE: u32 = 7;

fn opaque(b: &mut Vec<u8>, d: &[u8]) {
    b.extend_from_slice(&(d.len() as u32).to_be_bytes());
    b.extend_from_slice(d);
    b.resize(b.len() + (4 - d.len() % 4) % 4, 0);
}

/// One record: an RPC call with AUTH_SYS root credentials; `args` writes the arguments.
fn call(xid: u32, prog: u32, vers: u32, proc_: u32, args: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut m = vec![0u8; 4];
    for w in [xid, 0, 2, prog, vers, proc_, 1] {
        m.extend_from_slice(&w.to_be_bytes());
    }
    let mut cred = Vec::with_capacity(32);
    cred.extend_from_slice(&0u32.to_be_bytes()); // stamp
    opaque(&mut cred, b"nfs-bench");
    for w in [0u32, 0, 0] {
        cred.extend_from_slice(&w.to_be_bytes()); // uid, gid, no more groups
    }
    opaque(&mut m, &cred);
    m.extend_from_slice(&[0; 8]); // AUTH_NONE verifier
    args(&mut m);
    let len = (m.len() - 4) as u32;
    m[..4].copy_from_slice(&(0x8000_0000 | len).to_be_bytes());
    m
}

/// Read one whole reply record (all its fragments) into `buf`.
async fn reply<R: tokio::io::AsyncRead + Unpin>(rd: &mut R, buf: &mut Vec<u8>) -> Res<()> {
    buf.clear();
    loop {
        let mut mark = [0u8; 4];
        rd.read_exact(&mut mark).await?;
        let m = u32::from_be_bytes(mark);
        let len = (m & 0x7fff_ffff) as usize;
        if buf.len() + len > 8 << 20 {
            return Err(fail("reply record", len));
        }
        let at = buf.len();
        buf.resize(at + len, 0);
        rd.read_exact(&mut buf[at..]).await?;
        if m & 0x8000_0000 != 0 {
            return Ok(());
        }
    }
}

/// The first word of an accepted reply's results: NFS3_OK is 0.
fn nfs_status(buf: &[u8]) -> Res<u32> {
    result_word(buf, 0)
}

/// An NLM reply's status, after its cookie: LCK_GRANTED is 0.
fn nlm_status(buf: &[u8]) -> Res<u32> {
    let cookie = result_word(buf, 0)? as usize;
    result_word(buf, 4 + cookie.div_ceil(4) * 4)
}

/// The word `skip` bytes into an accepted reply's results.
fn result_word(buf: &[u8], skip: usize) -> Res<u32> {
    let w = |i: usize| -> Res<u32> {
        buf.get(i..i + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or_else(|| "short reply".into())
    };
    if w(4)? != 1 || w(8)? != 0 {
        return Err("the call was not accepted".into());
    }
    let verf_len = w(16)? as usize;
    let at = 20 + verf_len.div_ceil(4) * 4;
    if w(at)? != 0 {
        return Err(fail("RPC accept status", w(at)?));
    }
    w(at + 4 + skip)
}

/// `ops` calls on one connection with at most `depth` in flight; `make(i)` gives call i's
/// record (its xid must be unique among those in flight). Every reply's `status` must be 0.
async fn pipelined(
    port: u16,
    ops: usize,
    depth: usize,
    make: impl Fn(usize) -> Vec<u8>,
) -> Res<Duration> {
    pipelined_checked(port, ops, depth, make, nfs_status).await
}

async fn pipelined_checked(
    port: u16,
    ops: usize,
    depth: usize,
    make: impl Fn(usize) -> Vec<u8>,
    status: fn(&[u8]) -> Res<u32>,
) -> Res<Duration> {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    tcp.set_nodelay(true)?;
    let (rd, mut wr) = tcp.into_split();
    let mut rd = tokio::io::BufReader::with_capacity(1 << 20, rd);
    let mut buf = Vec::with_capacity(CHUNK + 4096);
    let started = Instant::now();
    let mut sent = 0;
    let mut first = Vec::new();
    while sent < ops.min(depth) {
        first.extend_from_slice(&make(sent));
        sent += 1;
    }
    wr.write_all(&first).await?;
    for _ in 0..ops {
        reply(&mut rd, &mut buf).await?;
        let s = status(&buf)?;
        if s != 0 {
            return Err(fail("status", s));
        }
        if sent < ops {
            wr.write_all(&make(sent)).await?;
            sent += 1;
        }
    }
    Ok(started.elapsed())
}

fn getattr_call(xid: usize, fh: &[u8]) -> Vec<u8> {
    call(xid as u32, NFS_PROGRAM, 3, GETATTR, |m| opaque(m, fh))
}

fn lookup_call(xid: usize, dir: &[u8], name: &str) -> Vec<u8> {
    call(xid as u32, NFS_PROGRAM, 3, LOOKUP, |m| {
        opaque(m, dir);
        opaque(m, name.as_bytes());
    })
}

/// Write `size` bytes of `data` (repeated) into `fh` in 1 MiB UNSTABLE WRITEs, `depth` in flight.
async fn write_depth(
    port: u16,
    c: &mut Conn,
    fh: &nfs_fh3,
    data: &[u8],
    size: usize,
    depth: usize,
) -> Res<Duration> {
    let t = Instant::now();
    let calls = size.div_ceil(CHUNK);
    let raw = fh.data.as_ref().to_vec();
    pipelined(port, calls, depth, |i| {
        let n = CHUNK.min(size - i * CHUNK);
        call(i as u32, NFS_PROGRAM, 3, WRITE, |m| {
            opaque(m, &raw);
            m.extend_from_slice(&((i * CHUNK) as u64).to_be_bytes());
            m.extend_from_slice(&(n as u32).to_be_bytes());
            m.extend_from_slice(&0u32.to_be_bytes()); // UNSTABLE
            opaque(m, &data[..n]);
        })
    })
    .await?;
    commit(c, fh).await?;
    Ok(t.elapsed())
}

/// Read `size` bytes of `fh` in 1 MiB READs, `depth` in flight.
async fn read_depth(port: u16, fh: &nfs_fh3, size: usize, depth: usize) -> Res<Duration> {
    let raw = fh.data.as_ref().to_vec();
    pipelined(port, size.div_ceil(CHUNK), depth, |i| {
        call(i as u32, NFS_PROGRAM, 3, READ, |m| {
            opaque(m, &raw);
            m.extend_from_slice(&((i * CHUNK) as u64).to_be_bytes());
            m.extend_from_slice(&(CHUNK as u32).to_be_bytes());
        })
    })
    .await
}

/// `LOCK_PAIRS` NLM v4 LOCK + UNLOCK pairs on the file `fh`, one call at a time.
async fn nlm_pairs(port: u16, fh: &[u8]) -> Res<Duration> {
    let make = |i: usize| {
        let lock = i.is_multiple_of(2);
        call(i as u32, 100_021, 4, if lock { 2 } else { 4 }, |m| {
            opaque(m, b"ck");
            if lock {
                m.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1]); // not blocking, exclusive
            }
            opaque(m, b"nfs-bench");
            opaque(m, fh);
            opaque(m, b"owner");
            m.extend_from_slice(&1u32.to_be_bytes());
            m.extend_from_slice(&0u64.to_be_bytes());
            m.extend_from_slice(&1u64.to_be_bytes());
            if lock {
                m.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1]); // not a reclaim, state 1
            }
        })
    };
    pipelined_checked(port, LOCK_PAIRS * 2, 1, make, nlm_status).await
}

// ---------------------------------------------------------------------------------------------
// Listings

/// Directory sizes listed.
pub const LISTINGS: [usize; 3] = [1_000, 10_000, 100_000];

/// The directory on the server's disk that holds an entry named `marker`.
fn on_disk(root: &Path, marker: &str) -> Res<PathBuf> {
    let mut todo = vec![root.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d)?.flatten() {
            if e.file_name() == marker {
                return Ok(d);
            }
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                todo.push(e.path());
            }
        }
    }
    Err(format!("{marker} is not under {}", root.display()).into())
}

/// A whole listing as a client reads it; the number of entries.
async fn nfs_list(c: &mut Conn, dir: &nfs_fh3, plus: bool) -> Res<usize> {
    let (mut cookie, mut verf, mut n) = (0u64, nfs3::cookieverf3::default(), 0);
    loop {
        let eof = if plus {
            match c
                .readdirplus(&nfs3::READDIRPLUS3args {
                    dir: dir.clone(),
                    cookie,
                    cookieverf: verf,
                    dircount: 8192,
                    maxcount: 32768,
                })
                .await?
            {
                Nfs3Result::Ok(ok) => {
                    verf = ok.cookieverf;
                    for e in ok.reply.entries.0 {
                        cookie = e.cookie;
                        n += 1;
                    }
                    ok.reply.eof
                }
                Nfs3Result::Err((s, _)) => return Err(fail("READDIRPLUS", s)),
            }
        } else {
            match c
                .readdir(&nfs3::READDIR3args {
                    dir: dir.clone(),
                    cookie,
                    cookieverf: verf,
                    count: 32768,
                })
                .await?
            {
                Nfs3Result::Ok(ok) => {
                    verf = ok.cookieverf;
                    for e in ok.reply.entries.0 {
                        cookie = e.cookie;
                        n += 1;
                    }
                    ok.reply.eof
                }
                Nfs3Result::Err((s, _)) => return Err(fail("READDIR", s)),
            }
        };
        if eof {
            return Ok(n);
        }
    }
}

/// Make the listing directories on one server; their handles.
async fn make_listings(t: &Target, c: &mut Conn, root: &nfs_fh3) -> Res<Vec<nfs_fh3>> {
    let mut out = Vec::new();
    for n in LISTINGS {
        let fh = mkdir(c, root, &format!("list-{n}")).await?;
        let marker = format!("marker-{n}");
        create(c, &fh, &marker, 0).await?;
        let disk = on_disk(&t.disk, &marker)?;
        for i in 1..n {
            std::fs::File::create(disk.join(format!("entry-{i:06}-of-a-listing")))?;
        }
        out.push(fh);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Rounds and rows

/// Figures of one row over the rounds, per server.
#[derive(Default, Clone)]
pub struct Figures(pub Vec<f64>);

impl Figures {
    pub fn median(&self) -> f64 {
        let mut v = self.0.clone();
        v.sort_by(|a, b| a.total_cmp(b));
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    }

    pub fn spread(&self) -> (f64, f64) {
        let min = self.0.iter().copied().fold(f64::INFINITY, f64::min);
        let max = self.0.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (min, max)
    }
}

/// One measured line: medians over the rounds on ontap-sim and on ganesha (None where ganesha
/// was not run or does not serve the work).
pub struct Row {
    pub work: String,
    pub nfs: f64,
    pub nfs_spread: (f64, f64),
    pub peer: Option<(f64, (f64, f64))>,
    pub unit: &'static str,
}

/// The rows measured in one round of the main work, in order.
const WORK: [(&str, &str); 13] = [
    (
        "write {S} MiB, 1 MiB UNSTABLE, 1 in flight + COMMIT",
        "MB/s",
    ),
    (
        "write {S} MiB, 1 MiB UNSTABLE, 8 in flight + COMMIT",
        "MB/s",
    ),
    ("read {S} MiB, 1 MiB READs, 1 in flight", "MB/s"),
    ("read {S} MiB, 1 MiB READs, 8 in flight", "MB/s"),
    ("small files: CREATE + 4 KiB FILE_SYNC WRITE", "files/s"),
    ("CREATE (empty file, GUARDED)", "files/s"),
    ("GETATTR, 1 in flight", "calls/s"),
    ("GETATTR, 16 in flight", "calls/s"),
    ("LOOKUP, 1 in flight", "calls/s"),
    ("LOOKUP, 16 in flight", "calls/s"),
    ("NLM LOCK + UNLOCK, 1 in flight", "pairs/s"),
    ("nfs-cp upload {S} MiB (libnfs)", "MB/s"),
    ("nfs-cat {S} MiB to a pipe (libnfs)", "MB/s"),
];

fn mbps(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64()
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

/// One round of the main work on one server; one figure per [`WORK`] row (None: not measured).
async fn round(
    t: &Target,
    o: &Opts,
    data: &[u8],
    local_file: &Path,
    round: usize,
) -> Res<[Option<f64>; WORK.len()]> {
    let size = o.size_mib << 20;
    let (mut c, root) = t.mount().await?;
    let mut f = [None; WORK.len()];
    f[0] = Some(mbps(size, nfs_write(&mut c, &root, data, size).await?));
    let fh = lookup(&mut c, &root, "bench.bin").await?;
    f[1] = Some(mbps(
        size,
        write_depth(t.nfs_port, &mut c, &fh, data, size, 8).await?,
    ));
    f[2] = Some(mbps(size, nfs_read(&mut c, &root, size).await?));
    f[3] = Some(mbps(size, read_depth(t.nfs_port, &fh, size, 8).await?));
    let small = nfs_small(&mut c, &root, &format!("small-{round}"), o.files, true).await?;
    f[4] = Some(rate(o.files, small));
    let empty = nfs_small(&mut c, &root, &format!("empty-{round}"), o.files, false).await?;
    f[5] = Some(rate(o.files, empty));
    let (raw_root, raw_file) = (root.data.as_ref().to_vec(), fh.data.as_ref().to_vec());
    for (k, depth) in [(6, 1), (7, 16)] {
        let d = pipelined(t.nfs_port, o.ops, depth, |i| getattr_call(i, &raw_file)).await?;
        f[k] = Some(rate(o.ops, d));
    }
    for (k, depth) in [(8, 1), (9, 16)] {
        let d = pipelined(t.nfs_port, o.ops, depth, |i| {
            lookup_call(i, &raw_root, "bench.bin")
        })
        .await?;
        f[k] = Some(rate(o.ops, d));
    }
    if t.nlm {
        f[10] = Some(rate(LOCK_PAIRS, nlm_pairs(t.nfs_port, &raw_file).await?));
    }
    if tool("nfs-cp").is_some() && tool("nfs-cat").is_some() {
        // nfs-cp will not overwrite: remove the previous round's copy first.
        let _ = c
            .remove(&nfs3::REMOVE3args {
                object: dirop(&root, "bench-cp.bin"),
            })
            .await;
        let (w, r) = libnfs(t, local_file, size)?;
        f[11] = Some(mbps(size, w));
        f[12] = Some(mbps(size, r));
    }
    Ok(f)
}

fn row(work: String, unit: &'static str, ours: &Figures, peer: Option<&Figures>) -> Row {
    Row {
        work,
        nfs: ours.median(),
        nfs_spread: ours.spread(),
        peer: peer
            .filter(|p| !p.0.is_empty())
            .map(|p| (p.median(), p.spread())),
        unit,
    }
}

/// Run every round and return the rows, with the reason ganesha was not run (if it was not).
pub async fn measure_with_peer(o: &Opts) -> Res<(Vec<Row>, Option<String>)> {
    let rounds = o.rounds.max(1);
    let ganesha = Ganesha::start();
    let why_not = ganesha.as_ref().err().cloned();
    let ganesha = ganesha.ok();
    let server = start_with(&["--ephemeral"])?;
    let shim_disk = tempfile::tempdir()?; // unused for the main work
    let mut targets = vec![Target::shim(&server, shim_disk.path())];
    if let Some(g) = &ganesha {
        targets.push(Target::ganesha(g));
    }
    let local = tempfile::tempdir()?;
    let local_file = local.path().join("bench.bin");
    let mut data = vec![0u8; CHUNK];
    let mut x: u32 = 0x1234_5678;
    for b in data.iter_mut() {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&local_file)?;
        for _ in 0..o.size_mib {
            f.write_all(&data)?;
        }
    }
    let mut figs: Vec<[Figures; WORK.len()]> = vec![Default::default(); targets.len()];
    for r in 0..rounds {
        // Alternate which server goes first.
        for k in 0..targets.len() {
            let i = (k + r) % targets.len();
            let f = round(&targets[i], o, &data, &local_file, r).await?;
            for (w, v) in f.iter().enumerate() {
                if let Some(v) = v {
                    figs[i][w].0.push(*v);
                }
            }
        }
    }
    drop(server);
    let mut rows = Vec::new();
    for (w, (work, unit)) in WORK.iter().enumerate() {
        if figs[0][w].0.is_empty() {
            continue;
        }
        rows.push(row(
            work.replace("{S}", &o.size_mib.to_string()),
            unit,
            &figs[0][w],
            figs.get(1).map(|g| &g[w]),
        ));
    }

    if !o.listings {
        return Ok((rows, why_not));
    }
    // Listings: a simulator with a state directory of its own, and the same ganesha.
    let state = tempfile::tempdir()?;
    let state_dir = state.path().to_string_lossy().into_owned();
    let server = start_with(&["--state-dir", &state_dir])?;
    let mut targets = vec![Target::shim(&server, state.path())];
    if let Some(g) = &ganesha {
        targets.push(Target::ganesha(g));
    }
    let mut conns = Vec::new();
    for t in &targets {
        let (mut c, root) = t.mount().await?;
        let dirs = make_listings(t, &mut c, &root).await?;
        conns.push((c, dirs));
    }
    // [server][size][plus, plain]
    let mut lf: Vec<Vec<[Figures; 2]>> =
        vec![vec![Default::default(); LISTINGS.len()]; conns.len()];
    for r in 0..rounds {
        for (s, n) in LISTINGS.iter().enumerate() {
            for (p, plus) in [true, false].into_iter().enumerate() {
                for k in 0..conns.len() {
                    let i = (k + r) % conns.len();
                    let (c, dirs) = &mut conns[i];
                    let t = Instant::now();
                    let got = nfs_list(c, &dirs[s], plus).await?;
                    let took = t.elapsed();
                    // ontap-sim lists . and ..; ganesha does not.
                    if got != n + 2 && got != *n {
                        return Err(
                            format!("{}: listed {got} of {n} entries", targets[i].name).into()
                        );
                    }
                    lf[i][s][p].0.push(rate(got, took));
                }
            }
        }
    }
    drop(conns);
    drop(server);
    for (s, n) in LISTINGS.iter().enumerate() {
        for (p, what) in ["READDIRPLUS", "READDIR 32 KiB"].into_iter().enumerate() {
            rows.push(row(
                format!("list {}k entries: {what}", n / 1000),
                "entries/s",
                &lf[0][s][p],
                lf.get(1).map(|g| &g[s][p]),
            ));
        }
    }
    // Cost per entry is the inverse of the rate: cost(100k) / cost(1k) = rate(1k) / rate(100k).
    let last = LISTINGS.len() - 1;
    let growth = |v: &[[Figures; 2]]| Figures(vec![v[0][0].median() / v[last][0].median()]);
    rows.push(row(
        format!(
            "READDIRPLUS cost per entry, {}k over {}k",
            LISTINGS[last] / 1000,
            LISTINGS[0] / 1000
        ),
        "x",
        &growth(&lf[0]),
        lf.get(1).map(|g| growth(g)).as_ref(),
    ));
    Ok((rows, why_not))
}

/// The rows alone (for `examples/bench.rs`).
pub async fn measure(o: &Opts) -> Res<Vec<Row>> {
    Ok(measure_with_peer(o).await?.0)
}

async fn run() -> Res<()> {
    let o = opts();
    let (rows, why_not) = measure_with_peer(&o).await?;
    println!(
        "ontap-sim NFS benchmark: {} MiB sequential, {} files, {} metadata calls, median of {} \
         rounds (alternated), {} CPUs",
        o.size_mib,
        o.files,
        o.ops,
        o.rounds,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    if let Some(why) = &why_not {
        println!("nfs-ganesha was not run: {why}");
        println!("(the simulator's figures alone follow)");
    }
    println!(
        "{:<54} {:>12} {:>12} {:>6} {:<9} {:>23} {:>23}",
        "work", "ontap-sim", "ganesha", "ratio", "unit", "ontap-sim min-max", "ganesha min-max"
    );
    for r in &rows {
        let (peer, ratio, pspread) = match r.peer {
            Some((p, (lo, hi))) => (
                format!("{p:.1}"),
                format!("{:.2}", r.nfs / p),
                format!("{lo:.1}-{hi:.1}"),
            ),
            None => ("-".into(), "-".into(), "-".into()),
        };
        println!(
            "{:<54} {:>12.1} {:>12} {:>6} {:<9} {:>23} {:>23}",
            r.work,
            r.nfs,
            peer,
            ratio,
            r.unit,
            format!("{:.1}-{:.1}", r.nfs_spread.0, r.nfs_spread.1),
            pspread
        );
    }
    if tool("nfs-cp").is_none() || tool("nfs-cat").is_none() {
        println!("(install libnfs-utils for the nfs-cp / nfs-cat rows)");
    }
    Ok(())
}

fn main() {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("nfs_bench: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = rt.block_on(run()) {
        eprintln!("nfs_bench: {e}");
        std::process::exit(1);
    }
}
