//! The `ontap-sim` command line: `serve` runs the simulator; `certs` makes certificates for
//! certificate-auth clients.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "ontap-sim",
    version,
    about = "A NetApp ONTAP cluster simulator: ONTAPI (ZAPI) and REST over HTTPS, NFSv3 exports of \
             every volume, and faults injected on demand",
    after_help = "Start with `ontap-sim serve`; the other commands talk to a running simulator's \
                  control API (--admin, default http://127.0.0.1:8081) except certs and backend-json."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the simulator (the built-in default topology unless --config is given).
    ///
    /// Every flag can also be set with the ONTAP_SIM_* variable shown beside it; a flag wins
    /// over its variable, and either wins over the topology file's [listen] table.
    Serve {
        /// HTTPS management listener (ZAPI and REST) [default: the topology's, else 0.0.0.0:8443;
        /// port 0 picks a free port, printed in the banner].
        #[arg(long, value_name = "ADDR:PORT", env = "ONTAP_SIM_LISTEN", value_parser = ontap_sim::cli::parse_listen)]
        listen: Option<SocketAddr>,
        /// Control API listener (plain HTTP) [default: 127.0.0.1:8081; when that port is taken
        /// the start fails: give 127.0.0.1:0 for a free one].
        #[arg(long, value_name = "ADDR:PORT", env = "ONTAP_SIM_ADMIN_LISTEN", value_parser = ontap_sim::cli::parse_listen)]
        admin_listen: Option<SocketAddr>,
        /// Require `Authorization: Bearer TOKEN` on the control API.
        #[arg(long, value_name = "TOKEN", env = "ONTAP_SIM_ADMIN_TOKEN")]
        admin_token: Option<String>,
        /// NFS listener, NFS v3 and MOUNT v3 on one port; data LIFs without an address use its
        /// IP [default: the topology's, else 0.0.0.0:2049, skipped when it cannot be bound].
        #[arg(long, value_name = "ADDR:PORT", env = "ONTAP_SIM_NFS_LISTEN", value_parser = ontap_sim::cli::parse_listen)]
        nfs_listen: Option<SocketAddr>,
        /// Portmapper listener (e.g. 0.0.0.0:111), so kernel clients mount without port= [default: none].
        #[arg(long, value_name = "ADDR:PORT", env = "ONTAP_SIM_PORTMAP_LISTEN", value_parser = ontap_sim::cli::parse_listen)]
        portmap_listen: Option<SocketAddr>,
        /// NLM grace period after a restart, in seconds: only lock reclaims are granted then.
        #[arg(
            long,
            value_name = "SECS",
            default_value_t = 45,
            env = "ONTAP_SIM_NLM_GRACE_SECS"
        )]
        nlm_grace_secs: u64,
        /// Where NLM GRANTED callbacks ask a locking client's portmapper (its port on the
        /// client's address).
        #[arg(
            long,
            value_name = "PORT",
            default_value_t = 111,
            env = "ONTAP_SIM_NLM_CLIENT_PORTMAP"
        )]
        nlm_client_portmap: u16,
        /// Microseconds an NFS connection polls for its client's next call after answering one
        /// (a client with one call out at a time is answered without waking a sleeping CPU);
        /// adaptive, one connection at a time; 0 turns it off.
        #[arg(
            long,
            value_name = "USECS",
            default_value_t = ontap_sim::nfs::DEFAULT_BUSY_POLL.as_micros() as u64,
            env = "ONTAP_SIM_NFS_BUSY_POLL_US"
        )]
        nfs_busy_poll_us: u64,
        /// TOML topology file [default: the built-in topology].
        #[arg(long, value_name = "FILE", env = "ONTAP_SIM_CONFIG")]
        config: Option<PathBuf>,
        /// Directory for the model, volume data and generated certificates [default: ./ontap-sim-data].
        #[arg(long, value_name = "DIR", env = "ONTAP_SIM_STATE_DIR")]
        state_dir: Option<PathBuf>,
        /// Keep everything in memory; write nothing to disk (certificates are made anew each start).
        #[arg(long, env = "ONTAP_SIM_EPHEMERAL", value_parser = clap::builder::BoolishValueParser::new())]
        ephemeral: bool,
        /// Log format on stderr; RUST_LOG filters what is logged (e.g. RUST_LOG=debug,
        /// RUST_LOG=ontap_sim::nfs=debug) [default: info].
        #[arg(long, value_enum, default_value = "text", env = "ONTAP_SIM_LOG_FORMAT")]
        log_format: LogFormat,
        /// Serve the control API on a non-loopback --admin-listen without --admin-token
        /// (refused otherwise: anyone reaching it could reset the cluster).
        #[arg(long, env = "ONTAP_SIM_ADMIN_INSECURE", value_parser = clap::builder::BoolishValueParser::new())]
        admin_insecure: bool,
        #[command(flatten)]
        limits: ontap_sim::guard::LimitArgs,
    },
    /// Fault rules on a running simulator (through its control API).
    Fault {
        #[command(subcommand)]
        cmd: FaultCmd,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Dump, load or reset the model of a running simulator.
    State {
        #[command(subcommand)]
        cmd: StateCmd,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Recent requests (ZAPI calls, connections, faults) as JSON; --follow streams JSON lines.
    Journal {
        /// Keep the connection open and print each new entry as it happens (Ctrl-C ends it).
        #[arg(long)]
        follow: bool,
        /// Only entries for this API: a ZAPI name, REST path or NFS procedure (globs `*`, `|`).
        #[arg(long)]
        api: Option<String>,
        /// Only entries for this SVM.
        #[arg(long)]
        svm: Option<String>,
        /// Only entries with this result: passed, failed or fault.
        #[arg(long)]
        result: Option<String>,
        /// How many of the newest entries to print (up to the 10,000 kept).
        #[arg(long, default_value_t = 100)]
        limit: usize,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Take a LIF down or bring it up.
    Lif {
        #[arg(value_parser = ["down", "up"])]
        action: String,
        /// The LIF's name.
        name: String,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Stop or start an SVM.
    Svm {
        #[arg(value_parser = ["stop", "start"])]
        action: String,
        /// The SVM's name.
        name: String,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Resize an aggregate or fill it to a percentage of its size.
    #[command(group = clap::ArgGroup::new("change").required(true).multiple(true).args(["size", "fill"]))]
    Aggr {
        /// The aggregate's name.
        name: String,
        /// New size, in bytes or with a binary unit (20TiB, 500g).
        #[arg(long)]
        size: Option<String>,
        /// Fill to this percentage of the size with data that belongs to no volume (0 empties it).
        #[arg(long, value_name = "PERCENT")]
        fill: Option<u64>,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Switch a listener: normal, refuse (connection refused) or blackhole (connect timeout).
    Listener {
        #[arg(value_parser = ["management", "nfs"])]
        which: String,
        #[arg(value_parser = ["normal", "refuse", "blackhole"])]
        mode: String,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Make a CA, a server certificate and a client certificate for USER, and print the base64
    /// values for Trident's clientCertificate, clientPrivateKey and trustedCACertificate.
    Certs {
        /// The user the client certificate signs in as: a user of the topology (the CN is the
        /// user's certificate_cn when it has one, else its name).
        #[arg(long)]
        user: String,
        /// The topology `serve` runs, whose users are checked [default: the built-in one].
        #[arg(long, value_name = "FILE", env = "ONTAP_SIM_CONFIG")]
        config: Option<PathBuf>,
        /// State dir whose certs/ holds the CA (created when absent); the same one `serve` uses
        /// [default: ./ontap-sim-data].
        #[arg(long, value_name = "DIR", env = "ONTAP_SIM_STATE_DIR")]
        state_dir: Option<PathBuf>,
        /// Extra names for the server certificate.
        #[arg(long = "name", value_name = "NAME")]
        names: Vec<String>,
    },
    /// Print a Trident backend config (ontap-nas, JSON) for the topology `serve` runs.
    BackendJson(ontap_sim::backend_json::Args),
}

#[derive(clap::Args)]
struct AdminArgs {
    /// The control API of the simulator to talk to.
    #[arg(long, global = true, env = "ONTAP_SIM_ADMIN", default_value = ontap_sim::cli::DEFAULT_ADMIN, help_heading = "Connection")]
    admin: String,
    /// The control API's bearer token (the one `serve` was given with --admin-token).
    #[arg(
        long,
        global = true,
        env = "ONTAP_SIM_ADMIN_TOKEN",
        help_heading = "Connection"
    )]
    token: Option<String>,
}

impl AdminArgs {
    fn client(self) -> ontap_sim::cli::Admin {
        ontap_sim::cli::Admin {
            base: self.admin,
            token: self.token,
        }
    }
}

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per run
enum FaultCmd {
    /// Add a rule. Match options narrow where it fires; one action option says what happens.
    Add {
        /// Match connections or calls of this front: tcp, tls, zapi, rest or nfs [default: any;
        /// rest when --method is given].
        #[arg(long, help_heading = "Matching")]
        front: Option<String>,
        /// Match this ZAPI name, REST path or NFS procedure (globs and `|`: `volume-*`,
        /// `/api/storage/volumes*`, `READ|WRITE`).
        #[arg(long, help_heading = "Matching")]
        api: Option<String>,
        /// Match this REST method (GET, POST, PATCH, DELETE; `|` for several).
        #[arg(long, help_heading = "Matching")]
        method: Option<String>,
        /// Match calls for this SVM (the tunnelled vfiler, the REST svm, the NFS LIF's SVM).
        #[arg(long, help_heading = "Matching")]
        svm: Option<String>,
        /// Match calls that name this volume.
        #[arg(long, help_heading = "Matching")]
        volume: Option<String>,
        /// Match calls by this user.
        #[arg(long, help_heading = "Matching")]
        user: Option<String>,
        /// Match this client IP or CIDR.
        #[arg(long, help_heading = "Matching")]
        client: Option<String>,
        /// What happens: delay, hang, close, reset, tls_fail, http_status, zapi, nfs_error, nlm,
        /// rest_error, job_failure.
        #[arg(long, help_heading = "Action")]
        action: String,
        /// delay: milliseconds [default: 1000] (with --max-ms: a random delay in the range).
        #[arg(long, help_heading = "Action")]
        ms: Option<u64>,
        /// delay: the upper end of the range.
        #[arg(long, help_heading = "Action")]
        max_ms: Option<u64>,
        /// http_status: the HTTP status [default: 503]; rest_error: the HTTP status [default:
        /// 400]; nfs_error: the NFS status (EIO, NOSPC, JUKEBOX, STALE) [default: EIO]; nlm: the
        /// NLM status (denied, grace, nolocks, failed).
        #[arg(long, help_heading = "Action")]
        status: Option<String>,
        /// zapi: the errno [default: 13001].
        #[arg(long, help_heading = "Action")]
        errno: Option<u32>,
        /// zapi: the reason [default: "injected failure"].
        #[arg(long, help_heading = "Action")]
        reason: Option<String>,
        /// rest_error, job_failure: ONTAP's error code [default: 13001].
        #[arg(long, help_heading = "Action")]
        code: Option<u32>,
        /// rest_error, job_failure: the error message [default: "injected failure"].
        #[arg(long, help_heading = "Action")]
        message: Option<String>,
        /// Fire this many times, then disappear [default: fire always].
        #[arg(long, conflicts_with = "probability", help_heading = "Firing")]
        times: Option<u64>,
        /// Fire with this probability (0..1).
        #[arg(long, help_heading = "Firing")]
        probability: Option<f64>,
        /// A name for the rule, shown by `fault list`.
        #[arg(long, help_heading = "Firing")]
        name: Option<String>,
    },
    /// Load a scenario: a JSON file holding a list of rules.
    Load {
        /// The JSON file: a list of rules (or one rule), as `fault list` shows them.
        file: PathBuf,
    },
    /// List the rules with their ids and how often each has fired.
    List,
    /// Remove one rule.
    Rm {
        /// The rule's id (from `fault list` or `fault add`).
        id: u64,
    },
    /// Remove every rule.
    Clear,
}

#[derive(Subcommand)]
enum StateCmd {
    /// Print the model as JSON (or write it to FILE).
    Dump { file: Option<PathBuf> },
    /// Replace the model with a dumped one.
    Load { file: PathBuf },
    /// Back to the seed topology: volumes, policies and data gone; faults cleared.
    Reset,
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Variables that stand for flags; set but empty, they mean "not given" (as the container
/// entrypoint's `ONTAP_SIM_PORTMAP_LISTEN=` does) rather than an invalid value.
const FLAG_VARIABLES: &[&str] = &[
    "ONTAP_SIM_LISTEN",
    "ONTAP_SIM_ADMIN_LISTEN",
    "ONTAP_SIM_ADMIN_TOKEN",
    "ONTAP_SIM_NFS_LISTEN",
    "ONTAP_SIM_PORTMAP_LISTEN",
    "ONTAP_SIM_CONFIG",
    "ONTAP_SIM_STATE_DIR",
    "ONTAP_SIM_EPHEMERAL",
    "ONTAP_SIM_LOG_FORMAT",
    "ONTAP_SIM_ADMIN",
    "ONTAP_SIM_ADMIN_INSECURE",
    "ONTAP_SIM_HEADER_TIMEOUT",
    "ONTAP_SIM_BODY_TIMEOUT",
    "ONTAP_SIM_IDLE_TIMEOUT",
    "ONTAP_SIM_NFS_IDLE_TIMEOUT",
    "ONTAP_SIM_MAX_CONNECTIONS",
    "ONTAP_SIM_MAX_CONNECTIONS_PER_PEER",
    "ONTAP_SIM_BODY_BUDGET",
    "ONTAP_SIM_NLM_GRACE_SECS",
    "ONTAP_SIM_NLM_CLIENT_PORTMAP",
    "ONTAP_SIM_NFS_BUSY_POLL_US",
];

fn main() {
    for v in FLAG_VARIABLES {
        if std::env::var_os(v).is_some_and(|x| x.is_empty()) {
            std::env::remove_var(v);
        }
    }
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        eprintln!("ontap-sim: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve {
            listen,
            admin_listen,
            admin_token,
            nfs_listen,
            portmap_listen,
            nlm_grace_secs,
            nlm_client_portmap,
            nfs_busy_poll_us,
            config,
            state_dir,
            ephemeral,
            log_format,
            admin_insecure,
            limits,
        } => {
            if ephemeral && state_dir.is_some() {
                anyhow::bail!("--state-dir (ONTAP_SIM_STATE_DIR) and --ephemeral (ONTAP_SIM_EPHEMERAL) exclude each other: an ephemeral simulator writes no state");
            }
            init_logging(log_format);
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(ontap_sim::server::serve(ontap_sim::server::ServeOptions {
                listen,
                admin_listen,
                admin_token,
                nfs_listen,
                portmap_listen,
                nlm_grace: std::time::Duration::from_secs(nlm_grace_secs),
                nlm_client_portmap,
                nfs_busy_poll: std::time::Duration::from_micros(nfs_busy_poll_us),
                config,
                state_dir,
                ephemeral,
                limits,
                admin_insecure,
            }))
        }
        Command::Certs {
            user,
            config,
            state_dir,
            names,
        } => certs(&user, config, state_dir, &names),
        Command::BackendJson(args) => ontap_sim::backend_json::run(args),
        other => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(control(other))
        }
    }
}

async fn control(cmd: Command) -> Result<()> {
    use ontap_sim::cli::enc;
    let print = |s: String| {
        print!("{s}");
        if !s.ends_with('\n') {
            println!();
        }
    };
    match cmd {
        Command::Fault { cmd, admin } => {
            let a = admin.client();
            match cmd {
                FaultCmd::Add {
                    front,
                    api,
                    method,
                    svm,
                    volume,
                    user,
                    client,
                    action,
                    ms,
                    max_ms,
                    status,
                    errno,
                    reason,
                    code,
                    message,
                    times,
                    probability,
                    name,
                } => {
                    let act = match action.as_str() {
                        "delay" => {
                            serde_json::json!({"type": "delay", "ms": ms.unwrap_or(1000), "max_ms": max_ms})
                        }
                        "http_status" => {
                            serde_json::json!({"type": "http_status", "status": status.as_deref().unwrap_or("503").parse::<u16>()?})
                        }
                        "zapi" => {
                            serde_json::json!({"type": "zapi", "errno": errno.unwrap_or(13001), "reason": reason.unwrap_or_else(|| "injected failure".into())})
                        }
                        "nfs_error" => {
                            serde_json::json!({"type": "nfs_error", "status": status.unwrap_or_else(|| "EIO".into())})
                        }
                        "nlm" => {
                            serde_json::json!({"type": "nlm", "status": status.unwrap_or_else(|| "denied".into())})
                        }
                        "rest_error" => serde_json::json!({"type": "rest_error",
                            "status": status.as_deref().unwrap_or("400").parse::<u16>()?,
                            "code": code.unwrap_or(13001),
                            "message": message.unwrap_or_else(|| "injected failure".into())}),
                        "job_failure" => serde_json::json!({"type": "job_failure",
                            "code": code.unwrap_or(13001),
                            "message": message.unwrap_or_else(|| "injected failure".into())}),
                        other => serde_json::json!({"type": other}),
                    };
                    let fire = match (times, probability) {
                        (Some(n), _) => serde_json::json!({"times": n}),
                        (None, Some(p)) => serde_json::json!({"probability": p}),
                        _ => serde_json::json!("always"),
                    };
                    let mut m = serde_json::Map::new();
                    for (k, v) in [
                        ("front", front),
                        ("api", api),
                        ("method", method),
                        ("svm", svm),
                        ("volume", volume),
                        ("user", user),
                        ("client", client),
                    ] {
                        if let Some(v) = v {
                            m.insert(k.into(), v.into());
                        }
                    }
                    let mut rule = serde_json::json!({"match": m, "action": act, "fire": fire});
                    if let Some(n) = name {
                        rule["name"] = n.into();
                    }
                    if let Some(o) = rule["action"].as_object_mut() {
                        o.retain(|_, v| !v.is_null());
                    }
                    print(
                        a.call("POST", "/faults", serde_json::to_vec(&rule)?)
                            .await?,
                    );
                }
                FaultCmd::Load { file } => {
                    let text = std::fs::read(&file)
                        .with_context(|| format!("reading {}", file.display()))?;
                    print(a.call("POST", "/faults", text).await?);
                }
                FaultCmd::List => print(a.call("GET", "/faults", vec![]).await?),
                FaultCmd::Rm { id } => {
                    print(a.call("DELETE", &format!("/faults/{id}"), vec![]).await?)
                }
                FaultCmd::Clear => print(a.call("DELETE", "/faults", vec![]).await?),
            }
        }
        Command::State { cmd, admin } => {
            let a = admin.client();
            match cmd {
                StateCmd::Dump { file: None } => print(a.call("GET", "/state", vec![]).await?),
                StateCmd::Dump { file: Some(f) } => {
                    std::fs::write(&f, a.call("GET", "/state", vec![]).await?)?;
                    eprintln!("state written to {}", f.display());
                }
                StateCmd::Load { file } => {
                    let text = std::fs::read(&file)
                        .with_context(|| format!("reading {}", file.display()))?;
                    print(a.call("PUT", "/state", text).await?);
                }
                StateCmd::Reset => print(a.call("POST", "/reset", vec![]).await?),
            }
        }
        Command::Journal {
            follow,
            api,
            svm,
            result,
            limit,
            admin,
        } => {
            let mut q = format!("limit={limit}");
            for (k, v) in [("api", api), ("svm", svm), ("result", result)] {
                if let Some(v) = v {
                    q.push_str(&format!("&{k}={}", enc(&v)));
                }
            }
            let a = admin.client();
            if follow {
                a.stream(&format!("/journal?{q}&follow=1")).await?;
            } else {
                print(a.call("GET", &format!("/journal?{q}"), vec![]).await?);
            }
        }
        Command::Lif {
            action,
            name,
            admin,
        } => print(
            admin
                .client()
                .call("POST", &format!("/lif/{}/{action}", enc(&name)), vec![])
                .await?,
        ),
        Command::Svm {
            action,
            name,
            admin,
        } => print(
            admin
                .client()
                .call("POST", &format!("/svm/{}/{action}", enc(&name)), vec![])
                .await?,
        ),
        Command::Aggr {
            name,
            size,
            fill,
            admin,
        } => {
            let body = serde_json::json!({"size": size, "fill_percent": fill});
            let mut body = body.as_object().cloned().unwrap_or_default();
            body.retain(|_, v| !v.is_null());
            print(
                admin
                    .client()
                    .call(
                        "POST",
                        &format!("/aggregate/{}", enc(&name)),
                        serde_json::to_vec(&body)?,
                    )
                    .await?,
            )
        }
        Command::Listener { which, mode, admin } => print(
            admin
                .client()
                .call("PUT", &format!("/listeners/{which}"), mode.into_bytes())
                .await?,
        ),
        Command::Serve { .. } | Command::Certs { .. } | Command::BackendJson(_) => {
            unreachable!("handled in run")
        }
    }
    Ok(())
}

fn certs(
    user: &str,
    config: Option<PathBuf>,
    state_dir: Option<PathBuf>,
    extra: &[String],
) -> Result<()> {
    use ontap_sim::tls;
    let cn = ontap_sim::backend_json::certificate_cn(config.as_deref(), user)?;
    let state = ontap_sim::server::state_dir(state_dir.as_deref(), false);
    let dir = ontap_sim::server::cert_dir(state.as_deref()).expect("a state dir");
    let names = tls::server_names("0.0.0.0".parse()?, extra);
    let c = ontap_sim::backend_json::issue_client_certificate(&dir, &cn, &names)?;
    eprintln!(
        "CA {}, server certificate {}, client certificate {} and key {} (CN {cn}, signs in as {user})",
        dir.join(tls::CA_CERT).display(),
        dir.join(tls::SERVER_CERT).display(),
        c.cert_path.display(),
        c.key_path.display()
    );
    let (cert, key, ca) = c.trident_values();
    println!("clientCertificate: {cert}");
    println!("clientPrivateKey: {key}");
    println!("trustedCACertificate: {ca}");
    Ok(())
}
