//! How results are printed: JSON for scripts (`--json`), aligned tables and `field: value`
//! lines for people.

use serde::Serialize;

#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub json: bool,
}

impl Output {
    /// Prints `value` as one JSON document.
    pub fn json<T: Serialize + ?Sized>(&self, value: &T) -> anyhow::Result<()> {
        println!("{}", serde_json::to_string_pretty(value)?);
        Ok(())
    }

    /// `value` as JSON with `--json`, else what `human` prints.
    pub fn either<T: Serialize + ?Sized>(
        &self,
        value: &T,
        human: impl FnOnce(&T),
    ) -> anyhow::Result<()> {
        if self.json {
            self.json(value)
        } else {
            human(value);
            Ok(())
        }
    }
}

impl Output {
    /// Says an action was done: `{key: value}` with `--json`, else `message`.
    pub fn done(&self, key: &str, value: impl Serialize, message: &str) -> anyhow::Result<()> {
        if self.json {
            self.json(&serde_json::json!({ key: value }))
        } else {
            println!("{message}");
            Ok(())
        }
    }
}

/// Prints one page of a listing as a table, with [`page_note`] under it.
pub fn page_table<T>(
    header: &[&str],
    items: &[T],
    row: impl Fn(&T) -> Vec<String>,
    (page, per_page, total): (i64, i64, i64),
) {
    let rows: Vec<Vec<String>> = items.iter().map(row).collect();
    table(header, &rows);
    page_note(page, per_page, total);
}

/// Prints rows under a header, each column as wide as its widest cell.
pub fn table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        let text: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i == last {
                    (*c).to_owned()
                } else {
                    format!("{c:<w$}", w = widths[i])
                }
            })
            .collect();
        println!("{}", text.join("  ").trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

/// Prints `name: value` lines, names aligned.
pub fn fields(pairs: &[(&str, String)]) {
    let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (name, value) in pairs {
        println!("{:<width$}  {value}", format!("{name}:"), width = width + 1);
    }
}

/// `page N of M (T items)` under a listing, when there is more than one page.
pub fn page_note(page: i64, per_page: i64, total: i64) {
    let pages = (total + per_page - 1) / per_page.max(1);
    if pages > 1 {
        println!("page {page} of {pages} ({total} items; --page to see more)");
    }
}

pub fn or_dash(value: Option<impl ToString>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| v.to_string())
}
