//! `pcee demo`: the paper's two claims judged by stated rules on the embedded models and
//! images, offline. The work is [`pcee_demo::run`]; this file parses, shows progress, prints
//! the tables and verdicts and writes files.

use crate::plot;
use crate::plot::cost::{accuracy_vs_cost, Curve};
use crate::plot::marker::Marker;
use crate::report::{markdown, tables};
use crate::staging::Staging;
use indicatif::{ProgressBar, ProgressStyle};
use pcee::policy_file::provenance::content_hash;
use pcee::{Method, PolicyFile};
use pcee_demo::{self as demo, assets, CostMatch, DemoOptions, DemoResults, ModelResults};
use plotters::style::RGBColor;
use std::path::PathBuf;
use std::time::Instant;

/// Judge the paper's two claims on the embedded models by stated rules: large-with-PCEE against
/// small at the small model's cost (paired test), and whether each method meets the accuracy δ
/// asked for; time PCEE with the real runtime. Writes report.md, figures (SVG and PNG),
/// results.json (with both verdicts), logits and policies to --out.
#[derive(clap::Args)]
pub struct Args {
    /// Output directory (created if needed)
    #[arg(
        long,
        visible_alias = "output",
        value_name = "DIR",
        default_value = "report"
    )]
    out: PathBuf,
    /// Comma-separated target accuracies δ, each in [0, 1]
    #[arg(long, default_value = "0.80,0.85,0.90,0.93,0.95,0.97")]
    deltas: String,
    /// Number of confidence bins M on [0, 1] (with --binning mass, at most M per exit)
    #[arg(long, default_value_t = 10)]
    bins: usize,
    #[arg(long, help = crate::inputs::BINNING_HELP, default_value_t = crate::inputs::default_binning(), value_parser = ["width", "mass"])]
    binning: String,
    /// PCEE-WS smoothing window w
    #[arg(long, default_value_t = 1)]
    window: usize,
    /// Images per forward pass
    #[arg(long, default_value_t = 256)]
    batch: i64,
    /// Only the first N validation and test images (quick runs)
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
}

/// Runs `pcee demo`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let options = DemoOptions {
        deltas: crate::inputs::deltas("--deltas", &args.deltas)?
            .into_iter()
            .map(pcee::Delta::get)
            .collect(),
        bins: crate::inputs::bins(args.bins)?,
        binning: crate::inputs::binning(&args.binning)?,
        window: args.window,
        batch: crate::inputs::batch("--batch", args.batch)?,
        limit: args
            .limit
            .map(|n| crate::inputs::at_least_one("--limit", n as u64).map(|n| n as usize))
            .transpose()?,
    };
    let mut bar = Bar {
        bar: ProgressBar::hidden(),
        last: Instant::now(),
        sections: Vec::new(),
    };
    let results = demo::run(&options, &mut bar)?;
    bar.bar.finish_and_clear();
    let files = files(&results)?;
    let mut staging = Staging::new(&args.out)?;
    for (name, content) in &files {
        staging.write(name, content)?;
    }
    write_policies(&results, &mut staging)?;
    let written = staging.commit()?;
    print_tables(&results);
    println!("{}", bar.sections());
    println!(
        "demo finished in {:.0} s; wrote {} files (report.md, results.json, figures, logits, policies) to {}",
        results.seconds,
        written,
        args.out.display()
    );
    Ok(())
}

/// The tables and both verdicts, on stdout.
fn print_tables(results: &DemoResults) {
    let v = &results.verdicts;
    print_claim1(results);
    println!("Accuracy control on the test images (acc: achieved accuracy; err: achieved − δ in points; FLOPs: % of the full model; *: δ above the last exit's own accuracy)");
    println!(
        "{}\n",
        tables::control(&controlled(results), &results.deltas).render()
    );
    println!(
        "Claim 2 — each method over δ from below the first exit's accuracy to the last exit's"
    );
    println!("{}\n", tables::targets(&results.models).render());
    for m in &v.targets_per_model {
        println!(
            "verdict (claim 2, {}, {}): {} — {}",
            m.model, m.regime, m.verdict.verdict, m.verdict.reason
        );
    }
    println!(
        "verdict (claim 2): {} — {}\n",
        v.targets.verdict, v.targets.reason
    );
    let splits = pcee_demo::target_mode::SPLITS;
    println!("Target-accuracy mode — the least compute for an accuracy A (cell: ✓ test accuracy ≥ A / ✗ missed, test accuracy · mean FLOPs as % of full · violation rate over {splits} random splits)");
    println!("{}\n", tables::target_mode(&results.models).render());
    println!("PCEE with the real early-exit runtime (batch {}, first {} test images, median of {} rounds against the full network in the same run)", results.batch, results.data.test.min(pcee_demo::measured::TIMED_IMAGES), pcee_demo::measured::ROUNDS);
    println!("{}", tables::runtime(&controlled(results)).render());
    for note in tables::runtime_notes(&controlled(results)) {
        println!("noise: {note}");
    }
    println!();
}

