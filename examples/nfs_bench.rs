//! NFS throughput of ontap-sim beside the same work on the local file system, in one run.
//!
//! ```text
//! cargo build --release && cargo run --release --example nfs_bench [-- --size-mib 256 --files 1000 --rounds 3]
//! ```
//!
//! It starts the `ontap-sim` binary next to this example (or `$ONTAP_SIM_BIN`) with `--ephemeral`
//! on a free NFS port, mounts the SVM root (`/`) with an NFSv3 client (`nfs3_client`), and
//! measures, alternating NFS and local work in each round and printing medians:
//!
//! - sequential write of one file: 1 MiB UNSTABLE WRITEs, one in flight, then COMMIT (what
//!   `nfs-cp` does); the local peer writes 1 MiB chunks and fsyncs once;
//! - sequential read of that file in 1 MiB READs; the local peer reads it in 1 MiB chunks (both
//!   from the page cache, as the file was just written);
//! - small files: CREATE plus one 4 KiB FILE_SYNC WRITE each, in one session; the local peer
//!   creates, writes and fsyncs each file;
//! - locks: NLM v4 LOCK and UNLOCK of one byte range, one call in flight on one TCP connection
//!   (what a kernel client sends for an `fcntl` lock and its release); the local peer takes and
//!   drops an `flock` on a local file;
//! - directory listings of 1k, 10k and 100k entries: a whole READDIRPLUS listing (dircount 8 KiB,
//!   maxcount 32 KiB, what `nfs-ls` and `ls -l` send) and a whole READDIR listing (32 KiB), each
//!   call resuming with the last cookie and verifier; the local peers are `readdir` plus `lstat`
//!   of each entry, and `readdir` alone. The entries are made on the server's disk directly (the
//!   SVM root volume's file limit, 31k, would refuse 100k CREATEs), by a second simulator with a
//!   state directory of its own. A last line gives the cost per entry at 100k over that at 1k.
//!
//! When libnfs-utils is installed, `nfs-cp` and `nfs-cat` figures for the same file are added
//! (comparable with the nfs-ganesha figures in the project's notes).
//!
//! `examples/bench.rs` includes this file as a module and calls [`measure`] with the defaults, so
//! the one benchmark command reports the same figures.

use nfs3_client::nfs3_types::nfs3::{self, nfs_fh3, Nfs3Option, Nfs3Result};
use nfs3_client::nfs3_types::rpc::{auth_unix, opaque_auth};
use nfs3_client::nfs3_types::xdr_codec::Opaque;
use nfs3_client::tokio::{TokioConnector, TokioIo};
use nfs3_client::{Nfs3Connection, Nfs3ConnectionBuilder};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

type Conn = Nfs3Connection<TokioIo<tokio::net::TcpStream>>;
pub type Res<T> = Result<T, Box<dyn std::error::Error>>;

const CHUNK: usize = 1 << 20;
/// LOCK + UNLOCK pairs per round.
const LOCK_PAIRS: usize = 2000;
const SMALL: usize = 4096;

pub struct Opts {
    pub size_mib: usize,
    pub files: usize,
    pub rounds: usize,
}

impl Default for Opts {
    fn default() -> Self {
        Opts {
            size_mib: 256,
            files: 1000,
            rounds: 3,
        }
    }
}

fn opts() -> Opts {
    let mut o = Opts::default();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let v = args.get(i + 1).and_then(|v| v.parse().ok());
        match (args[i].as_str(), v) {
            ("--size-mib", Some(v)) => o.size_mib = v,
            ("--files", Some(v)) => o.files = v,
            ("--rounds", Some(v)) => o.rounds = v,
            (a, _) => {
                eprintln!("unknown argument {a}: use --size-mib N --files N --rounds N");
                std::process::exit(2);
            }
        }
        i += 2;
    }
    o.rounds = o.rounds.max(1);
    o
}

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

