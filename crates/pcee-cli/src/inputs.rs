//! Checking command-line values and reading input files, with errors that name the flag or
//! the file (`error: <file or flag>: <what is wrong, what was expected>`).

use anyhow::anyhow;
use pcee::logits::ReadLimits;
use pcee::{Delta, ExitLogits, Method};
use pcee_nn::data::Split;
use std::path::Path;
use std::sync::OnceLock;

/// The memory limit of every logits file read, set once from `--max-memory`.
static READ_LIMITS: OnceLock<ReadLimits> = OnceLock::new();

/// Sets the limit of [`read_logits`] to `max_bytes` (`--max-memory`), and makes it the
/// process default of every other reader (IDX images in `train`/`logits`/`infer`, model
/// weights); `None` keeps the default, half of the available memory. Only the first call counts.
pub fn set_max_memory(max_bytes: Option<u64>) {
    if let Some(bytes) = max_bytes {
        ReadLimits::set_process_default(bytes);
    }
    let _ = READ_LIMITS.set(max_bytes.map_or_else(ReadLimits::default, ReadLimits::new));
}

/// Reads a logits file within `--max-memory`; errors name the file and the array.
pub fn read_logits(path: &Path) -> anyhow::Result<ExitLogits> {
    let limits = READ_LIMITS.get_or_init(ReadLimits::default);
    Ok(ExitLogits::read_with(path, limits)?)
}

/// Checks the value of a δ flag (`flag` as the user spells it): a fraction in [0, 1].
pub fn delta(flag: &str, value: f64) -> anyhow::Result<Delta> {
    Delta::new(value).map_err(|err| anyhow!("{flag}: {err}"))
}

/// Parses a δ list flag (`START:STOP:STEP` or `0.8,0.9`; no value twice).
pub fn deltas(flag: &str, spec: &str) -> anyhow::Result<Vec<Delta>> {
    pcee::delta::parse_deltas(spec).map_err(|err| anyhow!("{flag}: {err}"))
}

/// Checks the value of an α flag: a level from 1e-10 ([`pcee::stats::MIN_ALPHA`]) to below 1.
pub fn alpha(flag: &str, value: f64) -> anyhow::Result<f64> {
    pcee::stats::check_alpha(value).map_err(|err| anyhow!("{flag}: {err}"))
}

/// Parses `--split` for commands that run a trained model: `val` or `test` (the training split
/// is augmented, so its logits mean nothing).
pub fn eval_split(name: &str) -> Result<Split, String> {
    match name.parse::<Split>()? {
        Split::Train => Err("the training split is augmented; expected val or test".into()),
        split => Ok(split),
    }
}

/// Checks `--bins`: 1 to [`pcee::bins::MAX_BINS`].
pub fn bins(value: usize) -> anyhow::Result<usize> {
    pcee::bins::check_bins(value).map_err(|err| anyhow!("--bins: {err}"))
}

/// Checks a count flag (`--limit`, `--repeat`, `--bootstrap`, …): at least 1. Every numeric
/// range of every command is checked here, after parsing, so a value out of range always
/// gives one line and exit 1; clap checks only that it is a number (docs/design.md §5).
pub fn at_least_one(flag: &str, value: u64) -> anyhow::Result<u64> {
    if value == 0 {
        Err(anyhow!("{flag}: 0; expected at least 1"))
    } else {
        Ok(value)
    }
}

/// Help of every `--binning` flag.
pub const BINNING_HELP: &str = "How the confidence bins are laid out: width (M equal-width bins, the same at every exit) or mass (equal-mass: per exit, the validation confidences' quantiles, ties merged, so no bin is empty; Nixon et al. 2019)";

/// Parses `--binning` (clap has checked it is `width` or `mass`).
pub fn binning(name: &str) -> anyhow::Result<pcee::Binning> {
    name.parse().map_err(|err| anyhow!("--binning: {err}"))
}

/// The default of every `--binning` flag: [`pcee::Binning::default`].
pub fn default_binning() -> String {
    pcee::Binning::default().to_string()
}

/// Warns on stderr, in one line, when `test` (given with `test_flag`) is the file given as
/// `val` (the same path or the same content): an evaluation on calibration data is optimistic.
pub fn warn_if_same_file(val: &Path, test: &Path, test_flag: &str) {
    if pcee::policy_file::provenance::same_file(val, test).unwrap_or(false) {
        eprintln!(
            "warning: {test_flag}: {} is the same data as {} (same path or content); results on the calibration data are optimistic; expected held-out test logits",
            test.display(),
            val.display()
        );
    }
}

