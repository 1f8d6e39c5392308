//! The `ontap-sim` command line: `serve` runs the simulator; `certs` makes certificates for
//! certificate-auth clients.

use anyhow::Result;
use base64::Engine;
use clap::{Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "ontap-sim",
    version,
    about = "A NetApp ONTAP cluster simulator (ZAPI over HTTPS)"
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
    Serve {
        /// HTTPS management listener (ZAPI).
        #[arg(long, value_name = "ADDR:PORT")]
        listen: Option<SocketAddr>,
        /// NFS listener; data LIFs without an address use its IP.
        #[arg(long, value_name = "ADDR:PORT")]
        nfs_listen: Option<SocketAddr>,
        /// TOML topology file.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Directory for state and generated certificates (default ./ontap-sim-data).
        #[arg(long, value_name = "DIR", conflicts_with = "ephemeral")]
        state_dir: Option<PathBuf>,
        /// Keep everything in memory; write nothing to disk.
        #[arg(long)]
        ephemeral: bool,
        #[arg(long, value_enum, default_value = "text")]
        log_format: LogFormat,
    },
    /// Make a CA, a server certificate and a client certificate for USER, and print the base64
    /// values for Trident's clientCertificate, clientPrivateKey and trustedCACertificate.
    Certs {
        /// The user the client certificate authenticates as (its CN).
        #[arg(long)]
        user: String,
        /// State dir whose certs/ holds the CA (created when absent); the same one `serve` uses
        /// (default ./ontap-sim-data).
        #[arg(long, value_name = "DIR")]
        state_dir: Option<PathBuf>,
        /// Extra names for the server certificate.
        #[arg(long = "name", value_name = "NAME")]
        names: Vec<String>,
    },
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

fn main() {
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
            nfs_listen,
            config,
            state_dir,
            ephemeral,
            log_format,
        } => {
            init_logging(log_format);
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(ontap_sim::server::serve(ontap_sim::server::ServeOptions {
                listen,
                nfs_listen,
                config,
                state_dir,
                ephemeral,
            }))
        }
        Command::Certs {
            user,
            state_dir,
            names,
        } => certs(&user, state_dir, &names),
    }
}

fn certs(user: &str, state_dir: Option<PathBuf>, extra: &[String]) -> Result<()> {
    use ontap_sim::tls;
    let state = ontap_sim::server::state_dir(state_dir.as_deref(), false);
    let dir = ontap_sim::server::cert_dir(state.as_deref()).expect("a state dir");
    let names = tls::server_names("0.0.0.0".parse()?, extra);
    let m = tls::ensure_generated(Some(&dir), &names)?;
    let (cert, key) = tls::issue_client(&m.ca_pem, &m.ca_key_pem, user)?;
    let cert_path = dir.join(format!("{user}.pem"));
    let key_path = dir.join(format!("{user}-key.pem"));
    std::fs::write(&cert_path, &cert)?;
    std::fs::write(&key_path, &key)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o600))?;
    }
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    eprintln!(
        "CA {}, server certificate {}, client certificate {} and key {} (CN {user})",
        dir.join(tls::CA_CERT).display(),
        dir.join(tls::SERVER_CERT).display(),
        cert_path.display(),
        key_path.display()
    );
    println!("clientCertificate: {}", b64(&cert));
    println!("clientPrivateKey: {}", b64(&key));
    println!("trustedCACertificate: {}", b64(&m.ca_pem));
    Ok(())
}
