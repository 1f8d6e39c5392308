//! `ontap-sim serve`: load the topology, prepare TLS, bind the listeners, print where they are, and
//! run until SIGINT or SIGTERM.

use crate::config::{self, Topology};
use crate::model::{Cluster, Listeners, Scope};
use crate::sim::Sim;
use crate::store::data::DataDirs;
use crate::store::{records, Store};
use crate::tls;
use anyhow::{Context, Result};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::net::TcpListener;
use tracing::info;

pub struct ServeOptions {
    pub listen: Option<SocketAddr>,
    pub admin_listen: Option<SocketAddr>,
    pub admin_token: Option<String>,
    pub nfs_listen: Option<SocketAddr>,
    pub portmap_listen: Option<SocketAddr>,
    /// The NLM grace period after a restart (a start with existing state).
    pub nlm_grace: std::time::Duration,
    /// The port NLM GRANTED callbacks ask a client's portmapper on.
    pub nlm_client_portmap: u16,
    /// The longest an NFS connection polls for its client's next call; 0: never.
    pub nfs_busy_poll: std::time::Duration,
    pub config: Option<PathBuf>,
    pub state_dir: Option<PathBuf>,
    pub ephemeral: bool,
    /// Timeouts, connection caps and the body budget as flags (over the topology's `[limits]`).
    pub limits: crate::guard::LimitArgs,
    /// Serve the control API on a non-loopback address without a token.
    pub admin_insecure: bool,
}

/// Refuse a control API reachable from other hosts without a token, unless asked for.
pub fn check_admin_exposure(addr: SocketAddr, token: Option<&str>, insecure: bool) -> Result<()> {
    if addr.ip().is_loopback() || token.is_some_and(|t| !t.is_empty()) || insecure {
        return Ok(());
    }
    anyhow::bail!(
        "refusing to serve the control API on {addr} without a token: anyone who reaches that \
         address could reset the cluster, load a state or inject faults. Give --admin-token TOKEN \
         (or ONTAP_SIM_ADMIN_TOKEN), listen on a loopback address, or pass --admin-insecure to \
         accept the risk"
    )
}

/// The control API's listener when none is given: loopback only.
pub const DEFAULT_ADMIN_LISTEN: &str = "127.0.0.1:8081";

/// The state dir `serve` uses when none is given.
pub const DEFAULT_STATE_DIR: &str = "ontap-sim-data";

/// The state dir in use: the one given, else `./ontap-sim-data`; none when ephemeral.
pub fn state_dir(given: Option<&Path>, ephemeral: bool) -> Option<PathBuf> {
    if ephemeral {
        None
    } else {
        Some(given.map_or_else(|| PathBuf::from(DEFAULT_STATE_DIR), Path::to_path_buf))
    }
}

/// Where generated certificates live: the state dir's `certs/`; nowhere when ephemeral.
pub fn cert_dir(state_dir: Option<&Path>) -> Option<PathBuf> {
    state_dir.map(|d| d.join("certs"))
}

/// Why a listener could not be bound, and what to do about it.
pub fn bind_error(e: std::io::Error, addr: SocketAddr, what: &str, flag: &str) -> anyhow::Error {
    let hint = match e.kind() {
        std::io::ErrorKind::AddrInUse => format!(
            "the port is in use (another ontap-sim, or another server?): choose another with {flag} ADDR:PORT, or port 0 for a free one"
        ),
        std::io::ErrorKind::PermissionDenied => format!(
            "ports below 1024 need root or CAP_NET_BIND_SERVICE: run as root or choose another port with {flag} ADDR:PORT"
        ),
        std::io::ErrorKind::AddrNotAvailable => {
            format!("this host has no such address: choose one of its own with {flag} ADDR:PORT")
        }
        _ => format!("choose another with {flag} ADDR:PORT"),
    };
    anyhow::anyhow!("cannot listen for {what} on {addr}: {e}; {hint}")
}

