//! Durability: every change to the model is in the journal, fsynced, before the client hears of it.
//!
//! Why a journal of our own rather than an embedded database: the model already knows exactly
//! which objects one operation touched (its tables keep an undo log), so a change is one appended
//! line of JSON records, written with one `fdatasync`. JSON keeps the state readable and
//! diffable; a CRC on every line and on the snapshot catches truncation and hand edits. The journal
//! is folded into a snapshot (`state.snap`, written to a temporary file, fsynced and renamed) every
//! [`COMPACT_EVERY`] changes and at a clean stop, so loading stays one sequential read. The
//! periodic fold runs on a thread of its own: the journal it folds is set aside as
//! `journal.prev` (and `dirty.log` as `dirty.prev`) and removed once the snapshot holding it is in
//! place, so writers wait only while the records are written into memory, never for the snapshot's disk work. The
//! snapshot holds a header line and then one record per line, in key order: its lines are decoded
//! on every core at once, and the tables are built from them in bulk.
//!
//! Layout of a state dir: `state.lock` (one simulator per dir), `state.snap`, `journal.log`,
//! `journal.prev` and `dirty.prev` (while a fold runs, or after a crash cut one short), `state.clean` (a clean stop), `volumes/<volume uuid>/` (each volume's data, see [`data`]),
//! `orphans/` (data directories that lost their volume, kept for the user), `certs/`.

pub mod data;
pub mod records;

use crate::model::{Cluster, Counters};
use anyhow::{anyhow, bail, Context, Result};
use records::{Record, RecordKey};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tracing::{info, warn};

/// The state format this build writes. Older formats are migrated on load; newer ones refused.
/// 2: `state.snap` is a header line and one record per line (1: one JSON document, the layout of
/// [`StateDoc`]). Journal lines and the state document are the same in both.
pub const FORMAT_VERSION: u32 = 2;
/// The oldest state format this build reads.
pub const OLDEST_FORMAT_VERSION: u32 = 1;
const SNAP_FORMAT: &str = "ontap-sim-state";
const JOURNAL_FORMAT: &str = "ontap-sim-journal";
/// Journal lines written before the journal is folded into the snapshot.
pub const COMPACT_EVERY: u64 = 20_000;

pub const SNAPSHOT_FILE: &str = "state.snap";
pub const JOURNAL_FILE: &str = "journal.log";
/// The journal a background fold is putting into a snapshot: read before `journal.log`.
pub const PREV_JOURNAL_FILE: &str = "journal.prev";
const LOCK_FILE: &str = "state.lock";
/// Present only between a clean stop and the next start.
const CLEAN_FILE: &str = "state.clean";
/// Volumes whose data changed outside the journal (NFS writes, copies) since the last snapshot:
/// after an unclean stop only these are measured again.
const DIRTY_FILE: &str = "dirty.log";
/// The dirty marks of the journal a background fold is folding.
const PREV_DIRTY_FILE: &str = "dirty.prev";

/// One operation's changes: the records it wrote and the ones it removed.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    pub seq: u64,
    pub counters: Counters,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub put: Vec<Record>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub del: Vec<RecordKey>,
}

/// The whole saved state: what `state.snap` holds and what the control API's `/state` carries.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateDoc {
    pub format: String,
    pub version: u32,
    pub seq: u64,
    pub counters: Counters,
    pub records: Vec<Record>,
}

impl StateDoc {
    pub fn of(c: &Cluster) -> StateDoc {
        StateDoc {
            format: SNAP_FORMAT.into(),
            version: FORMAT_VERSION,
            seq: 0,
            counters: c.counters,
            records: records::all(c),
        }
    }

    /// Check the format and version (as for a file) and turn it into loaded state.
    pub fn into_loaded(self) -> Loaded {
        Loaded {
            clean: true,
            counters: self.counters,
            records: self.records,
            seq: self.seq,
            journal_lines: 0,
            dirty: Vec::new(),
        }
    }

    pub fn check(&self) -> Result<()> {
        check_version(
            Path::new("(state document)"),
            &self.format,
            SNAP_FORMAT,
            self.version,
        )
    }
}

/// The first line of a snapshot (format 2 on); the records follow, one per line.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SnapHeader {
    format: String,
    version: u32,
    seq: u64,
    counters: Counters,
}

