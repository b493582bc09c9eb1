//! Early exit against the full network, wall clock: the table of docs/performance.md.
//! Not a timed test — run it on an otherwise idle machine:
//!
//! ```sh
//! cargo bench -p pcee-nn --bench infer -- [--limit1 N] [--repeat R] MODEL.safetensors=POLICY.json…
//! ```
//!
//! For every model, δ ∈ {0.8, 0.9, 0.95} and batch ∈ {1, 256}, runs
//! [`pcee_nn::runtime::measure`] (the code behind `pcee infer`) on the Fashion-MNIST test split
//! (the first `--limit1` images, default 1000, at batch 1) and prints one Markdown row.
//!
//! `--profile` instead times, for each model at batch 256 and 1, the embedding, every stage,
//! every exit head and the gathering of half the rows of the state after every stage (median
//! of 20 runs each), with the FLOPs of each part, to see where early exit loses time.

use pcee::PolicyFile;
use pcee_nn::burn::tensor::{Device, Int, Tensor, TensorData};
use pcee_nn::data::{images_tensor, Dataset};
use pcee_nn::data::{load_split, Split};
use pcee_nn::runtime::{check_policy, measure, MeasureOptions};
use pcee_nn::{default_device, store, Model};
use std::path::Path;
use std::time::Instant;

fn main() {
    let (mut limit1, mut repeats, mut pairs, mut profile_only) =
        (1000usize, 3usize, Vec::new(), false);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bench" => {}
            "--profile" => profile_only = true,
            "--limit1" => {
                limit1 = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--limit1 N")
            }
            "--repeat" => {
                repeats = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--repeat R")
            }
            pair => pairs.push(
                pair.split_once('=')
                    .map(|(m, p)| (m.to_string(), p.to_string()))
                    .expect("MODEL=POLICY"),
            ),
        }
    }
    let device = default_device();
    let test = load_split(None, Split::Test).expect("Fashion-MNIST test split");
    if profile_only {
        for (model_path, _) in &pairs {
            let (model, _) = store::load(Path::new(model_path), &device).expect("model");
            println!("{model_path}");
            for batch in [256, 1] {
                profile(&model.for_inference(), &test, batch, &device);
            }
        }
        return;
    }
    println!("| model | δ | batch | images | accuracy | mean exit | FLOPs fraction | img/s early exit | img/s full | speed-up | ideal | efficiency | p50 / p95 ms early | p50 / p95 ms full |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (model_path, policy_path) in &pairs {
        let (model, _) = store::load(Path::new(model_path), &device).expect("model");
        let file = PolicyFile::read(Path::new(policy_path)).expect("policy");
        check_policy(&file, &model).expect("policy of this model");
        let name = Path::new(model_path)
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        for delta in [0.8, 0.9, 0.95] {
            let policy = file.policy(pcee::Delta::new(delta).expect("δ in [0, 1]"));
            for batch in [1, 256] {
                let data = if batch == 1 {
                    test.clone().take(limit1)
                } else {
                    test.clone()
                };
                let r = measure(
                    &model,
                    policy.as_ref(),
                    &data,
                    &MeasureOptions {
                        batch,
                        repeats,
                        ..MeasureOptions::default()
                    },
                    &device,
                )
                .unwrap();
                let (o, t) = (&r.outcome, &r.timing);
                let lat = |a: Option<f64>, b: Option<f64>| match (a, b) {
                    (Some(a), Some(b)) => format!("{a:.2} / {b:.2}"),
                    _ => "–".into(),
                };
                println!(
                    "| {name} {} | {delta} | {batch} | {} | {:.4} | {:.3} | {:.3} | {:.0} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {} |",
                    file.method, r.samples, o.accuracy, o.mean_exit, o.flops_fraction, t.images_per_second,
                    t.full_images_per_second, t.speedup, t.ideal_speedup, t.efficiency,
                    lat(t.latency_p50_ms, t.latency_p95_ms), lat(t.full_latency_p50_ms, t.full_latency_p95_ms)
                );
            }
        }
    }
}

/// Median wall time in milliseconds of `f` over 20 runs (after 3 untimed ones).
fn time_ms<T>(mut f: impl FnMut() -> T) -> f64 {
    (0..3).for_each(|_| drop(f()));
    let mut t: Vec<f64> = (0..20)
        .map(|_| {
            let start = Instant::now();
            drop(f());
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

/// Time of every part of the network at `batch`, against its FLOPs.
fn profile(model: &Model, data: &Dataset, batch: usize, device: &Device) {
    let rows: Vec<usize> = (0..batch).collect();
    let images = images_tensor(data, &rows, None, device);
    let (stage_flops, head_flops) = (model.config().stage_flops(), model.config().head_flops());
    let half = Tensor::<1, Int>::from_data(
        TensorData::new(
            (0..batch as i64).step_by(2).collect::<Vec<_>>(),
            [batch.div_ceil(2)],
        ),
        device,
    );
    let mut stages = pcee_nn::runtime::BurnStages::new(model, device);
    let full = time_ms(|| pcee_runtime::full_batch(&mut stages, &images).unwrap());
    println!(
        "batch {batch}: full network {full:.3} ms ({:.2} GFLOP/s)",
        model.flops_per_exit().last().unwrap() * batch as f64 / full / 1e6
    );
    println!("| part | ms | MFLOPs/image | GFLOP/s | share of time | share of FLOPs |");
    println!("|---|---|---|---|---|---|");
    let total: f64 = model.flops_per_exit().last().copied().unwrap();
    let row = |name: String, ms: f64, flops: f64| {
        println!(
            "| {name} | {ms:.3} | {:.3} | {:.2} | {:.3} | {:.3} |",
            flops / 1e6,
            flops * batch as f64 / ms / 1e6,
            ms / full,
            flops / total
        );
    };
    let embed = time_ms(|| model.embed(images.clone()));
    row("embed".into(), embed, 0.0);
    let mut state = model.embed(images.clone());
    for e in 0..model.exits() {
        let input = state.clone();
        let stage = time_ms(|| model.stage(e, input.clone()));
        state = model.stage(e, state);
        let head = time_ms(|| model.exit_head(e, &state).into_data());
        row(format!("stage {e}"), stage, stage_flops[e]);
        row(format!("head {e}"), head, head_flops[e]);
        if batch > 1 {
            let select = time_ms(|| state.clone().select(&half));
            row(format!("select ½ after {e}"), select, 0.0);
        }
    }
}
