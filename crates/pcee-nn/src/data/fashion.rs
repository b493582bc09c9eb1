//! Fashion-MNIST (Xiao, Rasul & Vollgraf 2017) on disk, and the fixed splits of docs/design.md §6:
//! the 60 000 training images are split, with the seed [`SPLIT_SEED`], into 55 000 for training
//! and 5 000 for validation (never augmented, never trained on); test = the 10 000 t10k images.

use super::idx::{gunzip_bytes, parse_idx, read_idx, IdxArray};
use super::idx_write::encode_idx_gz;
use crate::error::{NnError, Result};
use crate::rng::SplitMix64;
use std::path::{Path, PathBuf};

/// Where the Debian package `dataset-fashion-mnist` installs the data set.
pub const DEFAULT_DATA_DIR: &str = "/usr/share/datasets/fashion-mnist";
/// Seed of the fixed train/validation split. Changing it changes every trained model's split.
pub const SPLIT_SEED: u64 = 20_240_601;
/// Number of validation images taken out of the 60 000 training images.
pub const VALIDATION_SIZE: usize = 5_000;
/// Image side in pixels.
pub const IMAGE_SIDE: usize = 28;
/// Number of classes.
pub const CLASSES: usize = 10;

/// One of the three fixed splits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// 55 000 training images (augmented during training).
    Train,
    /// 5 000 validation images, held out of the training file.
    Val,
    /// The 10 000 test images.
    Test,
}

impl std::str::FromStr for Split {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "train" => Ok(Split::Train),
            "val" => Ok(Split::Val),
            "test" => Ok(Split::Test),
            _ => Err(format!("unknown split `{s}`; expected train, val or test")),
        }
    }
}

impl std::fmt::Display for Split {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Split::Train => "train",
            Split::Val => "val",
            Split::Test => "test",
        })
    }
}

/// Images and labels of one split: `images` holds `len() × 28 × 28` bytes (row-major, 0 = black).
#[derive(Debug, Clone)]
pub struct Dataset {
    /// `[N, 28, 28]` pixels, row-major.
    pub images: Vec<u8>,
    /// `[N]` class indices in `0..10`.
    pub labels: Vec<u8>,
}

impl Dataset {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the data set holds no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The first `n` images (all when `n ≥ len`), e.g. for quick runs and tests.
    pub fn take(mut self, n: usize) -> Dataset {
        let n = n.min(self.len());
        self.images.truncate(n * IMAGE_SIDE * IMAGE_SIDE);
        self.labels.truncate(n);
        self
    }

    /// The pixels of image `i` (`28 × 28` bytes).
    pub fn image(&self, i: usize) -> &[u8] {
        let size = IMAGE_SIDE * IMAGE_SIDE;
        &self.images[i * size..(i + 1) * size]
    }

    /// The images (and labels) `indices`, in that order.
    ///
    /// # Panics
    /// When an index is out of range.
    pub fn subset(&self, indices: &[usize]) -> Dataset {
        let images = indices
            .iter()
            .flat_map(|&i| self.image(i).iter().copied())
            .collect();
        Dataset {
            images,
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
        }
    }
}

/// Load one split from `dir` (default [`DEFAULT_DATA_DIR`]). Files are looked up as
/// `{train,t10k}-{images-idx3,labels-idx1}-ubyte` with or without `.gz`.
///
/// # Errors
/// A missing file names the file and says to install `dataset-fashion-mnist` or use
/// another data directory; a malformed one says what is wrong (magic, dimensions, length, labels ≥ 10).
pub fn load_split(dir: Option<&Path>, split: Split) -> Result<Dataset> {
    let dir = dir.unwrap_or(Path::new(DEFAULT_DATA_DIR));
    let prefix = if split == Split::Test {
        "t10k"
    } else {
        "train"
    };
    let full = load_pair(dir, prefix)?;
    if split == Split::Test {
        return Ok(full);
    }
    let (train, val) = split_indices(full.len(), SPLIT_SEED);
    Ok(full.subset(if split == Split::Train { &train } else { &val }))
}

/// The fixed split of `n` training images: a SplitMix64(`seed`) permutation whose first
/// [`VALIDATION_SIZE`] entries (sorted) are validation and the rest (sorted) training.
/// With fewer than `2 × VALIDATION_SIZE` images (test fixtures), a tenth goes to validation.
pub fn split_indices(n: usize, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut perm: Vec<usize> = (0..n).collect();
    SplitMix64::new(seed).shuffle(&mut perm);
    let n_val = if n >= 2 * VALIDATION_SIZE {
        VALIDATION_SIZE
    } else {
        n / 10
    };
    let mut val = perm[..n_val].to_vec();
    let mut train = perm[n_val..].to_vec();
    val.sort_unstable();
    train.sort_unstable();
    (train, val)
}