/// What `state.snap` held.
struct Snapshot {
    seq: u64,
    counters: Counters,
    records: Vec<Record>,
    /// The records ascend by key, one per key (as this build writes them).
    sorted: bool,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct JournalHeader {
    format: String,
    version: u32,
}

/// What a state dir held at start.
pub struct Loaded {
    /// The last run stopped cleanly (usage figures in the state are exact).
    pub clean: bool,
    pub counters: Counters,
    /// From a state dir: sorted by key, one per key (as [`records::load_into`] builds tables
    /// fastest); from a state document: as the document lists them.
    pub records: Vec<Record>,
    pub seq: u64,
    pub journal_lines: u64,
    /// Volumes whose data may differ from the saved usage figures (see [`Store::mark_dirty`]).
    pub dirty: Vec<uuid::Uuid>,
}

pub struct Store {
    dir: PathBuf,
    /// Shared with the syncers, so a group commit needs no descriptor of its own.
    journal: Arc<File>,
    /// Its length, kept here: an append then costs one system call.
    journal_len: u64,
    seq: u64,
    lines_since_snapshot: u64,
    /// Journal lines between folds ([`COMPACT_EVERY`]; tests use fewer).
    compact_every: u64,
    dirty: HashSet<uuid::Uuid>,
    dirty_log: File,
    /// A fold running in the background (see [`Store::compact_in_background`]).
    folding: Option<std::thread::JoinHandle<Result<()>>>,
    /// The last snapshot's size, to size the next one's buffer.
    snapshot_len: usize,
    _lock: File,
}

fn crc_hex(bytes: &[u8]) -> String {
    format!("{:08x}", crc32fast::hash(bytes))
}

/// `<crc> <json>` -> json, checking the CRC.
fn unframe(line: &str) -> Option<&str> {
    let (crc, json) = line.split_once(' ')?;
    (crc == crc_hex(json.as_bytes())).then_some(json)
}

fn fsync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing directory {}", dir.display()))
}

fn check_version(file: &Path, format: &str, expected: &str, version: u32) -> Result<()> {
    if format != expected {
        bail!(
            "{}: not an ontap-sim state file (format \"{format}\", expected \"{expected}\"); refusing to start",
            file.display()
        );
    }
    match version {
        OLDEST_FORMAT_VERSION..=FORMAT_VERSION => Ok(()),
        v if v > FORMAT_VERSION => bail!(
            "{}: written by a newer ontap-sim (state format {v}; this build reads up to {FORMAT_VERSION}); refusing to start rather than misread it. Run the newer build, or move the state dir aside",
            file.display()
        ),
        v => bail!(
            "{}: state format {v} is older than any this build can migrate (it reads {OLDEST_FORMAT_VERSION} to {FORMAT_VERSION}); move the state dir aside",
            file.display()
        ),
    }
}

