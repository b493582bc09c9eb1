//! A small builder of ONNX graphs over the generated message types ([`crate::proto`]): tensors
//! (float32 unless typed) with a symbolic batch dimension, float32 and int64 initializers, and the handful of
//! operators the exporters use. Encoding is prost's ([`prost::Message::encode_to_vec`]).

use crate::manifest::DType;
use crate::proto::{
    attribute_proto::AttributeType, tensor_proto::DataType, tensor_shape_proto::dimension,
    tensor_shape_proto::Dimension, type_proto, AttributeProto, GraphProto, ModelProto, NodeProto,
    OperatorSetIdProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
};

/// The ONNX opset the graphs are written for (supported by ONNX Runtime ≥ 1.13).
pub const OPSET: i64 = 17;
/// The IR version that goes with [`OPSET`].
pub const IR_VERSION: i64 = 8;
/// The name of the symbolic first (batch) dimension of every graph input and output.
pub const BATCH_DIM: &str = "batch";

/// A graph under construction. Value names are unique within the graph: every node output
/// not named by the caller is `t{n}`.
#[derive(Debug, Default)]
pub struct GraphBuilder {
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    inputs: Vec<ValueInfoProto>,
    outputs: Vec<ValueInfoProto>,
    next: usize,
}

impl GraphBuilder {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares a float32 graph input `[batch, shape…]`; returns its name.
    pub fn input(&mut self, name: &str, shape: &[usize]) -> String {
        self.inputs.push(value_info(name, shape));
        name.to_string()
    }

    /// Declares `name` (a value of the graph) as a float32 output `[batch, shape…]`.
    pub fn output(&mut self, name: &str, shape: &[usize]) {
        self.outputs.push(value_info(name, shape));
    }

    /// Declares a graph input `[batch, shape…]` of element type `dtype`; returns its name.
    pub fn typed_input(&mut self, name: &str, dtype: DType, shape: &[usize]) -> String {
        self.inputs.push(typed_value_info(name, dtype, shape));
        name.to_string()
    }

    /// Declares `name` as an output `[batch, shape…]` of element type `dtype`.
    pub fn typed_output(&mut self, name: &str, dtype: DType, shape: &[usize]) {
        self.outputs.push(typed_value_info(name, dtype, shape));
    }

    /// A float32 constant of `dims` holding `data` (row-major); returns its name.
    ///
    /// # Panics
    /// When `data.len()` is not the product of `dims`.
    pub fn constant(&mut self, dims: &[usize], data: &[f32]) -> String {
        assert_eq!(data.len(), dims.iter().product::<usize>(), "constant size");
        let name = self.fresh("w");
        self.initializers.push(TensorProto {
            name: Some(name.clone()),
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: Some(DataType::Float as i32),
            raw_data: Some(data.iter().flat_map(|v| v.to_le_bytes()).collect()),
            ..Default::default()
        });
        name
    }

    /// An int64 constant of `dims` holding `data` (row-major; `dims = []` for a scalar), for
    /// the shape and index operands of `Reshape`, `Expand`, `Gather`, `Concat`; returns its
    /// name.
    ///
    /// # Panics
    /// When `data.len()` is not the product of `dims`.
    pub fn constant_i64(&mut self, dims: &[usize], data: &[i64]) -> String {
        assert_eq!(data.len(), dims.iter().product::<usize>(), "constant size");
        let name = self.fresh("c");
        self.initializers.push(TensorProto {
            name: Some(name.clone()),
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: Some(DataType::Int64 as i32),
            raw_data: Some(data.iter().flat_map(|v| v.to_le_bytes()).collect()),
            ..Default::default()
        });
        name
    }

