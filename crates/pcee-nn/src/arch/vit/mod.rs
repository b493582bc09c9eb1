//! Vision transformer with an exit after every block.

pub mod config;
pub mod model;
pub mod weights;

pub use config::VitConfig;
pub use model::Vit;
