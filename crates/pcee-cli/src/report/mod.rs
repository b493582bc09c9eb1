//! The demo's report: tables (text and Markdown) and `report.md`.

pub mod markdown;
pub mod tables;
