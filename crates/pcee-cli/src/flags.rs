//! The one line an error prints (docs/design.md §5): library errors name their option fields
//! (`batch`, `weight_decay`); here they become the flags a user typed (`--batch`,
//! `--weight-decay`), and the missing-data error gets the flag that fixes it.

use pcee_nn::NnError;

/// Option fields of the libraries that are flags of this binary.
const FIELDS: [&str; 11] = [
    "arch",
    "momentum",
    "nesterov",
    "batch",
    "epochs",
    "limit",
    "lr",
    "out",
    "repeats",
    "weight_decay",
    "data_dir",
];

/// The flag of a library option field: `weight_decay` → `--weight-decay`, `repeats` →
/// `--repeat`; other names (configuration fields such as `msdnet.growth`, files) unchanged.
pub fn flag_of(field: &str) -> String {
    match field {
        "repeats" => "--repeat".into(),
        f if FIELDS.contains(&f) => format!("--{}", f.replace('_', "-")),
        other => other.to_string(),
    }
}

/// The error as one line: `<file or flag>: <what is wrong, what was expected>[: <source>]`.
pub fn describe(err: &anyhow::Error) -> String {
    match err.downcast_ref::<NnError>() {
        Some(NnError::Invalid { what, reason }) => format!("{}: {reason}", flag_of(what)),
        Some(NnError::DataMissing { path, source }) => format!(
            "{}: cannot be read ({source}); install the data set with `apt-get install \
             dataset-fashion-mnist` or point --data-dir at a directory holding the four \
             Fashion-MNIST IDX files",
            path.display()
        ),
        _ => format!("{err:#}"),
    }
}

#[cfg(test)]
mod tests {
    use super::flag_of;

    #[test]
    fn fields_become_flags() {
        assert_eq!(flag_of("weight_decay"), "--weight-decay");
        assert_eq!(flag_of("repeats"), "--repeat");
        assert_eq!(flag_of("batch"), "--batch");
        assert_eq!(flag_of("msdnet.growth"), "msdnet.growth");
    }
}
