//! `pcee monitor`: replay a labelled logits stream (e.g. clean, then shifted) through a policy and
//! the online reliability monitor of `pcee::monitor`; print the alarms, each exit's live state,
//! and what re-calibrating from the labelled window before the first alarm gives on the rest.

use crate::inputs;
use crate::output::{percent, Table};
use anyhow::anyhow;
use pcee::monitor::replay::{replay, replay_many, ReplayOptions, ReplayReport, ReplaySummary};
use pcee::monitor::MonitorConfig;
use pcee::{ExitLogits, Outcome, PolicyFile};
use std::path::PathBuf;

/// Replay labelled logits through a policy and the online reliability monitor: alarms (with a
/// false-alarm rate ≤ α over the stream), live accuracy and drift per exit, and the accuracy
/// after re-calibration from the last labelled images.
#[derive(clap::Args)]
pub struct Args {
    /// Policy file written by `pcee calibrate`
    #[arg(long, value_name = "FILE", required_unless_present = "replicas")]
    policy: Option<PathBuf>,
    /// Labelled logits of the same network, replayed in order; repeat to append (clean, then shifted)
    #[arg(long, value_name = "FILE", required_unless_present = "replicas")]
    stream: Vec<PathBuf>,
    /// Instead of a replay: the fleet's monitor. Fetch the counts of these running `pcee serve`
    /// replicas (comma-separated `host:port`, each one's own address, not the balancer's), sum
    /// them per policy and test the sums; with --state, continue from the last run
    #[arg(long, value_name = "ADDRS", conflicts_with_all = ["policy", "stream", "replays", "recalibrate", "delta"])]
    pub(crate) replicas: Option<String>,
    /// The model's name on the replicas (`pcee serve --name`), with --replicas
    #[arg(long, value_name = "NAME", requires = "replicas")]
    pub(crate) model: Option<String>,
    /// With --replicas: the file keeping the replicas' last counts and the tests between runs
    /// (read when present, then written)
    #[arg(long, value_name = "FILE", requires = "replicas")]
    pub(crate) state: Option<PathBuf>,
    /// δ the policy runs at and each exit is checked against (default: the policy's)
    #[arg(long, allow_negative_numbers = true)]
    delta: Option<f64>,
    /// Labelled images per test block and per live window
    #[arg(long, default_value_t = 200)]
    pub(crate) window: u64,
    /// False-alarm rate α in (0, 1) over the whole stream
    #[arg(long, default_value_t = 0.05, allow_negative_numbers = true)]
    pub(crate) alpha: f64,
    /// Decisions per label-free drift test block (exit 0's confidences against the validation set's, χ² test)
    #[arg(long, default_value_t = 1000)]
    pub(crate) drift_block: u64,
    /// False-alarm rate of the drift alarms in (0, 1) over the whole stream
    #[arg(long, default_value_t = 0.05, allow_negative_numbers = true)]
    pub(crate) drift_alpha: f64,
    /// After the first alarm, re-calibrate from this many most recent labelled images (0: never) [default: --window]
    #[arg(long, value_name = "N")]
    recalibrate: Option<u64>,
    /// Replay this many times, each file shuffled on its own (seeds --seed, --seed + 1, …), and report how often and when the alarm fires
    #[arg(long, value_name = "R")]
    replays: Option<u64>,
    /// Seed of the first shuffle of --replays
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Print one JSON object instead of text
    #[arg(long)]
    pub(crate) json: bool,
}

