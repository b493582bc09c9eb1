//! The early-exit runtime against the offline evaluation: same model, data and policy → same
//! exits and predictions as `exits_of` on the logits of every exit (up to float rounding at a
//! bin edge or threshold, counted), and the batch really shrinks.
use crate::common;

use pcee::policy::{choose_exit, Tempered};
use pcee::policy_file::FitError;
use pcee::{
    exits_of, reliability_diagrams, Delta, ExitLogits, ExitPolicy, ExitScore, Method, PolicyFile,
    ScoreTable,
};
use pcee_nn::arch::{ArchConfig, MsdNetConfig, VitConfig};
use pcee_nn::burn::tensor::Device;
use pcee_nn::data::{images_tensor, Dataset};
use pcee_nn::runtime::{check_policy, early_exit, measure, BurnStages, Decision, MeasureOptions};
use pcee_nn::train::{train, Silent, TrainOptions};
use pcee_nn::{exit_logits, store, Model};
use pcee_runtime::early_exit_batch;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Three exits on two scales (28, 14 px).
fn msdnet3() -> ArchConfig {
    ArchConfig::Msdnet(MsdNetConfig {
        stem_channels: vec![2, 4],
        growth: vec![2, 2],
        bottleneck: vec![1, 1],
        block_layers: vec![1, 1, 1],
        block_first_scale: vec![0, 1, 1],
        reduction: 0.5,
        head_channels: 4,
        classes: 10,
    })
}

/// Three transformer blocks, 7×7 patches.
fn vit3() -> ArchConfig {
    ArchConfig::Vit(VitConfig {
        patch: 7,
        dim: 8,
        depth: 3,
        heads: 2,
        mlp_dim: 16,
        classes: 10,
    })
}

/// Every exit's scores on `data`, computed the offline way (`pcee logits` → `ScoreTable`).
fn offline_scores(model: &Model, data: &Dataset, batch: usize) -> (ExitLogits, ScoreTable) {
    let out = exit_logits(model, data, batch, &Device::flex());
    let logits = ExitLogits::from_f32(out.shape, out.logits, out.labels, Some(out.flops)).unwrap();
    let table = ScoreTable::from_logits(&logits);
    (logits, table)
}

/// Fires at exit l when the confidence reaches `thresholds[l]`.
struct PerExitThreshold(Vec<f64>);

impl ExitPolicy for PerExitThreshold {
    fn should_exit(&self, exit: usize, score: &ExitScore) -> bool {
        score.confidence >= self.0[exit]
    }
}

/// Compares the runtime's decisions with `choose_exit` on the offline scores. Returns the
/// number of samples whose exit or prediction differ; each such sample must have, at some exit
/// it reached, an offline confidence within 1e-5 of one of `edges` (bin edges, thresholds).
fn count_differences(
    policy: &dyn ExitPolicy,
    runtime: &[Decision],
    table: &ScoreTable,
    edges: &[f64],
) -> usize {
    assert_eq!(runtime.len(), table.samples());
    let offline = exits_of(policy, table);
    let mut differing = 0;
    for (i, (d, &exit)) in runtime.iter().zip(&offline).enumerate() {
        let scores = table.sample(i);
        assert_eq!(exit, choose_exit(policy, scores));
        if d.exit == exit && d.prediction == scores[exit].prediction {
            // Same decision: the confidence is the same up to float rounding of the network.
            assert!(
                (d.confidence - scores[exit].confidence).abs() < 1e-4,
                "sample {i}: {d:?} vs {:?}",
                scores[exit]
            );
            continue;
        }
        differing += 1;
        let reached = d.exit.max(exit);
        let near_edge = scores[..=reached]
            .iter()
            .any(|s| edges.iter().any(|e| (s.confidence - e).abs() <= 1e-5));
        assert!(
            near_edge,
            "sample {i}: runtime {d:?}, offline exit {exit} {:?}, not at a bin edge or threshold",
            scores
        );
    }
    differing
}