fn start() -> Res<Server> {
    start_with(&["--ephemeral"])
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

async fn mount(port: u16) -> Res<(Conn, nfs_fh3)> {
    let cred = opaque_auth::auth_unix(&auth_unix {
        stamp: 0,
        machinename: Opaque::owned(b"nfs-bench".to_vec()),
        uid: 0,
        gid: 0,
        gids: vec![],
    });
    let conn = Nfs3ConnectionBuilder::new(TokioConnector, "127.0.0.1", "/")
        .connect_from_privileged_port(false)
        .mount_port(port)
        .nfs3_port(port)
        .credential(cred)
        .mount()
        .await?;
    let root = conn.root_nfs_fh3();
    Ok((conn, root))
}

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

fn mbps(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64()
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
    match c
        .commit(&nfs3::COMMIT3args {
            file: fh,
            offset: 0,
            count: 0,
        })
        .await?
    {
        Nfs3Result::Ok(_) => Ok(t.elapsed()),
        Nfs3Result::Err((s, _)) => Err(fail("COMMIT", s)),
    }
}

async fn nfs_read(c: &mut Conn, root: &nfs_fh3, size: usize) -> Res<Duration> {
    let t = Instant::now();
    let fh = match c
        .lookup(&nfs3::LOOKUP3args {
            what: dirop(root, "bench.bin"),
        })
        .await?
    {
        Nfs3Result::Ok(ok) => ok.object,
        Nfs3Result::Err((s, _)) => return Err(fail("LOOKUP", s)),
    };
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

async fn nfs_small(c: &mut Conn, root: &nfs_fh3, files: usize, round: usize) -> Res<Duration> {
    let dir = match c
        .mkdir(&nfs3::MKDIR3args {
            where_: dirop(root, &format!("small-{round}")),
            attributes: nfs3::sattr3::default(),
        })
        .await?
    {
        Nfs3Result::Ok(ok) => match ok.obj {
            Nfs3Option::Some(fh) => fh,
            Nfs3Option::None => return Err("MKDIR returned no handle".into()),
        },
        Nfs3Result::Err((s, _)) => return Err(fail("MKDIR", s)),
    };
    let block = vec![0x5au8; SMALL];
    let t = Instant::now();
    for i in 0..files {
        let fh = create(c, &dir, &format!("f{i:05}"), 1).await?;
        write(c, &fh, 0, &block, nfs3::stable_how::FILE_SYNC).await?;
    }
    Ok(t.elapsed())
}

fn local_write(path: &Path, data: &[u8], size: usize) -> Res<Duration> {
    let t = Instant::now();
    let mut f = std::fs::File::create(path)?;
    let mut at = 0;
    while at < size {
        let n = CHUNK.min(size - at);
        f.write_all(&data[..n])?;
        at += n;
    }
    f.sync_all()?;
    Ok(t.elapsed())
}

fn local_read(path: &Path, size: usize) -> Res<Duration> {
    let t = Instant::now();
    let mut f = std::fs::File::open(path)?;
    let mut buf = vec![0u8; CHUNK];
    let mut got = 0;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        got += n;
    }
    if got != size {
        return Err(format!("read {got} bytes of {size}").into());
    }
    Ok(t.elapsed())
}

fn local_small(dir: &Path, files: usize, round: usize) -> Res<Duration> {
    let d = dir.join(format!("small-{round}"));
    std::fs::create_dir_all(&d)?;
    let block = vec![0x5au8; SMALL];
    let t = Instant::now();
    for i in 0..files {
        let mut f = std::fs::File::create(d.join(format!("f{i:05}")))?;
        f.write_all(&block)?;
        f.sync_all()?;
    }
    Ok(t.elapsed())
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        .unwrap_or(false)
}

/// `nfs-cp` upload and `nfs-cat` read of the same file, as in the project's notes on the peer.
fn libnfs(port: u16, local: &Path, size: usize) -> Res<(Duration, Duration)> {
    let url = format!("nfs://127.0.0.1//bench-cp.bin?nfsport={port}&mountport={port}&uid=0&gid=0");
    let t = Instant::now();
    let up = Command::new("nfs-cp")
        .arg(local)
        .arg(&url)
        .stdout(Stdio::null())
        .status()?;
    let w = t.elapsed();
    if !up.success() {
        return Err("nfs-cp failed".into());
    }
    let t = Instant::now();
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
    let r = t.elapsed();
    if got != size {
        return Err(format!("nfs-cat read {got} bytes of {size}").into());
    }
    Ok((w, r))
}

/// `LOCK_PAIRS` NLM v4 LOCK + UNLOCK pairs on the file `fh`, one call at a time.
async fn nlm_pairs(port: u16, fh: &[u8]) -> Res<Duration> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    fn opaque(b: &mut Vec<u8>, d: &[u8]) {
        b.extend_from_slice(&(d.len() as u32).to_be_bytes());
        b.extend_from_slice(d);
        b.resize(b.len() + (4 - d.len() % 4) % 4, 0);
    }
    let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    tcp.set_nodelay(true)?;
    let mut reply = vec![0u8; 4096];
    let started = Instant::now();
    for i in 0..LOCK_PAIRS * 2 {
        let lock = i % 2 == 0;
        let mut m = Vec::with_capacity(256);
        for w in [
            i as u32,
            0,
            2,
            100_021,
            4,
            if lock { 2 } else { 4 },
            0,
            0,
            0,
            0,
        ] {
            m.extend_from_slice(&w.to_be_bytes());
        }
        opaque(&mut m, b"ck");
        if lock {
            m.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1]); // not blocking, exclusive
        }
        opaque(&mut m, b"nfs-bench");
        opaque(&mut m, fh);
        opaque(&mut m, b"owner");
        m.extend_from_slice(&1u32.to_be_bytes());
        m.extend_from_slice(&0u64.to_be_bytes());
        m.extend_from_slice(&1u64.to_be_bytes());
        if lock {
            m.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1]); // not a reclaim, state 1
        }
        let mut rec = (0x8000_0000u32 | m.len() as u32).to_be_bytes().to_vec();
        rec.extend_from_slice(&m);
        tcp.write_all(&rec).await?;
        let mut mark = [0u8; 4];
        tcp.read_exact(&mut mark).await?;
        let len = (u32::from_be_bytes(mark) & 0x7fff_ffff) as usize;
        if len > reply.len() || len < 36 {
            return Err(fail("NLM reply", len));
        }
        tcp.read_exact(&mut reply[..len]).await?;
        // xid, REPLY, accepted, verifier (2 words), SUCCESS, cookie (2 words), status
        let stat = u32::from_be_bytes([reply[32], reply[33], reply[34], reply[35]]);
        if stat != 0 {
            return Err(fail("NLM status", stat));
        }
    }
    Ok(started.elapsed())
}

