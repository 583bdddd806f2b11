//! Load runs with wrk: a fixed number of connections for a fixed time, throughput read back
//! from its report.

use std::process::Command;

use anyhow::{Context, bail, ensure};

/// One bounded wrk run.
#[derive(Debug, Clone)]
pub struct Load {
    pub threads: u32,
    pub connections: u32,
    pub seconds: u32,
}

impl Load {
    /// Requests per second for `GET url` with the extra `headers`. Fails if wrk reports socket
    /// errors or any response other than 2xx/3xx, so a fast stream of errors never counts.
    pub fn run(&self, url: &str, headers: &[(String, String)]) -> anyhow::Result<f64> {
        let mut cmd = Command::new("wrk");
        cmd.arg(format!("-t{}", self.threads))
            .arg(format!("-c{}", self.connections))
            .arg(format!("-d{}s", self.seconds))
            // wrk's default of 2 s would count slow large downloads as errors.
            .arg("--timeout")
            .arg("30s");
        for (name, value) in headers {
            cmd.arg("-H").arg(format!("{name}: {value}"));
        }
        let out = cmd.arg(url).output().context("running wrk")?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        ensure!(
            out.status.success(),
            "wrk failed ({}): {stdout}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        parse(&stdout).with_context(|| format!("wrk against {url}:\n{stdout}"))
    }
}

/// Reads `Requests/sec:` from wrk's report, refusing a run with errors.
fn parse(report: &str) -> anyhow::Result<f64> {
    for line in report.lines().map(str::trim) {
        if line.starts_with("Socket errors:") || line.starts_with("Non-2xx or 3xx responses:") {
            bail!("wrk reported `{line}`");
        }
    }
    let rate = report
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .context("no `Requests/sec:` in wrk's report")?;
    let rate: f64 = rate.trim().parse().context("parsing `Requests/sec:`")?;
    ensure!(rate > 0.0, "wrk completed no requests");
    Ok(rate)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLEAN: &str = "Running 3s test @ http://127.0.0.1:1/x
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.00ms  200.00us   5.00ms   90.00%
    Req/Sec    30.00k     1.00k   32.00k    70.00%
  180000 requests in 3.00s, 1.00GB read
Requests/sec:  60000.12
Transfer/sec:    340.00MB
";

    #[test]
    fn reads_the_rate_of_a_clean_run() {
        assert_eq!(parse(CLEAN).unwrap(), 60000.12);
    }

    #[test]
    fn refuses_a_run_with_errors() {
        let errors = CLEAN.replace(
            "Requests/sec",
            "  Socket errors: connect 0, read 3, write 0, timeout 0\nRequests/sec",
        );
        assert!(parse(&errors).is_err());
        let non2xx = CLEAN.replace(
            "Requests/sec",
            "  Non-2xx or 3xx responses: 180000\nRequests/sec",
        );
        assert!(parse(&non2xx).is_err());
    }
}
