//! Shapes per exit, stage-by-stage equals whole forward, a few steps lower the loss.
use crate::common;

use pcee_nn::burn::nn::loss::CrossEntropyLossConfig;
use pcee_nn::burn::optim::{AdamWConfig, GradientsParams};
use pcee_nn::burn::tensor::{Device, Int, Tensor, TensorData};
use pcee_nn::data::{images_tensor, labels_tensor};
use pcee_nn::{ArchConfig, Model, MultiExit, Network};

fn shapes_and_stages(config: ArchConfig) {
    let device = Device::flex();
    let data = common::real_images(12);
    let _turn = common::seeded_turn();
    let model = Model::new(config, 1, &device).unwrap().valid();
    let images = images_tensor(&data, &(0..12).collect::<Vec<_>>(), None, &device);
    let all = model.forward_all(images.clone());
    assert_eq!(all.len(), model.exits());
    for logits in &all {
        assert_eq!(logits.dims(), [12, 10]);
    }
    // Stage by stage, dropping rows after exit 0, gives the same logits for the survivors.
    let state = model.stage(0, model.embed(images));
    let keep = Tensor::<1, Int>::from_data(TensorData::new(vec![1i64, 5, 7], [3]), &device);
    let state = state.select(&keep);
    assert_eq!(state.batch_size(), 3);
    let last = model.exit_head(1, &model.stage(1, state));
    let expected = all[1].clone().select(0, keep);
    last.into_data().assert_approx_eq::<f32>(
        &expected.into_data(),
        pcee_nn::burn::tensor::Tolerance::absolute(1e-4),
    );
}

#[test]
fn msdnet_shapes_per_exit_and_stage_by_stage() {
    shapes_and_stages(common::tiny_msdnet());
}

#[test]
fn vit_shapes_per_exit_and_stage_by_stage() {
    shapes_and_stages(common::tiny_vit());
}

fn loss_of<M: MultiExit>(net: &M, images: Tensor<4>, labels: Tensor<1, Int>) -> Tensor<1> {
    let ce = CrossEntropyLossConfig::new().init(&labels.device());
    let losses: Vec<_> = net
        .forward_all(images)
        .into_iter()
        .map(|l| ce.forward(l, labels.clone()))
        .collect();
    let n = losses.len() as f64;
    Tensor::cat(losses, 0).sum().div_scalar(n)
}

fn steps_lower_loss<M: MultiExit>(mut net: M, device: &Device) {
    let data = common::real_images(64);
    let rows: Vec<usize> = (0..64).collect();
    let images = images_tensor(&data, &rows, None, device);
    let labels = labels_tensor(&data, &rows, device);
    let mut optim = AdamWConfig::new().init();
    let first = loss_of(&net, images.clone(), labels.clone()).into_scalar::<f32>();
    for _ in 0..12 {
        let loss = loss_of(&net, images.clone(), labels.clone());
        let grads = GradientsParams::from_grads(loss.backward(), &net);
        net = optim.step(1e-2, net, grads);
    }
    let last = loss_of(&net, images, labels).into_scalar::<f32>();
    assert!(last < first * 0.9, "loss {first} → {last}");
}

#[test]
fn a_few_steps_lower_the_loss_on_real_images() {
    let _turn = common::seeded_turn();
    let device = Device::flex().autodiff();
    for config in [common::tiny_msdnet(), common::tiny_vit()] {
        match Model::new(config, 3, &device).unwrap().into_network() {
            Network::MsdNet(n) => steps_lower_loss(n, &device),
            Network::Vit(n) => steps_lower_loss(n, &device),
        }
    }
}
