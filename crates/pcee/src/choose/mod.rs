//! Choosing δ (or per-exit thresholds) on calibration data instead of taking it from the user:
//! the candidate values worth trying ([`candidates`]), the best accuracy within a compute budget
//! ([`budget`]), the least compute for a target accuracy without a guarantee ([`target`]), and
//! the smallest δ whose risk is certified ([`risk`]). docs/methods.md §1.

pub mod budget;
pub mod candidates;
pub mod risk;
pub mod target;
