//! The element type and shape of every value of the graph (docs/stages.md §3), measured: a
//! **probe** model — the graph with every node output added as a graph output, by name only —
//! is run by ONNX Runtime on zeros of the declared inputs, once with 1 sample and once with 2.
//! A value whose first axis follows the batch (1, then 2) and whose other axes do not change is
//! batched; a value of the same shape in both runs has no batch axis. The two samples of the
//! second run are the same (zeros), so a batched value whose two rows differ depends on the
//! row's position in the batch (`Range(0, batch)` indexing rows, as `h[arange(b), last]` does):
//! it is not carried between stages, since rows leave, but computed again where it is read.
//! Measuring rather than
//! inferring statically sees through what exporters write (`Reshape` to a shape computed by
//! `Shape`, `Gather`, `Concat`), whose static inference leaves the axes unknown.

use crate::error::{OnnxError, Result};
use crate::manifest::{DType, TensorSpec};
use crate::proto::{type_proto, ModelProto, ValueInfoProto};
use crate::runtime::steps::value_of;
use ort::session::{Session, SessionInputValue};
use ort::value::{DynValue, TensorElementType, ValueType};
use pcee_runtime::{HostTensor, Values};
use prost::Message;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// A value's element type and its shapes in the two runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Typed {
    /// The element type, when pcee's runtime carries it (`None`: another type, e.g. float64).
    pub dtype: Option<DType>,
    /// ONNX Runtime's name of the element type (for messages).
    pub type_name: String,
    /// The shape with 1 sample.
    pub one: Vec<usize>,
    /// The shape with 2 samples.
    pub two: Vec<usize>,
    /// Whether, with 2 samples of the same input, its two rows differ: the value depends on
    /// the row's position in the batch.
    pub by_position: bool,
}

impl Typed {
    /// The per-sample shape when the first axis is the batch and no other axis moves with it.
    pub fn per_sample(&self) -> Option<Vec<usize>> {
        let batched = self.one.first() == Some(&1)
            && self.two.first() == Some(&2)
            && self.one[1..] == self.two[1..];
        batched.then(|| self.one[1..].to_vec())
    }

    /// Whether the value has the same shape whatever the batch (a shape, a constant).
    pub fn unbatched(&self) -> bool {
        self.one == self.two
    }
}

/// The network's inputs (graph inputs that are not initializers; each of a type pcee carries,
/// with a dynamic first axis and fixed others) and the type and shapes of every node output,
/// by name. `path` names the model in errors.
///
/// # Errors
/// [`OnnxError::Invalid`] for an input pcee cannot feed, [`OnnxError::Runtime`] when ONNX
/// Runtime cannot be loaded, refuses the model or fails running it.
pub fn probe(model: &ModelProto, path: &Path) -> Result<(Vec<TensorSpec>, HashMap<String, Typed>)> {
    let graph = model.graph.as_ref().expect("read() checked the graph");
    let constants: HashSet<&str> = graph
        .initializer
        .iter()
        .filter_map(|t| t.name.as_deref())
        .collect();
    let inputs: Vec<TensorSpec> = graph
        .input
        .iter()
        .filter(|v| !constants.contains(v.name.as_deref().unwrap_or("")))
        .map(|v| input_spec(v, path))
        .collect::<Result<_>>()?;
    let mut session = session(model, path)?;
    let one = run(&mut session, &inputs, 1, path)?;
    let two = run(&mut session, &inputs, 2, path)?;
    let typed = one
        .into_iter()
        .filter_map(|(name, (ty, one, _))| {
            let (_, two, by_position) = two.get(&name)?.clone();
            Some((
                name,
                Typed {
                    dtype: dtype(ty),
                    type_name: type_name(ty),
                    one,
                    two,
                    by_position,
                },
            ))
        })
        .collect();
    Ok((inputs, typed))
}

