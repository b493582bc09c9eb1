//! Counting the memory one file's arrays will take, before allocating it: [`Budget`].

use super::bytes::format_bytes;
use super::{Problem, ReadLimits};

/// The memory reserved so far while reading one file, against its [`ReadLimits`].
#[derive(Debug)]
pub(super) struct Budget {
    limit: u64,
    held: u64,
}

impl Budget {
    /// Nothing reserved yet, under `limits`.
    pub(super) fn new(limits: &ReadLimits) -> Self {
        Budget {
            limit: limits.max_bytes,
            held: 0,
        }
    }

    /// Reserves `need` bytes for `what` (e.g. `array 'logits' (1024×1048576×2 float32)`).
    ///
    /// # Errors
    /// [`Problem::Memory`] when what is held plus `need` exceeds the limit; nothing is reserved.
    pub(super) fn charge(
        &mut self,
        need: u64,
        what: impl FnOnce() -> String,
    ) -> Result<(), Problem> {
        match self.held.checked_add(need) {
            Some(total) if total <= self.limit => {
                self.held = total;
                Ok(())
            }
            _ => Err(Problem::Memory {
                what: what(),
                need: format_bytes(need),
                held: (self.held > 0).then(|| format_bytes(self.held)),
                limit: format_bytes(self.limit),
            }),
        }
    }
}

/// An empty vector with room for exactly `len` values, or [`Problem::Allocation`] naming `what`
/// when the allocator refuses (instead of aborting the process).
pub(super) fn try_vec<T>(len: usize, what: &str) -> Result<Vec<T>, Problem> {
    let mut out = Vec::new();
    out.try_reserve_exact(len)
        .map_err(|_| Problem::Allocation {
            what: what.to_string(),
            need: format_bytes((len as u64).saturating_mul(std::mem::size_of::<T>() as u64)),
        })?;
    Ok(out)
}

/// Every value mapped by `f` into a new vector (allocation refused → [`Problem::Allocation`]
/// naming `array`).
pub(super) fn try_map<A, B>(
    values: Vec<A>,
    f: impl Fn(A) -> B,
    array: &str,
) -> Result<Vec<B>, Problem> {
    let mut out = try_vec(values.len(), &format!("array '{array}'"))?;
    out.extend(values.into_iter().map(f));
    Ok(out)
}

/// `dims` as `1024×1048576×2` (`[]` → `scalar`).
pub(super) fn dims_text<D: std::fmt::Display>(dims: &[D]) -> String {
    if dims.is_empty() {
        return "scalar".to_string();
    }
    dims.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("×")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_add_up_to_the_limit_and_no_further() {
        let mut budget = Budget::new(&ReadLimits::new(100));
        assert!(budget.charge(60, String::new).is_ok());
        assert!(budget.charge(40, String::new).is_ok());
        let err = budget.charge(1, || "array 'labels'".into()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "array 'labels' needs 1 byte (100 bytes already read), over the memory limit of 100 \
             bytes; expected a smaller file or a larger --max-memory"
        );
        assert!(Budget::new(&ReadLimits::new(10))
            .charge(u64::MAX, String::new)
            .is_err());
    }

    #[test]
    fn dims_are_joined_with_times() {
        assert_eq!(dims_text(&[1024u64, 1048576, 2]), "1024×1048576×2");
        assert_eq!(dims_text::<u64>(&[]), "scalar");
    }
}
