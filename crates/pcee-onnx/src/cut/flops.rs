//! FLOPs per sample of each node, counted from the graph with ONNX Runtime's shapes
//! (docs/stages.md §5), by the rule pcee uses for its own models (docs/design.md §3): 2 per
//! multiply-add of `Conv`, `ConvTranspose`, `Gemm` and `MatMul` (the batched `MatMul`s of
//! attention included), everything else 0. A node whose output has no batch axis (a constant
//! computation) counts 0 per sample.

use super::graphs::Source;
use crate::proto::NodeProto;

/// The rule, as the manifest's `source` states it.
pub const RULE: &str = "FLOPs counted by pcee stages: 2 per multiply-add of Conv, ConvTranspose, Gemm and MatMul, other operators 0";

/// FLOPs per sample of `node` (0 when a shape it needs is unknown).
pub fn of_node(src: &Source<'_>, node: &NodeProto) -> f64 {
    let graph = src.model.graph.as_ref().expect("read() checked the graph");
    let dims = |name: &str| -> Option<Vec<usize>> {
        if let Some(t) = graph
            .initializer
            .iter()
            .find(|t| t.name.as_deref() == Some(name))
        {
            return t.dims.iter().map(|&d| usize::try_from(d).ok()).collect();
        }
        if let Some(t) = src.inputs.iter().find(|t| t.name == name) {
            return Some(std::iter::once(1).chain(t.shape.iter().copied()).collect());
        }
        src.types.get(name).map(|t| t.one.clone())
    };
    let per_sample = |name: &str| -> Option<f64> {
        let rest = match src.inputs.iter().find(|t| t.name == name) {
            Some(t) => t.shape.clone(),
            None => src.types.get(name)?.per_sample()?,
        };
        Some(rest.iter().product::<usize>() as f64)
    };
    let input = |i: usize| node.input.get(i).map(String::as_str).unwrap_or("");
    let output = node.output.first().map(String::as_str).unwrap_or("");
    let count = || -> Option<f64> {
        match node.op_type.as_deref()? {
            "Conv" => {
                let w = dims(input(1))?;
                Some(2.0 * per_sample(output)? * w.iter().skip(1).product::<usize>() as f64)
            }
            "ConvTranspose" => {
                let w = dims(input(1))?;
                Some(2.0 * per_sample(input(0))? * w.iter().skip(1).product::<usize>() as f64)
            }
            "Gemm" => {
                let a = dims(input(0))?;
                let trans_a = node
                    .attribute
                    .iter()
                    .any(|at| at.name.as_deref() == Some("transA") && at.i == Some(1));
                let k = if trans_a { *a.first()? } else { *a.last()? };
                Some(2.0 * per_sample(output)? * k as f64)
            }
            "MatMul" => {
                let a = dims(input(0))?;
                Some(2.0 * per_sample(output)? * *a.last()? as f64)
            }
            _ => Some(0.0),
        }
    };
    count().unwrap_or(0.0)
}