pub async fn serve(opts: ServeOptions) -> Result<()> {
    let topology = match &opts.config {
        Some(p) => Topology::load(p)?,
        None => Topology::builtin_default(),
    };
    let pick = |flag: Option<SocketAddr>, cfg: &Option<String>, default: &str| -> SocketAddr {
        flag.or_else(|| cfg.as_deref().and_then(|s| s.parse().ok()))
            .unwrap_or_else(|| default.parse().expect("default address parses"))
    };
    let management = pick(
        opts.listen,
        &topology.listen.management,
        config::DEFAULT_MANAGEMENT_LISTEN,
    );
    let nfs = pick(
        opts.nfs_listen,
        &topology.listen.nfs,
        config::DEFAULT_NFS_LISTEN,
    );
    let admin_addr = opts.admin_listen.unwrap_or_else(|| {
        DEFAULT_ADMIN_LISTEN
            .parse()
            .expect("default address parses")
    });
    check_admin_exposure(admin_addr, opts.admin_token.as_deref(), opts.admin_insecure)?;
    if opts.admin_insecure && !admin_addr.ip().is_loopback() && opts.admin_token.is_none() {
        tracing::warn!(addr = %admin_addr, "the control API is served without a token on a non-loopback address (--admin-insecure)");
    }
    let fd_limit = crate::guard::raise_fd_limit();
    let limits = opts
        .limits
        .limits(&topology.limits)
        .context("serve limits")?
        .resolved(fd_limit);
    info!(
        fd_limit,
        max_connections = limits.max_connections,
        max_connections_per_peer = limits.max_connections_per_peer,
        "connection limits"
    );
    let state = state_dir(opts.state_dir.as_deref(), opts.ephemeral);
    // Open the state first: a state dir in use or unreadable refuses the start before anything else.
    let (store, loaded) = match &state {
        Some(d) => {
            let (s, l) = Store::open(d)?;
            (Some(s), l)
        }
        None => (None, None),
    };
    let listener = TcpListener::bind(management)
        .await
        .map_err(|e| bind_error(e, management, "ZAPI and REST", "--listen"))?;
    let bound = listener.local_addr()?;
    let admin_listener = TcpListener::bind(admin_addr)
        .await
        .map_err(|e| bind_error(e, admin_addr, "the control API", "--admin-listen"))?;
    let admin_bound = admin_listener.local_addr()?;
    // NFS: an address asked for (flag or config) must be bound; the default 0.0.0.0:2049 may be
    // taken or privileged, and then the simulator runs without NFS and says so in the banner.
    let nfs_asked = opts.nfs_listen.is_some() || topology.listen.nfs.is_some();
    let nfs_listeners = match crate::nfs::Listeners::bind(nfs, opts.portmap_listen).await {
        Ok(mut l) => {
            l.nlm_client_portmap = opts.nlm_client_portmap;
            l.busy_poll = opts.nfs_busy_poll;
            Some(l)
        }
        Err(e) if !nfs_asked && opts.portmap_listen.is_none() => {
            tracing::warn!(error = %format!("{e:#}"), "NFS is not served");
            None
        }
        Err(e) => return Err(e),
    };

    let (server_cfg, ca_path) = match (&topology.tls.cert, &topology.tls.key) {
        (Some(cert), Some(key)) => {
            let read = |p: &PathBuf| {
                std::fs::read_to_string(p)
                    .with_context(|| format!("config tls: cannot read {}", p.display()))
            };
            let client_ca = topology.tls.client_ca.as_ref().map(read).transpose()?;
            (
                tls::server_config(&read(cert)?, &read(key)?, client_ca.as_deref())?,
                None,
            )
        }
        _ => {
            let dir = cert_dir(state.as_deref());
            let names = tls::server_names(bound.ip(), &topology.tls.extra_names);
            let m = tls::ensure_generated(dir.as_deref(), &names)?;
            let client_ca = match &topology.tls.client_ca {
                Some(p) => std::fs::read_to_string(p).with_context(|| {
                    format!("config tls.client_ca: cannot read {}", p.display())
                })?,
                None => m.ca_pem.clone(),
            };
            (
                tls::server_config(&m.server_pem, &m.server_key_pem, Some(&client_ca))?,
                m.ca_path,
            )
        }
    };

    let listeners = Listeners {
        management: bound,
        nfs,
    };
    let mut cluster = Cluster::from_topology(&topology, &listeners);
    let seed = (topology.clone(), listeners);
    let sim = match store {
        None => Sim::ephemeral(cluster, seed)?,
        Some(store) => {
            let first_start = loaded.is_none();
            let replayed = loaded.as_ref().map_or(0, |l| l.journal_lines);
            let clean = loaded.as_ref().is_some_and(|l| l.clean);
            let dirty = loaded.as_ref().map(|l| l.dirty.clone()).unwrap_or_default();
            let added = match loaded {
                Some(l) => records::load_into(&mut cluster, l).map_err(|e| {
                    anyhow::anyhow!(
                        "{}: the saved state is inconsistent: {e}; refusing to start (nothing was changed)",
                        store.dir().display()
                    )
                })?,
                None => 0,
            };
            let added = added + cluster.settle_quotas() + cluster.fail_interrupted_jobs();
            cluster.commit();
            let data = DataDirs::at(store.volumes_dir())?;
            data.reconcile(&cluster, first_start)?;

            info!(
                dir = %store.dir().display(),
                volumes = cluster.volumes.len(),
                replayed,
                "state loaded"
            );
            let sim = Sim::durable(cluster, store, data, seed);
            if !first_start && !clean {
                sim.measure_usage(&dirty);
            }
            // A replayed journal stays as it is (it compacts when it is due); a first start or
            // objects the topology added are saved at once.
            if first_start || added > 0 {
                sim.save_snapshot()?;
            }
            // A restart forgot every NLM lock: their holders get the grace period to reclaim.
            if !first_start {
                sim.lock_table().start_grace(opts.nlm_grace);
                sim.load_nlm_clients();
            }
            sim
        }
    };
    sim.guards.configure(limits);
    for spec in &topology.faults {
        sim.faults
            .add(spec.clone())
            .map_err(|e| anyhow::anyhow!("config faults: {e}"))?;
    }
    let signal = shutdown_signal()?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        signal.await;
        let _ = stop_tx.send(true);
    });
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    print_banner(
        &sim.read(),
        bound,
        ca_path.as_deref(),
        opts.config.as_deref(),
        state.as_deref(),
    );
    match nfs_listeners.as_ref().and_then(|l| l.nfs_addr()) {
        Some(a) => {
            sim.set_nfs_addr(a);
            println!("  NFS      {a} (NFS v3, MOUNT v3)")
        }
        None => println!("  NFS      not served (cannot listen on {nfs})"),
    }
    if let Some(a) = nfs_listeners.as_ref().and_then(|l| l.portmap_addr()) {
        println!("  portmap  {a}");
    }
    println!("  admin    http://{admin_bound}");
    // Follow the mode switch before anyone can flip it (the control API serves after `ready`).
    let listener = crate::faults::listener::ManagedListener::new(
        listener,
        sim.faults.listeners.management.subscribe(),
    )?;
    println!("ready");
    let sim = Arc::new(sim);
    tokio::spawn(crate::admin::serve(
        admin_listener,
        sim.clone(),
        opts.admin_token.clone(),
        stopped(),
    ));
    let nfs_task =
        nfs_listeners.map(|l| tokio::spawn(crate::nfs::serve(l, sim.clone(), stopped())));
    crate::http::serve(listener, server_cfg, sim.clone(), stopped()).await;
    if let Some(t) = nfs_task {
        let _ = t.await;
    }
    sim.shutdown();
    info!("stopped");
    Ok(())
}

