//! Writes the synthetic over-confident logits of the tests (`tests/synthetic`,
//! `over_confident`: 5 exits, 10 classes, every exit's logits twice the calibrated ones) as a
//! logits file, for the measurements of docs/methods.md §4:
//!
//!     cargo run -p pcee --example over_confident -- syn.npz [SAMPLES=20000] [SEED=11]

#[path = "../tests/synthetic/mod.rs"]
mod synthetic;

use std::path::PathBuf;

fn main() {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(args.next().unwrap_or_else(|| "syn.npz".into()));
    let number =
        |default: u64, arg: Option<String>| arg.map_or(default, |a| a.parse().expect("a number"));
    let samples = number(20_000, args.next()) as usize;
    let seed = number(11, args.next());
    let logits = synthetic::over_confident(samples, seed);
    if let Err(err) = logits.write_npz(&out) {
        eprintln!("error: {}: {err}", out.display());
        std::process::exit(1);
    }
    println!(
        "wrote {}: {samples} samples, 5 exits, seed {seed}",
        out.display()
    );
}
