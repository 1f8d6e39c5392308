//! Durability: every change to the model is in the journal, fsynced, before the client hears of it.
//!
//! Why a journal of our own rather than an embedded database: the model already knows exactly
//! which objects one operation touched (its tables keep an undo log), so a change is one appended
//! line of JSON records, written with one `fdatasync`. JSON keeps the state readable and
//! diffable; a CRC on every line and on the snapshot catches truncation and hand edits. The journal
//! is folded into a snapshot (`state.snap`, written to a temporary file, fsynced and renamed) every
//! [`COMPACT_EVERY`] changes and at start, so loading stays one sequential read.
//!
//! Layout of a state dir: `state.lock` (one simulator per dir), `state.snap`, `journal.log`,
//! `state.clean` (a clean stop), `volumes/<volume uuid>/` (each volume's data, see [`data`]),
//! `orphans/` (data directories that lost their volume, kept for the user), `certs/`.

pub mod data;
pub mod records;

use crate::model::{Cluster, Counters};
use anyhow::{anyhow, bail, Context, Result};
use records::{Record, RecordKey};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use tracing::{info, warn};

/// The state format this build writes. Older formats are migrated on load; newer ones refused.
pub const FORMAT_VERSION: u32 = 1;
const SNAP_FORMAT: &str = "ontap-sim-state";
const JOURNAL_FORMAT: &str = "ontap-sim-journal";
/// Journal lines written before the journal is folded into the snapshot.
pub const COMPACT_EVERY: u64 = 20_000;

pub const SNAPSHOT_FILE: &str = "state.snap";
pub const JOURNAL_FILE: &str = "journal.log";
const LOCK_FILE: &str = "state.lock";
/// Present only between a clean stop and the next start.
const CLEAN_FILE: &str = "state.clean";
/// Volumes whose data changed outside the journal (NFS writes, copies) since the last snapshot:
/// after an unclean stop only these are measured again.
const DIRTY_FILE: &str = "dirty.log";

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
    pub records: Vec<Record>,
    pub seq: u64,
    pub journal_lines: u64,
    /// Volumes whose data may differ from the saved usage figures (see [`Store::mark_dirty`]).
    pub dirty: Vec<uuid::Uuid>,
}

