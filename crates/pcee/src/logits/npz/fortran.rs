//! Fortran-ordered (column-major) `[L, N, C]` arrays reordered to row-major.

use crate::logits::budget::try_vec;
use crate::logits::{LogitValues, Problem};

/// Values that can be reordered from column-major to row-major.
pub(super) trait Reorder: Sized {
    /// The values of a column-major array of shape `shape`, row-major. Only 3-D arrays are
    /// reordered (other shapes are refused later by the shape checks).
    ///
    /// # Errors
    /// [`Problem::Allocation`] naming `array` when the copy cannot be allocated.
    fn reorder(self, shape: &[usize], array: &str) -> Result<Self, Problem>;
}

fn fortran_to_c<T: Copy>(values: Vec<T>, shape: &[usize], array: &str) -> Result<Vec<T>, Problem> {
    let &[a, b, c] = shape else {
        return Ok(values);
    };
    let mut out = try_vec(values.len(), &format!("array '{array}'"))?;
    for i in 0..a {
        for j in 0..b {
            out.extend((0..c).map(|k| values[i + a * (j + b * k)]));
        }
    }
    Ok(out)
}

impl Reorder for LogitValues {
    fn reorder(self, shape: &[usize], array: &str) -> Result<Self, Problem> {
        Ok(match self {
            LogitValues::F32(v) => LogitValues::F32(fortran_to_c(v, shape, array)?),
            LogitValues::F64(v) => LogitValues::F64(fortran_to_c(v, shape, array)?),
        })
    }
}

impl<T: Copy> Reorder for Vec<T> {
    fn reorder(self, shape: &[usize], array: &str) -> Result<Self, Problem> {
        fortran_to_c(self, shape, array)
    }
}