/// Runs `pcee monitor`.
pub fn run(args: Args) -> anyhow::Result<()> {
    if args.replicas.is_some() {
        return super::monitor_fleet::run(&args);
    }
    let policy_path = args.policy.clone().expect("clap requires --policy");
    let policy = PolicyFile::read(&policy_path)?;
    let delta = match args.delta {
        Some(d) => inputs::delta("--delta", d)?,
        None => policy.delta,
    };
    let window = inputs::at_least_one("--window", args.window)? as usize;
    let alpha = inputs::alpha("--alpha", args.alpha)?;
    let recalibrate = args.recalibrate.unwrap_or(window as u64) as usize;
    let bins = policy.bins();
    anyhow::ensure!(
        recalibrate == 0 || recalibrate >= bins,
        "--recalibrate: {recalibrate} labelled images; expected 0 (never) or at least the \
         policy's {bins} bins"
    );
    let replays = args
        .replays
        .map(|r| inputs::count_up_to("--replays", r, 100_000))
        .transpose()?;
    let parts = read_streams(&args, &policy)?;
    let lengths: Vec<usize> = parts.iter().map(ExitLogits::samples).collect();
    let stream = ExitLogits::concat(&parts.iter().collect::<Vec<_>>())
        .map_err(|err| anyhow!("--stream: {err}"))?;
    let config = MonitorConfig {
        window,
        alpha,
        ..drift_config(&args)?
    };
    let options = ReplayOptions {
        config,
        delta,
        recalibrate,
    };
    match replays {
        Some(r) => {
            // Seeds --seed ..= --seed + r − 1, printed as a range: it must not wrap.
            anyhow::ensure!(
                args.seed.checked_add(u64::from(r) - 1).is_some(),
                "--seed: {}; expected at most {} with --replays {r} (seeds --seed to --seed + {})",
                args.seed,
                u64::MAX - (u64::from(r) - 1),
                r - 1
            );
            let summary = replay_many(&policy, &stream, &lengths, r as usize, args.seed, &options)?;
            print_summary(&args, &summary, &lengths)
        }
        None => print_report(&args, &replay(&policy, &stream, None, &options)?),
    }
}

/// The drift settings of `args` (`--drift-block`, `--drift-alpha`), others the defaults.
pub(crate) fn drift_config(args: &Args) -> anyhow::Result<MonitorConfig> {
    Ok(MonitorConfig {
        drift_block: inputs::at_least_one("--drift-block", args.drift_block)? as usize,
        drift_alpha: inputs::alpha("--drift-alpha", args.drift_alpha)?,
        ..MonitorConfig::default()
    })
}

/// Every `--stream` file, checked against the policy's network.
fn read_streams(args: &Args, policy: &PolicyFile) -> anyhow::Result<Vec<ExitLogits>> {
    args.stream
        .iter()
        .map(|path| {
            let logits = inputs::read_logits(path)?;
            policy.check_logits(&logits).map_err(|err| {
                let policy = args
                    .policy
                    .as_deref()
                    .unwrap_or(std::path::Path::new("--policy"));
                anyhow!("{}: {err} ({})", path.display(), policy.display())
            })?;
            Ok(logits)
        })
        .collect()
}

