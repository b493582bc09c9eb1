//! Regenerates the demo's embedded images in `assets/data/` from the Fashion-MNIST files of the
//! Debian package `dataset-fashion-mnist` (or the directory given as the first argument):
//! the 5 000 validation images of the fixed seeded split (never trained on) and all
//! [`TEST_IMAGES`] test images, as gzip IDX files.
//!
//! `cargo run --release -p pcee-nn --example make_assets [DATA_DIR]`

use pcee_nn::data::{load_split, Split};
use std::path::{Path, PathBuf};

/// How many of the 10 000 test images the demo ships: all of them (assets ≤ 20 MB).
const TEST_IMAGES: usize = 10_000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).map(PathBuf::from);
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/data");
    std::fs::create_dir_all(&out)?;
    for (split, name, n) in [
        (Split::Val, "val", usize::MAX),
        (Split::Test, "test", TEST_IMAGES),
    ] {
        let data = load_split(dir.as_deref(), split)?.take(n);
        let (images, labels) = data.to_idx_gz();
        std::fs::write(out.join(format!("{name}-images-idx3-ubyte.gz")), images)?;
        std::fs::write(out.join(format!("{name}-labels-idx1-ubyte.gz")), labels)?;
        println!("{name}: {} images", data.len());
    }
    Ok(())
}