impl Store {
    /// Open (or create) a state dir. Returns what it held, if anything. Refuses, naming the file and
    /// the problem, when the state cannot be read exactly; it never rewrites state it cannot read.
    pub fn open(dir: &Path) -> Result<(Store, Option<Loaded>)> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating state dir {}", dir.display()))?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(LOCK_FILE))
            .with_context(|| format!("opening {}", dir.join(LOCK_FILE).display()))?;
        if lock.try_lock().is_err() {
            bail!(
                "state dir {} is in use by another ontap-sim (it holds {}); use another --state-dir",
                dir.display(),
                LOCK_FILE
            );
        }
        let journal_path = dir.join(JOURNAL_FILE);
        let prev_path = dir.join(PREV_JOURNAL_FILE);
        let read = |path: &Path| path.exists().then(|| read_journal(path)).transpose();
        // The journals are read beside the snapshot: all are CPU-bound decoding.
        let (snap, prev, journal) = std::thread::scope(|s| {
            let journal = s.spawn(|| read(&journal_path));
            let prev = read(&prev_path);
            let snap = read_snapshot(&dir.join(SNAPSHOT_FILE));
            let journal = journal
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            (snap, prev, journal)
        });
        let (mut seq, mut counters, base, sorted) = match snap? {
            Some(s) => (s.seq, Some(s.counters), s.records, s.sorted),
            None => (0, None, Vec::new(), true),
        };
        let mut journal_lines = 0;
        // What the journal changed since the snapshot, by key (None: removed); the last change
        // to a key wins. Few next to the snapshot's records: they are merged in one pass below.
        let mut changes: BTreeMap<RecordKey, Option<Record>> = BTreeMap::new();
        // A fold cut short leaves the journal it was folding: its changes come first.
        for (path, journal) in [(&prev_path, prev?), (&journal_path, journal?)] {
            let Some(journal) = journal else { continue };
            let torn_at = journal.torn_at;
            for b in journal.after(path, seq)? {
                seq = b.seq;
                counters = Some(b.counters);
                for k in b.del {
                    changes.insert(k.normalized(), None);
                }
                for r in b.put {
                    changes.insert(r.key(), Some(r));
                }
                journal_lines += 1;
            }
            if let Some(good) = torn_at {
                preserve_torn_tail(path, good)?;
            }
        }
        let clean_marker = dir.join(CLEAN_FILE);
        let clean = clean_marker.exists() && journal_lines == 0;
        if clean_marker.exists() {
            std::fs::remove_file(&clean_marker)
                .with_context(|| format!("removing {}", clean_marker.display()))?;
        }
        let dirty_path = dir.join(DIRTY_FILE);
        // A torn last line (a crash mid-append) simply fails to parse: that volume's data had not
        // been touched yet, since the mark is synced before the data changes.
        let dirty: HashSet<uuid::Uuid> = [dir.join(PREV_DIRTY_FILE), dirty_path.clone()]
            .iter()
            .flat_map(|p| {
                std::fs::read_to_string(p)
                    .unwrap_or_default()
                    .lines()
                    .filter_map(|l| l.trim().parse().ok())
                    .collect::<Vec<_>>()
            })
            .collect();
        let dirty_log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&dirty_path)
            .with_context(|| format!("opening {}", dirty_path.display()))?;
        let records = merge(base, sorted, changes);

        let loaded = counters.map(|counters| Loaded {
            clean,
            counters,
            records,
            seq,
            journal_lines,
            dirty: dirty.iter().copied().collect(),
        });
        let journal = open_journal(&journal_path)?;
        let journal_len = journal.metadata()?.len();
        let store = Store {
            dir: dir.to_path_buf(),
            journal: Arc::new(journal),
            journal_len,
            seq,
            lines_since_snapshot: journal_lines,
            compact_every: COMPACT_EVERY,
            dirty,
            dirty_log,
            folding: None,
            snapshot_len: std::fs::metadata(dir.join(SNAPSHOT_FILE))
                .map_or(0, |m| m.len() as usize),
            _lock: lock,
        };
        Ok((store, loaded))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn volumes_dir(&self) -> PathBuf {
        self.dir.join("volumes")
    }

    /// Mark a clean stop: the snapshot just written holds exact usage figures, so the next start
    /// need not measure the data directories.
    pub fn mark_clean(&self) -> Result<()> {
        let p = self.dir.join(CLEAN_FILE);
        std::fs::write(&p, format!("{}\n", self.seq))
            .with_context(|| format!("writing {}", p.display()))?;
        fsync_dir(&self.dir)
    }

    /// Note, durably and before it happens, that a volume's data is about to change outside the
    /// journal (an NFS write, a copy), so that after a crash its usage is measured again. Each
    /// volume costs one synced line per snapshot period.
    pub fn mark_dirty(&mut self, volumes: &[uuid::Uuid]) -> Result<()> {
        let new: Vec<&uuid::Uuid> = volumes.iter().filter(|v| !self.dirty.contains(v)).collect();
        if new.is_empty() {
            return Ok(());
        }
        let text: String = new.iter().map(|v| format!("{v}\n")).collect();
        self.dirty_log
            .write_all(text.as_bytes())
            .and_then(|_| self.dirty_log.sync_data())
            .with_context(|| format!("writing {}", self.dir.join(DIRTY_FILE).display()))?;
        self.dirty.extend(new.into_iter().copied());
        Ok(())
    }

    /// Append one operation's changes to the journal (not yet fsynced; see [`Store::syncer`]).
    /// Returns its sequence number, or None when it changed nothing saved. On error nothing was
    /// written (a partial line is cut off again) and the caller rolls the operation back.
    pub fn append(&mut self, cluster: &Cluster) -> Result<Option<u64>> {
        let (put, del) = records::changes(cluster);
        if put.is_empty() && del.is_empty() {
            return Ok(None);
        }
        let batch = Batch {
            seq: self.seq + 1,
            counters: cluster.counters,
            put,
            del,
        };
        let json = serde_json::to_string(&batch)?;
        let line = format!("{} {json}\n", crc_hex(json.as_bytes()));
        if let Err(e) = (&*self.journal).write_all(line.as_bytes()) {
            let _ = self.journal.set_len(self.journal_len);
            return Err(e)
                .with_context(|| format!("writing {}", self.dir.join(JOURNAL_FILE).display()));
        }
        self.journal_len += line.len() as u64;
        self.seq = batch.seq;
        self.lines_since_snapshot += 1;
        Ok(Some(self.seq))
    }

    /// A handle on the journal and the last sequence number written to it, to fsync outside the
    /// store's lock: concurrent operations then share one fsync (group commit).
    pub fn syncer(&self) -> (Arc<File>, u64) {
        (self.journal.clone(), self.seq)
    }

    pub fn wants_compaction(&self) -> bool {
        self.lines_since_snapshot >= self.compact_every
    }

    /// Fold every `n` journal lines instead of [`COMPACT_EVERY`] (tests).
    pub fn set_compact_every(&mut self, n: u64) {
        self.compact_every = n.max(1);
    }

    fn header(&self, cluster: &Cluster) -> SnapHeader {
        SnapHeader {
            format: SNAP_FORMAT.into(),
            version: FORMAT_VERSION,
            seq: self.seq,
            counters: cluster.counters,
        }
    }

    /// Wait for a background fold, if one runs. Its failure only means its journal stays (read at
    /// the next start, folded by the next compaction): logged, not returned.
    pub fn finish_folding(&mut self) {
        if let Some(fold) = self.folding.take() {
            match fold.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    warn!(error = %format!("{e:#}"), "a background snapshot failed; its journal is kept and folded next time")
                }
                Err(_) => warn!("a background snapshot panicked; its journal is kept"),
            }
        }
    }

    /// Fold everything into a new snapshot now and start an empty journal.
    pub fn compact(&mut self, cluster: &Cluster) -> Result<()> {
        self.finish_folding();
        write_snapshot(&self.dir, &self.header(cluster), records::refs(cluster))?;
        // The snapshot now holds every journaled change: start the journal afresh.
        let jpath = self.dir.join(JOURNAL_FILE);
        let jtmp = self.dir.join(format!("{JOURNAL_FILE}.tmp"));
        write_journal_header(&jtmp)?;
        std::fs::rename(&jtmp, &jpath)?;
        fsync_dir(&self.dir)?;
        self.journal = Arc::new(open_journal(&jpath)?);
        self.journal_len = self.journal.metadata()?.len();
        self.lines_since_snapshot = 0;
        // The snapshot holds every volume's usage as the model has it now: nothing is dirty.
        self.dirty_log.set_len(0)?;
        self.dirty_log.sync_data()?;
        self.dirty.clear();
        remove_folded(&self.dir)?;
        info!(
            seq = self.seq,
            "state compacted into {}",
            self.dir.join(SNAPSHOT_FILE).display()
        );
        Ok(())
    }

    /// Fold the journal into a new snapshot on a thread of its own. Under the caller's locks it
    /// only syncs the journal, sets it (and the dirty marks) aside, starts new ones and writes
    /// the records; the snapshot is written, synced and put in place meanwhile, and the set-aside
    /// files removed after. A crash before that leaves them, and the next start reads the old
    /// snapshot and both journals. Everything journaled so far is durable when this returns.
    pub fn compact_in_background(&mut self, cluster: &Cluster) -> Result<()> {
        // The last fold had all of `compact_every` changes' time to finish.
        self.finish_folding();
        if self.dir.join(PREV_JOURNAL_FILE).exists() {
            // A fold failed or was cut short: its journal holds changes no snapshot has yet, and
            // must not be replaced by this one's. Fold both here.
            return self.compact(cluster);
        }
        self.journal
            .sync_data()
            .with_context(|| format!("syncing {}", self.dir.join(JOURNAL_FILE).display()))?;
        let (jpath, jtmp) = (
            self.dir.join(JOURNAL_FILE),
            self.dir.join(format!("{JOURNAL_FILE}.tmp")),
        );
        let (dpath, dprev) = (self.dir.join(DIRTY_FILE), self.dir.join(PREV_DIRTY_FILE));
        write_journal_header(&jtmp)?;
        std::fs::rename(&jpath, self.dir.join(PREV_JOURNAL_FILE))?;
        std::fs::rename(&jtmp, &jpath)?;
        std::fs::rename(&dpath, &dprev)?;
        let dirty_log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&dpath)
            .with_context(|| format!("opening {}", dpath.display()))?;
        fsync_dir(&self.dir)?;
        self.journal = Arc::new(open_journal(&jpath)?);
        self.journal_len = self.journal.metadata()?.len();
        self.dirty_log = dirty_log;
        self.dirty.clear();
        self.lines_since_snapshot = 0;
        // The records are written out here, into memory: a copy of the model's objects would cost
        // as much memory and, freed in small pieces, stay resident; one large buffer goes back to
        // the system when the fold drops it.
        let mut body = Vec::with_capacity(self.snapshot_len + self.snapshot_len / 8);
        snapshot_body(&mut body, &self.header(cluster), records::refs(cluster))?;
        self.snapshot_len = body.len();
        let (dir, seq) = (self.dir.clone(), self.seq);
        let fold = std::thread::Builder::new()
            .name("snapshot".into())
            .spawn(move || {
                let mut w = Vec::new();
                let tmp = dir.join(format!("{SNAPSHOT_FILE}.tmp"));
                write!(
                    w,
                    "\ncrc {:08x} len {}\n",
                    crc32fast::hash(&body),
                    body.len()
                )?;
                File::create(&tmp)
                    .and_then(|mut f| {
                        f.write_all(&body)?;
                        f.write_all(&w)?;
                        f.sync_all()
                    })
                    .with_context(|| format!("writing {}", tmp.display()))?;
                drop(body);
                std::fs::rename(&tmp, dir.join(SNAPSHOT_FILE))?;
                fsync_dir(&dir)?;
                remove_folded(&dir)?;
                info!(
                    seq,
                    "state compacted into {}",
                    dir.join(SNAPSHOT_FILE).display()
                );
                Ok(())
            })
            .context("starting the snapshot thread")?;
        self.folding = Some(fold);
        Ok(())
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.finish_folding();
    }
}

