//! `pcee_onnx::export` on a tiny ViT trained here (1 epoch on 600 real Fashion-MNIST images, so
//! its LayerNorms, class token and positions are no longer at their initial values): the
//! manifest's structure and shapes (worked out by hand from the configuration) and the
//! operators of the graphs (opset 17); with the feature `runtime` (ORT_DYLIB_PATH set), ONNX
//! Runtime's logits at every exit against burn's on the same inputs (within 1e-4), and the
//! early-exit decisions of the ONNX Runtime backend against burn's runtime for a PCEE policy
//! calibrated on burn's validation logits and for confidence thresholding; and the same logits
//! check on the shipped `assets/models/vit-small.safetensors`. burn
//! (`Model::forward_all`, `early_exit_batch`) is the reference throughout.

use crate::common;

use common::{as_inputs, temp};
use pcee_nn::arch::{ArchConfig, VitConfig};
use pcee_nn::train::{train, Silent, TrainOptions};
use pcee_nn::Model;
use pcee_onnx::manifest::{Manifest, TensorSpec};
use pcee_onnx::proto::ModelProto;
use prost::Message;
use std::collections::BTreeSet;
use std::sync::OnceLock;

/// Patch 4 (7×7 = 49 patches + the class token = 50 tokens, as the shipped ViT), width 16,
/// 2 heads of 8, 2 blocks.
fn tiny_config() -> VitConfig {
    VitConfig {
        patch: 4,
        dim: 16,
        depth: 2,
        heads: 2,
        mlp_dim: 32,
        classes: 10,
    }
}

/// The tiny ViT trained once per test binary (1 epoch, batch 32, 600 training images, seed 5).
fn trained() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        let dir = temp();
        let arch = ArchConfig::Vit(tiny_config());
        let opts = TrainOptions {
            lr: TrainOptions::default_lr(&arch),
            arch,
            preset: None,
            epochs: 1,
            batch: 32,
            weight_decay: 0.05,
            optimizer: Default::default(),
            augment: true,
            seed: 5,
            limit: Some(600),
            data_dir: None,
            out: dir.path().join("vit.safetensors"),
        };
        train(&opts, false, &mut Silent).unwrap();
        let device = pcee_nn::default_device();
        pcee_nn::store::load(&opts.out, &device).unwrap().0
    })
}

fn t(name: &str, shape: &[usize]) -> TensorSpec {
    TensorSpec::f32(name, shape)
}

fn read_graph(path: &std::path::Path) -> ModelProto {
    ModelProto::decode(std::fs::read(path).unwrap().as_slice()).unwrap()
}

#[test]
fn the_manifest_chains_the_token_states_with_hand_worked_shapes() {
    let dir = temp();
    let model = trained();
    let out = common::exported(model, &dir);
    let m: Manifest = pcee_onnx::validate(&out).unwrap();
    assert_eq!(m.classes, 10);
    assert_eq!(m.inputs, [t("images", &[1, 28, 28])]);
    // 28 / 4 = 7 patches a side: 49 patch tokens and the class token, 16 wide.
    let state = |s: usize| vec![t(&format!("state{s}_tokens"), &[50, 16])];
    assert_eq!(m.stages[0].inputs, vec![t("images", &[1, 28, 28])]);
    assert_eq!(m.stages[0].outputs, state(0));
    assert_eq!(m.stages[1].inputs, state(0));
    assert_eq!(m.stages[1].outputs, state(1));
    assert_eq!(m.heads[0].inputs, state(0));
    assert_eq!(m.heads[1].inputs, state(1));
    assert_eq!(m.heads[1].output, t("logits", &[10]));
    assert_eq!(m.flops, model.flops_per_exit());
    assert_eq!(m.source.as_deref(), Some("tiny"));
}

