//! The second claim ("PCEE meets the accuracy δ it is asked for, where confidence thresholding
//! misses it"), judged by a rule over the range of δ where the exit rule matters: from just
//! below the first exit's test accuracy (below it every image may leave at exit 0) to the last
//! exit's (above it no policy can reach δ).
//!
//! A method *misses* δ when its test accuracy is below δ by more than one standard error of an
//! accuracy on N test images, SE = √(δ(1 − δ)/N); it *over-shoots* when it exceeds δ by more
//! than [`OVERSHOOT`] (compute spent for accuracy nobody asked for).

use crate::verdict::Verdict;
use pcee::{Method, ReliabilityDiagram, ScoreTable};
use serde::Serialize;

/// Excess accuracy (a fraction: 2 points) beyond which a method over-shoots δ.
pub const OVERSHOOT: f64 = 0.02;

/// The methods judged (the oracle, a bound, is drawn but not judged).
pub const JUDGED: [Method; 3] = [Method::Confidence, Method::Pcee, Method::PceeWs];

/// One method at one δ on the test set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetPoint {
    /// `confidence`, `pcee`, `pcee-ws` or `oracle`.
    pub method: String,
    /// Target accuracy δ.
    pub delta: f64,
    /// Achieved test accuracy.
    pub accuracy: f64,
    /// Mean FLOPs as a fraction of the full network's.
    pub flops_fraction: f64,
    /// Accuracy < δ − SE.
    pub missed: bool,
    /// Accuracy > δ + [`OVERSHOOT`].
    pub overshoot: bool,
}

/// One judged method of one model over the δ grid.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MethodTargets {
    /// The method's name.
    pub method: String,
    /// δ where it misses (in grid order).
    pub missed: Vec<f64>,
    /// δ where it over-shoots by more than [`OVERSHOOT`].
    pub overshoot: Vec<f64>,
    /// Mean over the grid of its FLOPs fraction.
    pub mean_flops_fraction: f64,
}

/// The second claim on one model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelTargets {
    /// The model's name.
    pub model: String,
    /// `[first exit, last exit]` test accuracy: the range where the exit rule matters.
    pub range: [f64; 2],
    /// Test images N (of the standard error).
    pub samples: usize,
    /// One point per method (confidence, pcee, pcee-ws, oracle) and δ, method-major.
    pub points: Vec<TargetPoint>,
    /// One summary per method of [`JUDGED`].
    pub methods: Vec<MethodTargets>,
}

/// √(δ(1 − δ)/N): the standard error of an accuracy δ measured on `n` images.
pub fn standard_error(delta: f64, n: usize) -> f64 {
    (delta * (1.0 - delta) / n as f64).sqrt()
}

/// Whether `accuracy` misses `delta` by more than one standard error on `n` images.
pub fn misses(accuracy: f64, delta: f64, n: usize) -> bool {
    accuracy < delta - standard_error(delta, n)
}

/// δ from 2 points below the first exit's accuracy `first` (rounded down to a point) up to the
/// last exit's accuracy `last`, in steps of 0.01, within [0, 1].
pub fn target_deltas(first: f64, last: f64) -> Vec<f64> {
    let lo = ((100.0 * first).floor() as i64 - 2).max(0);
    let hi = ((100.0 * last).floor() as i64).min(100);
    (lo..=hi).map(|p| p as f64 / 100.0).collect()
}

/// The second claim on model `name`: its validation `diagrams` `[exits]`, `test` scores,
/// cumulative `flops` `[exits]`, PCEE-WS `window`, and its exits' test accuracies `[exits]`.
pub fn model_targets(
    name: &str,
    diagrams: &[ReliabilityDiagram],
    test: &ScoreTable,
    flops: &[f64],
    window: usize,
    exit_accuracy: &[f64],
) -> ModelTargets {
    let range = [exit_accuracy[0], exit_accuracy[exit_accuracy.len() - 1]];
    let deltas = target_deltas(range[0], range[1]);
    let methods = [JUDGED.as_slice(), &[Method::Oracle]].concat();
    let n = test.samples();
    let points: Vec<TargetPoint> = pcee::sweep(diagrams, test, flops, &methods, &deltas, window)
        .into_iter()
        .map(|r| TargetPoint {
            method: r.method.name().to_string(),
            delta: r.delta,
            accuracy: r.outcome.accuracy,
            flops_fraction: r.outcome.flops_fraction,
            missed: misses(r.outcome.accuracy, r.delta, n),
            overshoot: r.outcome.accuracy > r.delta + OVERSHOOT,
        })
        .collect();
    ModelTargets {
        model: name.to_string(),
        range,
        samples: n,
        methods: JUDGED.map(|m| summarise(m.name(), &points)).to_vec(),
        points,
    }
}

