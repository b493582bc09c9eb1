//! The binary forms: raw u8 pixels (784 bytes per image, row-major) and a `.npy` array of
//! uint8 (`[N, 784]`, `[N, 28, 28]`, `[784]` or `[28, 28]`, C order).

use super::{BodyError, IMAGE_PIXELS};
use npyz::{NpyFile, Order};

/// Raw bytes: a whole number of 784-byte images.
///
/// # Errors
/// [`BodyError`] when the length is not a multiple of 784.
pub(super) fn raw(bytes: &[u8]) -> Result<Vec<u8>, BodyError> {
    if !bytes.len().is_multiple_of(IMAGE_PIXELS) {
        return Err(BodyError::new(format!(
            "body of {} bytes; expected raw u8 pixels, a multiple of 784 bytes (28 x 28 per image)",
            bytes.len()
        )));
    }
    Ok(bytes.to_vec())
}

/// A `.npy` file of uint8 pixels.
///
/// # Errors
/// [`BodyError`]: not a `.npy` file, another dtype, Fortran order, or a shape that is not
/// `[N, 784]`, `[N, 28, 28]`, `[784]` or `[28, 28]`.
pub(super) fn npy(bytes: &[u8]) -> Result<Vec<u8>, BodyError> {
    let file = NpyFile::new(bytes).map_err(|err| {
        BodyError::new(format!("not a .npy file ({err}); expected a uint8 array"))
    })?;
    let shape = file.shape().to_vec();
    let images_shape = matches!(shape.as_slice(), [_, 784] | [_, 28, 28] | [784] | [28, 28]);
    if !images_shape {
        return Err(BodyError::new(format!(
            ".npy shape {shape:?}; expected [N, 784], [N, 28, 28], [784] or [28, 28]"
        )));
    }
    if file.order() == Order::Fortran && shape.len() > 1 {
        return Err(BodyError::new(".npy in Fortran order; expected C order"));
    }
    let dtype = file.dtype().descr();
    let data = file
        .data::<u8>()
        .map_err(|_| BodyError::new(format!(".npy dtype {dtype}; expected uint8 ('|u1')")))?;
    let pixels = data.collect::<Result<Vec<u8>, _>>().map_err(|err| {
        BodyError::new(format!(
            ".npy data: {err}; expected {} bytes",
            shape.iter().product::<u64>()
        ))
    })?;
    Ok(pixels)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `.npy` version 1.0 file, written by hand: magic, header length, header, data.
    pub(crate) fn npy_bytes(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
        let mut header =
            format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn raw_needs_whole_images() {
        assert_eq!(raw(&[5; 1568]).unwrap().len(), 1568);
        assert!(raw(&[5; 1000]).unwrap_err().0.contains("multiple of 784"));
    }

    #[test]
    fn npy_of_uint8_images() {
        let data: Vec<u8> = (0..2 * 784).map(|i| (i % 256) as u8).collect();
        assert_eq!(npy(&npy_bytes("|u1", "(2, 28, 28)", &data)).unwrap(), data);
        assert_eq!(npy(&npy_bytes("|u1", "(2, 784)", &data)).unwrap(), data);
        assert_eq!(
            npy(&npy_bytes("|u1", "(784,)", &data[..784])).unwrap(),
            &data[..784]
        );
        let err = npy(&npy_bytes("<f4", "(1, 784)", &[0; 4 * 784]))
            .unwrap_err()
            .0;
        assert!(err.contains("dtype '<f4'"), "{err}");
        let err = npy(&npy_bytes("|u1", "(2, 27, 28)", &data)).unwrap_err().0;
        assert!(err.contains("shape [2, 27, 28]"), "{err}");
        let err = npy(&npy_bytes("|u1", "(2, 784)", &data[..100]))
            .unwrap_err()
            .0;
        assert!(err.contains(".npy data"), "{err}");
        assert!(npy(b"hello").unwrap_err().0.contains("not a .npy file"));
    }
}