/// A snapshot's header and records, one per line (its CRC trailer follows them).
fn snapshot_body<R: Serialize>(
    w: &mut impl Write,
    header: &SnapHeader,
    records: impl Iterator<Item = R>,
) -> Result<()> {
    // Compact JSON has no raw newline: one record per line, in key order.
    serde_json::to_writer(&mut *w, header)?;
    for r in records {
        w.write_all(b"\n")?;
        serde_json::to_writer(&mut *w, &r)?;
    }
    Ok(())
}

/// Write `state.snap`: to a temporary file, synced, then renamed over the old one.
fn write_snapshot<R: Serialize>(
    dir: &Path,
    header: &SnapHeader,
    records: impl Iterator<Item = R>,
) -> Result<()> {
    let path = dir.join(SNAPSHOT_FILE);
    let tmp = dir.join(format!("{SNAPSHOT_FILE}.tmp"));
    {
        let f = File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        let mut w = CrcWriter {
            inner: BufWriter::new(f),
            hasher: crc32fast::Hasher::new(),
            len: 0,
        };
        snapshot_body(&mut w, header, records)?;
        let (crc, len) = (w.hasher.clone().finalize(), w.len);
        let mut inner = w.inner;
        write!(inner, "\ncrc {crc:08x} len {len}\n")?;
        let f = inner
            .into_inner()
            .map_err(|e| anyhow!("writing {}: {e}", tmp.display()))?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &path)?;
    fsync_dir(dir)
}

