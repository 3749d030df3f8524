//! Human output: aligned tables and human sizes. JSON output is serde of the
//! same read models.

use chrono::{DateTime, Utc};

pub use crate::units::size;

/// Local-independent timestamp for tables (UTC, to the second).
pub fn time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// A table with a header row; columns whose header starts with `>` align right.
pub struct Table {
    headers: Vec<String>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// New table with these headers.
    pub fn new(headers: &[&str]) -> Table {
        Table {
            right: headers.iter().map(|h| h.starts_with('>')).collect(),
            headers: headers
                .iter()
                .map(|h| h.trim_start_matches('>').to_string())
                .collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Renders with two spaces between columns and no trailing spaces.
    pub fn render(&self) -> String {
        let n = self.headers.len();
        let mut w = vec![0usize; n];
        for r in std::iter::once(&self.headers).chain(self.rows.iter()) {
            for (i, c) in r.iter().enumerate().take(n) {
                w[i] = w[i].max(c.chars().count());
            }
        }
        let mut out = String::new();
        for r in std::iter::once(&self.headers).chain(self.rows.iter()) {
            let mut line = String::new();
            for (i, c) in r.iter().enumerate().take(n) {
                let pad = w[i] - c.chars().count();
                if i > 0 {
                    line.push_str("  ");
                }
                if self.right[i] {
                    line.push_str(&" ".repeat(pad));
                    line.push_str(c);
                } else {
                    line.push_str(c);
                    if i + 1 < n {
                        line.push_str(&" ".repeat(pad));
                    }
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// What a restore wrote, in one line (the CLI adds how long it took).
pub fn restored(
    backup: &crate::model::BackupRecord,
    target: &std::path::Path,
    report: &crate::core::outcome::RestoreReport,
) -> String {
    if let Some(what) = &report.database {
        return format!(
            "restored backup {} of {} into {}: {what}, {}",
            backup.id,
            backup.task,
            target.display(),
            size(report.bytes)
        );
    }
    format!(
        "restored backup {} of {} into {}: {} files, {} dirs, {} symlinks, {} hard links, {}",
        backup.id,
        backup.task,
        target.display(),
        report.files,
        report.dirs,
        report.symlinks,
        report.hardlinks,
        size(report.bytes)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(size(0), "0 B");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(size(550 * 1024 * 1024), "550 MiB");
    }

    #[test]
    fn tables_align() {
        let mut t = Table::new(&["NAME", ">SIZE"]);
        t.row(vec!["a".into(), "1 B".into()]);
        t.row(vec!["long-name".into(), "10.0 KiB".into()]);
        assert_eq!(
            t.render(),
            "NAME           SIZE\na               1 B\nlong-name  10.0 KiB\n"
        );
    }
}
