//! The client side of the control API: `ontap-sim fault|state|journal|lif|svm|aggr|listener ...`.

use anyhow::{anyhow, bail, Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use std::io::Write;

pub const DEFAULT_ADMIN: &str = "http://127.0.0.1:8081";

pub struct Admin {
    pub base: String,
    pub token: Option<String>,
}

impl Admin {
    fn authority(&self) -> Result<&str> {
        let rest = self
            .base
            .strip_prefix("http://")
            .ok_or_else(|| anyhow!("--admin must be an http:// URL, not \"{}\"", self.base))?;
        Ok(rest.trim_end_matches('/'))
    }

    async fn connect(&self) -> Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>> {
        let host = self.authority()?;
        let tcp = tokio::net::TcpStream::connect(host)
            .await
            .with_context(|| format!("cannot reach the control API at {} (is `ontap-sim serve` running? see --admin)", self.base))?;
        let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(send)
    }

    fn build(&self, method: &str, path: &str, body: Vec<u8>) -> Result<Request<Full<Bytes>>> {
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header("host", self.authority()?)
            .header("content-type", "application/json");
        if let Some(t) = &self.token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        Ok(b.body(Full::new(Bytes::from(body)))?)
    }

    /// Send one request; an answer that is not HTTP says where the CLI was pointed.
    async fn send(
        &self,
        method: &str,
        path: &str,
        body: Vec<u8>,
    ) -> Result<hyper::Response<hyper::body::Incoming>> {
        let mut send = self.connect().await?;
        send.send_request(self.build(method, path, body)?)
            .await
            .with_context(|| {
                format!(
                    "{} did not answer as the control API does (plain HTTP): is it the ZAPI/REST port (HTTPS) or another server? The control API's address is the `admin` line of the banner `serve` prints; give it with --admin or ONTAP_SIM_ADMIN",
                    self.base
                )
            })
    }

    /// One request; a non-2xx answer becomes an error carrying the server's message.
    pub async fn call(&self, method: &str, path: &str, body: Vec<u8>) -> Result<String> {
        let resp = self.send(method, path, body).await?;
        let status = resp.status();
        let text =
            String::from_utf8_lossy(&resp.into_body().collect().await?.to_bytes()).into_owned();
        if !status.is_success() {
            let msg = error_text(text.as_bytes());
            bail!(
                "{} {}: {msg}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            );
        }
        Ok(text)
    }

    /// Stream a body to stdout as it arrives (`journal --follow`).
    pub async fn stream(&self, path: &str) -> Result<()> {
        let resp = self.send("GET", path, vec![]).await?;
        if !resp.status().is_success() {
            let status = resp.status();
            let text = resp.into_body().collect().await?.to_bytes();
            bail!("{status}: {}", error_text(&text));
        }
        let mut body = resp.into_body();
        let mut out = std::io::stdout();
        while let Some(frame) = body.frame().await {
            if let Some(d) = frame?.data_ref() {
                out.write_all(d)?;
                out.flush()?;
            }
        }
        Ok(())
    }
}

/// The `error` of a control API error body, else the body as text.
fn error_text(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned())
}

/// Percent-encode a query value.
pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A listen address as `ADDR:PORT` or `HOST:PORT` (`localhost:0`): a host name is resolved and
/// its first IPv4 address taken (IPv6 when it has none).
pub fn parse_listen(s: &str) -> Result<std::net::SocketAddr, String> {
    use std::net::ToSocketAddrs;
    if let Ok(a) = s.parse() {
        return Ok(a);
    }
    let (host, port) = s
        .rsplit_once(':')
        .ok_or_else(|| format!("\"{s}\" is not ADDR:PORT or HOST:PORT (e.g. 127.0.0.1:8443)"))?;
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err(format!(
            "\"{s}\" is not ADDR:PORT or HOST:PORT (e.g. 127.0.0.1:8443)"
        ));
    }
    let addrs: Vec<_> = s
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve \"{host}\": {e}"))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| format!("\"{host}\" has no address"))
}