/// Remove what a fold set aside, now that a snapshot holds it.
fn remove_folded(dir: &Path) -> Result<()> {
    let mut removed = false;
    for name in [PREV_JOURNAL_FILE, PREV_DIRTY_FILE] {
        match std::fs::remove_file(dir.join(name)) {
            Ok(()) => removed = true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("removing {}", dir.join(name).display()))
            }
        }
    }
    if removed {
        fsync_dir(dir)?;
    }
    Ok(())
}

struct CrcWriter<W: Write> {
    inner: W,
    hasher: crc32fast::Hasher,
    len: u64,
}

impl<W: Write> Write for CrcWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The whole of a file, or None if there is none. A large file is read in parts by several
/// threads: the copy and the page faults of a fresh 80 MB buffer are shared among the cores.
fn read_whole(path: &Path) -> Result<Option<Vec<u8>>> {
    use std::os::unix::fs::FileExt;
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("opening {}", path.display())),
    };
    let reading = || format!("reading {}", path.display());
    let len = f.metadata().with_context(reading)?.len() as usize;
    let mut bytes = vec![0u8; len];
    let part = len.div_ceil(workers(len)).max(1);
    std::thread::scope(|s| {
        let f = &f;
        let mut parts = bytes.chunks_mut(part).enumerate();
        let first = parts.next();
        let others: Vec<_> = parts
            .map(|(i, p)| s.spawn(move || f.read_exact_at(p, (i * part) as u64)))
            .collect();
        let mut result = first.map_or(Ok(()), |(_, p)| f.read_exact_at(p, 0));
        for h in others {
            let r = h.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            result = result.and(r);
        }
        result
    })
    .with_context(reading)?;
    Ok(Some(bytes))
}

/// How many threads share work on `len` bytes: below a MiB each, a thread costs more than it saves.
fn workers(len: usize) -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(len >> 20)
        .clamp(1, 8)
}

fn read_snapshot(path: &Path) -> Result<Option<Snapshot>> {
    let Some(bytes) = read_whole(path)? else {
        return Ok(None);
    };
    let bad = |why: &str| {
        anyhow!(
            "{}: {why}; refusing to start (the file is left as it is: restore it, or move the state dir aside)",
            path.display()
        )
    };
    let body_end = bytes
        .strip_suffix(b"\n")
        .and_then(|b| b.iter().rposition(|c| *c == b'\n'))
        .ok_or_else(|| bad("truncated (no checksum trailer)"))?;
    let trailer = std::str::from_utf8(&bytes[body_end + 1..bytes.len() - 1])
        .map_err(|_| bad("truncated or damaged (unreadable trailer)"))?;
    let body = &bytes[..body_end];
    let mut parts = trailer.split(' ');
    let (crc, len) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("crc"), Some(crc), Some("len"), Some(len)) => (crc, len),
        _ => return Err(bad("truncated (no checksum trailer)")),
    };
    if len.parse::<usize>().ok() != Some(body.len()) {
        return Err(bad(&format!(
            "truncated: {} bytes of state where the trailer records {len}",
            body.len()
        )));
    }
    if crc != crc_hex(body) {
        return Err(bad(
            "checksum mismatch: the file was changed or damaged after it was written",
        ));
    }
    // The format and version lead the first line in every format.
    #[derive(Deserialize)]
    struct Head {
        format: String,
        version: u32,
    }
    let first_end = body.iter().position(|c| *c == b'\n').unwrap_or(body.len());
    let first = &body[..first_end];
    let head: Head = serde_json::from_slice(first).map_err(|e| bad(&format!("unreadable: {e}")))?;
    check_version(path, &head.format, SNAP_FORMAT, head.version)?;
    if head.version == 1 {
        let doc: StateDoc =
            serde_json::from_slice(body).map_err(|e| bad(&format!("unreadable: {e}")))?;
        let sorted = doc.records.is_sorted_by(|a, b| a.key_ref() < b.key_ref());
        return Ok(Some(Snapshot {
            seq: doc.seq,
            counters: doc.counters,
            records: doc.records,
            sorted,
        }));
    }
    let header: SnapHeader =
        serde_json::from_slice(first).map_err(|e| bad(&format!("unreadable: line 1: {e}")))?;
    let rest = body.get(first_end + 1..).unwrap_or_default();
    let (records, sorted) = decode_lines(rest, workers(rest.len())).map_err(|(line, e)| {
        bad(&format!(
            "unreadable: line {}: {e}",
            line + 2 // 1-based, after the header line
        ))
    })?;
    Ok(Some(Snapshot {
        seq: header.seq,
        counters: header.counters,
        records,
        sorted,
    }))
}