    /// A node `op(inputs) -> out` with `attributes`; `out` is a fresh name when `None`.
    /// Returns the output's name.
    pub fn node(
        &mut self,
        op: &str,
        inputs: &[&str],
        attributes: Vec<AttributeProto>,
        out: Option<&str>,
    ) -> String {
        let out = out.map_or_else(|| self.fresh("t"), str::to_string);
        self.nodes.push(NodeProto {
            op_type: Some(op.to_string()),
            name: Some(format!("{op}_{}", self.nodes.len())),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![out.clone()],
            attribute: attributes,
            ..Default::default()
        });
        out
    }

    /// The finished model, named `name`, for [`OPSET`].
    pub fn finish(self, name: &str) -> ModelProto {
        ModelProto {
            ir_version: Some(IR_VERSION),
            producer_name: Some("pcee".into()),
            producer_version: Some(env!("CARGO_PKG_VERSION").into()),
            opset_import: vec![OperatorSetIdProto {
                domain: Some(String::new()),
                version: Some(OPSET),
            }],
            graph: Some(GraphProto {
                name: Some(name.into()),
                node: self.nodes,
                initializer: self.initializers,
                input: self.inputs,
                output: self.outputs,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// The finished model ([`GraphBuilder::finish`]) written to `path` as an ONNX file.
    ///
    /// # Errors
    /// [`crate::OnnxError::Io`] when the file cannot be written.
    pub fn save(self, name: &str, path: &std::path::Path) -> crate::Result<()> {
        use prost::Message;
        std::fs::write(path, self.finish(name).encode_to_vec())
            .map_err(|e| crate::OnnxError::io(path, e))
    }

    fn fresh(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}{}", self.next)
    }
}

/// A node `Identity(from) -> to` named `name`.
pub fn identity(from: &str, to: &str, name: &str) -> NodeProto {
    NodeProto {
        op_type: Some("Identity".into()),
        name: Some(name.into()),
        input: vec![from.into()],
        output: vec![to.into()],
        ..Default::default()
    }
}

/// An integer-list attribute.
pub fn ints(name: &str, values: &[i64]) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Ints as i32),
        ints: values.to_vec(),
        ..Default::default()
    }
}

/// An integer attribute.
pub fn int(name: &str, value: i64) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Int as i32),
        i: Some(value),
        ..Default::default()
    }
}

/// A float attribute (stored as float32, as ONNX does).
pub fn float(name: &str, value: f32) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Float as i32),
        f: Some(value),
        ..Default::default()
    }
}

/// The ONNX element type (`TensorProto.DataType`) of `dtype`.
pub fn onnx_type(dtype: DType) -> DataType {
    match dtype {
        DType::Float32 => DataType::Float,
        DType::Float16 => DataType::Float16,
        DType::Int64 => DataType::Int64,
        DType::Int32 => DataType::Int32,
        DType::Uint8 => DataType::Uint8,
        DType::Bool => DataType::Bool,
    }
}

/// The dimensions of a tensor type: `Some(n)` for a fixed one, `None` for a symbolic or
/// unknown one (empty when the type has no shape).
pub fn dims(t: &type_proto::Tensor) -> Vec<Option<i64>> {
    t.shape
        .as_ref()
        .map(|s| {
            s.dim
                .iter()
                .map(|d| match d.value {
                    Some(dimension::Value::DimValue(n)) => Some(n),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A float32 value info `[batch, shape…]` (the first dimension symbolic, [`BATCH_DIM`]).
pub fn value_info(name: &str, shape: &[usize]) -> ValueInfoProto {
    typed_value_info(name, DType::Float32, shape)
}

/// A value info `[batch, shape…]` of element type `dtype` (the first dimension symbolic).
pub fn typed_value_info(name: &str, dtype: DType, shape: &[usize]) -> ValueInfoProto {
    let batch = Dimension {
        value: Some(dimension::Value::DimParam(BATCH_DIM.into())),
        ..Default::default()
    };
    let dims = shape.iter().map(|&d| Dimension {
        value: Some(dimension::Value::DimValue(d as i64)),
        ..Default::default()
    });
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(onnx_type(dtype) as i32),
                shape: Some(TensorShapeProto {
                    dim: std::iter::once(batch).chain(dims).collect(),
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}
