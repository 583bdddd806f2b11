//! Rieter's benchmark harness. `cargo run --release -p bench -- all` runs every scenario and
//! prints one table; name scenarios instead of `all` to run some. Every figure is compared with
//! a baseline measured in the same run (repo-add, zstd, nginx, an idle process), because this
//! machine is shared and noisy; BENCHMARKS.md explains each scenario and its target.

mod catalogue;
mod ingest;
mod memory;
mod mirror;
mod pages;
mod parse;
mod regen;
mod report;
mod s3;
mod serve;
mod synth;

use std::time::Instant;

use anyhow::bail;

use crate::report::Row;

/// Settings every scenario sees.
#[derive(Debug, Clone)]
pub struct Opts {
    /// Smaller inputs, for checking that the harness works rather than for figures.
    pub quick: bool,
    /// Also run the slow baselines in full (repo-add building 10,000 packages in one call, and
    /// one call per package for all 1,000 uploads) instead of extrapolating from a sample.
    pub full_baselines: bool,
    /// Skip the repo-add baselines (minutes of the run), to iterate on Rieter's own figures.
    pub skip_baselines: bool,
}

const SCENARIOS: &[&str] = &[
    "regen", "ingest", "parse", "serve", "memory", "latency", "s3", "pages", "mirror",
];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut opts = Opts {
        quick: false,
        full_baselines: false,
        skip_baselines: false,
    };
    let mut chosen = Vec::new();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--quick" => opts.quick = true,
            "--full-baselines" => opts.full_baselines = true,
            "--skip-baselines" => opts.skip_baselines = true,
            "all" => chosen.extend(SCENARIOS.iter().map(|s| s.to_string())),
            s if SCENARIOS.contains(&s) => chosen.push(s.to_owned()),
            other => bail!(
                "unknown argument `{other}`; usage: bench [--quick] [--full-baselines] [--skip-baselines] \
                 all | {}",
                SCENARIOS.join(" | ")
            ),
        }
    }
    if chosen.is_empty() {
        bail!("name scenarios to run, or `all`: {}", SCENARIOS.join(", "));
    }
    if cfg!(debug_assertions) {
        eprintln!("warning: a debug build; run with --release for meaningful figures");
    }

    let mut rows: Vec<Row> = Vec::new();
    for scenario in &chosen {
        eprintln!("== {scenario}");
        let started = Instant::now();
        let result = match scenario.as_str() {
            "regen" => regen::run(&opts).await,
            "ingest" => ingest::burst(&opts).await,
            "latency" => ingest::latency(&opts).await,
            "parse" => parse::run(&opts).await,
            "serve" => serve::run(&opts).await,
            "memory" => memory::run(&opts).await,
            "s3" => s3::run(&opts).await,
            "pages" => pages::run(&opts).await,
            "mirror" => mirror::run(&opts).await,
            _ => unreachable!("scenario names are checked above"),
        };
        match result {
            Ok(new) => {
                report::print(&new);
                rows.extend(new);
            }
            Err(err) => {
                eprintln!("scenario {scenario} failed: {err:#}");
                rows.push(
                    Row::new(format!("{scenario}: FAILED"), report::Quantity::Count(0))
                        .target(format!("{err:#}"), false),
                );
            }
        }
        eprintln!(
            "== {scenario} took {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    println!();
    report::print(&rows);
    if rows.iter().any(|r| !r.met) {
        eprintln!("some targets were not met (see the table)");
    }
    Ok(())
}