/// Decode one record per line, the lines split among `threads` threads (a snapshot of 100k
/// volumes is most of the start-up time otherwise). Also says whether the keys strictly ascend,
/// checked while each record is still in cache. On error: the 0-based line and what is wrong.
fn decode_lines(
    text: &[u8],
    threads: usize,
) -> std::result::Result<(Vec<Record>, bool), (usize, serde_json::Error)> {
    if text.is_empty() {
        return Ok((Vec::new(), true));
    }
    // Chunk boundaries: just after a newline near each even share of the bytes.
    let mut starts = vec![0];
    for i in 1..threads {
        let from = (text.len() * i / threads).max(*starts.last().unwrap_or(&0));
        match text[from..].iter().position(|c| *c == b'\n') {
            Some(nl) if from + nl + 1 < text.len() => starts.push(from + nl + 1),
            _ => break,
        }
    }
    starts.dedup();
    let chunk = |i: usize| &text[starts[i]..starts.get(i + 1).map_or(text.len(), |e| e - 1)];
    // Ok((records, ascending)), or Err(byte offset of the bad line in the chunk, error).
    type Decoded = std::result::Result<(Vec<Record>, bool), (usize, serde_json::Error)>;
    let decode = |bytes: &[u8]| -> Decoded {
        let mut out: Vec<Record> = Vec::with_capacity(bytes.len() / 512);
        let mut ascending = true;
        let mut at = 0;
        // Checked as UTF-8 once, so that the parser need not check each string again (a chunk
        // that is not UTF-8 is parsed as bytes, which names the bad line).
        let utf8 = std::str::from_utf8(bytes);
        for line in bytes.split(|c| *c == b'\n') {
            let r: Record = match utf8 {
                Ok(text) => serde_json::from_str(&text[at..at + line.len()]),
                Err(_) => serde_json::from_slice(line),
            }
            .map_err(|e| (at, e))?;
            // Text XML cannot carry (a hand edit, or a build that let it in) is refused, naming
            // the record; the scan of the raw line is cheap, the record is looked at only then.
            if crate::model::text::json_has_forbidden(line) {
                if let Err(why) = r.check_text() {
                    return Err((at, <serde_json::Error as serde::de::Error>::custom(why)));
                }
            }
            ascending = ascending && out.last().is_none_or(|p| p.key_ref() < r.key_ref());
            out.push(r);
            at += line.len() + 1;
        }
        Ok((out, ascending))
    };
    let results: Vec<Decoded> = std::thread::scope(|s| {
        let others: Vec<_> = (1..starts.len())
            .map(|i| s.spawn(move || decode(chunk(i))))
            .collect();
        let mut all = vec![decode(chunk(0))];
        all.extend(
            others
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))),
        );
        all
    });
    let total = results
        .iter()
        .map(|r| r.as_ref().map_or(0, |(v, _)| v.len()))
        .sum();
    let mut records: Vec<Record> = Vec::with_capacity(total);
    let mut ascending = true;
    for (i, r) in results.into_iter().enumerate() {
        match r {
            Ok((mut v, asc)) => {
                let joins = match (records.last(), v.first()) {
                    (Some(a), Some(b)) => a.key_ref() < b.key_ref(),
                    _ => true,
                };
                ascending = ascending && asc && joins;
                records.append(&mut v);
            }
            Err((at, e)) => {
                let offset = starts[i] + at;
                let line = text[..offset].iter().filter(|c| **c == b'\n').count();
                return Err((line, e));
            }
        }
    }
    Ok((records, ascending))
}

/// The snapshot's records with the journal's changes applied: one per key, in key order. The
/// snapshot's records come sorted (see [`records::refs`]) unless it was written otherwise
/// (`sorted` false): then they are sorted here.
fn merge(
    base: Vec<Record>,
    sorted: bool,
    changes: BTreeMap<RecordKey, Option<Record>>,
) -> Vec<Record> {
    let mut base = base;
    if !sorted {
        // Stable, so that of records with one key the last one wins, as on replay.
        base.sort_by(|a, b| a.key_ref().cmp(&b.key_ref()));
        base.dedup_by(|later, kept| {
            let same = later.key_ref() == kept.key_ref();
            if same {
                std::mem::swap(later, kept);
            }
            same
        });
    }
    if changes.is_empty() {
        return base;
    }
    // Each change is placed by binary search: the records between changes move without their
    // keys being read (100k keys read one by one cost a cache miss each).
    let mut out = Vec::with_capacity(base.len() + changes.len());
    let mut rest = base.into_iter();
    for (k, change) in changes {
        let before = rest
            .as_slice()
            .partition_point(|r| r.key_ref() < k.key_ref());
        out.extend(rest.by_ref().take(before));
        if rest
            .as_slice()
            .first()
            .is_some_and(|r| r.key_ref() == k.key_ref())
        {
            rest.next(); // replaced or removed
        }
        out.extend(change);
    }
    out.extend(rest);
    out
}