/// The summary of `method` over its `points`.
pub fn summarise(method: &str, points: &[TargetPoint]) -> MethodTargets {
    let own: Vec<&TargetPoint> = points.iter().filter(|p| p.method == method).collect();
    let deltas =
        |f: fn(&TargetPoint) -> bool| own.iter().filter(|p| f(p)).map(|p| p.delta).collect();
    MethodTargets {
        method: method.to_string(),
        missed: deltas(|p| p.missed),
        overshoot: deltas(|p| p.overshoot),
        mean_flops_fraction: own.iter().map(|p| p.flops_fraction).sum::<f64>()
            / own.len().max(1) as f64,
    }
}

/// The verdict on the second claim over `models`: shown when, on some model, confidence
/// thresholding misses δ where PCEE meets it (those δ listed, and any δ where PCEE misses
/// too); otherwise not shown, saying either that no method misses δ (PCEE's difference is then
/// cost, given as mean FLOPs over the grid) or which methods miss where.
pub fn targets_verdict(models: &[ModelTargets]) -> Verdict {
    let method = |m: &ModelTargets, name: &str| {
        m.methods
            .iter()
            .find(|t| t.method == name)
            .cloned()
            .expect("a judged method")
    };
    let list = |ds: &[f64]| {
        ds.iter()
            .map(|d| format!("{d:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut wins = Vec::new();
    let mut misses = Vec::new();
    for m in models {
        let (conf, pcee) = (method(m, "confidence"), method(m, "pcee"));
        let only: Vec<f64> = conf
            .missed
            .iter()
            .copied()
            .filter(|d| !pcee.missed.contains(d))
            .collect();
        if !only.is_empty() {
            wins.push(format!("δ = {} ({})", list(&only), m.model));
        }
        for t in &m.methods {
            if !t.missed.is_empty() {
                misses.push(format!(
                    "{} {} at δ = {}",
                    m.model,
                    t.method,
                    list(&t.missed)
                ));
            }
        }
    }
    if !wins.is_empty() {
        return Verdict::new(
            true,
            format!(
                "confidence misses δ where PCEE meets it at {}; all misses: {}",
                wins.join("; "),
                misses.join("; ")
            ),
        );
    }
    if misses.is_empty() {
        let cost: Vec<String> = models
            .iter()
            .map(|m| {
                let pct = |name| format!("{:.1} %", 100.0 * method(m, name).mean_flops_fraction);
                format!("{}: PCEE {} of the full FLOPs, confidence {}, PCEE-WS {} (means over the δ grid)",
                    m.model, pct("pcee"), pct("confidence"), pct("pcee-ws"))
            })
            .collect();
        return Verdict::new(
            false,
            format!(
                "on these models no method misses δ; PCEE's difference is cost: {}",
                cost.join("; ")
            ),
        );
    }
    Verdict::new(
        false,
        format!(
            "confidence never misses δ where PCEE meets it; misses: {}",
            misses.join("; ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_error_and_misses_by_hand() {
        // δ = 0.9, N = 100: √(0.9 · 0.1 / 100) = 0.03, so the limit is 0.87.
        assert!((standard_error(0.9, 100) - 0.03).abs() < 1e-12);
        assert!(misses(0.869, 0.9, 100));
        assert!(!misses(0.871, 0.9, 100));
        assert!(!misses(0.95, 0.9, 100));
    }

    #[test]
    fn the_grid_spans_the_range_where_the_rule_matters() {
        // first exit 80.3 % → from 0.78; last exit 91.57 % → to 0.91.
        let d = target_deltas(0.803, 0.9157);
        assert_eq!(d.len(), 14);
        assert!((d[0] - 0.78).abs() < 1e-12 && (d[13] - 0.91).abs() < 1e-12);
        assert_eq!(target_deltas(0.005, 1.0)[0], 0.0);
    }

    fn point(method: &str, delta: f64, accuracy: f64, flops_fraction: f64) -> TargetPoint {
        TargetPoint {
            method: method.into(),
            delta,
            accuracy,
            flops_fraction,
            missed: misses(accuracy, delta, 100),
            overshoot: accuracy > delta + OVERSHOOT,
        }
    }

    /// A model judged at δ = 0.8 and 0.9 on N = 100 images from (method, [accuracy at 0.8, 0.9],
    /// [FLOPs fraction at 0.8, 0.9]).
    fn model(rows: &[(&str, [f64; 2], [f64; 2])]) -> ModelTargets {
        let points: Vec<TargetPoint> = rows
            .iter()
            .flat_map(|(m, a, f)| [point(m, 0.8, a[0], f[0]), point(m, 0.9, a[1], f[1])])
            .collect();
        ModelTargets {
            model: "big".into(),
            range: [0.79, 0.92],
            samples: 100,
            methods: JUDGED.map(|m| summarise(m.name(), &points)).to_vec(),
            points,
        }
    }

    #[test]
    fn summary_lists_misses_overshoots_and_mean_cost() {
        // SE at 0.8 is 0.04: 0.75 misses; 0.85 over-shoots by 5 points; at 0.9 (SE 0.03) 0.88 meets.
        let p = [
            point("pcee", 0.8, 0.75, 0.2),
            point("pcee", 0.9, 0.88, 0.6),
            point("pcee", 0.8, 0.85, 0.4),
        ];
        let s = summarise("pcee", &p);
        assert_eq!(s.missed, vec![0.8]);
        assert_eq!(s.overshoot, vec![0.8]);
        assert!((s.mean_flops_fraction - 0.4).abs() < 1e-12);
    }

    #[test]
    fn confidence_missing_where_pcee_meets_is_shown() {
        // Confidence 0.84 at δ = 0.9 is below 0.87; PCEE 0.90 meets it.
        let m = model(&[
            ("confidence", [0.81, 0.84], [0.3, 0.5]),
            ("pcee", [0.80, 0.90], [0.3, 0.6]),
            ("pcee-ws", [0.80, 0.90], [0.3, 0.6]),
        ]);
        let v = targets_verdict(&[m]);
        assert!(v.shown(), "{v:?}");
        assert!(
            v.reason
                .starts_with("confidence misses δ where PCEE meets it at δ = 0.90 (big)"),
            "{v:?}"
        );
    }

    #[test]
    fn nobody_missing_makes_the_difference_cost() {
        let m = model(&[
            ("confidence", [0.85, 0.93], [0.5, 0.7]),
            ("pcee", [0.80, 0.90], [0.3, 0.5]),
            ("pcee-ws", [0.81, 0.91], [0.35, 0.55]),
        ]);
        let v = targets_verdict(&[m]);
        assert!(!v.shown());
        assert_eq!(
            v.reason,
            "on these models no method misses δ; PCEE's difference is cost: big: PCEE 40.0 % of the \
             full FLOPs, confidence 60.0 %, PCEE-WS 45.0 % (means over the δ grid)"
        );
    }

    #[test]
    fn pcee_missing_too_is_not_shown() {
        let m = model(&[
            ("confidence", [0.70, 0.93], [0.2, 0.7]),
            ("pcee", [0.70, 0.90], [0.2, 0.5]),
            ("pcee-ws", [0.80, 0.90], [0.3, 0.5]),
        ]);
        let v = targets_verdict(&[m]);
        assert!(!v.shown());
        assert_eq!(
            v.reason,
            "confidence never misses δ where PCEE meets it; misses: big confidence at δ = 0.80; big pcee at δ = 0.80"
        );
    }
}