/// Median of exit l's confidences on the data, per exit.
fn median_confidences(table: &ScoreTable) -> Vec<f64> {
    (0..table.exits())
        .map(|l| {
            let mut c: Vec<f64> = (0..table.samples())
                .map(|i| table.sample(i)[l].confidence)
                .collect();
            c.sort_by(f64::total_cmp);
            c[c.len() / 2]
        })
        .collect()
}

/// `config` trained briefly (one epoch on 2048 images), so that confidences spread out.
fn briefly_trained(config: ArchConfig, name: &str) -> Model {
    let dir = std::env::temp_dir().join(format!("pcee-nn-runtime-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join(format!("{name}.safetensors"));
    let options = TrainOptions {
        arch: config,
        preset: None,
        epochs: 1,
        batch: 32,
        lr: 3e-3,
        weight_decay: 0.05,
        optimizer: Default::default(),
        augment: true,
        seed: 7,
        limit: Some(2048),
        data_dir: None,
        out: out.clone(),
    };
    let _turn = common::seeded_turn();
    train(&options, false, &mut Silent).unwrap();
    store::load(&out, &Device::flex()).unwrap().0
}

fn consistent_with_offline(config: ArchConfig, name: &str) {
    let device = Device::flex();
    let data = common::real_images(400);
    let model = briefly_trained(config, name);
    let (logits, table) = offline_scores(&model, &data, 100);
    let n = data.len();

    // (1) Thresholds at each exit's median confidence: about half leave at every exit.
    let thresholds = median_confidences(&table);
    let policy = PerExitThreshold(thresholds.clone());
    let runtime = early_exit(&model, &policy, &data, 48, &device);
    let differing = count_differences(&policy, &runtime, &table, &thresholds);
    assert!(differing * 200 <= n, "{differing} of {n} differ");
    let at_first = runtime.iter().filter(|d| d.exit == 0).count();
    assert!(
        at_first > n / 4 && at_first < 3 * n / 4,
        "{at_first} of {n} at exit 0"
    );

    // (2) A real PCEE policy file, calibrated on these logits with fine bins, at the δ among
    // the bins' accuracies that sends closest to half of the samples out at exit 0.
    let bins = 40;
    let diagrams = reliability_diagrams(&table, bins);
    let flops = logits.flops();
    let calibrate = |delta: f64| {
        let delta = Delta::new(delta).unwrap();
        PolicyFile::from_diagrams(Method::Pcee, diagrams.clone(), flops, delta, 0, "val")
    };
    let at_first = |delta: f64| {
        let file = calibrate(delta);
        exits_of(file.policy(file.delta).as_ref(), &table)
            .iter()
            .filter(|&&e| e == 0)
            .count()
    };
    let delta = diagrams
        .iter()
        .flat_map(|d| (0..bins).filter_map(|b| d.accuracy(b)))
        .min_by_key(|&a| at_first(a).abs_diff(n / 2))
        .unwrap();
    let file = calibrate(delta);
    check_policy(&file, &model).unwrap();
    let policy = file.policy(file.delta);
    let runtime = early_exit(&model, policy.as_ref(), &data, 64, &device);
    let edges: Vec<f64> = (0..=bins).map(|b| b as f64 / bins as f64).collect();
    let differing = count_differences(policy.as_ref(), &runtime, &table, &edges);
    assert!(differing * 200 <= n, "{differing} of {n} differ");
    let per_exit: Vec<usize> = (0..3)
        .map(|e| runtime.iter().filter(|d| d.exit == e).count())
        .collect();
    eprintln!("pcee δ = {delta}: exits {per_exit:?}, {differing} differ");
    assert!(per_exit[0] > 0 && per_exit[0] < n, "{per_exit:?}");
}

/// A temperature-scaled policy ([`Tempered`]): the runtime scores each exit's logits with that
/// exit's temperature, as `exits_of` on the scaled scores does.
#[test]
fn runtime_applies_the_policys_temperatures() {
    let device = Device::flex();
    let data = common::real_images(300);
    let model = briefly_trained(msdnet3(), "tempered");
    let (logits, raw) = offline_scores(&model, &data, 100);
    let temperatures = vec![3.0, 0.5, 1.0];
    let scaled = ScoreTable::from_logits_scaled(&logits, &temperatures);
    let thresholds = median_confidences(&scaled);
    let policy = Tempered {
        inner: Box::new(PerExitThreshold(thresholds.clone())),
        temperatures,
    };
    let offline = exits_of(&policy, &scaled);
    // The temperatures matter: ignoring them would take other decisions.
    assert_ne!(offline, exits_of(&PerExitThreshold(thresholds), &raw));
    let runtime = early_exit(&model, &policy, &data, 64, &device);
    let differing = runtime
        .iter()
        .zip(&offline)
        .filter(|(d, &exit)| d.exit != exit)
        .count();
    // Only float rounding at a threshold may move a sample (the untempered case finds 0).
    assert!(differing <= 3, "{differing} of 300 differ");
}

#[test]
fn msdnet_runtime_matches_the_offline_evaluation() {
    consistent_with_offline(msdnet3(), "msdnet3");
}

#[test]
fn vit_runtime_matches_the_offline_evaluation() {
    consistent_with_offline(vit3(), "vit3");
}

/// Counts how many samples the policy is asked about at each exit.
struct Counting<P> {
    inner: P,
    asked: Vec<AtomicUsize>,
}

impl<P: ExitPolicy> ExitPolicy for Counting<P> {
    fn should_exit(&self, exit: usize, score: &ExitScore) -> bool {
        self.inner.should_exit(exit, score)
    }
    fn stops(&self, exit: usize, exits: usize, score: &ExitScore) -> bool {
        self.asked[exit].fetch_add(1, Ordering::Relaxed);
        exit + 1 >= exits || self.should_exit(exit, score)
    }
}

#[test]
fn only_remaining_samples_reach_later_stages() {
    let device = Device::flex();
    let data = common::real_images(64);
    for config in [msdnet3(), vit3()] {
        let _turn = common::seeded_turn();
        let model = Model::new(config, 2, &device).unwrap().valid();
        let (_, table) = offline_scores(&model, &data, 64);
        let policy = Counting {
            inner: PerExitThreshold(median_confidences(&table)),
            asked: (0..3).map(|_| AtomicUsize::new(0)).collect(),
        };
        let rows: Vec<usize> = (0..64).collect();
        let mut stages = BurnStages::new(&model, &device);
        let images = images_tensor(&data, &rows, None, &device);
        let decisions = early_exit_batch(&mut stages, &policy, &images).unwrap();
        // Exit head e ran on exactly the samples that had not left before e (its logits are
        // what the policy is asked about, one row per sample).
        for e in 0..3 {
            let remaining = decisions.iter().filter(|d| d.exit >= e).count();
            assert_eq!(
                policy.asked[e].load(Ordering::Relaxed),
                remaining,
                "exit {e}"
            );
        }
        assert!(decisions.iter().any(|d| d.exit == 0) && decisions.iter().any(|d| d.exit == 2));
    }
}

#[test]
fn measure_reports_consistent_figures() {
    let device = Device::flex();
    let data = common::real_images(40);
    let _turn = common::seeded_turn();
    let model = Model::new(msdnet3(), 1, &device).unwrap();
    let (_, table) = offline_scores(&model, &data, 40);
    let policy = PerExitThreshold(median_confidences(&table));
    for batch in [1, 16] {
        let report = measure(
            &model,
            &policy,
            &data,
            &MeasureOptions {
                batch,
                repeats: 2,
                ..MeasureOptions::default()
            },
            &device,
        )
        .unwrap();
        let t = &report.timing;
        assert_eq!(
            report.decisions,
            early_exit(&model, &policy, &data, batch, &device)
        );
        assert_eq!(report.samples, 40);
        assert!(t.images_per_second > 0.0 && t.full_images_per_second > 0.0);
        assert!((t.speedup - t.images_per_second / t.full_images_per_second).abs() < 1e-9);
        assert!((t.ideal_speedup - report.full_flops / report.outcome.mean_flops).abs() < 1e-9);
        assert!((t.efficiency - t.speedup / t.ideal_speedup).abs() < 1e-9);
        assert_eq!(t.latency_p50_ms.is_some(), batch == 1);
        if batch == 1 {
            assert!(
                t.latency_p50_ms <= t.latency_p95_ms
                    && t.full_latency_p50_ms <= t.full_latency_p95_ms
            );
        }
        let json = serde_json::to_value(&report).unwrap();
        for key in [
            "accuracy",
            "mean_flops",
            "flops_fraction",
            "exit_fractions",
            "exit_accuracy",
            "mean_exit",
            "images_per_second",
            "full_images_per_second",
            "speedup",
            "ideal_speedup",
            "efficiency",
        ] {
            assert!(json.get(key).is_some(), "{key} missing");
        }
    }
    let bad = measure(
        &model,
        &policy,
        &data,
        &MeasureOptions {
            batch: 0,
            repeats: 1,
            ..MeasureOptions::default()
        },
        &device,
    )
    .unwrap_err();
    assert!(bad.to_string().starts_with("batch: 0 images"), "{bad}");
}

#[test]
fn policies_of_other_networks_are_refused() {
    let device = Device::flex();
    let _turn = common::seeded_turn();
    let model = Model::new(msdnet3(), 1, &device).unwrap();
    let flops = model.flops_per_exit();
    let diagram = |_: &f64| {
        pcee::ReliabilityDiagram::new(vec![1, 0], vec![1, 0], vec![Some(0.3), None]).unwrap()
    };
    let file = |flops: &[f64]| {
        PolicyFile::from_diagrams(
            Method::Pcee,
            flops.iter().map(diagram).collect(),
            flops,
            Delta::new(0.9).unwrap(),
            0,
            "v",
        )
    };
    assert_eq!(check_policy(&file(&flops), &model), Ok(()));
    assert_eq!(
        check_policy(&file(&flops[..2]), &model),
        Err(FitError::Exits {
            what: "the model",
            theirs: 3,
            policy: 2,
        })
    );
    let mut off = flops.clone();
    off[1] *= 1.01;
    assert_eq!(
        check_policy(&file(&off), &model),
        Err(FitError::Flops {
            what: "the model",
            exit: 1,
            theirs: flops[1],
            policy: off[1],
        })
    );
}

/// By hand on a trained model and its policy, on a whole split:
/// `PCEE_MODEL=… PCEE_POLICY=… [PCEE_SPLIT=test] [PCEE_DELTA=0.9] cargo test --release -p pcee-nn
/// --test integration runtime::trained_model -- --ignored --nocapture`
#[test]
#[ignore = "needs a trained model (PCEE_MODEL) and its policy (PCEE_POLICY)"]
fn trained_model_matches_the_offline_evaluation() {
    let device = Device::flex();
    let model_path = std::env::var("PCEE_MODEL").expect("PCEE_MODEL");
    let policy_path = std::env::var("PCEE_POLICY").expect("PCEE_POLICY");
    let split = std::env::var("PCEE_SPLIT")
        .unwrap_or_else(|_| "test".into())
        .parse()
        .unwrap();
    let (model, _) = store::load(Path::new(&model_path), &device).unwrap();
    let file = PolicyFile::read(Path::new(&policy_path)).unwrap();
    check_policy(&file, &model).unwrap();
    let data = pcee_nn::data::load_split(None, split).unwrap();
    let (_, table) = offline_scores(&model, &data, 256);
    let edges: Vec<f64> = (0..=file.bins())
        .map(|b| b as f64 / file.bins() as f64)
        .collect();
    for delta in [0.8, 0.85, 0.9, 0.95, 0.99] {
        let policy = file.policy(Delta::new(delta).unwrap());
        let mut edges = edges.clone();
        edges.push(delta); // the confidence baseline's threshold
        for batch in [1, 256] {
            let runtime = early_exit(&model, policy.as_ref(), &data, batch, &device);
            let differing = count_differences(policy.as_ref(), &runtime, &table, &edges);
            let mean_exit =
                runtime.iter().map(|d| d.exit as f64).sum::<f64>() / runtime.len() as f64;
            println!(
                "{} δ = {delta} batch {batch}: {differing} of {} differ, mean exit {mean_exit:.3}",
                file.method,
                data.len()
            );
            assert!(differing * 200 <= data.len());
        }
    }
}
