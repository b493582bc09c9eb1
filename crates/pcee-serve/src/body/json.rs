//! The JSON forms: `{"images": [IMAGE, …], "delta": D}` where IMAGE is 784 pixel values or 28
//! rows of 28, each value an integer 0–255 (written as `12` or `12.0`), decoded straight into
//! bytes (no intermediate JSON tree), with the failing field named (`images[3][27]`); or
//! `{"inputs": {NAME: [SAMPLE, …], …}, "delta": D}`, the network's own inputs by name
//! (`super::inputs`).

use super::{checked_delta, BodyError, IMAGE_PIXELS};
use pcee::Delta;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use std::fmt;

const SIDE: usize = 28;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    #[serde(default)]
    images: Option<Vec<Image>>,
    #[serde(default)]
    inputs: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    delta: Option<f64>,
}

/// What a JSON body carries.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Payload {
    /// `[N × 784]` pixels 0–255.
    Pixels(Vec<u8>),
    /// The network's inputs by name, still JSON (decoded against the network by the caller).
    Named(serde_json::Map<String, serde_json::Value>),
}

/// Pixels `[784]` of one image, whichever form it was written in.
struct Image(Vec<u8>);

/// One element of an image: a pixel value (flat form) or a row of 28 (rows form).
enum Element {
    Pixel(u8),
    Row(Vec<u8>),
}

/// A pixel value 0–255.
struct Pixel(u8);

/// Decodes the JSON body into its images or inputs and the optional δ.
///
/// # Errors
/// [`BodyError`] naming the field: invalid JSON, unknown field, wrong image shape, pixel not
/// an integer 0–255, δ outside [0, 1], both or neither of `images` and `inputs`.
pub(super) fn decode(bytes: &[u8]) -> Result<(Payload, Option<Delta>), BodyError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let body: Body = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let message = super::json_message(err);
        // A message of ours already says what was expected; serde's own ones get the shape.
        if message.contains("; expected") {
            return BodyError::new(message);
        }
        BodyError::new(format!(
            "{message}; expected {{\"images\": [[784 integers 0-255] or [28 rows of 28], ...], \"delta\": 0.9}} or {{\"inputs\": {{\"NAME\": [sample, ...], ...}}, \"delta\": 0.9}}"
        ))
    })?;
    de.end().map_err(|err| {
        BodyError::new(format!("trailing characters after the JSON body ({err})"))
    })?;
    let delta = body.delta.map(|d| checked_delta("delta", d)).transpose()?;
    let payload = match (body.images, body.inputs) {
        (Some(images), None) => {
            let mut pixels = Vec::with_capacity(images.len() * IMAGE_PIXELS);
            for image in images {
                pixels.extend_from_slice(&image.0);
            }
            Payload::Pixels(pixels)
        }
        (None, Some(inputs)) => Payload::Named(inputs),
        (images, _) => {
            let what = if images.is_some() { "both" } else { "neither" };
            return Err(BodyError::new(format!(
                "{what} of images and inputs; expected one: \"images\" (28 × 28 grey pixels) or \
                 \"inputs\" (the network's inputs by name)"
            )));
        }
    };
    Ok((payload, delta))
}

impl<'de> Deserialize<'de> for Pixel {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Pixel, D::Error> {
        deserializer
            .deserialize_any(ElementVisitor { row_allowed: false })
            .map(|e| match e {
                Element::Pixel(p) => Pixel(p),
                Element::Row(_) => unreachable!("rows are refused inside a row"),
            })
    }
}

impl<'de> Deserialize<'de> for Element {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Element, D::Error> {
        deserializer.deserialize_any(ElementVisitor { row_allowed: true })
    }
}

struct ElementVisitor {
    row_allowed: bool,
}

impl ElementVisitor {
    fn pixel<E: de::Error>(value: f64) -> Result<Element, E> {
        if value.fract() == 0.0 && (0.0..=255.0).contains(&value) {
            Ok(Element::Pixel(value as u8))
        } else {
            Err(E::custom(format!(
                "{value} is not a pixel value (an integer 0-255)"
            )))
        }
    }
}

