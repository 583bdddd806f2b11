//! Placeholder while the scenario is written.

use crate::Opts;
use crate::report::Row;

pub async fn run(_opts: &Opts) -> anyhow::Result<Vec<Row>> {
    anyhow::bail!("not written yet")
}
