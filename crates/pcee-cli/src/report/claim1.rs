//! `report.md`'s section on the first claim: the rule, the overall verdict, then for every pair
//! judged (small, large of one recipe) its verdict, cost-match table, δ and paired table.

use super::tables;
use crate::output::percent;
use pcee_demo::{CostMatch, DemoResults};
use std::fmt::Write;

/// The section `## Claim 1`, ending with the accuracy-vs-FLOPs figure.
pub fn section(results: &DemoResults) -> String {
    let mut md = String::new();
    let v = &results.verdicts.cost_match;
    let _ = writeln!(
        md,
        "## Claim 1: large at the cost of small — {}\n",
        v.verdict
    );
    let _ = writeln!(md, "**Rule.** On each shipped pair (small, large) of one training recipe, shown only when the \
        large model with PCEE errs less than the small model run to its last exit, on the same test images, at no more \
        mean FLOPs, with McNemar's exact p < 0.05; shown overall when shown on some pair. **Verdict: {}** — {}.\n",
        v.verdict, v.reason);
    let per_pair = results.verdicts.cost_match_per_pair.iter();
    for (c, p) in results.cost_matches.iter().zip(per_pair) {
        let _ = writeln!(md, "### {} — {}\n", p.pair(), p.verdict.verdict);
        let _ = writeln!(
            md,
            "**Verdict: {}** — {}.\n",
            p.verdict.verdict, p.verdict.reason
        );
        let _ = writeln!(md, "{}\n", tables::cost_match(results, c).markdown());
        let _ = writeln!(md, "{}\n", cost_paragraph(c));
        let _ = writeln!(md, "{}\n", tables::paired(c).markdown());
    }
    for note in &results.skipped_pairs {
        let _ = writeln!(md, "- {note}.");
    }
    if !results.skipped_pairs.is_empty() {
        md.push('\n');
    }
    let _ = writeln!(md, "![accuracy vs FLOPs](accuracy-vs-flops.png)\n");
    md
}

/// How δ was chosen for the pair of `c`, what the large model costs, and how fast both run.
fn cost_paragraph(c: &CostMatch) -> String {
    let budget = if c.within_budget {
        format!("the δ with the best validation accuracy whose mean validation cost ({}) is not above \
            the small model's full cost ({}) (budget mode, as `pcee calibrate --budget-flops`: every δ at which PCEE's decisions change tried)", tables::mflops(c.large_val_mean_flops), tables::mflops(c.small_flops))
    } else {
        format!(
            "no δ kept the validation cost within the small model's ({}); the cheapest δ is shown",
            tables::mflops(c.small_flops)
        )
    };
    format!("`{}` with PCEE at δ = {:.3} ({budget}) costs {} of `{}`'s FLOPs on the test set. \
        δ was chosen on the validation set only.{}",
        c.large_model, c.delta, percent(c.large_outcome.mean_flops / c.small_flops), c.small_model,
        match c.large_images_per_second {
            None => " Its images/s are not measured.".to_string(),
            Some(v) => format!(" Measured with the real early-exit runtime it runs at {v:.0} images/s (median of the rounds), against {:.0} for the small model run to its last exit (likewise).", c.small_images_per_second),
        })
}
