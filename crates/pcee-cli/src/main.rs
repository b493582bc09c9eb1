//! The `pcee` binary: parses arguments, calls the libraries, prints tables and writes files.
//! No algorithm lives here (docs/design.md §2). One file per subcommand under `commands/`.

mod commands;
mod flags;
mod inputs;
mod output;
mod own_data;
mod plot;
mod report;
mod shift;
mod staging;

use clap::{Parser, Subcommand};
use pcee::text::one_line;
use std::process::ExitCode;

/// Performance Control Early Exiting: deploy a large early-exit network at the cost of a small one,
/// at the accuracy you ask for.
#[derive(Parser)]
#[command(name = "pcee", version, about)]
struct Cli {
    /// The most memory the arrays of one input logits file may take once read: bytes, or with a
    /// 1024-based suffix (512M, 2G); a larger file is refused before it is decompressed
    /// [default: half of the available memory]
    #[arg(long, global = true, value_name = "BYTES", value_parser = pcee::logits::parse_bytes)]
    max_memory: Option<u64>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    // Each variant: `Name(commands::name::Args)`, dispatched in `main` below.
    Calibrate(commands::calibrate::Args),
    Compare(commands::compare::Args),
    Curves(commands::curves::Args),
    Evaluate(commands::evaluate::Args),
    Sweep(commands::sweep::Args),
    Diagram(commands::diagram::Args),
    /// Train a multi-exit network on Fashion-MNIST.
    Train(commands::train::Args),
    /// Write every exit's logits of a trained model on a split.
    Logits(commands::logits::Args),
    /// Reproduce the paper's two claims on the embedded models and images, offline: report.md,
    /// figures and results.json.
    Demo(commands::demo::Args),
    /// Run a model with real early exit on a split and time it against the full network.
    Infer(commands::infer::Args),
    /// Write a trained model as ONNX stage graphs with a pcee-stages.json manifest (needs a
    /// build with the cargo feature `onnx`).
    Export(commands::export::Args),
    /// Cut one multi-exit ONNX file (the exits' logits as its outputs) into stage graphs and
    /// exit heads, for real early exit (needs a build with the cargo feature `onnx`).
    Stages(commands::stages::Args),
    Trials(commands::trials::Args),
    Serve(commands::serve::Args),
    Monitor(commands::monitor::Args),
}

fn main() -> ExitCode {
    quiet_broken_pipe();
    let cli = match parse() {
        Ok(cli) => cli,
        Err(err) => return usage_error(err),
    };
    inputs::set_max_memory(cli.max_memory);
    let result: anyhow::Result<()> = match cli.command {
        Command::Calibrate(args) => commands::calibrate::run(args),
        Command::Compare(args) => commands::compare::run(args),
        Command::Curves(args) => commands::curves::run(args),
        Command::Evaluate(args) => commands::evaluate::run(args),
        Command::Sweep(args) => commands::sweep::run(args),
        Command::Diagram(args) => commands::diagram::run(args),
        Command::Train(args) => commands::train::run(args),
        Command::Logits(args) => commands::logits::run(args),
        Command::Demo(args) => commands::demo::run(args),
        Command::Infer(args) => commands::infer::run(args),
        Command::Export(args) => commands::export::run(args),
        Command::Stages(args) => commands::stages::run(args),
        Command::Trials(args) => commands::trials::run(args),
        Command::Serve(args) => commands::serve::run(args),
        Command::Monitor(args) => commands::monitor::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One line: `error: <file or flag>: <what is wrong, what was expected>` (docs/design.md §5).
            eprintln!("error: {}", one_line(&flags::describe(&err)));
            ExitCode::FAILURE
        }
    }
}

/// The command line, with negative numbers read as values everywhere (`--bins -1` is then
/// refused as a value out of range, naming the flag, not as an unknown argument `-1`).
fn parse() -> Result<Cli, clap::Error> {
    use clap::{CommandFactory, FromArgMatches};
    let command = Cli::command().mut_subcommands(|sub| sub.allow_negative_numbers(true));
    Cli::from_arg_matches(&command.try_get_matches()?)
}

/// A clap error: help and version print as clap does; a usage error (unknown flag, a value that
/// is not a number, a missing argument) prints clap's first line only — one line, as every
/// error of this binary — and exits with clap's code 2 (docs/design.md §5).
fn usage_error(err: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = err.print();
        return ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(2));
    }
    eprintln!("{}", one_line_usage(&err.render().to_string()));
    ExitCode::from(2)
}

/// Clap's rendered usage error as one line: its message lines up to the `Usage:` block and the
/// `--help` hint, joined (`error: the following required arguments were not provided: --output
/// <FILE>`).
fn one_line_usage(rendered: &str) -> String {
    let message: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .filter(|l| !l.is_empty() && !l.starts_with("tip:"))
        .collect();
    match message.join(" ") {
        line if line.is_empty() => "error: invalid usage; see --help".to_string(),
        line => line,
    }
}

/// `pcee evaluate … | head` closes stdout early: end quietly like other Unix tools (the default
/// SIGPIPE action) instead of panicking in `println!` (Rust ignores SIGPIPE by default).
fn quiet_broken_pipe() {
    #[cfg(unix)]
    // SAFETY: restoring a signal's default action at start-up, before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
