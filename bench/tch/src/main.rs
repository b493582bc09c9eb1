//! `pcee-tch infer …`: the early-exit timing of `pcee infer` (`pcee_nn::runtime::measure`, the
//! same code), with the network on burn's `tch` backend (libtorch, CPU) instead of `flex`, so
//! bench/compare.sh can show what the default backend leaves on the table.
//!
//! Build: `bench/tch/build.sh` (libtorch from the bench venv's torch: LIBTORCH_USE_PYTORCH=1).
//! Run:   `pcee-tch infer --model M --policy P [--delta D] [--batch B] [--limit N] [--repeat R]
//!         [--threads T] --json` — prints the `pcee infer --json` fields that compare.sh reads.
//! libtorch's intra-op threads = `--threads`, else RAYON_NUM_THREADS, else all cores.

use pcee::PolicyFile;
use pcee_nn::burn::tensor::Device;
use pcee_nn::data::{load_split, Split};
use pcee_nn::runtime::{check_policy, measure, MeasureOptions};
use pcee_nn::store;
use std::path::PathBuf;

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() != Some("infer") {
        return Err("usage: pcee-tch infer --model M --policy P [--delta D] [--batch B] [--limit N] [--repeat R] [--threads T] --json".into());
    }
    let (mut model, mut policy, mut delta, mut batch, mut limit, mut repeat, mut threads) =
        (None, None, None, 256usize, None, 3usize, None);
    let rest: Vec<String> = args.collect();
    let mut i = 0;
    while i < rest.len() {
        let flag = rest[i].as_str();
        if flag == "--json" {
            i += 1;
            continue;
        }
        let value = rest.get(i + 1).ok_or(format!("{flag}: missing value"))?;
        let num = |v: &str| v.parse::<usize>().map_err(|_| format!("{flag}: {v}; expected a positive integer"));
        match flag {
            "--model" => model = Some(PathBuf::from(value)),
            "--policy" => policy = Some(PathBuf::from(value)),
            "--delta" => delta = Some(value.parse::<f64>().map_err(|_| format!("--delta: {value}; expected a number"))?),
            "--batch" => batch = num(value)?,
            "--limit" => limit = Some(num(value)?),
            "--repeat" => repeat = num(value)?,
            "--threads" => threads = Some(num(value)?),
            _ => return Err(format!("{flag}: unknown option")),
        }
        i += 2;
    }
    let model_path = model.ok_or("--model: required")?;
    let policy_path = policy.ok_or("--policy: required")?;
    let threads = threads
        .or_else(|| std::env::var("RAYON_NUM_THREADS").ok().and_then(|t| t.parse().ok()))
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    tch::set_num_threads(threads as i32);

    #[allow(deprecated)] // burn 0.22 marks burn-tch deprecated; it is what the issue asks to compare
    let device = Device::libtorch();
    let policy_file = PolicyFile::read(&policy_path).map_err(|e| e.to_string())?;
    let delta = delta.unwrap_or(policy_file.delta);
    let (model, _card) = store::load(&model_path, &device).map_err(|e| e.to_string())?;
    check_policy(&policy_file, &model).map_err(|e| format!("{}: {e}", policy_path.display()))?;
    let mut data = load_split(None, Split::Test).map_err(|e| e.to_string())?;
    if let Some(n) = limit {
        data = data.take(n);
    }
    let policy = policy_file.policy(delta).map_err(|e| e.to_string())?;
    let report = measure(&model, policy.as_ref(), &data, &MeasureOptions { batch, repeats: repeat }, &device)
        .map_err(|e| e.to_string())?;
    let t = &report.timing;
    let json = serde_json::json!({
        "backend": "tch",
        "threads": threads,
        "delta": delta,
        "samples": report.samples,
        "batch": report.batch,
        "repeats": report.repeats,
        "accuracy": report.outcome.accuracy,
        "mean_exit": report.outcome.mean_exit,
        "images_per_second": t.images_per_second,
        "full_images_per_second": t.full_images_per_second,
    });
    println!("{json}");
    Ok(())
}
