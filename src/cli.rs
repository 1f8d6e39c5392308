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

    /// One request; a non-2xx answer becomes an error carrying the server's message.
    pub async fn call(&self, method: &str, path: &str, body: Vec<u8>) -> Result<String> {
        let mut send = self.connect().await?;
        let resp = send.send_request(self.build(method, path, body)?).await?;
        let status = resp.status();
        let text =
            String::from_utf8_lossy(&resp.into_body().collect().await?.to_bytes()).into_owned();
        if !status.is_success() {
            let msg = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
                .unwrap_or(text);
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
        let mut send = self.connect().await?;
        let resp = send.send_request(self.build("GET", path, vec![])?).await?;
        if !resp.status().is_success() {
            bail!("{}", resp.status());
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