/// A session on the probe model: every node output is a graph output.
fn session(model: &ModelProto, path: &Path) -> Result<Session> {
    let mut probe = model.clone();
    let graph = probe.graph.as_mut().expect("read() checked the graph");
    let mut named: HashSet<String> = graph.output.iter().filter_map(|v| v.name.clone()).collect();
    let extra: Vec<ValueInfoProto> = graph
        .node
        .iter()
        .flat_map(|n| n.output.iter())
        .filter(|o| !o.is_empty() && named.insert((*o).clone()))
        .map(|o| ValueInfoProto {
            name: Some(o.clone()),
            ..Default::default()
        })
        .collect();
    graph.output.extend(extra);
    let env = crate::runtime::environment(1)?;
    let failed = |e: String| OnnxError::Runtime {
        what: path.display().to_string(),
        reason: format!("ONNX Runtime cannot load the model: {}", first_line(&e)),
    };
    Session::builder(env)
        .map_err(|e| failed(e.to_string()))?
        .commit_from_memory(&probe.encode_to_vec())
        .map_err(|e| failed(e.to_string()))
}

/// One value in one run: its element type, its shape, and whether its rows differ.
type Measured = (TensorElementType, Vec<usize>, bool);

/// Every output's element type and shape with `rows` samples of zeros.
fn run(
    session: &mut Session,
    inputs: &[TensorSpec],
    rows: usize,
    path: &Path,
) -> Result<HashMap<String, Measured>> {
    let failed = |e: String| OnnxError::Runtime {
        what: path.display().to_string(),
        reason: format!(
            "ONNX Runtime cannot run the model on {rows} sample(s) of zeros: {}",
            first_line(&e)
        ),
    };
    let values: Vec<DynValue> = inputs
        .iter()
        .map(|t| zeros(t, rows))
        .collect::<Result<_>>()?;
    let feed: Vec<(Cow<'_, str>, SessionInputValue<'_>)> = inputs
        .iter()
        .zip(&values)
        .map(|(t, v)| (Cow::Borrowed(t.name.as_str()), SessionInputValue::from(v)))
        .collect();
    let out = session.run(feed).map_err(|e| failed(e.to_string()))?;
    Ok(out
        .iter()
        .filter_map(|(name, value)| match value.dtype() {
            ValueType::Tensor { ty, shape, .. } => Some((
                name.to_string(),
                (
                    *ty,
                    shape.iter().map(|&d| d.max(0) as usize).collect(),
                    rows_differ(&value, rows),
                ),
            )),
            _ => None,
        })
        .collect())
}

/// `rows` samples of zeros of input `t` (token id 0, mask 0, pixel 0: valid for any network).
fn zeros(t: &TensorSpec, rows: usize) -> Result<DynValue> {
    let n = rows * t.shape.iter().product::<usize>();
    let values = match t.dtype {
        DType::Float32 => Values::F32(vec![0.0; n]),
        DType::Float16 => Values::F16(vec![0; n]),
        DType::Int64 => Values::I64(vec![0; n]),
        DType::Int32 => Values::I32(vec![0; n]),
        DType::Uint8 => Values::U8(vec![0; n]),
        DType::Bool => Values::Bool(vec![false; n]),
    };
    let shape = std::iter::once(rows)
        .chain(t.shape.iter().copied())
        .collect();
    let host = HostTensor::new(t.name.clone(), shape, values).map_err(|e| OnnxError::Runtime {
        what: t.name.clone(),
        reason: e.to_string(),
    })?;
    value_of(&host)
}

/// pcee's element type for ONNX Runtime's, when pcee carries it.
fn dtype(ty: TensorElementType) -> Option<DType> {
    match ty {
        TensorElementType::Float32 => Some(DType::Float32),
        TensorElementType::Float16 => Some(DType::Float16),
        TensorElementType::Int64 => Some(DType::Int64),
        TensorElementType::Int32 => Some(DType::Int32),
        TensorElementType::Uint8 => Some(DType::Uint8),
        TensorElementType::Bool => Some(DType::Bool),
        _ => None,
    }
}