pub struct Store {
    dir: PathBuf,
    journal: File,
    seq: u64,
    lines_since_snapshot: u64,
    dirty: HashSet<uuid::Uuid>,
    dirty_log: File,
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
        FORMAT_VERSION => Ok(()),
        v if v > FORMAT_VERSION => bail!(
            "{}: written by a newer ontap-sim (state format {v}; this build reads up to {FORMAT_VERSION}); refusing to start rather than misread it. Run the newer build, or move the state dir aside",
            file.display()
        ),
        v => bail!(
            "{}: state format {v} is older than any this build can migrate (it reads {FORMAT_VERSION}); move the state dir aside",
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
        let snap = read_snapshot(&dir.join(SNAPSHOT_FILE))?;
        let (mut seq, counters, mut map) = match snap {
            Some(doc) => {
                let mut m = BTreeMap::new();
                for r in doc.records {
                    m.insert(r.key(), r);
                }
                (doc.seq, Some(doc.counters), m)
            }
            None => (0, None, BTreeMap::new()),
        };
        let mut counters = counters;
        let journal_path = dir.join(JOURNAL_FILE);
        let mut journal_lines = 0;
        if journal_path.exists() {
            let replay = read_journal(&journal_path, seq)?;
            for b in replay.batches {
                seq = b.seq;
                counters = Some(b.counters);
                for k in b.del {
                    map.remove(&k);
                }
                for r in b.put {
                    map.insert(r.key(), r);
                }
                journal_lines += 1;
            }
            if let Some(good) = replay.torn_at {
                preserve_torn_tail(&journal_path, good)?;
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
        let dirty: HashSet<uuid::Uuid> = std::fs::read_to_string(&dirty_path)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect();
        let dirty_log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&dirty_path)
            .with_context(|| format!("opening {}", dirty_path.display()))?;
        let loaded = counters.map(|counters| Loaded {
            clean,
            counters,
            records: map.into_values().collect(),
            seq,
            journal_lines,
            dirty: dirty.iter().copied().collect(),
        });
        let journal = open_journal(&journal_path)?;
        let store = Store {
            dir: dir.to_path_buf(),
            journal,
            seq,
            lines_since_snapshot: journal_lines,
            dirty,
            dirty_log,
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
        let before = self.journal.metadata()?.len();
        if let Err(e) = self.journal.write_all(line.as_bytes()) {
            let _ = self.journal.set_len(before);
            return Err(e)
                .with_context(|| format!("writing {}", self.dir.join(JOURNAL_FILE).display()));
        }
        self.seq = batch.seq;
        self.lines_since_snapshot += 1;
        Ok(Some(self.seq))
    }

    /// A handle on the journal and the last sequence number written to it, to fsync outside the
    /// store's lock: concurrent operations then share one fsync (group commit).
    pub fn syncer(&self) -> Result<(File, u64)> {
        Ok((self.journal.try_clone()?, self.seq))
    }

    pub fn wants_compaction(&self) -> bool {
        self.lines_since_snapshot >= COMPACT_EVERY
    }

    /// Fold everything into a new snapshot and start an empty journal.
    pub fn compact(&mut self, cluster: &Cluster) -> Result<()> {
        let path = self.dir.join(SNAPSHOT_FILE);
        let tmp = self.dir.join(format!("{SNAPSHOT_FILE}.tmp"));
        // The same document as `StateDoc`, with the records borrowed from the model.
        #[derive(Serialize)]
        struct Doc<'a> {
            format: &'a str,
            version: u32,
            seq: u64,
            counters: Counters,
            records: records::AllRecords<'a>,
        }
        let doc = Doc {
            format: SNAP_FORMAT,
            version: FORMAT_VERSION,
            seq: self.seq,
            counters: cluster.counters,
            records: records::AllRecords(cluster),
        };
        {
            let f = File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
            let mut w = CrcWriter {
                inner: BufWriter::new(f),
                hasher: crc32fast::Hasher::new(),
                len: 0,
            };
            serde_json::to_writer(&mut w, &doc)?;
            let (crc, len) = (w.hasher.clone().finalize(), w.len);
            let mut inner = w.inner;
            write!(inner, "\ncrc {crc:08x} len {len}\n")?;
            let f = inner
                .into_inner()
                .map_err(|e| anyhow!("writing {}: {e}", tmp.display()))?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &path)?;
        fsync_dir(&self.dir)?;
        // The snapshot now holds every journaled change: start the journal afresh.
        let jpath = self.dir.join(JOURNAL_FILE);
        let jtmp = self.dir.join(format!("{JOURNAL_FILE}.tmp"));
        write_journal_header(&jtmp)?;
        std::fs::rename(&jtmp, &jpath)?;
        fsync_dir(&self.dir)?;
        self.journal = open_journal(&jpath)?;
        self.lines_since_snapshot = 0;
        // The snapshot holds every volume's usage as the model has it now: nothing is dirty.
        self.dirty_log.set_len(0)?;
        self.dirty_log.sync_data()?;
        self.dirty.clear();
        info!(seq = self.seq, "state compacted into {}", path.display());
        Ok(())
    }
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

fn read_snapshot(path: &Path) -> Result<Option<StateDoc>> {
    let mut bytes = Vec::new();
    match File::open(path) {
        Ok(mut f) => f
            .read_to_end(&mut bytes)
            .with_context(|| format!("reading {}", path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("opening {}", path.display())),
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
    #[derive(Deserialize)]
    struct Head {
        format: String,
        version: u32,
    }
    let head: Head = serde_json::from_slice(body).map_err(|e| bad(&format!("unreadable: {e}")))?;
    check_version(path, &head.format, SNAP_FORMAT, head.version)?;
    let doc: StateDoc =
        serde_json::from_slice(body).map_err(|e| bad(&format!("unreadable: {e}")))?;
    Ok(Some(doc))
}

struct Replay {
    batches: Vec<Batch>,
    /// Byte offset where an unfinished last line starts (a write cut short by a crash).
    torn_at: Option<u64>,
}

fn read_journal(path: &Path, after_seq: u64) -> Result<Replay> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let mut batches = Vec::new();
    let mut offset = 0usize;
    let mut line_no = 0usize;
    let mut last_seq = after_seq;
    let mut torn_at = None;
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
        let bad = |why: String| {
            anyhow!(
                "{} line {line_no} (byte {here}): {why}; refusing to start (nothing was changed: restore the file or move the state dir aside)",
                path.display()
            )
        };
        let line = std::str::from_utf8(raw).map_err(|_| bad("not UTF-8".into()))?;
        let json = unframe(line).ok_or_else(|| {
            bad("checksum mismatch: the line was changed or damaged after it was written".into())
        })?;
        if line_no == 1 {
            let h: JournalHeader = serde_json::from_str(json)
                .map_err(|e| bad(format!("not a journal header: {e}")))?;
            check_version(path, &h.format, JOURNAL_FORMAT, h.version)?;
            continue;
        }
        let b: Batch =
            serde_json::from_str(json).map_err(|e| bad(format!("unreadable change: {e}")))?;
        if b.seq <= after_seq {
            continue; // already in the snapshot
        }
        if b.seq != last_seq + 1 {
            return Err(bad(format!(
                "change {} follows change {last_seq}: a change is missing",
                b.seq
            )));
        }
        last_seq = b.seq;
        batches.push(b);
    }
    if line_no == 0 {
        return Err(anyhow!(
            "{}: empty journal (no header); refusing to start",
            path.display()
        ));
    }
    Ok(Replay { batches, torn_at })
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