/// Claim 1 on stdout: for every pair judged its tables and verdict, the pairs skipped, and the
/// overall verdict.
fn print_claim1(results: &DemoResults) {
    let per_pair = results.verdicts.cost_match_per_pair.iter();
    for (c, p) in results.cost_matches.iter().zip(per_pair) {
        println!(
            "Claim 1 — large at the cost of small, {} (δ chosen on the validation images by budget mode)",
            p.pair()
        );
        println!("{}\n", tables::cost_match(results, c).render());
        println!("Paired on the same {} test images", results.data.test);
        println!("{}\n", tables::paired(c).render());
        println!(
            "verdict (claim 1, {}): {} — {}\n",
            p.pair(),
            p.verdict.verdict,
            p.verdict.reason
        );
    }
    for note in &results.skipped_pairs {
        println!("claim 1: {note}");
    }
    let v = &results.verdicts.cost_match;
    println!("verdict (claim 1): {} — {}\n", v.verdict, v.reason);
}

/// The models of the accuracy-control table: all but the small one.
fn controlled(results: &DemoResults) -> Vec<&ModelResults> {
    results
        .models
        .iter()
        .filter(|m| m.name != assets::SMALL)
        .collect()
}

/// The progress bar (stderr), fed by the demo.
/// The progress bar, and the wall time of each section of the work (what `advance` names,
/// less the model's name: the time since the previous `advance` is the named work's).
struct Bar {
    bar: ProgressBar,
    last: Instant,
    sections: Vec<(String, f64)>,
}

impl demo::Progress for Bar {
    fn start(&mut self, total: u64) {
        self.bar = ProgressBar::new(total);
        let style = ProgressStyle::with_template("{bar:30} {pos}/{len} images  {msg}  [{elapsed}]")
            .expect("valid template");
        self.bar.set_style(style);
        self.last = Instant::now();
    }
    fn advance(&mut self, images: u64, what: &str) {
        self.bar.set_message(what.to_string());
        self.bar.inc(images);
        let seconds = std::mem::replace(&mut self.last, Instant::now())
            .elapsed()
            .as_secs_f64();
        let section = what.split_once(": ").map_or(what, |(_, s)| s);
        match self.sections.iter_mut().find(|(name, _)| name == section) {
            Some((_, total)) => *total += seconds,
            None => self.sections.push((section.to_string(), seconds)),
        }
    }
}

impl Bar {
    /// `where the time went: validation logits 12 s, …` (every model together).
    fn sections(&self) -> String {
        let parts: Vec<String> = self
            .sections
            .iter()
            .map(|(name, s)| format!("{name} {s:.0} s"))
            .collect();
        format!("where the time went: {}", parts.join(", "))
    }
}

/// Every file but the policies, rendered in memory: report.md, results.json, figures, logits.
fn files(results: &DemoResults) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let mut figures: Vec<(String, String)> = Vec::new();
    for m in &results.models {
        for (l, d) in m.diagrams.iter().enumerate() {
            figures.push((
                format!("{}-reliability-exit-{l}", m.name),
                plot::diagram::reliability(d, l)?,
            ));
        }
    }
    for m in &results.models {
        let points: Vec<(Method, f64, f64)> = m
            .targets
            .points
            .iter()
            .map(|p| {
                (
                    p.method.parse().expect("a method name"),
                    p.delta,
                    p.accuracy,
                )
            })
            .collect();
        let methods = [
            Method::Confidence,
            Method::Pcee,
            Method::PceeWs,
            Method::Oracle,
        ];
        figures.push((
            format!("{}-accuracy-vs-delta", m.name),
            plot::sweep::accuracy_vs_delta(&points, &methods, Some(m.targets.range))?,
        ));
    }
    for m in &results.models {
        figures.push((
            format!("{}-target-accuracy", m.name),
            plot::target_mode::flops_for_target(&m.name, &m.target_mode)?,
        ));
    }
    figures.push(("accuracy-vs-flops".into(), cost_figure(results)?));
    for (regular, common) in crate::report::recipe_pairs(results) {
        fn panel(m: &ModelResults) -> plot::regimes::Panel<'_> {
            plot::regimes::Panel {
                model: &m.name,
                regime: &m.regime,
                diagrams: &m.diagrams,
            }
        }
        figures.push((
            format!("{}-regimes", regular.name),
            plot::regimes::side_by_side(&[panel(regular), panel(common)])?,
        ));
    }
    let mut files = vec![
        (
            "report.md".to_string(),
            markdown::report(results, &controlled(results)).into_bytes(),
        ),
        (
            "results.json".to_string(),
            serde_json::to_vec_pretty(results)?,
        ),
    ];
    for (stem, svg) in figures {
        files.extend(plot::png::figure_files(&stem, svg)?);
    }
    Ok(files)
}