fn print_report(args: &Args, r: &ReplayReport) -> anyhow::Result<()> {
    if args.json {
        println!("{}", serde_json::to_string(r)?);
        return Ok(());
    }
    for (at, a) in &r.alarms {
        println!(
            "alarm at image {}: exit {}, live accuracy {:.3}, upper bound {:.3} < δ {}",
            at + 1,
            a.exit,
            a.accuracy,
            a.upper_bound,
            a.delta
        );
    }
    if r.alarms.is_empty() {
        println!("no alarm in {} images", r.images);
    }
    for (at, a) in &r.drift_alarms {
        println!(
            "drift alarm at image {}: exit 0's confidences over the last {} images unlike validation's, χ² {:.1} ({} dof), p {:.2e} < {:.2e}",
            at + 1,
            a.block,
            a.test.statistic,
            a.test.dof,
            a.test.p_value,
            a.level
        );
    }
    if r.drift_alarms.is_empty() {
        println!("no drift alarm in {} images", r.images);
    }
    let mut table = Table::new(&[
        "exit",
        "exited",
        "labelled",
        "live accuracy (last window)",
        "upper bound",
        "drift (PSI)",
        "alarmed",
    ]);
    for (l, e) in r.exits.iter().enumerate() {
        let opt = |v: Option<f64>, f: fn(f64) -> String| v.map_or("-".to_string(), f);
        table.row(vec![
            l.to_string(),
            e.exited.to_string(),
            e.labelled.to_string(),
            opt(e.live_accuracy, percent),
            opt(e.upper_bound, percent),
            opt(e.drift, |d| format!("{d:.3}")),
            if e.alarmed { "yes" } else { "no" }.to_string(),
        ]);
    }
    println!("{}", table.render());
    println!("whole stream, policy as loaded: {}", outcome(&r.outcome));
    if let Some(c) = &r.recalibration {
        println!(
            "after the first alarm (image {}), on the {} images after it:",
            c.at + 1,
            c.rest
        );
        let recalibrated = format!("re-calibrated on the last {} labelled:", c.window);
        for (name, o) in [
            ("policy as loaded:", &c.static_policy),
            (recalibrated.as_str(), &c.recalibrated),
            ("confidence, τ = δ:", &c.confidence),
        ] {
            println!("  {name:<40} {}", outcome(o));
        }
    }
    Ok(())
}

fn outcome(o: &Outcome) -> String {
    format!(
        "accuracy {}, mean FLOPs {} of the full network",
        percent(o.accuracy),
        percent(o.flops_fraction)
    )
}

/// `what`: median and 10th/90th percentiles of `delays` (none printed when empty), and how many
/// came before the last file (`kind`).
fn print_delays(what: &str, delays: &[i64], kind: &str) {
    if delays.is_empty() {
        return;
    }
    let mut l = delays.to_vec();
    l.sort_unstable();
    let q = |p: f64| l[((p * l.len() as f64).ceil() as usize).clamp(1, l.len()) - 1];
    let early = l.iter().filter(|&&v| v <= 0).count();
    println!(
        "{what}: median {}, 10th percentile {}, 90th percentile {} ({early} {kind} came before it)",
        q(0.5),
        q(0.1),
        q(0.9)
    );
}

fn print_summary(args: &Args, s: &ReplaySummary, lengths: &[usize]) -> anyhow::Result<()> {
    if args.json {
        println!("{}", serde_json::to_string(s)?);
        return Ok(());
    }
    println!(
        "{} replays (each file shuffled on its own; seeds {}..{}): an alarm in {} ({} ± {} s.e.)",
        s.replays,
        args.seed,
        args.seed + s.replays as u64 - 1,
        s.labels_to_alarm.len(),
        percent(s.alarm_rate),
        percent(s.alarm_rate_se)
    );
    if lengths.len() > 1 {
        print_delays(
            "labels from the start of the last file to the first alarm",
            &s.labels_to_alarm,
            "alarms",
        );
    }
    println!(
        "a drift alarm in {} ({} ± {} s.e.)",
        s.images_to_drift_alarm.len(),
        percent(s.drift_alarm_rate),
        percent(s.drift_alarm_rate_se)
    );
    if lengths.len() > 1 {
        print_delays(
            "images from the start of the last file to the first drift alarm",
            &s.images_to_drift_alarm,
            "drift alarms",
        );
    }
    if let Some(r) = &s.recalibration {
        println!(
            "after the first alarm, on the rest of the stream ({} replays): mean accuracy, share of replays below δ, mean FLOPs",
            r.replays
        );
        for (name, a) in [
            ("policy as loaded", &r.static_policy),
            ("re-calibrated", &r.recalibrated),
            ("confidence, τ = δ", &r.confidence),
        ] {
            println!(
                "  {name:<18} {}  below δ in {}  FLOPs {}",
                percent(a.mean_accuracy),
                percent(a.below_delta),
                percent(a.flops_fraction)
            );
        }
    }
    Ok(())
}
