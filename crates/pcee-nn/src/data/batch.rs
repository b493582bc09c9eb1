//! Turning images into normalised input tensors, with the training augmentation.
//!
//! Augmentation (training split only, as in the standard CIFAR/Fashion-MNIST recipe of
//! He et al., CVPR 2016, §4.2): a random 28×28 crop of the image zero-padded by 2 pixels on each
//! side, then a horizontal flip with probability ½.

use super::fashion::{Dataset, IMAGE_SIDE};
use crate::rng::SplitMix64;
use burn::tensor::{Device, Int, Tensor, TensorData};

/// Mean of Fashion-MNIST training pixels scaled to [0, 1].
pub const PIXEL_MEAN: f32 = 0.2860;
/// Standard deviation of Fashion-MNIST training pixels scaled to [0, 1].
pub const PIXEL_STD: f32 = 0.3530;
/// Padding of the random-crop augmentation, in pixels.
pub const CROP_PADDING: usize = 2;

/// Images `indices` of `data` as a normalised tensor `[B, 1, 28, 28]` on `device`, augmented
/// with `augment`'s stream when given (training only; never for validation or test).
pub fn images_tensor(
    data: &Dataset,
    indices: &[usize],
    mut augment: Option<&mut SplitMix64>,
    device: &Device,
) -> Tensor<4> {
    let size = IMAGE_SIDE * IMAGE_SIDE;
    let mut pixels = Vec::with_capacity(indices.len() * size);
    let mut buffer = vec![0u8; size];
    for &i in indices {
        let image = match augment.as_deref_mut() {
            Some(rng) => {
                crop_and_flip(data.image(i), rng, &mut buffer);
                &buffer[..]
            }
            None => data.image(i),
        };
        pixels.extend(image.iter().map(|&p| normalise(p)));
    }
    let shape = [indices.len(), 1, IMAGE_SIDE, IMAGE_SIDE];
    Tensor::from_data(TensorData::new(pixels, shape), device)
}

/// One raw pixel (0–255) as the built-in models read it: `(p / 255 − PIXEL_MEAN) / PIXEL_STD`,
/// in f32 (every runtime path uses this one formula, so their inputs agree to the bit).
pub fn normalise(p: u8) -> f32 {
    (p as f32 / 255.0 - PIXEL_MEAN) / PIXEL_STD
}

/// Labels `indices` of `data` as an integer tensor `[B]`.
pub fn labels_tensor(data: &Dataset, indices: &[usize], device: &Device) -> Tensor<1, Int> {
    let labels: Vec<i64> = indices.iter().map(|&i| data.labels[i] as i64).collect();
    Tensor::from_data(TensorData::new(labels, [indices.len()]), device)
}

/// Writes into `out` a random crop of `image` zero-padded by [`CROP_PADDING`] pixels, flipped
/// horizontally with probability ½. Draws exactly three numbers from `rng` per image.
pub fn crop_and_flip(image: &[u8], rng: &mut SplitMix64, out: &mut [u8]) {
    let side = IMAGE_SIDE as isize;
    let dy = rng.below(2 * CROP_PADDING + 1) as isize - CROP_PADDING as isize;
    let dx = rng.below(2 * CROP_PADDING + 1) as isize - CROP_PADDING as isize;
    let flip = rng.below(2) == 1;
    for y in 0..side {
        for x in 0..side {
            let (sy, sx0) = (y + dy, x + dx);
            let sx = if flip { side - 1 - sx0 } else { sx0 };
            let inside = (0..side).contains(&sy) && (0..side).contains(&sx);
            out[(y * side + x) as usize] = if inside {
                image[(sy * side + sx) as usize]
            } else {
                0
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crop_keeps_pixels_and_pads_with_zero() {
        let image: Vec<u8> = (0..784).map(|i| (i % 251 + 1) as u8).collect();
        let mut out = vec![0u8; 784];
        let mut rng = SplitMix64::new(3);
        for _ in 0..20 {
            crop_and_flip(&image, &mut rng, &mut out);
            // Every output pixel is either padding or some input pixel; the centre survives.
            assert!(out.iter().all(|&p| p == 0 || image.contains(&p)));
            assert_ne!(out[14 * 28 + 14], 0);
        }
    }
}
