//! The optimiser of a training run: AdamW (the regularised recipe) or SGD with momentum (the
//! common recipe of MSDNet's authors, Huang et al., ICLR 2018, §5: SGD, Nesterov momentum 0.9,
//! weight decay 1e-4, learning rate from 0.1). docs/design.md §6 names both regimes.

use crate::error::{NnError, Result};
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamWConfig, ModuleOptimizer, SgdConfig};
use serde::{Deserialize, Serialize};

/// Which optimiser updates the weights, with its own settings; the learning-rate schedule
/// (warm-up + cosine) and the weight-decay value are the run's, shared by both.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "name", rename_all = "lowercase")]
pub enum Optimizer {
    /// AdamW (Loshchilov & Hutter, ICLR 2019): weight decay decoupled from the gradient.
    #[default]
    AdamW,
    /// SGD with heavy-ball or Nesterov momentum (no dampening, as PyTorch's `torch.optim.SGD`);
    /// weight decay is an L2 penalty added to the gradient.
    Sgd {
        /// Momentum factor in [0, 1).
        momentum: f64,
        /// Nesterov's look-ahead momentum (needs `momentum > 0`).
        nesterov: bool,
    },
}

impl Optimizer {
    /// The optimiser's name as `--optimizer` spells it.
    pub fn name(&self) -> &'static str {
        match self {
            Optimizer::AdamW => "adamw",
            Optimizer::Sgd { .. } => "sgd",
        }
    }

    /// The default weight decay of this optimiser: 0.05 (decoupled) for AdamW, 10⁻⁴ (L2) for SGD.
    pub fn default_weight_decay(&self) -> f64 {
        match self {
            Optimizer::AdamW => 0.05,
            Optimizer::Sgd { .. } => 1e-4,
        }
    }

    /// Check the settings.
    ///
    /// # Errors
    /// [`NnError::Invalid`] naming `momentum` when it is outside [0, 1), or `nesterov` when
    /// asked for without momentum.
    pub fn validate(&self) -> Result<()> {
        if let Optimizer::Sgd { momentum, nesterov } = *self {
            if !(0.0..1.0).contains(&momentum) {
                return Err(NnError::invalid(
                    "momentum",
                    format!("{momentum}; expected a value in [0, 1)"),
                ));
            }
            if nesterov && momentum == 0.0 {
                return Err(NnError::invalid(
                    "nesterov",
                    "Nesterov momentum needs a momentum > 0",
                ));
            }
        }
        Ok(())
    }

    /// burn's optimiser for these settings and `weight_decay`.
    pub(crate) fn init(&self, weight_decay: f64) -> ModuleOptimizer {
        match *self {
            Optimizer::AdamW => AdamWConfig::new()
                .with_weight_decay(weight_decay as f32)
                .init(),
            Optimizer::Sgd { momentum, nesterov } => {
                let momentum = (momentum > 0.0).then_some(MomentumConfig {
                    momentum,
                    dampening: 0.0,
                    nesterov,
                });
                let decay = (weight_decay > 0.0).then_some(WeightDecayConfig {
                    penalty: weight_decay as f32,
                });
                SgdConfig::new()
                    .with_momentum(momentum)
                    .with_weight_decay(decay)
                    .init()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::{Module, Param};
    use burn::optim::GradientsParams;
    use burn::tensor::{Device, Tensor, TensorData};

    /// One weight `w`; the loss `w·x` has the gradient `x`.
    #[derive(Module, Debug)]
    struct One {
        w: Param<Tensor<1>>,
    }

    /// `w` after `steps` steps at learning rate `lr` on the loss `w·x`, from `w = 1`.
    fn train_one(optimizer: Optimizer, weight_decay: f64, x: f32, lr: f64, steps: usize) -> f32 {
        let device = Device::flex().autodiff();
        let w = Tensor::<1>::from_data(TensorData::new(vec![1.0f32], [1]), &device);
        let mut net = One {
            w: Param::from_tensor(w),
        };
        let mut optim = optimizer.init(weight_decay);
        for _ in 0..steps {
            let loss = net.w.val().mul_scalar(x).sum();
            let grads = GradientsParams::from_grads(loss.backward(), &net);
            net = optim.step(lr, net, grads);
        }
        net.w.val().into_scalar::<f32>()
    }

    #[test]
    fn sgd_follows_pytorch_nesterov_without_dampening() {
        // torch.optim.SGD(momentum=0.9, nesterov=True, weight_decay=0.1, dampening=0), lr 0.5,
        // gradient of w·x with x = 2, from w0 = 1. By hand:
        //   step 1: g = 2 + 0.1·1 = 2.1; b = g = 2.1; d = g + 0.9·b = 3.99; w1 = 1 − 0.5·3.99 = −0.995
        //   step 2: g = 2 + 0.1·(−0.995) = 1.9005; b = 0.9·2.1 + 1.9005 = 3.7905;
        //           d = 1.9005 + 0.9·3.7905 = 5.31195; w2 = −0.995 − 0.5·5.31195 = −3.650975
        let sgd = Optimizer::Sgd {
            momentum: 0.9,
            nesterov: true,
        };
        assert!((train_one(sgd, 0.1, 2.0, 0.5, 1) - -0.995).abs() < 1e-5);
        assert!((train_one(sgd, 0.1, 2.0, 0.5, 2) - -3.650975).abs() < 1e-5);
    }

    #[test]
    fn sgd_heavy_ball_and_plain() {
        // Heavy ball (momentum 0.5, no decay), lr 0.1, x = 1: b1 = 1, w1 = 0.9; b2 = 1.5, w2 = 0.75.
        let heavy = Optimizer::Sgd {
            momentum: 0.5,
            nesterov: false,
        };
        assert!((train_one(heavy, 0.0, 1.0, 0.1, 2) - 0.75).abs() < 1e-6);
        // Plain SGD: w2 = 1 − 2·0.1 = 0.8.
        let plain = Optimizer::Sgd {
            momentum: 0.0,
            nesterov: false,
        };
        assert!((train_one(plain, 0.0, 1.0, 0.1, 2) - 0.8).abs() < 1e-6);
    }

    #[test]
    fn settings_out_of_range_name_their_field() {
        let bad = |m: f64, n: bool| {
            Optimizer::Sgd {
                momentum: m,
                nesterov: n,
            }
            .validate()
            .unwrap_err()
            .to_string()
        };
        assert!(bad(1.0, false).contains("momentum"));
        assert!(bad(-0.1, false).contains("momentum"));
        assert!(bad(0.0, true).contains("nesterov"));
        assert!(Optimizer::AdamW.validate().is_ok());
    }

    #[test]
    fn serde_form_is_tagged_by_name() {
        let sgd = Optimizer::Sgd {
            momentum: 0.9,
            nesterov: true,
        };
        let json = serde_json::to_value(sgd).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"name": "sgd", "momentum": 0.9, "nesterov": true})
        );
        let adamw: Optimizer = serde_json::from_str(r#"{"name": "adamw"}"#).unwrap();
        assert_eq!(adamw, Optimizer::AdamW);
    }
}