#[test]
fn the_graphs_are_opset_17_with_gelu_as_erf() {
    let dir = temp();
    let out = common::exported(trained(), &dir);
    let ops = |file: &str| -> BTreeSet<String> {
        let g = read_graph(&out.join(file));
        let opset: Vec<_> = g.opset_import.iter().map(|o| o.version).collect();
        assert_eq!(opset, vec![Some(17)], "{file}");
        g.graph
            .unwrap()
            .node
            .into_iter()
            .map(|n| n.op_type.unwrap())
            .collect()
    };
    let set = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    let block = [
        "LayerNormalization",
        "MatMul",
        "Add",
        "Reshape",
        "Transpose",
        "Div",
        "Softmax",
        "Erf",
        "Mul",
        "Identity",
    ];
    let embed = ["Conv", "Shape", "Gather", "Concat", "Expand"];
    assert_eq!(ops("stage-0.onnx"), set(&[&block[..], &embed[..]].concat()));
    assert_eq!(ops("stage-1.onnx"), set(&block));
    assert_eq!(
        ops("head-1.onnx"),
        set(&["Gather", "LayerNormalization", "Gemm"])
    );
}

#[cfg(feature = "runtime")]
mod with_ort {
    use super::*;
    use burn::tensor::{Tensor, TensorData};
    use common::{exported, images};
    use pcee::policy::{ConfidenceThreshold, Pcee};
    use pcee::{reliability_diagrams, ExitLogits, ExitPolicy, ExitScore, ScoreTable};
    use pcee_nn::burn;
    use pcee_nn::data::{load_split, Split};
    use pcee_nn::runtime::{BurnStages, Decision};
    use pcee_onnx::runtime::OrtStages;
    use pcee_runtime::{early_exit_batch, exit_logits, full_batch};

    const CLASSES: usize = 10;

    fn tensor(x: &[f32]) -> Tensor<4> {
        let device = pcee_nn::default_device();
        Tensor::<4>::from_data(
            TensorData::new(x.to_vec(), [x.len() / 784, 1, 28, 28]),
            &device,
        )
    }

    fn burn_logits(model: &Model, x: &[f32]) -> Vec<Vec<f32>> {
        model
            .for_inference()
            .forward_all(tensor(x))
            .into_iter()
            .map(|l| l.into_data().try_into_vec::<f32>().unwrap())
            .collect()
    }

    /// The first `n` images of `split`, normalised as the manifest says.
    fn real(ort: &OrtStages, split: Split, n: usize) -> (Vec<f32>, Vec<u8>) {
        let data = load_split(None, split).unwrap().take(n);
        let pre = ort.manifest().preprocessing.clone().unwrap();
        (
            data.images.iter().map(|&p| pre.apply(p)).collect(),
            data.labels,
        )
    }

