//! Tensors on the host, of any element type the networks pcee runs read: a network's inputs
//! (images, token ids, attention masks) before a backend takes them, named and shaped
//! `[rows, per-sample…]`, row-major.

use crate::stages::RuntimeError;
use serde::{Deserialize, Serialize};

/// An element type, named as numpy and ONNX name it (`float32`, `int64`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DType {
    /// IEEE 754 binary32.
    Float32,
    /// IEEE 754 binary16, held as its bits.
    Float16,
    /// Signed 64-bit integer (token ids, masks of most exports).
    Int64,
    /// Signed 32-bit integer.
    Int32,
    /// Unsigned 8-bit integer (raw pixels).
    Uint8,
    /// Boolean, one byte per element.
    Bool,
}

impl DType {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            DType::Float32 | DType::Int32 => 4,
            DType::Float16 => 2,
            DType::Int64 => 8,
            DType::Uint8 | DType::Bool => 1,
        }
    }

    /// The numpy / ONNX name, e.g. `"float32"`.
    pub fn name(self) -> &'static str {
        match self {
            DType::Float32 => "float32",
            DType::Float16 => "float16",
            DType::Int64 => "int64",
            DType::Int32 => "int32",
            DType::Uint8 => "uint8",
            DType::Bool => "bool",
        }
    }
}

impl std::fmt::Display for DType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The elements of a tensor, row-major, one variant per [`DType`].
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// `float32`.
    F32(Vec<f32>),
    /// `float16`, as IEEE bits.
    F16(Vec<u16>),
    /// `int64`.
    I64(Vec<i64>),
    /// `int32`.
    I32(Vec<i32>),
    /// `uint8`.
    U8(Vec<u8>),
    /// `bool`.
    Bool(Vec<bool>),
}

/// Applies `$body` to the vector inside `$values`, bound as `$v`, whatever its element type.
macro_rules! each {
    ($values:expr, $v:ident => $body:expr) => {
        match $values {
            Values::F32($v) => $body,
            Values::F16($v) => $body,
            Values::I64($v) => $body,
            Values::I32($v) => $body,
            Values::U8($v) => $body,
            Values::Bool($v) => $body,
        }
    };
}

/// The same variant as `$values`, around `$body` made from its vector, bound as `$v`.
macro_rules! map_same {
    ($values:expr, $v:ident => $body:expr) => {
        match $values {
            Values::F32($v) => Values::F32($body),
            Values::F16($v) => Values::F16($body),
            Values::I64($v) => Values::I64($body),
            Values::I32($v) => Values::I32($body),
            Values::U8($v) => Values::U8($body),
            Values::Bool($v) => Values::Bool($body),
        }
    };
}

impl Values {
    /// The element type.
    pub fn dtype(&self) -> DType {
        match self {
            Values::F32(_) => DType::Float32,
            Values::F16(_) => DType::Float16,
            Values::I64(_) => DType::Int64,
            Values::I32(_) => DType::Int32,
            Values::U8(_) => DType::Uint8,
            Values::Bool(_) => DType::Bool,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        each!(self, v => v.len())
    }

    /// Whether there is no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A named tensor on the host: shape `[rows, per-sample…]`, elements row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct HostTensor {
    name: String,
    shape: Vec<usize>,
    values: Values,
}

impl HostTensor {
    /// A tensor named `name` of shape `shape` (`[rows, …]`, at least one axis).
    ///
    /// # Errors
    /// [`RuntimeError::Invalid`] naming the tensor when `shape` is empty or the number of
    /// values is not the product of `shape`.
    pub fn new(
        name: impl Into<String>,
        shape: Vec<usize>,
        values: Values,
    ) -> Result<HostTensor, RuntimeError> {
        let name = name.into();
        let expected: usize = shape.iter().product();
        if shape.is_empty() || values.len() != expected {
            return Err(RuntimeError::invalid(
                &name,
                format!(
                    "{} values for shape {shape:?}; expected a shape [rows, …] whose product is \
                     the number of values",
                    values.len()
                ),
            ));
        }
        Ok(HostTensor {
            name,
            shape,
            values,
        })
    }

    /// The tensor's name (the network input it feeds).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.values.dtype()
    }

    /// The shape `[rows, per-sample…]`.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Number of rows (the first axis).
    pub fn rows(&self) -> usize {
        self.shape[0]
    }

    /// The per-sample shape (every axis after the first).
    pub fn sample_shape(&self) -> &[usize] {
        &self.shape[1..]
    }

    /// The elements.
    pub fn values(&self) -> &Values {
        &self.values
    }

    /// The elements, taken.
    pub fn into_values(self) -> Values {
        self.values
    }

    fn row_len(&self) -> usize {
        self.shape[1..].iter().product()
    }

    fn with_rows(&self, rows: usize, values: Values) -> HostTensor {
        let mut shape = self.shape.clone();
        shape[0] = rows;
        HostTensor {
            name: self.name.clone(),
            shape,
            values,
        }
    }

