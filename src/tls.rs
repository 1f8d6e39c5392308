//! Certificates: a CA and server certificate generated with rcgen on first start and reused after,
//! client certificates for certificate-auth users, and the rustls server configuration.
//!
//! The CA is kept beside the server certificate so a user can hand it to Trident's
//! `trustedCACertificate`; client certificates signed by it authenticate by their CN.

use anyhow::{anyhow, Context, Result};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

pub const CA_CERT: &str = "ca.pem";
pub const CA_KEY: &str = "ca-key.pem";
pub const SERVER_CERT: &str = "server.pem";
pub const SERVER_KEY: &str = "server-key.pem";
const SERVER_SANS: &str = "server-names.txt";

/// PEM material for one listener.
pub struct Material {
    pub ca_pem: String,
    pub ca_key_pem: String,
    pub server_pem: String,
    pub server_key_pem: String,
    /// Where the CA was written, when it was.
    pub ca_path: Option<PathBuf>,
}

fn validity(params: &mut CertificateParams, days: i64) {
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(days);
}

fn new_ca() -> Result<(String, String)> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params
        .distinguished_name
        .push(DnType::CommonName, "ontap-sim CA");
    params
        .distinguished_name
        .push(DnType::OrganizationName, "ontap-sim");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    validity(&mut params, 3650);
    let key = KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    Ok((cert.pem(), key.serialize_pem()))
}

fn issue(
    ca_pem: &str,
    ca_key_pem: &str,
    names: &[String],
    cn: &str,
    usage: ExtendedKeyUsagePurpose,
) -> Result<(String, String)> {
    let ca_key = KeyPair::from_pem(ca_key_pem).context("reading the CA key")?;
    let issuer = Issuer::from_ca_cert_pem(ca_pem, ca_key).context("reading the CA certificate")?;
    let mut params = CertificateParams::new(names.to_vec())?;
    params.distinguished_name.push(DnType::CommonName, cn);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "ontap-sim");
    params.extended_key_usages = vec![usage];
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    validity(&mut params, 825);
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &issuer)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// A client certificate and key whose CN is `user`, signed by the CA.
pub fn issue_client(ca_pem: &str, ca_key_pem: &str, user: &str) -> Result<(String, String)> {
    issue(
        ca_pem,
        ca_key_pem,
        &[],
        user,
        ExtendedKeyUsagePurpose::ClientAuth,
    )
}

fn write_private(path: &Path, contents: &str) -> Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(contents.as_bytes())?;
    Ok(())
}

fn read_pair(dir: &Path, cert: &str, key: &str) -> Result<Option<(String, String)>> {
    let (c, k) = (dir.join(cert), dir.join(key));
    match (c.exists(), k.exists()) {
        (false, false) => Ok(None),
        (true, true) => Ok(Some((
            std::fs::read_to_string(&c).with_context(|| format!("reading {}", c.display()))?,
            std::fs::read_to_string(&k).with_context(|| format!("reading {}", k.display()))?,
        ))),
        _ => Err(anyhow!(
            "{} holds only one of {cert} and {key}; remove the other or restore the pair",
            dir.display()
        )),
    }
}

