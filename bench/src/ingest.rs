//! Placeholder while the scenario is written.

use crate::Opts;
use crate::report::Row;

pub async fn burst(_opts: &Opts) -> anyhow::Result<Vec<Row>> {
    anyhow::bail!("not written yet")
}

pub async fn latency(_opts: &Opts) -> anyhow::Result<Vec<Row>> {
    anyhow::bail!("not written yet")
}
