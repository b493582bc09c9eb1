//! One module per subcommand; each exposes `Args` (clap) and `run(args) -> anyhow::Result<()>`.

pub mod train;