/// A graph input as the manifest declares it: a type pcee feeds, a dynamic first axis (the
/// batch) and fixed others.
fn input_spec(v: &ValueInfoProto, path: &Path) -> Result<TensorSpec> {
    let name = v.name.clone().unwrap_or_default();
    let bad = |why: String| OnnxError::invalid(path, format!("input {name:?}"), why);
    let Some(type_proto::Value::TensorType(t)) = v.r#type.as_ref().and_then(|t| t.value.as_ref())
    else {
        return Err(bad("not a tensor; expected a tensor input".into()));
    };
    let dtype = match t.elem_type {
        Some(1) => DType::Float32,
        Some(10) => DType::Float16,
        Some(7) => DType::Int64,
        Some(6) => DType::Int32,
        Some(2) => DType::Uint8,
        Some(9) => DType::Bool,
        other => {
            let name = other
                .and_then(|t| crate::proto::tensor_proto::DataType::try_from(t).ok())
                .map_or_else(|| format!("{other:?}"), |t| t.as_str_name().to_lowercase());
            return Err(bad(format!(
                "element type {name}; expected float32, float16, int64, int32, uint8 or bool"
            )));
        }
    };
    let dims: Vec<Option<usize>> = crate::graph::dims(t)
        .into_iter()
        .map(|d| d.and_then(|v| usize::try_from(v).ok()))
        .collect();
    let shown = || {
        dims.iter()
            .map(|d| d.map_or("?".to_string(), |d| d.to_string()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match dims.split_first() {
        Some((None, rest)) if rest.iter().all(Option::is_some) => Ok(TensorSpec {
            name: name.clone(),
            dtype,
            shape: rest.iter().map(|d| d.unwrap_or(0)).collect(),
        }),
        _ => Err(bad(format!("shape [{}]; expected a dynamic batch axis first and fixed axes after (torch.onnx.export with dynamic_axes={{{name:?}: {{0: \"batch\"}}}} only, and a fixed sequence length)", shown()))),
    }
}

/// Whether `value` has `rows` rows (its first axis) that are not all the same.
fn rows_differ(value: &ort::value::ValueRef<'_>, rows: usize) -> bool {
    fn differ<
        T: ort::value::PrimitiveTensorElementType + PartialEq + std::fmt::Debug + Clone + 'static,
    >(
        v: &ort::value::ValueRef<'_>,
        rows: usize,
    ) -> bool {
        let Ok((shape, data)) = v.try_extract_tensor::<T>() else {
            return false;
        };
        if rows < 2 || shape.first() != Some(&(rows as i64)) || data.is_empty() {
            return false;
        }
        let per = data.len() / rows;
        data.chunks(per).any(|row| row != &data[..per])
    }
    match value.dtype() {
        ValueType::Tensor { ty, .. } => match ty {
            TensorElementType::Float32 => differ::<f32>(value, rows),
            TensorElementType::Float16 => differ::<half::f16>(value, rows),
            TensorElementType::Float64 => differ::<f64>(value, rows),
            TensorElementType::Int64 => differ::<i64>(value, rows),
            TensorElementType::Int32 => differ::<i32>(value, rows),
            TensorElementType::Uint8 => differ::<u8>(value, rows),
            TensorElementType::Bool => differ::<bool>(value, rows),
            _ => false,
        },
        _ => false,
    }
}

/// The first line of ONNX Runtime's message (some carry a C++ signature after a newline, or a
/// literal `\n`).
fn first_line(message: &str) -> &str {
    let end = [message.find('\n'), message.find("\\n")]
        .into_iter()
        .flatten()
        .min();
    message[..end.unwrap_or(message.len())].trim_end()
}

/// The element type's name as pcee's manifest writes it (`float32`, `int64`, …; `float64` and
/// the others as ONNX Runtime names them).
fn type_name(ty: TensorElementType) -> String {
    match (dtype(ty), ty) {
        (Some(d), _) => d.name().to_string(),
        (None, TensorElementType::Float64) => "float64".into(),
        (None, other) => other.to_string(),
    }
}
