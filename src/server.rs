//! `ontap-sim serve`: load the topology, prepare TLS, bind the listeners, print where they are, and
//! run until SIGINT or SIGTERM.

use crate::config::{self, Topology};
use crate::model::{Cluster, Listeners, Scope, Sim};
use crate::tls;
use anyhow::{Context, Result};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::net::TcpListener;
use tracing::info;

pub struct ServeOptions {
    pub listen: Option<SocketAddr>,
    pub nfs_listen: Option<SocketAddr>,
    pub config: Option<PathBuf>,
    pub state_dir: Option<PathBuf>,
    pub ephemeral: bool,
}

/// Where generated certificates live: the state dir's `certs/`, else `./certs`; nowhere when
/// ephemeral (nothing is written then).
pub fn cert_dir(state_dir: Option<&Path>, ephemeral: bool) -> Option<PathBuf> {
    if ephemeral {
        None
    } else {
        Some(match state_dir {
            Some(d) => d.join("certs"),
            None => PathBuf::from("certs"),
        })
    }
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
    let listener = TcpListener::bind(management)
        .await
        .with_context(|| format!("cannot listen on {management} (use --listen ADDR:PORT)"))?;
    let bound = listener.local_addr()?;

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
            let dir = cert_dir(opts.state_dir.as_deref(), opts.ephemeral);
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

    let cluster = Cluster::from_topology(
        &topology,
        &Listeners {
            management: bound,
            nfs,
        },
    );
    let shutdown = shutdown_signal()?;
    print_banner(&cluster, bound, ca_path.as_deref(), opts.config.as_deref());
    let sim = Arc::new(Sim::new(cluster));
    crate::http::serve(listener, server_cfg, sim, shutdown).await;
    info!("stopped");
    Ok(())
}

fn print_banner(c: &Cluster, bound: SocketAddr, ca: Option<&Path>, cfg: Option<&Path>) {
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
    for u in &c.users {
        let scope = match &u.scope {
            Scope::Cluster => "cluster".to_string(),
            Scope::Svm(s) => format!("svm {s}"),
        };
        println!("  user     {} ({scope}, {})", u.name, u.role.as_str());
    }
    println!("ready");
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
