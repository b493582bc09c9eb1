//! MSDNet (Huang et al., "Multi-Scale Dense Networks for Resource Efficient Image
//! Classification", ICLR 2018) adapted to 28×28 inputs with up to 3 scales (28, 14, 7 px).

pub mod config;
pub mod layers;
pub mod model;
pub mod plan;
pub mod weights;

pub use config::MsdNetConfig;
pub use model::MsdNet;
pub use plan::MsdNetPlan;