/// Accuracy vs mean FLOPs: confidence and PCEE curves of every model, and the two points of
/// each pair's cost match.
fn cost_figure(results: &DemoResults) -> anyhow::Result<String> {
    let colors = [
        RGBColor(255, 127, 14),
        RGBColor(31, 119, 180),
        RGBColor(44, 160, 44),
    ];
    let mut curves = Vec::new();
    for (m, &color) in results.models.iter().zip(colors.iter().cycle()) {
        for (method, dashed, marker) in [
            ("pcee", false, Marker::Circle),
            ("confidence", true, Marker::Triangle),
        ] {
            let points = m
                .curve
                .iter()
                .filter(|p| p.method == method)
                .map(|p| (p.mean_flops, p.accuracy))
                .collect();
            curves.push(Curve {
                label: format!("{} {method}", m.name),
                color,
                dashed,
                marker,
                points,
            });
        }
    }
    let marks: Vec<_> = results.cost_matches.iter().flat_map(cost_marks).collect();
    accuracy_vs_cost(
        "Test accuracy vs mean cost (each curve: δ from 0.50 to 0.999)",
        &curves,
        &marks,
    )
}

/// The two points of the cost match `c`: the small model's full network and the large one with
/// PCEE at the cost-match δ.
fn cost_marks(c: &CostMatch) -> [(String, Marker, (f64, f64)); 2] {
    [
        (
            format!("{} full network", c.small_model),
            Marker::Square,
            (c.small_flops, 1.0 - c.small_error),
        ),
        (
            format!("{} PCEE δ={:.3} (at small's cost)", c.large_model, c.delta),
            Marker::Cross,
            (c.large_outcome.mean_flops, 1.0 - c.large_error),
        ),
    ]
}

/// For every model: its validation and test logits (`<model>-{val,test}.npz`) and a PCEE policy
/// calibrated on validation (`<model>-pcee-policy.json`, default δ = the cost-match δ of the
/// model's pair, or of the first pair for a model in none), so that `pcee evaluate` can
/// reproduce any number of results.json.
fn write_policies(results: &DemoResults, staging: &mut Staging) -> anyhow::Result<()> {
    for m in &results.models {
        for (split, logits) in [("val", &m.val_logits), ("test", &m.test_logits)] {
            let name = format!("{}-{split}.npz", m.name);
            logits.write_npz(&staging.path(&name))?;
            staging.add(&name);
        }
        let source = format!("{}-val.npz", m.name);
        let mut policy = PolicyFile::from_diagrams(
            Method::Pcee,
            m.diagrams.clone(),
            &m.flops_per_exit,
            pcee::Delta::new(pair_delta(results, &m.name))?,
            results.window,
            &source,
        );
        policy.bins = results.bins;
        policy.record_data(&m.val_logits);
        policy.content_hash = Some(content_hash(&staging.path(&source))?);
        let name = format!("{}-pcee-policy.json", m.name);
        policy.write(&staging.path(&name))?;
        staging.add(&name);
    }
    Ok(())
}

/// The cost-match δ of the pair holding the model called `name` (as small or large), else the
/// first pair's.
fn pair_delta(results: &DemoResults, name: &str) -> f64 {
    let pairs = &results.cost_matches;
    pairs
        .iter()
        .find(|c| c.small_model == name || c.large_model == name)
        .unwrap_or(&results.cost_match)
        .delta
}
