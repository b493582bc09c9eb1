//! `--corruption NAME --severity S [--corruption-seed N]`: the shifted test sets of
//! `pcee_nn::data::corrupt`, shared by `pcee logits` and `pcee infer`.

use anyhow::anyhow;
use pcee_nn::data::corrupt::{Corruption, Shift, MAX_SEVERITY};
use pcee_nn::data::Dataset;

/// The corruption flags.
#[derive(clap::Args, Debug)]
pub struct ShiftArgs {
    /// Corrupt every image first: gaussian-noise, blur, contrast or rotation (MNIST-C style; formulas in docs/methods.md, "Distribution shift")
    #[arg(long, value_name = "NAME", value_parser = parse_corruption, requires = "severity")]
    corruption: Option<Corruption>,
    /// Severity of --corruption, 1 (mild) to 5 (strong)
    #[arg(long, value_name = "S", requires = "corruption")]
    severity: Option<u64>,
    /// Seed of the corruption's per-image random streams (noise, rotation sign)
    #[arg(long, value_name = "N", default_value_t = 0)]
    corruption_seed: u64,
}

fn parse_corruption(name: &str) -> Result<Corruption, String> {
    name.parse()
}

impl ShiftArgs {
    /// The shift asked for, if any.
    ///
    /// # Errors
    /// `--severity` outside 1..=5, as one line.
    pub fn shift(&self) -> anyhow::Result<Option<Shift>> {
        let (Some(corruption), Some(severity)) = (self.corruption, self.severity) else {
            return Ok(None);
        };
        if !(1..=u64::from(MAX_SEVERITY)).contains(&severity) {
            return Err(anyhow!(
                "--severity: {severity} is out of range; expected 1 to {MAX_SEVERITY}"
            ));
        }
        Ok(Some(Shift {
            corruption,
            severity: severity as u8,
            seed: self.corruption_seed,
        }))
    }

    /// `data`, corrupted when a shift was asked for.
    ///
    /// # Errors
    /// As [`ShiftArgs::shift`].
    pub fn apply(&self, data: Dataset) -> anyhow::Result<Dataset> {
        Ok(match self.shift()? {
            Some(shift) => shift.apply(&data),
            None => data,
        })
    }
}
