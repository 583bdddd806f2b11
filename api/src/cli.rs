//! The command line of `rieter-api`: serve (the default), check a running server's health, or
//! print the OpenAPI document. Configuration comes from the file and environment, never flags.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Rieter's HTTP server: uploads, the REST API and the files pacman downloads.
///
/// Configured by the file named by RIETER_CONFIG (default ./rieter.toml) and RIETER_*
/// environment variables; deploy/rieter.example.toml lists every key.
#[derive(Debug, Parser)]
#[command(name = "rieter-api", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve HTTP (what running without a subcommand does).
    Serve,
    /// Ask the api on this host whether it is up (for container health checks): exits 0 when
    /// GET /api/v1/health answers 200 within the timeout, 1 otherwise.
    Healthcheck {
        /// The address to ask; default: the configured `bind` address, with an unspecified
        /// host (0.0.0.0, ::) replaced by loopback.
        #[arg(long)]
        addr: Option<SocketAddr>,
        /// Seconds to wait for the answer.
        #[arg(long, default_value_t = 5)]
        timeout_secs: u64,
    },
    /// Print the OpenAPI document (what openapi.yaml holds) and exit.
    Openapi,
}

/// The one key a health check needs; the rest (secrets included) may be absent.
#[derive(Deserialize)]
struct BindOnly {
    #[serde(default = "rieter::settings::default_bind")]
    bind: SocketAddr,
}

/// Runs the health check; an error says why the server is not healthy.
pub async fn healthcheck(addr: Option<SocketAddr>, timeout: Duration) -> anyhow::Result<()> {
    let addr = match addr {
        Some(addr) => addr,
        None => {
            let config: BindOnly = rieter::settings::load().context("loading the configuration")?;
            loopback_for(config.bind)
        }
    };
    let status = tokio::time::timeout(timeout, get_health(addr))
        .await
        .with_context(|| format!("no answer from {addr} within {timeout:?}"))??;
    if status != 200 {
        bail!("{addr} answered {status} to GET /api/v1/health");
    }
    Ok(())
}

fn loopback_for(bind: SocketAddr) -> SocketAddr {
    let ip = match bind.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, bind.port())
}

/// `GET /api/v1/health` over plain HTTP/1.0; returns the status code.
async fn get_health(addr: SocketAddr) -> anyhow::Result<u16> {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    stream
        .write_all(format!("GET /api/v1/health HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await?;
    let mut head = Vec::new();
    (&mut stream).take(64 << 10).read_to_end(&mut head).await?;
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    line.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("{addr} answered something that is not HTTP: {line:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unspecified_bind_addresses_are_asked_on_loopback() {
        let ask = |bind: &str| loopback_for(bind.parse().unwrap()).to_string();
        assert_eq!(ask("0.0.0.0:8000"), "127.0.0.1:8000");
        assert_eq!(ask("[::]:80"), "[::1]:80");
        assert_eq!(ask("10.1.2.3:9000"), "10.1.2.3:9000");
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
