//! A deterministic mutation run over every decoder a client reaches (the ZAPI XML reader, whole
//! ZAPI requests, REST requests and query strings, RPC records through the NFS port, the record
//! marking layer), seeded from `api-fixtures/` and from hand-built calls: bit flips, boundary
//! values, insertions, deletions, duplications and splices. The same entry points are the
//! `cargo fuzz` targets in `fuzz/`; this run is their smoke test (seconds, same inputs every run).
//! A panic names the input, as an escaped string, so it can become a test of its own.

use ontap_sim::fuzzing;
use std::path::Path;

/// xorshift: the same mutations on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, seed: &[u8], other: &[u8]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = v.len();
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                v[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                v[i] = [
                    0u8, 0xff, 0x7f, 0x80, b'<', b'>', b'&', b'"', 0x01, b'*', b'|', b'\n',
                ][rng.below(12)];
            }
            2 if len >= 4 => {
                // A boundary value in an aligned word (XDR lengths and counts).
                let i = rng.below(len / 4) * 4;
                let w: u32 =
                    [0, 1, 0x7fff_ffff, 0xffff_ffff, 0x8000_0000, 4096, 1 << 20][rng.below(7)];
                v[i..i + 4].copy_from_slice(&w.to_be_bytes());
            }
            3 => {
                let i = rng.below(len + 1);
                let n = 1 + rng.below(16);
                let junk: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                v.splice(i..i, junk);
            }
            4 if len > 0 => {
                let i = rng.below(len);
                let j = (i + 1 + rng.below(32)).min(len);
                v.drain(i..j);
            }
            5 if len > 0 => {
                let i = rng.below(len);
                let j = (i + 1 + rng.below(64)).min(len);
                let piece = v[i..j].to_vec();
                let at = rng.below(len + 1);
                v.splice(at..at, piece);
            }
            6 if !other.is_empty() => {
                let cut = rng.below(len + 1);
                let from = rng.below(other.len());
                v.truncate(cut);
                v.extend_from_slice(&other[from..]);
            }
            _ if len > 0 => v.truncate(rng.below(len)),
            _ => v.push(rng.next() as u8),
        }
    }
    v
}

/// Run `target` on each seed and on `rounds` mutants, reporting the input of any panic.
fn run(name: &str, seeds: &[Vec<u8>], rounds: usize, target: fn(&[u8])) {
    assert!(!seeds.is_empty(), "{name}: no seeds");
    // `fuzz/seed.sh` asks for the seeds as corpus files for `cargo fuzz`.
    if let Some(dir) = std::env::var_os("ONTAP_SIM_WRITE_SEEDS") {
        let dir = Path::new(&dir).join(name);
        std::fs::create_dir_all(&dir).expect("corpus dir");
        for (i, s) in seeds.iter().enumerate() {
            std::fs::write(dir.join(format!("seed-{i:03}")), s).expect("seed");
        }
    }
    let mut rng = Rng(0x0dec_0de5 ^ name.len() as u64);
    let inputs = seeds.iter().cloned().chain((0..rounds).map(|_| {
        let a = &seeds[rng.below(seeds.len())];
        let b = &seeds[rng.below(seeds.len())];
        mutate(&mut rng, a, b)
    }));
    for input in inputs {
        if std::panic::catch_unwind(|| target(&input)).is_err() {
            panic!(
                "{name} panicked on {:?}",
                String::from_utf8_lossy(&input).escape_debug().to_string()
            );
        }
    }
}

fn fixtures() -> Vec<Vec<u8>> {
    fn walk(dir: &Path, out: &mut Vec<Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if p.to_string_lossy().ends_with(".request.xml") {
                out.push(std::fs::read(&p).expect("fixture"));
            }
        }
    }
    let mut out = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("api-fixtures"),
        &mut out,
    );
    assert!(out.len() > 20, "api-fixtures holds {} requests", out.len());
    out
}

