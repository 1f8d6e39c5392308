//! The `ontap-sim` command line as a newcomer meets it: flags and their variables, messages that
//! say what went wrong and what to do, no silent no-ops, and control actions in the log.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn ontap_sim(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ontap-sim"));
    cmd.args(args).stdin(Stdio::null());
    for v in [
        "ONTAP_SIM_ADMIN",
        "ONTAP_SIM_ADMIN_TOKEN",
        "ONTAP_SIM_LISTEN",
        "ONTAP_SIM_NFS_LISTEN",
        "ONTAP_SIM_STATE_DIR",
        "ONTAP_SIM_CONFIG",
    ] {
        cmd.env_remove(v);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run ontap-sim")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `serve` with these arguments, until it prints `ready` (None when it exits first: its stderr).
struct Served {
    child: std::process::Child,
    banner: Vec<String>,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Served {
    fn start(args: &[&str], env: &[(&str, &str)]) -> Result<Served, String> {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("stderr.log");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ontap-sim"));
        cmd.arg("serve")
            .args(args)
            .env("RUST_LOG", "info")
            .env_remove("ONTAP_SIM_LISTEN")
            .env_remove("ONTAP_SIM_STATE_DIR")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .current_dir(dir.path());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let out = child.stdout.take().unwrap();
        let mut banner = Vec::new();
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            let done = line == "ready";
            banner.push(line);
            if done {
                return Ok(Served {
                    child,
                    banner,
                    log,
                    _dir: dir,
                });
            }
        }
        let _ = child.wait();
        Err(std::fs::read_to_string(&log).unwrap_or_default())
    }

    fn line(&self, key: &str) -> String {
        self.banner
            .iter()
            .find_map(|l| l.trim().strip_prefix(key).map(|r| r.trim().to_string()))
            .unwrap_or_else(|| panic!("no {key} line in {:?}", self.banner))
    }

    /// Wait until the log holds a line with `text` (polled; the log is written as it happens).
    fn wait_log(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            if let Some(l) = log.lines().find(|l| l.contains(text)) {
                return l.to_string();
            }
            assert!(
                Instant::now() < deadline,
                "no log line with {text:?}:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        common::stop_child(&mut self.child);
    }
}

#[test]
fn serve_reads_its_variables_and_takes_host_names() {
    let state = tempfile::tempdir().unwrap();
    let state_dir = state.path().join("from-env");
    let s = Served::start(
        &["--admin-listen", "localhost:0"],
        &[
            ("ONTAP_SIM_LISTEN", "localhost:0"),
            ("ONTAP_SIM_NFS_LISTEN", "127.0.0.1:0"),
            ("ONTAP_SIM_STATE_DIR", state_dir.to_str().unwrap()),
            // Empty means not set (the container entrypoint's way to say "no portmapper").
            ("ONTAP_SIM_PORTMAP_LISTEN", ""),
        ],
    )
    .expect("serve starts from variables");
    assert!(
        s.line("ZAPI").starts_with("https://127.0.0.1:"),
        "{:?}",
        s.banner
    );
    assert!(s.line("state").starts_with(state_dir.to_str().unwrap()));
    assert!(state_dir.join("state.snap").exists());
    assert!(s.line("admin").starts_with("http://127.0.0.1:"));
}

#[test]
fn ephemeral_variable_and_state_dir_exclude_each_other() {
    let o = ontap_sim(
        &["serve", "--state-dir", "x", "--listen", "127.0.0.1:0"],
        &[("ONTAP_SIM_EPHEMERAL", "1")],
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("exclude each other"), "{}", stderr(&o));
}

#[test]
fn a_busy_port_says_what_to_do() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let e = Served::start(
        &[
            "--ephemeral",
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
            "--nfs-listen",
            &addr,
        ],
        &[],
    )
    .err()
    .expect("a busy NFS port stops the start");
    assert!(
        e.contains(&format!("cannot listen for NFS on {addr}: "))
            && e.contains("the port is in use")
            && e.contains("choose another with --nfs-listen"),
        "{e}"
    );
}

#[test]
fn a_taken_default_control_port_stops_the_start() {
    // Hold 127.0.0.1:8081 (or find it held by someone else: the same for this test).
    let _hold = std::net::TcpListener::bind("127.0.0.1:8081");
    let e = Served::start(
        &[
            "--ephemeral",
            "--listen",
            "127.0.0.1:0",
            "--nfs-listen",
            "127.0.0.1:0",
        ],
        &[],
    )
    .err()
    .expect("a second simulator must not take a random control port silently");
    assert!(
        e.contains("cannot listen for the control API on 127.0.0.1:8081")
            && e.contains("--admin-listen"),
        "{e}"
    );
}

#[test]
fn config_errors_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("lab.toml");
    std::fs::write(
        &p,
        "[[svms]]\nname = \"s\"\n[[svms.lifs]]\nname = \"l\"\nprotocols = \"nfs\"\n",
    )
    .unwrap();
    let o = ontap_sim(
        &["serve", "--ephemeral", "--config", p.to_str().unwrap()],
        &[],
    );
    let e = stderr(&o);
    assert!(
        e.contains("svms[0].lifs[0].protocols (line 5): invalid type"),
        "{e}"
    );
}