/// Load the CA from `dir`, creating it on first use. `None` keeps it in memory only.
pub fn ensure_ca(dir: Option<&Path>) -> Result<(String, String)> {
    let Some(dir) = dir else {
        return new_ca();
    };
    if let Some(pair) = read_pair(dir, CA_CERT, CA_KEY)? {
        return Ok(pair);
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let (cert, key) = new_ca()?;
    std::fs::write(dir.join(CA_CERT), &cert)?;
    write_private(&dir.join(CA_KEY), &key)?;
    Ok((cert, key))
}

/// The generated CA and server certificate, reused from `dir` when present and when the stored
/// server certificate already covers every name in `names`.
pub fn ensure_generated(dir: Option<&Path>, names: &[String]) -> Result<Material> {
    let (ca_pem, ca_key_pem) = ensure_ca(dir)?;
    let server = match dir {
        Some(d) => {
            let covered: Vec<String> = std::fs::read_to_string(d.join(SERVER_SANS))
                .map(|s| s.lines().map(str::to_string).collect())
                .unwrap_or_default();
            match read_pair(d, SERVER_CERT, SERVER_KEY)? {
                Some(pair) if names.iter().all(|n| covered.contains(n)) => Some(pair),
                _ => None,
            }
        }
        None => None,
    };
    let (server_pem, server_key_pem) = match server {
        Some(pair) => pair,
        None => {
            let pair = issue(
                &ca_pem,
                &ca_key_pem,
                names,
                "ontap-sim",
                ExtendedKeyUsagePurpose::ServerAuth,
            )?;
            if let Some(d) = dir {
                std::fs::write(d.join(SERVER_CERT), &pair.0)?;
                write_private(&d.join(SERVER_KEY), &pair.1)?;
                std::fs::write(d.join(SERVER_SANS), names.join("\n"))?;
            }
            pair
        }
    };
    Ok(Material {
        ca_pem,
        ca_key_pem,
        server_pem,
        server_key_pem,
        ca_path: dir.map(|d| d.join(CA_CERT)),
    })
}

/// The names a generated server certificate carries.
pub fn server_names(listen_ip: std::net::IpAddr, extra: &[String]) -> Vec<String> {
    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    if let Ok(h) = gethostname::gethostname().into_string() {
        if !h.is_empty() {
            names.push(h);
        }
    }
    if !listen_ip.is_unspecified() {
        names.push(listen_ip.to_string());
    }
    names.extend(extra.iter().cloned());
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| seen.insert(n.clone()));
    names
}

pub fn parse_certs(pem: &str, what: &str) -> Result<Vec<CertificateDer<'static>>> {
    let certs: Vec<_> = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| anyhow!("{what}: not a PEM certificate: {e:?}"))?;
    if certs.is_empty() {
        return Err(anyhow!("{what}: no certificate in the PEM"));
    }
    Ok(certs)
}

/// The rustls configuration: TLS 1.2 and 1.3, HTTP/1.1, and optional client certificates checked
/// against `client_ca` (a client without one falls back to Basic auth).
pub fn server_config(
    chain_pem: &str,
    key_pem: &str,
    client_ca_pem: Option<&str>,
) -> Result<Arc<ServerConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = parse_certs(chain_pem, "server certificate")?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|e| anyhow!("server key: not a PEM private key: {e:?}"))?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?;
    let builder = match client_ca_pem {
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for c in parse_certs(ca, "client CA")? {
                roots.add(c)?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .allow_unauthenticated()
                .build()?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut cfg = builder
        .with_single_cert(chain, key)
        .context("server certificate and key do not match")?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// The subject CN of a verified client certificate.
pub fn common_name(cert: &CertificateDer<'_>) -> Option<String> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    let cn = parsed
        .subject()
        .iter_common_name()
        .next()?
        .as_str()
        .ok()?
        .to_string();
    Some(cn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_material_is_reused_and_client_cn_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
        let a = ensure_generated(Some(dir.path()), &names).unwrap();
        let b = ensure_generated(Some(dir.path()), &names).unwrap();
        assert_eq!(a.ca_pem, b.ca_pem);
        assert_eq!(a.server_pem, b.server_pem);
        // A new name regenerates the server certificate under the same CA.
        let more = vec!["localhost".into(), "127.0.0.1".into(), "sim.lab".into()];
        let c = ensure_generated(Some(dir.path()), &more).unwrap();
        assert_eq!(a.ca_pem, c.ca_pem);
        assert_ne!(a.server_pem, c.server_pem);
        server_config(&c.server_pem, &c.server_key_pem, Some(&c.ca_pem)).unwrap();

        let (cert, _key) = issue_client(&a.ca_pem, &a.ca_key_pem, "vsadmin").unwrap();
        let der = parse_certs(&cert, "client").unwrap();
        assert_eq!(common_name(&der[0]).as_deref(), Some("vsadmin"));
    }

    #[test]
    fn half_a_pair_is_refused_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CA_CERT), "x").unwrap();
        let e = ensure_ca(Some(dir.path())).unwrap_err().to_string();
        assert!(e.contains("only one of"), "{e}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join(CA_CERT)).unwrap(),
            "x"
        );
    }
}
