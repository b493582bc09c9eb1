//! The demo's report: tables (text and Markdown) and `report.md`.

pub mod claim1;
pub mod markdown;
pub mod tables;

use pcee_demo::{DemoResults, ModelResults};

/// The pairs (regularised recipe, common recipe) of one architecture among the demo's models:
/// `X` and `X-sgd` (issue 28), in the models' order.
pub fn recipe_pairs(results: &DemoResults) -> Vec<(&ModelResults, &ModelResults)> {
    let by_name = |name: &str| results.models.iter().find(|m| m.name == name);
    results
        .models
        .iter()
        .filter_map(|m| Some((m, by_name(&format!("{}-sgd", m.name))?)))
        .collect()
}
