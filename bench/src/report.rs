//! The table every scenario contributes rows to: a figure, the baseline measured in the same
//! run, their ratio and the target.

use std::fmt;

/// A measured quantity. Ratios are taken between two quantities of the same kind.
#[derive(Debug, Clone, Copy)]
pub enum Quantity {
    Seconds(f64),
    PerSecond(f64),
    Bytes(u64),
    Count(u64),
}

impl Quantity {
    fn value(self) -> f64 {
        match self {
            Self::Seconds(v) | Self::PerSecond(v) => v,
            Self::Bytes(v) | Self::Count(v) => v as f64,
        }
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Seconds(s) if s < 1.0 => write!(f, "{:.1} ms", s * 1000.0),
            Self::Seconds(s) => write!(f, "{s:.2} s"),
            Self::PerSecond(r) => write!(f, "{r:.0}/s"),
            Self::Bytes(b) => write!(f, "{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
            Self::Count(n) => write!(f, "{n}"),
        }
    }
}

/// One line of the table.
#[derive(Debug, Clone)]
pub struct Row {
    pub scenario: String,
    pub figure: Quantity,
    /// What the figure is compared with, measured in the same run.
    pub baseline: Option<(String, Quantity)>,
    pub target: String,
    pub met: bool,
}

impl Row {
    pub fn new(scenario: impl Into<String>, figure: Quantity) -> Self {
        Self {
            scenario: scenario.into(),
            figure,
            baseline: None,
            target: String::new(),
            met: true,
        }
    }

    pub fn baseline(mut self, name: impl Into<String>, value: Quantity) -> Self {
        self.baseline = Some((name.into(), value));
        self
    }

    /// The target in words and whether the figure meets it.
    pub fn target(mut self, target: impl Into<String>, met: bool) -> Self {
        self.target = target.into();
        self.met = met;
        self
    }

    /// Figure divided by baseline.
    pub fn ratio(&self) -> Option<f64> {
        let (_, baseline) = self.baseline.as_ref()?;
        let b = baseline.value();
        (b > 0.0).then(|| self.figure.value() / b)
    }
}

/// Prints rows as a Markdown table (what BENCHMARKS.md shows).
pub fn print(rows: &[Row]) {
    println!("| scenario | Rieter | baseline | baseline figure | ratio | target | met |");
    println!("|---|---:|---|---:|---:|---|---|");
    for row in rows {
        let (name, value) = match &row.baseline {
            Some((name, value)) => (name.as_str(), value.to_string()),
            None => ("-", "-".to_owned()),
        };
        let ratio = row.ratio().map_or("-".to_owned(), |r| format!("{r:.3}×"));
        let target = if row.target.is_empty() {
            "-"
        } else {
            &row.target
        };
        let met = if row.target.is_empty() {
            "-"
        } else if row.met {
            "yes"
        } else {
            "**no**"
        };
        println!(
            "| {} | {} | {name} | {value} | {ratio} | {target} | {met} |",
            row.scenario, row.figure
        );
    }
}
