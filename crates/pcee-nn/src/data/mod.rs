//! Data: the IDX reader, Fashion-MNIST splits, and batching with augmentation.

pub mod batch;
pub mod corrupt;
pub mod fashion;
pub mod idx;
pub mod idx_write;

pub use batch::{images_tensor, labels_tensor, normalise, PIXEL_MEAN, PIXEL_STD};
pub use corrupt::{Corruption, Shift, CORRUPTIONS};
pub use fashion::{
    load_split, split_indices, Dataset, Split, CLASSES, DEFAULT_DATA_DIR, SPLIT_SEED,
};