fn rest_seeds() -> Vec<Vec<u8>> {
    [
        "GET /api/cluster?fields=**",
        "GET /api/storage/volumes?name=vol*&fields=size,nas.path,space.available&max_records=2&order_by=name desc",
        "GET /api/storage/volumes?svm.name=svm1|svm2&size=>1000&return_records=true",
        "POST /api/storage/volumes?return_timeout=10\n{\"name\":\"fz1\",\"size\":1073741824,\"svm\":{\"name\":\"svm1\"},\"nas\":{\"path\":\"/fz1\",\"export_policy\":{\"name\":\"default\"}},\"comment\":\"c\"}",
        "POST /api/protocols/nfs/export-policies\n{\"name\":\"p1\",\"svm\":{\"name\":\"svm1\"},\"rules\":[{\"clients\":[{\"match\":\"10.0.0.0/8\"}],\"ro_rule\":[\"sys\"],\"rw_rule\":[\"sys\"]}]}",
        "GET /api/protocols/nfs/export-policies?fields=rules&name=default",
        "POST /api/storage/qtrees?return_timeout=10\n{\"name\":\"q1\",\"svm\":{\"name\":\"svm1\"},\"volume\":{\"name\":\"svm1_root\"}}",
        "GET /api/svm/svms?fields=aggregates,state&name=svm1",
        "GET /api/network/ip/interfaces?fields=ip,location&services=data_nfs",
        "GET /api/storage/aggregates?fields=space&max_records=1",
        "GET /api/cluster/jobs?state=failure&fields=**",
        "PATCH /api/storage/volumes/00000000-0000-0000-0000-000000000000\n{\"size\":2147483648}",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}

fn be(out: &mut Vec<u8>, words: &[u32]) {
    for w in words {
        out.extend_from_slice(&w.to_be_bytes());
    }
}

fn opaque(out: &mut Vec<u8>, data: &[u8]) {
    be(out, &[data.len() as u32]);
    out.extend_from_slice(data);
    out.resize(out.len() + (4 - data.len() % 4) % 4, 0);
}

/// An RPC call header with AUTH_SYS (uid 0) for `prog`/`vers`/`proc`, then `args`.
fn call(prog: u32, vers: u32, proc_: u32, args: &[u8]) -> Vec<u8> {
    let mut cred = Vec::new();
    be(&mut cred, &[0]);
    opaque(&mut cred, b"fuzz");
    be(&mut cred, &[0, 0, 1, 0]);
    let mut v = Vec::new();
    be(&mut v, &[7, 0, 2, prog, vers, proc_, 1]);
    opaque(&mut v, &cred);
    be(&mut v, &[0, 0]);
    v.extend_from_slice(args);
    v
}

fn rpc_seeds() -> Vec<Vec<u8>> {
    let mut path = Vec::new();
    opaque(&mut path, b"/");
    let mut fh = Vec::new();
    opaque(&mut fh, &[0u8; 32]);
    let mut lookup = fh.clone();
    opaque(&mut lookup, b"file");
    let mut write = fh.clone();
    be(&mut write, &[0, 0, 5, 2]);
    opaque(&mut write, b"hello");
    let mut readdir = fh.clone();
    be(&mut readdir, &[0, 0, 0, 0, 0, 0, 4096, 65536]);
    let mut getport = Vec::new();
    be(&mut getport, &[100003, 3, 6, 0]);
    vec![
        call(100003, 3, 0, &[]),
        call(100005, 3, 1, &path),
        call(100005, 3, 5, &[]),
        call(100000, 2, 3, &getport),
        call(100003, 3, 1, &fh),
        call(100003, 3, 3, &lookup),
        call(100003, 3, 7, &write),
        call(100003, 3, 17, &readdir),
        call(100003, 3, 19, &fh),
    ]
}

fn stream_seeds() -> Vec<Vec<u8>> {
    rpc_seeds()
        .into_iter()
        .map(|rec| {
            let mut v = Vec::new();
            // Two fragments, then the same record whole.
            let half = rec.len() / 2;
            be(&mut v, &[half as u32]);
            v.extend_from_slice(&rec[..half]);
            be(&mut v, &[0x8000_0000 | (rec.len() - half) as u32]);
            v.extend_from_slice(&rec[half..]);
            be(&mut v, &[0x8000_0000 | rec.len() as u32]);
            v.extend_from_slice(&rec);
            v
        })
        .collect()
}

#[test]
fn zapi_xml_reader() {
    run("zapi_xml", &fixtures(), 6000, fuzzing::zapi_xml);
}

#[test]
fn zapi_requests() {
    run("zapi_request", &fixtures(), 6000, fuzzing::zapi_request);
}

#[test]
fn rest_requests() {
    run("rest_request", &rest_seeds(), 6000, fuzzing::rest_request);
}

#[test]
fn rest_queries() {
    let seeds: Vec<Vec<u8>> = rest_seeds()
        .iter()
        .filter_map(|s| {
            let line = s.split(|b| *b == b'\n').next()?;
            let q = line.splitn(2, |b| *b == b'?').nth(1)?;
            Some(q.to_vec())
        })
        .collect();
    run("rest_query", &seeds, 5000, fuzzing::rest_query);
}

#[test]
fn rpc_records() {
    run("rpc_record", &rpc_seeds(), 5000, fuzzing::rpc_record);
}

#[test]
fn rpc_record_marking() {
    run("rpc_stream", &stream_seeds(), 3000, fuzzing::rpc_stream);
}