/// A journal as read: its changes in order, each with where it is, for messages.
struct Journal {
    lines: Vec<JournalLine>,
    /// The first line that could not be read, if any: it is reported once the lines before it
    /// have been checked against the snapshot, so that the first problem in the file is named.
    error: Option<anyhow::Error>,
    /// Byte offset where an unfinished last line starts (a write cut short by a crash).
    torn_at: Option<u64>,
}

struct JournalLine {
    line_no: usize,
    at: usize,
    batch: Batch,
}

fn journal_error(path: &Path, line_no: usize, at: usize, why: String) -> anyhow::Error {
    anyhow!(
        "{} line {line_no} (byte {at}): {why}; refusing to start (nothing was changed: restore the file or move the state dir aside)",
        path.display()
    )
}

/// Read and check every line of the journal; which changes to apply is decided once the
/// snapshot's sequence number is known ([`Journal::after`]), so this can run beside the
/// snapshot's decoding.
fn read_journal(path: &Path) -> Result<Journal> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let mut lines = Vec::new();
    let mut offset = 0usize;
    let mut line_no = 0usize;
    let mut torn_at = None;
    let mut error = None;
    while offset < bytes.len() {
        line_no += 1;
        let Some(nl) = bytes[offset..].iter().position(|c| *c == b'\n') else {
            // No newline: the process died while writing this line, before it was acknowledged.
            torn_at = Some(offset as u64);
            break;
        };
        let raw = &bytes[offset..offset + nl];
        let here = offset;
        offset += nl + 1;
        let bad = |why: String| journal_error(path, line_no, here, why);
        let parsed = (|| {
            let line = std::str::from_utf8(raw).map_err(|_| bad("not UTF-8".into()))?;
            let json = unframe(line).ok_or_else(|| {
                bad(
                    "checksum mismatch: the line was changed or damaged after it was written"
                        .into(),
                )
            })?;
            if line_no == 1 {
                let h: JournalHeader = serde_json::from_str(json)
                    .map_err(|e| bad(format!("not a journal header: {e}")))?;
                check_version(path, &h.format, JOURNAL_FORMAT, h.version)?;
                return Ok(None);
            }
            let batch: Batch =
                serde_json::from_str(json).map_err(|e| bad(format!("unreadable change: {e}")))?;
            if crate::model::text::json_has_forbidden(json.as_bytes()) {
                for r in &batch.put {
                    r.check_text().map_err(&bad)?;
                }
            }
            Ok(Some(batch))
        })();
        match parsed {
            Ok(Some(batch)) => lines.push(JournalLine {
                line_no,
                at: here,
                batch,
            }),
            Ok(None) => {}
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    if line_no == 0 {
        return Err(anyhow!(
            "{}: empty journal (no header); refusing to start",
            path.display()
        ));
    }
    Ok(Journal {
        lines,
        error,
        torn_at,
    })
}

impl Journal {
    /// The changes made after the snapshot's `after_seq`, checked to follow one another.
    fn after(self, path: &Path, after_seq: u64) -> Result<Vec<Batch>> {
        let mut batches = Vec::new();
        let mut last_seq = after_seq;
        for JournalLine { line_no, at, batch } in self.lines {
            if batch.seq <= after_seq {
                continue; // already in the snapshot
            }
            if batch.seq != last_seq + 1 {
                return Err(journal_error(
                    path,
                    line_no,
                    at,
                    format!(
                        "change {} follows change {last_seq}: a change is missing",
                        batch.seq
                    ),
                ));
            }
            last_seq = batch.seq;
            batches.push(batch);
        }
        match self.error {
            Some(e) => Err(e),
            None => Ok(batches),
        }
    }
}

/// Keep the bytes of an unfinished last line in a side file, then cut them from the journal so
/// new changes follow the last complete one.
fn preserve_torn_tail(path: &Path, at: u64) -> Result<()> {
    let bytes = std::fs::read(path)?;
    let side = path.with_extension(format!("torn-{}", crate::model::volume::now_secs()));
    std::fs::write(&side, &bytes[at as usize..])?;
    let f = OpenOptions::new().write(true).open(path)?;
    f.set_len(at)?;
    f.sync_all()?;
    warn!(journal = %path.display(), kept_in = %side.display(), bytes = bytes.len() as u64 - at,
        "the journal ended in a change that was never completed (the simulator stopped mid-write); it was not acknowledged and is not applied");
    Ok(())
}

fn write_journal_header(path: &Path) -> Result<()> {
    let json = serde_json::to_string(&JournalHeader {
        format: JOURNAL_FORMAT.into(),
        version: FORMAT_VERSION,
    })?;
    let mut f = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    writeln!(f, "{} {json}", crc_hex(json.as_bytes()))?;
    f.sync_all()?;
    Ok(())
}

fn open_journal(path: &Path) -> Result<File> {
    if !path.exists() {
        let tmp = path.with_extension("tmp");
        write_journal_header(&tmp)?;
        std::fs::rename(&tmp, path)?;
        if let Some(d) = path.parent() {
            fsync_dir(d)?;
        }
    }
    OpenOptions::new()
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Cluster, Listeners, VolumeSpec};

    fn cluster(volumes: usize) -> Cluster {
        let listen = Listeners {
            management: "127.0.0.1:0".parse().unwrap(),
            nfs: "127.0.0.1:0".parse().unwrap(),
        };
        let mut c = Cluster::from_topology(&crate::config::Topology::builtin_default(), &listen);
        for i in 0..volumes {
            let spec = VolumeSpec {
                name: format!("v{i:03}"),
                aggregate: "aggr1".into(),
                size: 1 << 30,
                guarantee: Some(crate::model::Guarantee::None),
                ..Default::default()
            };
            c.create_volume("svm1", spec).unwrap();
        }
        c.commit();
        c
    }

    fn lines(c: &Cluster) -> String {
        let lines: Vec<String> = records::refs(c)
            .map(|r| serde_json::to_string(&r).unwrap())
            .collect();
        lines.join("\n")
    }

    fn keys(records: &[Record]) -> Vec<RecordKey> {
        records.iter().map(Record::key).collect()
    }

    #[test]
    fn any_split_decodes_the_same_records() {
        let c = cluster(40);
        let text = lines(&c);
        let want = keys(&records::all(&c));
        for threads in 1..=7 {
            let (got, sorted) = decode_lines(text.as_bytes(), threads).unwrap();
            assert_eq!(keys(&got), want, "{threads} threads");
            assert!(sorted);
        }
        assert!(decode_lines(b"", 3).unwrap().0.is_empty());
    }

    #[test]
    fn a_bad_line_is_named_whichever_thread_reads_it() {
        let c = cluster(40);
        let mut all: Vec<String> = lines(&c).split('\n').map(str::to_string).collect();
        all[29] = "{\"kind\":\"volume\",\"value\":{}}".into();
        let text = all.join("\n");
        for threads in 1..=7 {
            let (line, _) = decode_lines(text.as_bytes(), threads).unwrap_err();
            assert_eq!(line, 29, "{threads} threads");
        }
    }

    #[test]
    fn a_record_holding_control_characters_is_refused_naming_it() {
        let c = cluster(10);
        let mut all: Vec<String> = lines(&c).split('\n').map(str::to_string).collect();
        let mut v: serde_json::Value = serde_json::from_str(&all[4]).unwrap();
        v["value"]["comment"] = "a\u{1b}[0m".into();
        let name = v["value"]["name"].as_str().unwrap().to_string();
        all[4] = v.to_string();
        let text = all.join("\n");
        let (line, e) = decode_lines(text.as_bytes(), 2).unwrap_err();
        assert_eq!(line, 4);
        let e = e.to_string();
        assert!(
            e.contains(&format!("volume \"{name}\""))
                && e.contains("\"comment\"")
                && e.contains("U+001B"),
            "{e}"
        );
    }

    #[test]
    fn out_of_order_records_are_sorted_and_the_last_of_a_key_wins() {
        let c = cluster(10);
        let mut all: Vec<String> = lines(&c).split('\n').map(str::to_string).collect();
        all.reverse();
        let i = all
            .iter()
            .position(|l| l.contains("\"kind\":\"volume\""))
            .unwrap();
        let mut changed: serde_json::Value = serde_json::from_str(&all[i]).unwrap();
        changed["value"]["comment"] = "later".into();
        all.push(changed.to_string());
        for threads in 1..=3 {
            let (got, sorted) = decode_lines(all.join("\n").as_bytes(), threads).unwrap();
            assert!(!sorted);
            let merged = merge(got, sorted, BTreeMap::new());
            assert_eq!(keys(&merged), keys(&records::all(&c)));
            let comments: Vec<&str> = merged
                .iter()
                .filter_map(|r| match r {
                    Record::Volume(v) => Some(v.comment.as_str()),
                    _ => None,
                })
                .collect();
            assert_eq!(comments.iter().filter(|c| **c == "later").count(), 1);
        }
    }

    #[test]
    fn journal_changes_are_merged_in_key_order() {
        let c = cluster(10);
        let base = records::all(&c);
        let vol = |name: &str, comment: &str| {
            let mut v = c.volumes.values().next().unwrap().clone();
            v.svm = "svm1".into();
            v.name = name.into();
            v.comment = comment.into();
            Record::Volume(Box::new(v))
        };
        let mut changes = BTreeMap::new();
        for r in [
            vol("a_first", "new"),
            vol("v004", "changed"),
            vol("zz_last", "new"),
        ] {
            changes.insert(r.key(), Some(r));
        }
        changes.insert(RecordKey::Volume("svm1".into(), "v007".into()), None);
        changes.insert(RecordKey::Volume("svm1".into(), "absent".into()), None);
        let merged = merge(base.clone(), true, changes);
        let mut want: Vec<RecordKey> = keys(&base)
            .into_iter()
            .filter(|k| *k != RecordKey::Volume("svm1".into(), "v007".into()))
            .chain(["a_first", "zz_last"].map(|n| RecordKey::Volume("svm1".into(), n.into())))
            .collect();
        want.sort();
        assert_eq!(keys(&merged), want);
        let changed = merged
            .iter()
            .find(|r| r.key() == RecordKey::Volume("svm1".into(), "v004".into()));
        assert!(matches!(changed, Some(Record::Volume(v)) if v.comment == "changed"));
    }
}