    fn worst(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max)
    }

    #[test]
    fn every_exit_agrees_with_burn_within_1e_4() {
        let dir = temp();
        let model = trained();
        let out = exported(model, &dir);
        let mut ort = OrtStages::load(&out, 2).unwrap();
        // 256 real test images, 64 pseudo-random ones, and a batch of one (the class token's
        // Expand follows the batch dimension).
        let (test, _) = real(&ort, Split::Test, 256);
        let (_, noise) = images(64, 21);
        let one = test[..784].to_vec();
        for (what, x) in [("test", &test), ("noise", &noise), ("one", &one)] {
            let expected = burn_logits(model, x);
            let got = exit_logits(&mut ort, &as_inputs(x)).unwrap();
            assert_eq!(got.len(), 2);
            for (e, (g, b)) in got.iter().zip(&expected).enumerate() {
                assert_eq!(g.len(), x.len() / 784 * CLASSES);
                let d = worst(g, b);
                assert!(d <= 1e-4, "{what}, exit {e}: largest difference {d}");
            }
        }
    }

    /// The shipped 4-head, 4-block vit-small (width 64, trained 30 epochs: attention far from
    /// uniform, unlike the tiny model's), exported and run by ONNX Runtime: every exit within
    /// 1e-4 of burn on 256 real test images.
    #[test]
    fn the_shipped_vit_small_agrees_with_burn_within_1e_4() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../assets/models/vit-small.safetensors"
        );
        let device = pcee_nn::default_device();
        let (model, _) = pcee_nn::store::load(std::path::Path::new(path), &device).unwrap();
        let dir = temp();
        let out = exported(&model, &dir);
        let mut ort = OrtStages::load(&out, 2).unwrap();
        let (x, _) = real(&ort, Split::Test, 256);
        let expected = burn_logits(&model, &x);
        let got = exit_logits(&mut ort, &as_inputs(&x)).unwrap();
        assert_eq!(got.len(), 4);
        for (e, (g, b)) in got.iter().zip(&expected).enumerate() {
            let d = worst(g, b);
            assert!(d <= 1e-4, "exit {e}: largest difference {d}");
        }
    }

    /// Decisions of both backends under `policy`, compared image by image.
    fn same_decisions(
        model: &Model,
        ort: &mut OrtStages,
        policy: &dyn ExitPolicy,
        x: &[f32],
    ) -> Vec<Decision> {
        let device = pcee_nn::default_device();
        let expected =
            early_exit_batch(&mut BurnStages::new(model, &device), policy, &tensor(x)).unwrap();
        let got = early_exit_batch(&mut *ort, policy, &as_inputs(x)).unwrap();
        assert_eq!(got.len(), expected.len());
        for (i, (g, b)) in got.iter().zip(&expected).enumerate() {
            assert_eq!(
                (g.exit, g.prediction),
                (b.exit, b.prediction),
                "image {i}: confidence {} (ONNX Runtime) vs {} (burn)",
                g.confidence,
                b.confidence
            );
            assert!((g.confidence - b.confidence).abs() < 1e-5, "image {i}");
        }
        expected
    }

    #[test]
    fn early_exit_decisions_equal_the_burn_runtime() {
        let dir = temp();
        let model = trained();
        let out = exported(model, &dir);
        let mut ort = OrtStages::load(&out, 2).unwrap();
        let n = 256;
        let (x, _) = real(&ort, Split::Test, n);

        // PCEE with 10 equal-width bins on burn's logits of 1 000 validation images; δ is the
        // exit-0 bin accuracy that sends closest to half of the test images out at exit 0.
        let (val, labels) = real(&ort, Split::Val, 1000);
        let val_logits = burn_logits(model, &val);
        let logits = ExitLogits::from_f32(
            [2, 1000, CLASSES],
            val_logits.concat(),
            labels.iter().map(|&l| i64::from(l)).collect(),
            Some(model.flops_per_exit()),
        )
        .unwrap();
        let diagrams = reliability_diagrams(&ScoreTable::from_logits(&logits), 10);
        let first = &burn_logits(model, &x)[0];
        let leave_at_0 = |p: &Pcee| {
            first
                .chunks(CLASSES)
                .filter(|z| p.should_exit(0, &ExitScore::from_logits(z)))
                .count()
        };
        let d0 = &diagrams[0];
        let delta = (0..d0.bins())
            .filter_map(|b| d0.window_accuracy(b, 0))
            .min_by_key(|&a| leave_at_0(&Pcee::new(&diagrams, a, 0)).abs_diff(n / 2))
            .unwrap();
        let pcee = Pcee::new(&diagrams, delta, 0);
        let decisions = same_decisions(model, &mut ort, &pcee, &x);
        let at_0 = decisions.iter().filter(|d| d.exit == 0).count();
        assert!(
            0 < at_0 && at_0 < n,
            "δ {delta}: {at_0} of {n} leave at exit 0"
        );

        // Confidence thresholding, δ in the widest gap between neighbouring exit-0 confidences
        // of the middle half (no image within float noise of δ).
        let mut conf: Vec<f64> = first
            .chunks(CLASSES)
            .map(|z| ExitScore::from_logits(z).confidence)
            .collect();
        conf.sort_by(f64::total_cmp);
        let i = (n / 4..3 * n / 4)
            .max_by(|&i, &j| (conf[i] - conf[i - 1]).total_cmp(&(conf[j] - conf[j - 1])))
            .unwrap();
        assert!(
            conf[i] - conf[i - 1] > 1e-5,
            "gap {}",
            conf[i] - conf[i - 1]
        );
        let policy = ConfidenceThreshold {
            delta: 0.5 * (conf[i - 1] + conf[i]),
        };
        let decisions = same_decisions(model, &mut ort, &policy, &x);
        assert_eq!(decisions.iter().filter(|d| d.exit == 0).count(), n - i);
        assert!(full_batch(&mut ort, &as_inputs(&x))
            .unwrap()
            .iter()
            .all(|d| d.exit == 1));
    }
}