/// Checks a count flag that also has a ceiling: 1 to `max` (e.g. `--bootstrap`, whose work
/// grows with it).
pub fn count_up_to(flag: &str, value: u64, max: u64) -> anyhow::Result<u64> {
    if value == 0 || value > max {
        Err(anyhow!("{flag}: {value}; expected 1 to {max}"))
    } else {
        Ok(value)
    }
}

/// Checks a batch-size flag: 1 to [`pcee_nn::MAX_BATCH`] images.
pub fn batch(flag: &str, value: i64) -> anyhow::Result<usize> {
    if value < 1 || value > pcee_nn::MAX_BATCH as i64 {
        Err(anyhow!(
            "{flag}: {value} images per batch; expected 1 to {}",
            pcee_nn::MAX_BATCH
        ))
    } else {
        Ok(value as usize)
    }
}

/// Checks an output file path given with `flag`: it ends in `.{extension}` (any case), is not
/// a directory, and is not the same file as any of `inputs` (which writing it would destroy).
pub fn output_file(
    flag: &str,
    path: &Path,
    extension: &str,
    inputs: &[&Path],
) -> anyhow::Result<()> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    if !ext.eq_ignore_ascii_case(extension) {
        return Err(anyhow!(
            "{flag}: {}; expected a .{extension} file path",
            path.display()
        ));
    }
    if path.is_dir() {
        return Err(anyhow!(
            "{flag}: {} is a directory; expected a .{extension} file path",
            path.display()
        ));
    }
    let same = |input: &Path| match (std::fs::canonicalize(path), std::fs::canonicalize(input)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if let Some(input) = inputs.iter().find(|i| same(i)) {
        return Err(anyhow!(
            "{flag}: {} is the input file {}; expected a different output path",
            path.display(),
            input.display()
        ));
    }
    Ok(())
}

/// Parses one method name given with `flag`; an unknown name is refused listing `offered`,
/// the methods this command takes.
pub fn method(flag: &str, name: &str, offered: &[Method]) -> anyhow::Result<Method> {
    name.parse().map_err(|_: pcee::policy::MethodError| {
        let names: Vec<&str> = offered.iter().map(|m| m.name()).collect();
        anyhow!(
            "{flag}: unknown method '{name}'; expected one of {}",
            names.join(", ")
        )
    })
}

/// Parses a comma-separated list of methods given with `flag`; at least one, no repeats.
pub fn methods(flag: &str, list: &str, offered: &[Method]) -> anyhow::Result<Vec<Method>> {
    let mut methods = Vec::new();
    for name in list.split(',') {
        let m = method(flag, name, offered)?;
        if methods.contains(&m) {
            return Err(anyhow!(
                "{flag}: method '{m}' is listed twice; expected each method once"
            ));
        }
        methods.push(m);
    }
    Ok(methods)
}

/// Checks that two logits files come from the same network: same number of exits and classes.
pub fn same_network(a: (&Path, &ExitLogits), b: (&Path, &ExitLogits)) -> anyhow::Result<()> {
    let shape = |l: &ExitLogits| (l.exits(), l.classes());
    if shape(a.1) != shape(b.1) {
        return Err(anyhow!(
            "{}: has {} exits and {} classes but {} has {} and {}; expected logits of the same network",
            b.0.display(),
            b.1.exits(),
            b.1.classes(),
            a.0.display(),
            a.1.exits(),
            a.1.classes()
        ));
    }
    Ok(())
}

/// The name of a file without its directories, for the policy file's `calibration.source`.
pub fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// The first `limit` images of `data` (all without `--limit`), the split named `split`.
///
/// # Errors
/// `--limit` above the split's size: one line, rather than silently fewer images.
pub fn take_limit(
    data: pcee_nn::data::Dataset,
    limit: Option<u64>,
    split: pcee_nn::data::Split,
) -> anyhow::Result<pcee_nn::data::Dataset> {
    match limit {
        Some(n) if n > data.len() as u64 => Err(anyhow!(
            "--limit: {n} images; the {split} split has {}",
            data.len()
        )),
        Some(n) => Ok(data.take(n as usize)),
        None => Ok(data),
    }
}
