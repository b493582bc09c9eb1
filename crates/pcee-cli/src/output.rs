//! Formatting what the commands print: aligned text tables, percentages, FLOPs. (Files are
//! written through `pcee::atomic`, several at once through [`crate::staging`].)

/// A text table with a header row; columns are right-aligned except the first.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles.
    pub fn new<S: ToString>(header: &[S]) -> Self {
        Table {
            header: header.iter().map(ToString::to_string).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row (as many cells as titles).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as lines of text, columns separated by two spaces.
    pub fn render(&self) -> String {
        let widths: Vec<usize> = (0..self.header.len())
            .map(|c| {
                std::iter::once(&self.header)
                    .chain(&self.rows)
                    .map(|r| r[c].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: &[String]| {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(c, (cell, &w))| {
                    if c == 0 {
                        format!("{cell:<w$}")
                    } else {
                        format!("{cell:>w$}")
                    }
                })
                .collect();
            padded.join("  ").trim_end().to_string()
        };
        std::iter::once(line(&self.header))
            .chain(self.rows.iter().map(|r| line(r)))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Table {
    /// The table in GitHub-flavoured Markdown (first column left-aligned, the rest right).
    pub fn markdown(&self) -> String {
        let line = |cells: &[String]| format!("| {} |", cells.join(" | "));
        let rule: Vec<String> = (0..self.header.len())
            .map(|c| {
                if c == 0 {
                    ":--".to_string()
                } else {
                    "--:".to_string()
                }
            })
            .collect();
        std::iter::once(line(&self.header))
            .chain(std::iter::once(line(&rule)))
            .chain(self.rows.iter().map(|r| line(r)))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The 2×2 table of a paired comparison: rows `<a> right` / `<a> wrong`, columns `<b> right` /
/// `<b> wrong`, each cell a count of samples. Shared by `pcee compare` and the demo report.
pub fn paired_table(c: &pcee::compare::PairedComparison, a: &str, b: &str) -> Table {
    let mut table = Table::new(&[String::new(), format!("{b} right"), format!("{b} wrong")]);
    table.row(vec![
        format!("{a} right"),
        c.both_correct.to_string(),
        c.only_a.to_string(),
    ]);
    table.row(vec![
        format!("{a} wrong"),
        c.only_b.to_string(),
        c.both_wrong.to_string(),
    ]);
    table
}

/// A fraction in [0, 1] as a percentage with one decimal, e.g. `41.2%`.
pub fn percent(fraction: f64) -> String {
    format!("{:.1}%", 100.0 * fraction)
}

/// A FLOPs count in engineering notation, e.g. `2.38e5`.
pub fn flops(value: f64) -> String {
    if value.abs() < 1000.0 {
        format!("{value}")
    } else {
        format!("{value:.3e}")
    }
}

/// The per-exit table of an outcome: each exit's cumulative cost `cost` (`[exits]`, FLOPs), the
/// fraction of samples that leave there and their accuracy (`-` when none leaves there).
pub fn exit_table(cost: &[f64], outcome: &pcee::Outcome) -> String {
    let mut table = Table::new(&["exit", "FLOPs", "exits here", "accuracy"]);
    let rows = outcome.exit_fractions.iter().zip(&outcome.exit_accuracy);
    for (l, (&fraction, accuracy)) in rows.enumerate() {
        table.row(vec![
            l.to_string(),
            flops(cost[l]),
            percent(fraction),
            accuracy.map_or("-".into(), percent),
        ]);
    }
    table.render()
}

/// The accuracy and how far it is from the accuracy asked for: `92.1% (control error +2.10
/// points)`, naming the target when it is not δ (risk control), or saying that a budget policy
/// has none. Shared by `evaluate` and `infer`.
pub fn accuracy_line(accuracy: f64, delta: pcee::Delta, target: Option<f64>) -> String {
    match target {
        Some(t) if t != delta.get() => format!(
            "{} (target accuracy {}, chosen δ {delta}; control error {:+.2} points)",
            percent(accuracy),
            pcee::delta::Shortest(t),
            100.0 * (accuracy - t)
        ),
        Some(t) => format!(
            "{} (control error {:+.2} points)",
            percent(accuracy),
            100.0 * (accuracy - t)
        ),
        None => format!(
            "{} (a budget policy: no target accuracy)",
            percent(accuracy)
        ),
    }
}

/// The note printed when `delta` is above the last exit's validation accuracy of `policy` (read
/// from `file`): every image that no earlier exit takes ends there, so on data like the
/// validation set no exit policy reaches δ. `None` when δ is reachable or the method ignores δ.
/// `calibrate` and `evaluate` both print it.
pub fn unreachable_delta_note(
    file: &std::path::Path,
    policy: &pcee::policy_file::PolicyFile,
    delta: pcee::Delta,
) -> Option<String> {
    if !policy.method.uses_delta() {
        return None;
    }
    let last = policy.last_exit_accuracy()?;
    (delta.get() > last).then(|| {
        format!(
            "note: {}: δ = {delta} is above the last exit's validation accuracy {last:.4}; no exit policy reaches it on data like the validation set",
            file.display()
        )
    })
}

/// `x` (percentage points) with its sign and one decimal, e.g. `+1.2` or `-0.4`; a value that
/// rounds to zero is `+0.0`, never `-0.0`.
pub fn signed_points(x: f64) -> String {
    let rounded = (x * 10.0).round() / 10.0;
    if rounded == 0.0 {
        "+0.0".to_string()
    } else {
        format!("{rounded:+.1}")
    }
}

#[cfg(test)]
mod signed_points_tests {
    use super::signed_points;

    #[test]
    fn zero_has_one_sign() {
        assert_eq!(signed_points(-0.04), "+0.0");
        assert_eq!(signed_points(0.0), "+0.0");
        assert_eq!(signed_points(-0.06), "-0.1");
        assert_eq!(signed_points(2.34), "+2.3");
    }
}
