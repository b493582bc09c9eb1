//! A batch's rows as the network's inputs: each row is sample `index` of a request, whose
//! inputs ([`pcee_runtime::Inputs`], decoded at admission in the network's declared names,
//! dtypes and shapes) the request carries. Consecutive rows of one request are cut out as one
//! slice; the slices are joined in batch order. The engine knows nothing of images: how a
//! request's pixels became inputs is [`super::network::ServedNetwork::from_pixels`].

use super::job::RowRef;
use pcee_runtime::{Inputs, RuntimeError};
use std::sync::Arc;

/// The inputs of `rows`, in order (`[rows.len(), …]` per input).
///
/// # Errors
/// [`RuntimeError`] when requests hold inputs of different names, dtypes or shapes (never for
/// requests admitted by one server: they were all checked against its network).
pub(crate) fn inputs_of(rows: &[RowRef]) -> Result<Inputs, RuntimeError> {
    let mut parts = Vec::new();
    let mut start = 0;
    for i in 1..=rows.len() {
        let run_ends = i == rows.len()
            || !Arc::ptr_eq(&rows[i].job, &rows[start].job)
            || rows[i].index != rows[i - 1].index + 1;
        if run_ends {
            let first = rows[start].index as usize;
            let job = &rows[start].job;
            parts.push(job.inputs.slice(first..first + (i - start)));
            start = i;
        }
    }
    if parts.len() == 1 {
        return Ok(parts.pop().expect("one part"));
    }
    Inputs::concat(&parts)
}
