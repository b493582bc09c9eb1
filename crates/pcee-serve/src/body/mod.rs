//! Decoding a `POST /v1/classify` body into the network's inputs and an optional δ. Any
//! network: JSON `{"inputs": {"input_ids": [[…], …], …}, "delta": 0.9}`, its declared inputs by
//! name ([`inputs`](mod@inputs)). A network that reads one 28 × 28 grey image (the built-in
//! models; stage graphs with the `u8-images` preprocessing) also takes pixels: JSON
//! (`{"images": [[784 values 0–255] or [28 rows of 28], …], "delta": 0.9}`), raw bytes
//! (`application/octet-stream`: 784 bytes per image, row-major) or a `.npy` array of uint8
//! (`application/x-npy`: shape `[N, 784]`, `[N, 28, 28]`, `[784]` or `[28, 28]`), normalised as
//! the network's offline runtime does. For the two binary forms δ comes from the query
//! (`?delta=0.9`). Pixels are 0 = black, as in the IDX files.

mod binary;
mod inputs;
mod json;
pub mod oip;
pub mod oip_binary;
mod query;

pub use query::query_delta;

use crate::engine::ServedNetwork;
use pcee::Delta;
use pcee_runtime::Inputs;

/// Pixels of one image: 28 × 28.
pub const IMAGE_PIXELS: usize = 28 * 28;

/// A decoded request: the network's inputs for `count` samples, the raw pixels when it sent
/// images, and δ when given.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassifyRequest {
    /// The network's inputs, `[count, …]` each, checked against its declared ones.
    pub inputs: Inputs,
    /// `[count × 784]` pixel values 0–255, when the request carried images (kept for
    /// re-calibration).
    pub pixels: Option<Vec<u8>>,
    /// Number of samples (≥ 1).
    pub count: usize,
    /// The δ asked for, checked to be in [0, 1]; `None`: the policy's.
    pub delta: Option<Delta>,
}

/// What is wrong with a request body; one line, naming the field or the form expected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct BodyError(pub String);

impl BodyError {
    pub(crate) fn new(what: impl Into<String>) -> BodyError {
        BodyError(what.into())
    }
}

/// Decodes `bytes` by `content_type` (its media type only; parameters are ignored; `None` or
/// an empty one means JSON), with `query_delta` from the query string, into the inputs of
/// `network`.
///
/// # Errors
/// [`BodyError`]: an unknown media type, malformed JSON or `.npy`, an unknown field, a pixel
/// that is not an integer 0–255, an image that is not 784 values or 28 rows of 28, no image at
/// all, images for a network that does not read them, an input the network does not declare
/// or of another shape or dtype, δ outside [0, 1], or δ given both in the JSON and in the query.
pub fn decode(
    content_type: Option<&str>,
    query_delta: Option<Delta>,
    bytes: &[u8],
    network: &ServedNetwork,
) -> Result<ClassifyRequest, BodyError> {
    let media = content_type
        .map(|c| {
            c.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let (payload, delta) = match media.as_str() {
        "" | "application/json" => {
            let (payload, delta) = json::decode(bytes)?;
            if delta.is_some() && query_delta.is_some() {
                return Err(BodyError::new(
                    "delta: given both in the body and in the query; expected one",
                ));
            }
            (payload, delta.or(query_delta))
        }
        "application/octet-stream" => {
            takes_pixels(network)?;
            (json::Payload::Pixels(binary::raw(bytes)?), query_delta)
        }
        "application/x-npy" | "application/npy" => {
            takes_pixels(network)?;
            (json::Payload::Pixels(binary::npy(bytes)?), query_delta)
        }
        other => {
            return Err(BodyError::new(format!(
                "content type '{other}' is not supported; expected application/json, \
                 application/octet-stream (raw u8 pixels) or application/x-npy"
            )))
        }
    };
    let (inputs, pixels) = match payload {
        json::Payload::Named(named) => (inputs::decode(&named, network.spec())?, None),
        json::Payload::Pixels(pixels) => (from_pixels(&pixels, network)?, Some(pixels)),
    };
    Ok(ClassifyRequest {
        count: inputs.rows(),
        inputs,
        pixels,
        delta,
    })
}

/// Images (`[N × 784]` pixels) as the inputs of `network`.
fn from_pixels(pixels: &[u8], network: &ServedNetwork) -> Result<Inputs, BodyError> {
    takes_pixels(network)?;
    if pixels.is_empty() {
        return Err(BodyError::new("images: none; expected at least one image"));
    }
    network.from_pixels(pixels).map_err(BodyError::new)
}

/// `Ok` when `network` reads 28 × 28 grey images; otherwise the error that says what it reads.
fn takes_pixels(network: &ServedNetwork) -> Result<(), BodyError> {
    if network.takes_pixels() {
        return Ok(());
    }
    Err(BodyError::new(format!(
        "images: this network reads {}, not 28 × 28 grey images; expected \
         {{\"inputs\": {{\"NAME\": [sample, ...], ...}}}} in JSON",
        pcee_runtime::network::describe(&network.spec().inputs)
    )))
}

/// δ checked to be in [0, 1], as a [`BodyError`] naming `field`.
pub(crate) fn checked_delta(field: &str, value: f64) -> Result<Delta, BodyError> {
    Delta::new(value).map_err(|err| BodyError::new(format!("{field}: {err}")))
}

/// A JSON decoding error as one line: `path: what` for a value of the wrong kind or an unknown
/// field; for a body that is not JSON or ends early, what is wrong without a path (the path
/// of a truncated body, e.g. `labels[0].?`, names nothing the client wrote).
pub(crate) fn json_message(err: serde_path_to_error::Error<serde_json::Error>) -> String {
    use serde_json::error::Category;
    let path = err.path().to_string();
    let inner = err.into_inner();
    match inner.classify() {
        Category::Data if path != "." => format!("{path}: {inner}"),
        Category::Data => inner.to_string(),
        Category::Eof => format!("the body ends before the JSON does ({inner})"),
        Category::Syntax | Category::Io => format!("the body is not valid JSON ({inner})"),
    }
}
