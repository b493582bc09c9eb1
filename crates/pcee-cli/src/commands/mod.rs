//! One module per subcommand; each exposes `Args` (clap) and `run(args) -> anyhow::Result<()>`.

pub mod calibrate;
pub mod compare;
pub mod curves;
pub mod demo;
pub mod diagram;
pub mod evaluate;
pub mod export;
pub mod infer;
pub mod logits;
pub mod monitor;
pub mod monitor_fleet;
pub mod serve;
pub mod stages;
pub mod sweep;
pub mod train;
pub mod trials;