/// `LOCK_PAIRS` flock + unlock pairs on a local file.
fn local_locks(path: &Path) -> Res<Duration> {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    let started = Instant::now();
    for _ in 0..LOCK_PAIRS {
        f.try_lock().map_err(|e| fail("flock", e))?;
        f.unlock()?;
    }
    Ok(started.elapsed())
}

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

fn local_list(dir: &Path, plus: bool) -> Res<usize> {
    let mut n = 2; // . and .., which READDIR lists too
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        if plus {
            std::fs::symlink_metadata(e.path())?;
        }
        n += 1;
    }
    Ok(n)
}

/// Listing rows: per size, READDIRPLUS then READDIR, in entries/s (NFS, local), over the rounds.
async fn listings(rounds: usize) -> Res<Vec<(usize, [Vec<f64>; 4])>> {
    let state = tempfile::tempdir()?;
    let state_dir = state.path().to_string_lossy().into_owned();
    let server = start_with(&["--state-dir", &state_dir])?;
    let (mut c, root) = mount(server.port).await?;
    let local = tempfile::tempdir()?;
    let mut dirs = Vec::new();
    for n in LISTINGS {
        let name = format!("list-{n}");
        let fh = mkdir(&mut c, &root, &name).await?;
        let marker = format!("marker-{n}");
        create(&mut c, &fh, &marker, 0).await?;
        let disk = on_disk(state.path(), &marker)?;
        let peer = local.path().join(&name);
        std::fs::create_dir_all(&peer)?;
        std::fs::File::create(peer.join(&marker))?;
        for i in 1..n {
            let f = format!("entry-{i:06}-of-a-listing");
            std::fs::File::create(disk.join(&f))?;
            std::fs::File::create(peer.join(&f))?;
        }
        dirs.push((n, fh, peer));
    }
    let mut out = Vec::new();
    for (n, fh, peer) in &dirs {
        let mut v: [Vec<f64>; 4] = Default::default();
        for _ in 0..rounds {
            for (i, plus) in [true, false].into_iter().enumerate() {
                let t = Instant::now();
                let got = nfs_list(&mut c, fh, plus).await?;
                v[2 * i].push(got as f64 / t.elapsed().as_secs_f64());
                if got != n + 2 {
                    return Err(format!("listed {got} of {} entries", n + 2).into());
                }
                let t = Instant::now();
                let got = local_list(peer, plus)?;
                v[2 * i + 1].push(got as f64 / t.elapsed().as_secs_f64());
            }
        }
        out.push((*n, v));
    }
    drop(server);
    Ok(out)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// One measured line: the median over the rounds on ontap-sim's NFS and on the local file system.
pub struct Row {
    pub work: String,
    pub nfs: f64,
    pub local: f64,
    pub unit: &'static str,
}

/// Run every round and return the medians.
pub async fn measure(o: &Opts) -> Res<Vec<Row>> {
    let rounds = o.rounds.max(1);
    let size = o.size_mib << 20;
    let server = start()?;
    let (mut c, root) = mount(server.port).await?;
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

    let (mut nw, mut lw, mut nr, mut lr, mut ns, mut ls) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    let (mut cw, mut cr) = (vec![], vec![]);
    let (mut nl, mut ll) = (vec![], vec![]);
    let lock_file = create(&mut c, &root, "bench-lock.bin", 0).await?;
    let with_libnfs = on_path("nfs-cp") && on_path("nfs-cat");
    for round in 0..rounds {
        nw.push(mbps(size, nfs_write(&mut c, &root, &data, size).await?));
        lw.push(mbps(size, local_write(&local_file, &data, size)?));
        nr.push(mbps(size, nfs_read(&mut c, &root, size).await?));
        lr.push(mbps(size, local_read(&local_file, size)?));
        ns.push(
            o.files as f64
                / nfs_small(&mut c, &root, o.files, round)
                    .await?
                    .as_secs_f64(),
        );
        ls.push(o.files as f64 / local_small(local.path(), o.files, round)?.as_secs_f64());
        nl.push(
            LOCK_PAIRS as f64
                / nlm_pairs(server.port, lock_file.data.as_ref())
                    .await?
                    .as_secs_f64(),
        );
        ll.push(LOCK_PAIRS as f64 / local_locks(&local.path().join("lock.bin"))?.as_secs_f64());
        if with_libnfs {
            // nfs-cp will not overwrite: remove the previous round's copy first.
            let _ = c
                .remove(&nfs3::REMOVE3args {
                    object: dirop(&root, "bench-cp.bin"),
                })
                .await;
            let (w, r) = libnfs(server.port, &local_file, size)?;
            cw.push(mbps(size, w));
            cr.push(mbps(size, r));
        }
    }

    let row = |work: String, nfs: Vec<f64>, local: Vec<f64>, unit| Row {
        work,
        nfs: median(nfs),
        local: median(local),
        unit,
    };
    let mut rows = vec![
        row(
            format!("write {} MiB (1 MiB UNSTABLE + COMMIT / fsync)", o.size_mib),
            nw,
            lw,
            "MB/s",
        ),
        row(
            format!("read {} MiB (1 MiB READs / reads)", o.size_mib),
            nr,
            lr,
            "MB/s",
        ),
        row(
            "small files (CREATE + 4 KiB FILE_SYNC / +fsync)".into(),
            ns,
            ls,
            "files/s",
        ),
        row(
            "locks (NLM LOCK + UNLOCK / flock + unlock)".into(),
            nl,
            ll,
            "pairs/s",
        ),
    ];
    if with_libnfs {
        let lw = lw_again(&local_file, &data, size, rounds)?;
        let lr = lr_again(&local_file, size, rounds)?;
        rows.push(row(
            format!("nfs-cp upload {} MiB (libnfs)", o.size_mib),
            cw,
            lw,
            "MB/s",
        ));
        rows.push(row(
            format!("nfs-cat {} MiB to a pipe (libnfs)", o.size_mib),
            cr,
            lr,
            "MB/s",
        ));
    }
    drop(server);
    let listed = listings(rounds).await?;
    let mut first_last = [(0.0, 0.0); 2];
    for (k, (n, [np, lp, nr, lr])) in listed.into_iter().enumerate() {
        let (np, lp, nr, lr) = (median(np), median(lp), median(nr), median(lr));
        if k == 0 {
            first_last[0] = (np, lp);
        }
        first_last[1] = (np, lp);
        let kilo = n / 1000;
        rows.push(Row {
            work: format!("list {kilo}k entries: READDIRPLUS / readdir+lstat"),
            nfs: np,
            local: lp,
            unit: "entries/s",
        });
        rows.push(Row {
            work: format!("list {kilo}k entries: READDIR 32 KiB / readdir"),
            nfs: nr,
            local: lr,
            unit: "entries/s",
        });
    }
    // Cost per entry is the inverse of the rate: cost(100k) / cost(1k) = rate(1k) / rate(100k).
    let (small, big) = (first_last[0], first_last[1]);
    rows.push(Row {
        work: format!(
            "READDIRPLUS cost per entry, {}k over {}k",
            LISTINGS[LISTINGS.len() - 1] / 1000,
            LISTINGS[0] / 1000
        ),
        nfs: small.0 / big.0,
        local: small.1 / big.1,
        unit: "x",
    });
    Ok(rows)
}

async fn run() -> Res<()> {
    let o = opts();
    let rows = measure(&o).await?;
    println!(
        "ontap-sim NFS benchmark: {} MiB sequential, {} x 4 KiB files, median of {} rounds, {} CPUs",
        o.size_mib,
        o.files,
        o.rounds,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "{:<44} {:>19} {:>19} {:>6}",
        "work", "NFS (ontap-sim)", "local file system", "ratio"
    );
    for r in &rows {
        println!(
            "{:<44} {:>10.1} {:<8} {:>10.1} {:<8} {:>6.2}",
            r.work,
            r.nfs,
            r.unit,
            r.local,
            r.unit,
            r.nfs / r.local
        );
    }
    if !(on_path("nfs-cp") && on_path("nfs-cat")) {
        println!("(install libnfs-utils for nfs-cp / nfs-cat figures)");
    }
    Ok(())
}

/// The local peers again, for the libnfs rows (same work, measured after them).
fn lw_again(path: &Path, data: &[u8], size: usize, rounds: usize) -> Res<Vec<f64>> {
    (0..rounds)
        .map(|_| local_write(path, data, size).map(|d| mbps(size, d)))
        .collect()
}

fn lr_again(path: &Path, size: usize, rounds: usize) -> Res<Vec<f64>> {
    (0..rounds)
        .map(|_| local_read(path, size).map(|d| mbps(size, d)))
        .collect()
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
