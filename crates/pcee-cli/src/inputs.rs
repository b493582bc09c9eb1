//! Checking command-line values and reading input files, with errors that name the flag or
//! the file (`error: <file or flag>: <what is wrong, what was expected>`).

use anyhow::anyhow;
use pcee::{ExitLogits, Method};
use pcee_nn::data::Split;
use std::path::Path;

/// Reads a logits file; errors name the file and the array.
pub fn read_logits(path: &Path) -> anyhow::Result<ExitLogits> {
    Ok(ExitLogits::read(path)?)
}

/// Checks the value of a δ flag (`flag` as the user spells it): a fraction in [0, 1].
pub fn delta(flag: &str, value: f64) -> anyhow::Result<f64> {
    pcee::policy::check_delta(value).map_err(|err| anyhow!("{flag}: {err}"))
}

/// Checks the value of an α flag: a level strictly between 0 and 1.
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

/// Checks `--bins`: at least 1.
pub fn bins(value: usize) -> anyhow::Result<usize> {
    if value == 0 {
        Err(anyhow!("--bins: 0 bins; expected at least 1"))
    } else {
        Ok(value)
    }
}

/// Parses one method name given with `flag`.
pub fn method(flag: &str, name: &str) -> anyhow::Result<Method> {
    name.parse().map_err(|err| anyhow!("{flag}: {err}"))
}

/// Parses a comma-separated list of methods given with `flag`; at least one, no repeats.
pub fn methods(flag: &str, list: &str) -> anyhow::Result<Vec<Method>> {
    let mut methods = Vec::new();
    for name in list.split(',') {
        let m = method(flag, name)?;
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