    /// The rows `rows` (indices into this tensor, in the order given, repeats allowed).
    ///
    /// # Panics
    /// When an index is not below [`HostTensor::rows`].
    pub fn select(&self, rows: &[usize]) -> HostTensor {
        let n = self.row_len();
        let values = map_same!(&self.values, v => {
            let mut out = Vec::with_capacity(rows.len() * n);
            for &r in rows {
                out.extend_from_slice(&v[r * n..(r + 1) * n]);
            }
            out
        });
        self.with_rows(rows.len(), values)
    }

    /// The rows `range`, in order.
    ///
    /// # Panics
    /// When `range` goes past [`HostTensor::rows`].
    pub fn slice(&self, range: std::ops::Range<usize>) -> HostTensor {
        let n = self.row_len();
        let rows = range.len();
        let values = map_same!(&self.values, v => v[range.start * n..range.end * n].to_vec());
        self.with_rows(rows, values)
    }

    /// Several tensors of the same name, element type and per-sample shape as one, rows in
    /// order.
    ///
    /// # Errors
    /// [`RuntimeError::Invalid`] when `parts` is empty or the parts disagree.
    pub fn concat(parts: &[&HostTensor]) -> Result<HostTensor, RuntimeError> {
        let first = *parts
            .first()
            .ok_or_else(|| RuntimeError::invalid("concat", "no tensor; expected at least one"))?;
        if let Some(other) = parts.iter().find(|p| {
            p.name != first.name
                || p.dtype() != first.dtype()
                || p.sample_shape() != first.sample_shape()
        }) {
            return Err(RuntimeError::invalid(
                &other.name,
                format!(
                    "{} {:?}; expected {} {:?} like the first part",
                    other.dtype(),
                    other.sample_shape(),
                    first.dtype(),
                    first.sample_shape()
                ),
            ));
        }
        let rows = parts.iter().map(|p| p.rows()).sum();
        /// The parts' vectors of variant `$variant`, end to end (one element type: checked).
        macro_rules! joined {
            ($variant:ident) => {
                Values::$variant(
                    parts
                        .iter()
                        .flat_map(|p| match &p.values {
                            Values::$variant(v) => v.iter().copied(),
                            _ => unreachable!("parts of one element type"),
                        })
                        .collect(),
                )
            };
        }
        let values = match first.dtype() {
            DType::Float32 => joined!(F32),
            DType::Float16 => joined!(F16),
            DType::Int64 => joined!(I64),
            DType::Int32 => joined!(I32),
            DType::Uint8 => joined!(U8),
            DType::Bool => joined!(Bool),
        };
        Ok(first.with_rows(rows, values))
    }
}

/// One batch of every input of a network, the same rows in each, in the network's declared
/// order ([`crate::NetworkSpec::inputs`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Inputs(Vec<HostTensor>);

impl Inputs {
    /// The tensors `tensors` as one batch.
    ///
    /// # Errors
    /// [`RuntimeError::Invalid`] when there is no tensor or their row counts differ.
    pub fn new(tensors: Vec<HostTensor>) -> Result<Inputs, RuntimeError> {
        let first = tensors
            .first()
            .ok_or_else(|| RuntimeError::invalid("inputs", "none; expected at least one"))?;
        if let Some(t) = tensors.iter().find(|t| t.rows() != first.rows()) {
            return Err(RuntimeError::invalid(
                t.name(),
                format!(
                    "{} rows; expected {} like {}",
                    t.rows(),
                    first.rows(),
                    first.name()
                ),
            ));
        }
        Ok(Inputs(tensors))
    }

    /// Number of rows (samples).
    pub fn rows(&self) -> usize {
        self.0[0].rows()
    }

    /// The tensors, in order.
    pub fn tensors(&self) -> &[HostTensor] {
        &self.0
    }

    /// The tensors, taken.
    pub fn into_tensors(self) -> Vec<HostTensor> {
        self.0
    }

    /// The rows `rows` of every tensor ([`HostTensor::select`]).
    ///
    /// # Panics
    /// As [`HostTensor::select`].
    pub fn select(&self, rows: &[usize]) -> Inputs {
        Inputs(self.0.iter().map(|t| t.select(rows)).collect())
    }

    /// The rows `range` of every tensor ([`HostTensor::slice`]).
    ///
    /// # Panics
    /// As [`HostTensor::slice`].
    pub fn slice(&self, range: std::ops::Range<usize>) -> Inputs {
        Inputs(self.0.iter().map(|t| t.slice(range.clone())).collect())
    }

    /// Several batches of the same inputs as one, rows in order.
    ///
    /// # Errors
    /// [`RuntimeError::Invalid`] when `parts` is empty or the parts disagree.
    pub fn concat(parts: &[Inputs]) -> Result<Inputs, RuntimeError> {
        let first = parts
            .first()
            .ok_or_else(|| RuntimeError::invalid("concat", "no batch; expected at least one"))?;
        let tensors = (0..first.0.len())
            .map(|i| {
                let column: Vec<&HostTensor> = parts
                    .iter()
                    .map(|p| p.0.get(i))
                    .collect::<Option<_>>()
                    .ok_or_else(|| {
                        RuntimeError::invalid("concat", "batches with different inputs")
                    })?;
                HostTensor::concat(&column)
            })
            .collect::<Result<_, _>>()?;
        Ok(Inputs(tensors))
    }
}