fn load_pair(dir: &Path, prefix: &str) -> Result<Dataset> {
    let images_path = find(dir, &format!("{prefix}-images-idx3-ubyte"));
    let labels_path = find(dir, &format!("{prefix}-labels-idx1-ubyte"));
    let images = read_idx(&images_path, 3)?;
    let labels = read_idx(&labels_path, 1)?;
    Dataset::from_idx(images, labels, (&images_path, &labels_path))
}

impl Dataset {
    /// A data set from decoded IDX arrays: images `[N, 28, 28]`, labels `[N]` in `0..10`.
    /// `paths` (images, labels) only name the sources in errors.
    ///
    /// # Errors
    /// [`NnError::DataMalformed`] naming the offending source when the images are not
    /// `[N, 28, 28]`, the counts differ, or a label is ≥ 10.
    pub fn from_idx(images: IdxArray, labels: IdxArray, paths: (&Path, &Path)) -> Result<Dataset> {
        let (images_path, labels_path) = paths;
        if images.dims[1..] != [IMAGE_SIDE, IMAGE_SIDE] {
            let reason = format!("images are {:?}; expected [N, 28, 28]", images.dims);
            return Err(NnError::DataMalformed {
                path: images_path.into(),
                reason,
            });
        }
        if images.dims[0] != labels.dims[0] {
            let reason = format!(
                "{} labels for {} images in {}",
                labels.dims[0],
                images.dims[0],
                images_path.display()
            );
            return Err(NnError::DataMalformed {
                path: labels_path.into(),
                reason,
            });
        }
        if let Some(bad) = labels.data.iter().find(|&&l| l as usize >= CLASSES) {
            let reason = format!("label {bad}; expected 0..{CLASSES}");
            return Err(NnError::DataMalformed {
                path: labels_path.into(),
                reason,
            });
        }
        Ok(Dataset {
            images: images.data,
            labels: labels.data,
        })
    }

    /// A data set from gzip-compressed IDX files held in memory (e.g. embedded assets);
    /// `names` (images, labels) only name the sources in errors.
    ///
    /// # Errors
    /// [`NnError::DataMalformed`] for a corrupt stream, a wrong header or any problem of
    /// [`Dataset::from_idx`].
    pub fn from_idx_gz(images: &[u8], labels: &[u8], names: (&str, &str)) -> Result<Dataset> {
        let decode = |bytes: &[u8], rank: usize, name: &str| {
            gunzip_bytes(bytes)
                .and_then(|raw| parse_idx(&raw, rank))
                .map_err(|reason| NnError::DataMalformed {
                    path: name.into(),
                    reason,
                })
        };
        let (images, labels) = (decode(images, 3, names.0)?, decode(labels, 1, names.1)?);
        Dataset::from_idx(images, labels, (Path::new(names.0), Path::new(names.1)))
    }

    /// The gzip-compressed IDX files (images `[N, 28, 28]`, labels `[N]`) of this data set, in
    /// the Fashion-MNIST format; [`Dataset::from_idx_gz`] reads them back.
    pub fn to_idx_gz(&self) -> (Vec<u8>, Vec<u8>) {
        let images = IdxArray {
            dims: vec![self.len(), IMAGE_SIDE, IMAGE_SIDE],
            data: self.images.clone(),
        };
        let labels = IdxArray {
            dims: vec![self.len()],
            data: self.labels.clone(),
        };
        (encode_idx_gz(&images), encode_idx_gz(&labels))
    }
}

/// `dir/name.gz` if it exists, else `dir/name` (whose absence the reader then reports).
fn find(dir: &Path, name: &str) -> PathBuf {
    let gz = dir.join(format!("{name}.gz"));
    if gz.exists() {
        gz
    } else {
        dir.join(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_fixed_disjoint_and_complete() {
        let (train, val) = split_indices(60_000, SPLIT_SEED);
        assert_eq!((train.len(), val.len()), (55_000, 5_000));
        let mut all: Vec<usize> = train.iter().chain(&val).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..60_000).collect::<Vec<_>>());
        assert_eq!(split_indices(60_000, SPLIT_SEED).1, val);
    }

    #[test]
    fn idx_gz_round_trip() {
        let images: Vec<u8> = (0..2 * 28 * 28).map(|i| (i % 251) as u8).collect();
        let data = Dataset {
            images,
            labels: vec![3, 9],
        };
        let (im, lb) = data.to_idx_gz();
        let back = Dataset::from_idx_gz(&im, &lb, ("im", "lb")).unwrap();
        assert_eq!((back.images, back.labels), (data.images, data.labels));
        let err = Dataset::from_idx_gz(&lb, &lb, ("im", "lb"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("im: magic number"), "{err}");
    }

    #[test]
    fn missing_directory_is_one_clear_error() {
        let err = load_split(Some(Path::new("/nonexistent/fm")), Split::Val).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("/nonexistent/fm/train-images-idx3-ubyte"),
            "{msg}"
        );
        assert!(
            msg.contains("apt-get install dataset-fashion-mnist")
                && std::error::Error::source(&err).is_some()
        );
    }
}