#[test]
fn aggr_without_a_change_is_refused() {
    let o = ontap_sim(&["aggr", "aggr1"], &[]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("--size") && stderr(&o).contains("--fill"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn certs_for_an_unknown_user_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let o = ontap_sim(
        &[
            "certs",
            "--user",
            "nosuch",
            "--state-dir",
            dir.path().to_str().unwrap(),
        ],
        &[],
    );
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("no user \"nosuch\" in the topology (users: admin, vsadmin)"),
        "{}",
        stderr(&o)
    );
    assert!(!dir.path().join("certs").exists(), "nothing is issued");
}

#[test]
fn backend_json_note_on_an_explicit_loopback_nfs_listener() {
    let o = ontap_sim(
        &[
            "backend-json",
            "--listen",
            "127.0.0.1:8443",
            "--nfs-listen",
            "127.0.0.1:2049",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("dataLIF is 127.0.0.1 (a loopback address)"),
        "{e}"
    );
    assert!(!e.contains("listens on all addresses"), "{e}");
}

#[tokio::test]
async fn control_messages_and_logs() {
    let s = Served::start(
        &[
            "--ephemeral",
            "--listen",
            "127.0.0.1:0",
            "--nfs-listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
        ],
        &[],
    )
    .expect("serve");
    let admin = s.line("admin");
    let https = format!(
        "http://{}",
        s.line("ZAPI")
            .trim_start_matches("https://")
            .split('/')
            .next()
            .unwrap()
    );
    let env = [("ONTAP_SIM_ADMIN", admin.as_str())];

    // A rule with a bad key: the error names the key, as posting it alone does.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("rules.json");
    std::fs::write(
        &f,
        r#"{"match": {"api": "x", "bogus": 1}, "action": {"type": "hang"}}"#,
    )
    .unwrap();
    let o = ontap_sim(&["fault", "load", f.to_str().unwrap()], &env);
    assert!(
        stderr(&o).contains("unknown field `bogus`"),
        "{}",
        stderr(&o)
    );
    std::fs::write(
        &f,
        r#"[{"match": {"api": "x", "nope": 3}, "action": {"type": "hang"}}]"#,
    )
    .unwrap();
    let o = ontap_sim(&["fault", "load", f.to_str().unwrap()], &env);
    assert!(
        stderr(&o).contains("not a list of fault rules")
            && stderr(&o).contains("unknown field `nope`"),
        "{}",
        stderr(&o)
    );

    // The CLI pointed at the HTTPS port says where it was pointed and where to look.
    let o = ontap_sim(&["fault", "list", "--admin", &https], &[]);
    let e = stderr(&o);
    assert!(e.contains(&https) && e.contains("`admin` line"), "{e}");

    // A control action is logged at INFO with plain fields.
    let o = ontap_sim(
        &[
            "fault",
            "add",
            "--api",
            "vserver-get",
            "--action",
            "zapi",
            "--errno",
            "13005",
        ],
        &env,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let l = s.wait_log("control: fault rule added");
    assert!(
        l.contains(r#""api":"vserver-get""#) && !l.contains("Some("),
        "{l}"
    );
    let o = ontap_sim(&["aggr", "aggr1", "--fill", "50"], &env);
    assert!(o.status.success(), "{}", stderr(&o));
    s.wait_log("control: aggregate aggr1 filled to 50%");
    let o = ontap_sim(&["lif", "down", "svm1_data1"], &env);
    assert!(o.status.success(), "{}", stderr(&o));
    s.wait_log("control: LIF svm1_data1 down");
}

#[test]
fn a_missing_token_names_the_client_flag() {
    let s = Served::start(
        &[
            "--ephemeral",
            "--listen",
            "127.0.0.1:0",
            "--nfs-listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
        ],
        &[("ONTAP_SIM_ADMIN_TOKEN", "s3cret")],
    )
    .expect("serve");
    let admin = s.line("admin");
    let o = ontap_sim(&["fault", "list", "--admin", &admin], &[]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("401") && e.contains("--token or ONTAP_SIM_ADMIN_TOKEN"),
        "{e}"
    );
    let o = ontap_sim(
        &["fault", "list", "--admin", &admin, "--token", "s3cret"],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn listen_flags_refuse_what_is_not_an_address() {
    let o = ontap_sim(&["serve", "--ephemeral", "--listen", "nohost"], &[]);
    assert!(
        stderr(&o).contains("\"nohost\" is not ADDR:PORT or HOST:PORT"),
        "{}",
        stderr(&o)
    );
}