fn print_banner(
    c: &Cluster,
    bound: SocketAddr,
    ca: Option<&Path>,
    cfg: Option<&Path>,
    state: Option<&Path>,
) {
    let source = cfg
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "built-in default topology".into());
    println!(
        "ontap-sim {}: cluster {} (ONTAP {}, ONTAPI {}) from {source}",
        env!("CARGO_PKG_VERSION"),
        c.name,
        c.version.release,
        c.version.ontapi()
    );
    println!("  ZAPI     https://{bound}{}", crate::http::ZAPI_PATH);
    println!("  REST     https://{bound}/api");
    match state {
        Some(d) => println!("  state    {} ({} volumes)", d.display(), c.volumes.len()),
        None => println!("  state    in memory (--ephemeral): nothing is saved"),
    }
    match ca {
        Some(p) => println!("  CA       {}", p.display()),
        None => println!("  CA       (configured certificate, or in memory with --ephemeral)"),
    }
    for n in &c.nodes {
        println!("  node     {} serial {}", n.name, n.serial_number);
    }
    for a in c.aggregates.values() {
        println!("  aggr     {} {} bytes, media {}", a.name, a.size, a.media);
    }
    for s in c.svms.values() {
        println!(
            "  svm      {} {} aggregates [{}]",
            s.name,
            s.state.as_str(),
            s.aggregates.join(", ")
        );
        for l in &s.lifs {
            println!(
                "  lif      {} {} {} [{}] {}",
                l.name,
                l.address,
                l.role,
                l.protocols.join(", "),
                l.status.as_str()
            );
        }
    }
    for u in c.users.values() {
        let scope = match &u.scope {
            Scope::Cluster => "cluster".to_string(),
            Scope::Svm(s) => format!("svm {s}"),
        };
        println!("  user     {} ({scope}, {})", u.name, u.role);
    }
}

/// Install the SIGINT/SIGTERM handlers now (before `ready` is printed, so a signal sent right after
/// it is never missed) and return the future that resolves on the first of them.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = int.recv() => info!("SIGINT: shutting down"),
            _ = term.recv() => info!("SIGTERM: shutting down"),
        }
    })
}