impl<'de> Visitor<'de> for ElementVisitor {
    type Value = Element;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if self.row_allowed {
            f.write_str("a pixel value 0-255 or a row of 28 pixel values")
        } else {
            f.write_str("a pixel value 0-255")
        }
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Element, E> {
        u8::try_from(v)
            .map(Element::Pixel)
            .map_err(|_| E::custom(format!("{v} is not a pixel value (an integer 0-255)")))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Element, E> {
        Self::pixel(v as f64)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Element, E> {
        Self::pixel(v)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Element, A::Error> {
        if !self.row_allowed {
            return Err(de::Error::invalid_type(de::Unexpected::Seq, &self));
        }
        let mut row = Vec::with_capacity(SIDE);
        while let Some(Pixel(p)) = seq.next_element()? {
            row.push(p);
        }
        Ok(Element::Row(row))
    }
}

impl<'de> Deserialize<'de> for Image {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Image, D::Error> {
        deserializer.deserialize_seq(ImageVisitor)
    }
}

struct ImageVisitor;

impl<'de> Visitor<'de> for ImageVisitor {
    type Value = Image;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an image: 784 pixel values or 28 rows of 28")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Image, A::Error> {
        let mut pixels = Vec::with_capacity(IMAGE_PIXELS);
        let (mut flat, mut rows) = (0usize, 0usize);
        while let Some(element) = seq.next_element::<Element>()? {
            match element {
                Element::Pixel(p) => {
                    flat += 1;
                    pixels.push(p);
                }
                Element::Row(row) if row.len() == SIDE => {
                    rows += 1;
                    pixels.extend_from_slice(&row);
                }
                Element::Row(row) => {
                    return Err(de::Error::custom(format!(
                        "a row of {} values; expected 28",
                        row.len()
                    )))
                }
            }
            if flat > 0 && rows > 0 {
                return Err(de::Error::custom(
                    "pixel values and rows mixed; expected 784 values or 28 rows of 28",
                ));
            }
            if pixels.len() > IMAGE_PIXELS {
                break;
            }
        }
        let shape_ok = (flat == IMAGE_PIXELS && rows == 0) || (rows == SIDE && flat == 0);
        if !shape_ok {
            let what = match (pixels.len() > IMAGE_PIXELS, rows > 0) {
                (true, true) => "more than 28 rows".to_string(),
                (true, false) => "more than 784 values".to_string(),
                (false, true) => format!("{rows} rows"),
                (false, false) => format!("{flat} values"),
            };
            return Err(de::Error::custom(format!(
                "an image of {what}; expected 784 pixel values or 28 rows of 28"
            )));
        }
        Ok(Image(pixels))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pixels and δ of a body of images.
    fn decode(bytes: &[u8]) -> Result<(Vec<u8>, Option<Delta>), BodyError> {
        match super::decode(bytes)? {
            (Payload::Pixels(p), delta) => Ok((p, delta)),
            (other, _) => panic!("{other:?}"),
        }
    }

    fn flat(value: u32) -> String {
        format!("[{}]", vec![value.to_string(); 784].join(","))
    }

    fn rows(value: u32) -> String {
        let row = format!("[{}]", vec![value.to_string(); 28].join(","));
        format!("[{}]", vec![row; 28].join(","))
    }

    #[test]
    fn both_forms_and_delta() {
        let body = format!(
            "{{\"images\": [{}, {}], \"delta\": 0.75}}",
            flat(3),
            rows(200)
        );
        let (pixels, delta) = decode(body.as_bytes()).unwrap();
        assert_eq!(pixels.len(), 2 * 784);
        assert!(pixels[..784].iter().all(|&p| p == 3));
        assert!(pixels[784..].iter().all(|&p| p == 200));
        assert_eq!(delta.unwrap().get(), 0.75);
        let (_, delta) = decode(format!("{{\"images\": [{}]}}", flat(0)).as_bytes()).unwrap();
        assert_eq!(delta, None);
        let floats = flat(7).replace('7', "7.0");
        let (pixels, _) = decode(format!("{{\"images\": [{floats}]}}").as_bytes()).unwrap();
        assert!(pixels.iter().all(|&p| p == 7));
    }

    #[test]
    fn errors_name_the_field() {
        let bad = |body: String, needle: &str| {
            let err = decode(body.as_bytes()).unwrap_err().0;
            assert!(err.contains(needle), "{err} lacks {needle}");
            assert!(!err.contains('\n'), "{err}");
        };
        let short = format!("[{}]", vec!["1"; 783].join(","));
        bad(
            format!("{{\"images\": [{}, {short}]}}", flat(1)),
            "images[1]: an image of 783 values",
        );
        bad(
            format!("{{\"images\": [{}]}}", flat(256)),
            "256 is not a pixel value",
        );
        bad(
            format!("{{\"images\": [{}]}}", flat(1).replacen('1', "-1", 1)),
            "-1 is not a pixel value",
        );
        bad(
            format!("{{\"images\": [{}]}}", flat(1).replacen('1', "1.5", 1)),
            "1.5 is not a pixel value",
        );
        bad(
            format!("{{\"images\": [{}], \"delta\": 1.5}}", flat(1)),
            "delta: 1.5 is not a valid",
        );
        bad(
            format!("{{\"images\": [{}], \"colour\": 1}}", flat(1)),
            "unknown field `colour`",
        );
        bad("{\"images\": [".to_string(), "EOF");
        bad(
            "{\"delta\": 0.5}".to_string(),
            "neither of images and inputs",
        );
        bad(
            format!("{{\"images\": [{}]}} x", flat(1)),
            "trailing characters",
        );
        let ragged = rows(1).replacen("[1,", "[", 2);
        bad(format!("{{\"images\": [{ragged}]}}"), "a row of 27 values");
    }
}
