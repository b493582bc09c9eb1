//! The alarm's error control: a one-sided Clopper–Pearson upper bound on an exit's live
//! accuracy, tested at a level that shrinks with every test so that the whole stream, however
//! long, raises a false alarm with probability ≤ α (a union bound, "alpha spending").

use crate::stats::clopper_pearson_lower;

/// The one-sided Clopper–Pearson upper confidence bound, at level 1 − `alpha`, of an accuracy
/// after `correct` = k right in `count` = n: 1 − the lower bound of the error rate, i.e. the
/// (1 − α)-quantile of Beta(k + 1, n − k), and 1 when k = n. P(bound < p) ≤ α for every p.
///
/// # Panics
/// When `correct > count`, `count` = 0 or α is not in (0, 1).
pub fn clopper_pearson_upper(correct: u64, count: u64, alpha: f64) -> f64 {
    assert!(count > 0, "at least one labelled sample");
    1.0 - clopper_pearson_lower(count - correct, count, alpha)
}

/// The level of the `test`-th test (1-based) of one of `exits` monitored exits:
/// α / (exits · test · (test + 1)). Over all exits and tests these levels sum to α (Σ_j 1/(j(j+1))
/// = 1), so the chance of any false alarm in the stream is at most α when every exit's accuracy
/// is at least δ throughout.
///
/// # Panics
/// When `exits` or `test` is 0.
pub fn spent_level(alpha: f64, exits: usize, test: u64) -> f64 {
    assert!(exits > 0 && test > 0, "1-based test of at least one exit");
    alpha / (exits as f64 * test as f64 * (test as f64 + 1.0))
}
