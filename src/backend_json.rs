//! `ontap-sim backend-json`: a ready-to-use NetApp Trident backend config (`ontap-nas`) for the
//! cluster `serve` runs, and the client-certificate issuing it shares with `ontap-sim certs`.
//!
//! It reads what `serve` reads (the topology, the listen addresses, the state dir) and builds the
//! same model `serve` starts from, so the SVM, the data LIF address, the users and their passwords
//! are the ones the simulator answers with. It never talks to a running simulator: a lab can run
//! it before the simulator starts, or inside its container, where the `ONTAP_SIM_*` variables the
//! container entrypoint gives `serve` are set too.

use crate::config::{self, Topology};
use crate::model::{Cluster, Listeners, OperStatus, Scope, SvmState, User};
use crate::tls;
use anyhow::{anyhow, bail, Context, Result};
use base64::Engine;
use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

/// How Trident signs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Auth {
    /// `username` and `password` (Basic auth).
    Password,
    /// `clientCertificate` and `clientPrivateKey`, issued by the simulator's CA, with
    /// `trustedCACertificate`.
    Certificate,
}

/// The options of `ontap-sim backend-json`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The topology `serve` runs (default: the built-in one).
    #[arg(long, value_name = "FILE", env = "ONTAP_SIM_CONFIG")]
    pub config: Option<PathBuf>,
    /// The management listener `serve` was given (default: the topology's, else 0.0.0.0:8443).
    #[arg(long, value_name = "ADDR:PORT", env = "ONTAP_SIM_LISTEN", value_parser = crate::cli::parse_listen)]
    pub listen: Option<SocketAddr>,
    /// The NFS listener `serve` was given: data LIFs without an address take its IP, and its port
    /// goes into nfsMountOptions (default: the topology's, else 0.0.0.0:2049).
    #[arg(long, value_name = "ADDR:PORT", env = "ONTAP_SIM_NFS_LISTEN", value_parser = crate::cli::parse_listen)]
    pub nfs_listen: Option<SocketAddr>,
    /// The state dir `serve` uses; its certs/ holds the CA (certificate auth and --trusted-ca).
    #[arg(long, value_name = "DIR", env = "ONTAP_SIM_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// The SVM Trident uses (default: the first running SVM with an NFS data LIF that is up).
    #[arg(long)]
    pub svm: Option<String>,
    /// The user Trident signs in as (default: the SVM's own admin user, else a cluster admin).
    #[arg(long)]
    pub user: Option<String>,
    /// password or certificate (default: password when the user has one).
    #[arg(long, value_enum)]
    pub auth: Option<Auth>,
    /// managementLIF as Trident reaches the simulator, HOST or HOST:PORT (e.g. a Service name in a
    /// lab cluster). Default: the management listener (127.0.0.1 when it listens on all addresses).
    #[arg(long, value_name = "HOST[:PORT]")]
    pub management_lif: Option<String>,
    /// dataLIF (default: the address of the SVM's first NFS data LIF that is up).
    #[arg(long, value_name = "ADDR")]
    pub data_lif: Option<String>,
    /// The NFS port clients connect to, when it is not the NFS listener's.
    #[arg(long, value_name = "PORT")]
    pub nfs_port: Option<u16>,
    /// Add trustedCACertificate (the simulator's CA) with password auth too, so Trident verifies
    /// the server certificate.
    #[arg(long)]
    pub trusted_ca: bool,
    /// backendName (default: none, Trident derives one).
    #[arg(long, value_name = "NAME")]
    pub backend_name: Option<String>,
}

/// A Trident backend config for the `ontap-nas` driver, in the order Trident's samples use.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Backend {
    pub version: u32,
    pub storage_driver_name: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend_name: Option<String>,
    #[serde(rename = "managementLIF")]
    pub management_lif: String,
    #[serde(rename = "dataLIF")]
    pub data_lif: String,
    pub svm: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_certificate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_private_key: Option<String>,
    #[serde(
        rename = "trustedCACertificate",
        skip_serializing_if = "Option::is_none"
    )]
    pub trusted_ca_certificate: Option<String>,
    pub nfs_mount_options: String,
}

/// The mount options the NFS shim needs: NFSv3 over TCP, MOUNT on the NFS port (so no portmapper
/// is needed), and no NLM.
pub fn nfs_mount_options(port: u16) -> String {
    format!("nfsvers=3,proto=tcp,mountproto=tcp,port={port},mountport={port},nolock")
}

