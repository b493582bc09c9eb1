//! Every exit's logits on a data set (for `pcee logits`, and validation during training).

use crate::data::{images_tensor, Dataset};
use crate::model::{Model, MultiExit};
use burn::tensor::{Device, Tensor};

/// Logits of every exit on a data set, with labels and cumulative FLOPs — the content of a
/// logits file (docs/design.md §4).
#[derive(Debug, Clone, PartialEq)]
pub struct ExitOutputs {
    /// `[exits, samples, classes]`.
    pub shape: [usize; 3],
    /// Row-major `[exits, samples, classes]` logits.
    pub logits: Vec<f32>,
    /// `[samples]` labels.
    pub labels: Vec<i64>,
    /// Cumulative FLOPs per image of each exit (`[exits]`).
    pub flops: Vec<f64>,
}

impl ExitOutputs {
    /// Accuracy of every exit's argmax prediction (ties to the lowest class, docs/design.md §3).
    pub fn accuracy(&self) -> Vec<f64> {
        let [exits, n, c] = self.shape;
        (0..exits)
            .map(|e| {
                let correct = (0..n)
                    .filter(|&i| {
                        let row = &self.logits[(e * n + i) * c..(e * n + i + 1) * c];
                        argmax(row) as i64 == self.labels[i]
                    })
                    .count();
                correct as f64 / n.max(1) as f64
            })
            .collect()
    }
}

/// Index of the largest value, the lowest index on ties.
pub fn argmax(row: &[f32]) -> usize {
    (1..row.len()).fold(0, |best, k| if row[k] > row[best] { k } else { best })
}

/// Every exit's logits of `model` (in inference mode) on `data`, in batches of `batch` images.
pub fn exit_logits(model: &Model, data: &Dataset, batch: usize, device: &Device) -> ExitOutputs {
    let model = model.for_inference();
    let per_exit = collect(|x| model.forward_all(x), model.exits(), data, batch, device);
    let mut out = assemble(per_exit, data, model.classes());
    out.flops = model.flops_per_exit();
    out
}

/// Validation accuracy of every exit of a network (put in inference mode here).
pub(crate) fn accuracy_of<M: MultiExit>(
    net: &M,
    data: &Dataset,
    batch: usize,
    device: &Device,
    classes: usize,
) -> Vec<f64> {
    let net = net.valid();
    let per_exit = collect(|x| net.forward_all(x), net.exits(), data, batch, device);
    assemble(per_exit, data, classes).accuracy()
}

fn collect(
    forward: impl Fn(Tensor<4>) -> Vec<Tensor<2>>,
    exits: usize,
    data: &Dataset,
    batch: usize,
    device: &Device,
) -> Vec<Vec<f32>> {
    let mut per_exit = vec![Vec::new(); exits];
    let indices: Vec<usize> = (0..data.len()).collect();
    for chunk in indices.chunks(batch.max(1)) {
        let logits = forward(images_tensor(data, chunk, None, device));
        for (acc, l) in per_exit.iter_mut().zip(logits) {
            acc.extend(l.into_data().try_into_vec::<f32>().expect("logits are f32"));
        }
    }
    per_exit
}

fn assemble(per_exit: Vec<Vec<f32>>, data: &Dataset, classes: usize) -> ExitOutputs {
    let shape = [per_exit.len(), data.len(), classes];
    ExitOutputs {
        shape,
        logits: per_exit.concat(),
        labels: data.labels.iter().map(|&l| l as i64).collect(),
        flops: Vec::new(),
    }
}
