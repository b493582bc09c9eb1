//! The protocols the load generator speaks (`pcee-load --api`): pcee's `/v1/classify` with raw
//! u8 pixels, or the Open Inference Protocol's `infer` with the images as the network's FP32
//! input `images` `[N, 1, 28, 28]` (normalised as the built-in models read them,
//! [`pcee_nn::data::normalise`]), in binary tensor data (Triton's extension; `tritonclient`'s
//! default) or JSON; and how each answer's exits are read back.

use serde::Deserialize;
use serde_json::json;

/// A protocol of `pcee-load`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// `POST /v1/classify`, `application/octet-stream`, 784 bytes per image.
    V1Raw,
    /// `POST /v2/models/{name}/infer`, the JSON header then the images' f32 bytes; the `exit`
    /// output asked for as binary data.
    OipBinary,
    /// `POST /v2/models/{name}/infer`, the images as a JSON list of numbers.
    OipJson,
}

impl std::str::FromStr for Api {
    type Err = String;
    fn from_str(s: &str) -> Result<Api, String> {
        match s {
            "v1-raw" => Ok(Api::V1Raw),
            "oip-binary" => Ok(Api::OipBinary),
            "oip-json" => Ok(Api::OipJson),
            _ => Err(format!(
                "unknown API '{s}'; expected v1-raw, oip-binary or oip-json"
            )),
        }
    }
}

/// One request, ready to send.
pub(crate) struct Prepared {
    pub path: String,
    pub content_type: &'static str,
    /// `Inference-Header-Content-Length` (binary tensor data).
    pub header_length: Option<usize>,
    pub body: Vec<u8>,
}

/// The request of `pixels` (`[n × 784]`) in protocol `api` for model `model`, at `delta`.
pub(crate) fn prepare(api: Api, model: &str, delta: Option<f64>, pixels: &[u8]) -> Prepared {
    let n = pixels.len() / crate::body::IMAGE_PIXELS;
    let values = pixels.iter().map(|&p| pcee_nn::data::normalise(p));
    let parameters = delta.map_or(json!({}), |d| json!({"delta": d}));
    let path = format!("/v2/models/{model}/infer");
    match api {
        Api::V1Raw => Prepared {
            path: match delta {
                Some(d) => format!("/v1/classify?delta={d}"),
                None => "/v1/classify".into(),
            },
            content_type: "application/octet-stream",
            header_length: None,
            body: pixels.to_vec(),
        },
        Api::OipBinary => {
            let header = json!({
                "inputs": [{"name": "images", "shape": [n, 1, 28, 28], "datatype": "FP32",
                            "parameters": {"binary_data_size": n * 784 * 4}}],
                "outputs": [{"name": "exit", "parameters": {"binary_data": true}}],
                "parameters": parameters,
            });
            let mut body = serde_json::to_vec(&header).expect("JSON");
            let header_length = body.len();
            body.extend(values.flat_map(f32::to_le_bytes));
            Prepared {
                path,
                content_type: "application/octet-stream",
                header_length: Some(header_length),
                body,
            }
        }
        Api::OipJson => {
            let data: Vec<f32> = values.collect();
            let request = json!({
                "inputs": [{"name": "images", "shape": [n, 1, 28, 28], "datatype": "FP32",
                            "data": data}],
                "outputs": [{"name": "exit"}],
                "parameters": parameters,
            });
            Prepared {
                path,
                content_type: "application/json",
                header_length: None,
                body: serde_json::to_vec(&request).expect("JSON"),
            }
        }
    }
}

#[derive(Deserialize)]
struct V1Answers {
    results: Vec<V1Answer>,
}

#[derive(Deserialize)]
struct V1Answer {
    exit: usize,
}

#[derive(Deserialize)]
struct OipAnswer {
    outputs: Vec<OipOutput>,
}

#[derive(Deserialize)]
struct OipOutput {
    name: String,
    #[serde(default)]
    data: Option<Vec<usize>>,
}

/// The exits of an answer `bytes` in protocol `api`; `header_length` is the answer's
/// `Inference-Header-Content-Length`, when it has one.
pub(crate) fn exits(
    api: Api,
    header_length: Option<usize>,
    bytes: &[u8],
) -> Result<Vec<usize>, String> {
    let unreadable = |err: serde_json::Error| format!("unreadable answer: {err}");
    match api {
        Api::V1Raw => {
            let answers: V1Answers = serde_json::from_slice(bytes).map_err(unreadable)?;
            Ok(answers.results.iter().map(|a| a.exit).collect())
        }
        Api::OipJson | Api::OipBinary => {
            let json_part = &bytes[..header_length.unwrap_or(bytes.len()).min(bytes.len())];
            let answer: OipAnswer = serde_json::from_slice(json_part).map_err(unreadable)?;
            let exit = answer
                .outputs
                .into_iter()
                .find(|o| o.name == "exit")
                .ok_or("the answer has no output \"exit\"")?;
            match (exit.data, header_length) {
                (Some(data), _) => Ok(data),
                (None, Some(at)) => Ok(bytes[at..]
                    .chunks_exact(8)
                    .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")) as usize)
                    .collect()),
                (None, None) => Err("the output \"exit\" has neither data nor binary data".into()),
            }
        }
    }
}