/// A client certificate and key signed by the simulator's CA, written beside it.
pub struct ClientCertificate {
    pub cert_pem: String,
    pub key_pem: String,
    pub ca_pem: String,
    pub dir: PathBuf,
    pub cert_path: PathBuf,
    pub key_path: PathBuf,
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

impl ClientCertificate {
    /// The three base64 values Trident's backend config takes.
    pub fn trident_values(&self) -> (String, String, String) {
        (b64(&self.cert_pem), b64(&self.key_pem), b64(&self.ca_pem))
    }
}

/// Make (or reuse) the CA and server certificate in `cert_dir` for `server_names`, then issue a
/// client certificate whose CN is `cn` and write it to `cert_dir/<cn>.pem` and `<cn>-key.pem`
/// (the key readable by its owner only). `ontap-sim certs` and `backend-json` both use this.
pub fn issue_client_certificate(
    cert_dir: &Path,
    cn: &str,
    server_names: &[String],
) -> Result<ClientCertificate> {
    if cn.is_empty() || cn.contains(['/', '\\']) || cn.starts_with('.') {
        bail!("\"{cn}\" cannot name a certificate file");
    }
    let m = tls::ensure_generated(Some(cert_dir), server_names)?;
    let (cert, key) = tls::issue_client(&m.ca_pem, &m.ca_key_pem, cn)?;
    let cert_path = cert_dir.join(format!("{cn}.pem"));
    let key_path = cert_dir.join(format!("{cn}-key.pem"));
    std::fs::write(&cert_path, &cert)
        .with_context(|| format!("writing {}", cert_path.display()))?;
    std::fs::write(&key_path, &key).with_context(|| format!("writing {}", key_path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(ClientCertificate {
        cert_pem: cert,
        key_pem: key,
        ca_pem: m.ca_pem,
        dir: cert_dir.to_path_buf(),
        cert_path,
        key_path,
    })
}

/// `ontap-sim backend-json`: print the backend JSON on stdout and notes on stderr.
pub fn run(args: Args) -> Result<()> {
    let (backend, notes) = generate(&args)?;
    for n in notes {
        eprintln!("note: {n}");
    }
    println!("{}", serde_json::to_string_pretty(&backend)?);
    Ok(())
}

fn address(flag: Option<SocketAddr>, cfg: &Option<String>, default: &str) -> Result<SocketAddr> {
    if let Some(a) = flag {
        return Ok(a);
    }
    if let Some(s) = cfg {
        return s
            .parse()
            .map_err(|e| anyhow!("topology listen address \"{s}\": {e}"));
    }
    Ok(default.parse().expect("default address parses"))
}

/// HOST[:PORT] as given, or HOST plus the management port; IPv6 in brackets as Trident wants.
fn management_lif(given: Option<&str>, listen: SocketAddr) -> Result<(String, String)> {
    let port = || -> Result<u16> {
        match listen.port() {
            0 => bail!(
                "the management listener's port is 0 (picked at start): give --management-lif HOST:PORT"
            ),
            p => Ok(p),
        }
    };
    if let Some(g) = given {
        let g = g.trim();
        if g.is_empty() || g.contains('/') || g.contains(char::is_whitespace) {
            bail!("--management-lif \"{g}\" is not HOST or HOST:PORT");
        }
        if let Ok(ip) = g.parse::<IpAddr>() {
            let lif = SocketAddr::new(ip, port()?).to_string();
            return Ok((lif, ip.to_string()));
        }
        if let Ok(sa) = g.parse::<SocketAddr>() {
            if sa.port() == 0 {
                bail!("--management-lif \"{g}\": bad port \"0\"");
            }
            return Ok((sa.to_string(), sa.ip().to_string()));
        }
        if let Some(inner) = g.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            let ip: IpAddr = inner
                .parse()
                .map_err(|_| anyhow!("--management-lif \"{g}\": not an IPv6 address"))?;
            return Ok((SocketAddr::new(ip, port()?).to_string(), ip.to_string()));
        }
        return Ok(match g.rsplit_once(':') {
            Some((host, _)) if host.is_empty() || host.contains(':') => {
                bail!("--management-lif \"{g}\" is not HOST or HOST:PORT (IPv6 goes in brackets)")
            }
            Some((host, p)) => {
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| anyhow!("--management-lif \"{g}\": bad port \"{p}\""))?;
                (g.to_string(), host.to_string())
            }
            None => (format!("{g}:{}", port()?), g.to_string()),
        });
    }
    let ip = match listen.ip() {
        ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        ip => ip,
    };
    Ok((SocketAddr::new(ip, port()?).to_string(), ip.to_string()))
}

fn nfs_up(lif: &crate::model::Lif) -> bool {
    lif.role == "data"
        && lif.status == OperStatus::Up
        && lif
            .protocols
            .iter()
            .any(|p| p.eq_ignore_ascii_case("nfs") || p.eq_ignore_ascii_case("nfs3"))
}

fn pick_user<'a>(c: &'a Cluster, svm: &str, wanted: Option<&str>) -> Result<&'a User> {
    if let Some(name) = wanted {
        let u = c.users.values().find(|u| u.name == name).ok_or_else(|| {
            anyhow!(
                "no user \"{name}\" in the topology (users: {})",
                c.users
                    .values()
                    .map(|u| u.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
        if let Scope::Svm(s) = &u.scope {
            if s != svm {
                bail!(
                    "user \"{name}\" is scoped to SVM \"{s}\": Trident tunnels to \"{svm}\" and would get errno 13003"
                );
            }
        }
        if u.role == "readonly" || u.role == "vsadmin-readonly" {
            bail!("user \"{name}\" is readonly: Trident creates volumes and needs an admin user");
        }
        return Ok(u);
    }
    let admin = |u: &&User| u.role == "admin" || u.role == "vsadmin";
    let own = |u: &&User| matches!(&u.scope, Scope::Svm(s) if s == svm);
    let cluster = |u: &&User| u.scope == Scope::Cluster;
    let with_password = |u: &&User| u.password.is_some();
    let users = || c.users.values().map(|u| &**u);
    users()
        .filter(admin)
        .find(|u| own(u) && with_password(u))
        .or_else(|| {
            users()
                .filter(admin)
                .find(|u| cluster(u) && with_password(u))
        })
        .or_else(|| users().filter(admin).find(|u| own(u) || cluster(u)))
        .ok_or_else(|| anyhow!("no admin user can act on SVM \"{svm}\"; give one in the topology"))
}

/// The CN a client certificate for `user` of the topology at `config` (the built-in one when
/// None) must carry to sign in as that user; an unknown user is refused naming the known ones.
pub fn certificate_cn(config: Option<&std::path::Path>, user: &str) -> Result<String> {
    let topology = match config {
        Some(p) => Topology::load(p)?,
        None => Topology::builtin_default(),
    };
    let any: SocketAddr = "0.0.0.0:0".parse().expect("literal address");
    let cluster = Cluster::from_topology(
        &topology,
        &Listeners {
            management: any,
            nfs: any,
        },
    );
    let u = cluster
        .users
        .values()
        .find(|u| u.name == user)
        .ok_or_else(|| {
            anyhow!(
                "no user \"{user}\" in the topology (users: {})",
                cluster
                    .users
                    .values()
                    .map(|u| u.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
    Ok(u.certificate_cn.clone().unwrap_or_else(|| u.name.clone()))
}

/// Build the backend config; the second value holds notes for the user (stderr).
pub fn generate(args: &Args) -> Result<(Backend, Vec<String>)> {
    let mut notes = Vec::new();
    let topology = match &args.config {
        Some(p) => Topology::load(p)?,
        None => Topology::builtin_default(),
    };
    let listen = address(
        args.listen,
        &topology.listen.management,
        config::DEFAULT_MANAGEMENT_LISTEN,
    )?;
    let nfs = address(
        args.nfs_listen,
        &topology.listen.nfs,
        config::DEFAULT_NFS_LISTEN,
    )?;
    let cluster = Cluster::from_topology(
        &topology,
        &Listeners {
            management: listen,
            nfs,
        },
    );

    let svm_name = match &args.svm {
        Some(s) => {
            if !cluster.svms.contains_key(s) {
                bail!(
                    "no SVM \"{s}\" in the topology (SVMs: {})",
                    cluster.svms.keys().cloned().collect::<Vec<_>>().join(", ")
                );
            }
            s.clone()
        }
        None => topology
            .svms
            .iter()
            .filter_map(|s| cluster.svms.get(&s.name))
            .find(|s| s.state == SvmState::Running && s.lifs.iter().any(nfs_up))
            .map(|s| s.name.clone())
            .ok_or_else(|| {
                anyhow!("no running SVM has an NFS data LIF that is up; give --svm and --data-lif")
            })?,
    };
    let svm = &cluster.svms[&svm_name];
    if svm.state != SvmState::Running {
        notes.push(format!(
            "SVM \"{svm_name}\" is stopped in the topology: Trident wants it running"
        ));
    }
    // Trident writes an IPv6 data LIF in brackets.
    let lif_addresses: Vec<String> = svm
        .lifs
        .iter()
        .filter(|l| nfs_up(l))
        .map(|l| match l.address {
            IpAddr::V6(a) => format!("[{a}]"),
            a => a.to_string(),
        })
        .collect();
    let data_lif = match &args.data_lif {
        Some(d) => {
            let bare = d.trim_start_matches('[').trim_end_matches(']');
            let listed = lif_addresses
                .iter()
                .any(|a| a.trim_start_matches('[').trim_end_matches(']') == bare);
            if !listed {
                notes.push(format!(
                    "dataLIF {d} is not an NFS data LIF of \"{svm_name}\" that is up ({}): Trident checks that it is one",
                    if lif_addresses.is_empty() { "none".to_string() } else { lif_addresses.join(", ") }
                ));
            }
            d.clone()
        }
        None => lif_addresses.first().cloned().ok_or_else(|| {
            anyhow!("SVM \"{svm_name}\" has no NFS data LIF that is up; give --data-lif")
        })?,
    };
    if data_lif == "127.0.0.1" && args.data_lif.is_none() {
        let why = if nfs.ip().is_unspecified() {
            "the NFS listener listens on all addresses, and a LIF without an address takes loopback"
        } else {
            "a loopback address"
        };
        notes.push(format!(
            "dataLIF is 127.0.0.1 ({why}): only clients on this host can mount it; clients on other hosts need the simulator started with --nfs-listen <its address>:PORT"
        ));
    }
    let nfs_port = match (args.nfs_port, nfs.port()) {
        (Some(p), _) if p != 0 => p,
        (Some(_), _) => bail!("--nfs-port must not be 0"),
        (None, 0) => bail!(
            "the NFS listener's port is 0 (picked at start): give --nfs-port with the port `serve` printed"
        ),
        (None, p) => p,
    };

    let (management_lif, management_host) = management_lif(args.management_lif.as_deref(), listen)?;
    let user = pick_user(&cluster, &svm_name, args.user.as_deref())?;
    let auth = match (args.auth, &user.password) {
        (Some(a), _) => a,
        (None, Some(_)) => Auth::Password,
        (None, None) => Auth::Certificate,
    };
    let mut backend = Backend {
        version: 1,
        storage_driver_name: "ontap-nas",
        backend_name: args.backend_name.clone(),
        management_lif,
        data_lif,
        svm: svm_name,
        username: None,
        password: None,
        client_certificate: None,
        client_private_key: None,
        trusted_ca_certificate: None,
        nfs_mount_options: nfs_mount_options(nfs_port),
    };
    if auth == Auth::Password {
        let Some(pw) = &user.password else {
            bail!(
                "user \"{}\" has no password (it signs in by certificate): use --auth certificate",
                user.name
            );
        };
        backend.username = Some(user.name.clone());
        backend.password = Some(pw.clone());
    }
    if auth == Auth::Certificate || args.trusted_ca {
        if topology.tls.cert.is_some() || topology.tls.client_ca.is_some() {
            bail!(
                "the topology brings its own certificates ([tls] cert / client_ca): issue the client certificate and take trustedCACertificate from that CA"
            );
        }
        let state = crate::server::state_dir(args.state_dir.as_deref(), false);
        let dir = crate::server::cert_dir(state.as_deref()).expect("a state dir");
        let names = tls::server_names(listen.ip(), &topology.tls.extra_names);
        if !names.iter().any(|n| n == &management_host) {
            notes.push(format!(
                "Trident verifies the server certificate against trustedCACertificate, and \"{management_host}\" is not among its names ({}): add it to [tls] extra_names in the topology and restart serve",
                names.join(", ")
            ));
        }
        let ca = if auth == Auth::Certificate {
            let cn = user
                .certificate_cn
                .clone()
                .unwrap_or_else(|| user.name.clone());
            let issued = issue_client_certificate(&dir, &cn, &names)?;
            let (cert, key, ca) = issued.trident_values();
            backend.client_certificate = Some(cert);
            backend.client_private_key = Some(key);
            notes.push(format!(
                "client certificate {} (CN {cn}) signed by the CA in {}",
                issued.cert_path.display(),
                issued.dir.display()
            ));
            ca
        } else {
            b64(&tls::ensure_generated(Some(&dir), &names)?.ca_pem)
        };
        backend.trusted_ca_certificate = Some(ca);
    }
    Ok((backend, notes))
}
