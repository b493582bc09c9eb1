//! Refusing an `.npz` in which two entries hold the same array: `logits.npy` and `logits`
//! (numpy.load reads `logits`, pcee would read `logits.npy`), or one name twice.

use super::Archive;
use crate::logits::Problem;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

/// The entry names that hold array `array`: `<array>.npy` or `<array>`.
fn holds(name: &str, array: &str) -> bool {
    name.strip_suffix(".npy").unwrap_or(name) == array
}

/// Refuses an archive in which two entries hold one of `arrays`.
///
/// # Errors
/// [`Problem::Duplicate`] naming the array and both entries.
pub(super) fn check_duplicates(
    archive: &Archive,
    path: &Path,
    arrays: &[&'static str],
) -> Result<(), Problem> {
    let names: Vec<String> = if archive.has_duplicate_names() {
        // The archive's index keeps one entry per name: list the central directory itself.
        directory_names(path, archive.central_directory_start(), arrays).unwrap_or_default()
    } else {
        archive
            .file_names_raw()
            .map(|raw| String::from_utf8_lossy(raw).into_owned())
            .collect()
    };
    for &array in arrays {
        let mut holding = names.iter().filter(|name| holds(name, array));
        if let (Some(first), Some(second)) = (holding.next(), holding.next()) {
            return Err(Problem::Duplicate {
                array,
                first: first.clone(),
                second: second.clone(),
            });
        }
    }
    Ok(())
}

/// The names in the central directory starting at byte `start` of `path` that hold one of
/// `arrays`, duplicates kept (each central header: signature `PK\1\2`, 46 fixed bytes with the
/// name, extra and comment lengths at 28, 30, 32, then the name).
fn directory_names(path: &Path, start: u64, arrays: &[&str]) -> std::io::Result<Vec<String>> {
    let mut file = BufReader::new(File::open(path)?);
    file.seek(SeekFrom::Start(start))?;
    let mut names = Vec::new();
    let mut fixed = [0u8; 46];
    // More names than arrays: one array has two (pigeonhole), no need to read further.
    while names.len() <= arrays.len()
        && file.read_exact(&mut fixed).is_ok()
        && fixed[..4] == *b"PK\x01\x02"
    {
        let len = |at: usize| u16::from_le_bytes([fixed[at], fixed[at + 1]]);
        let mut name = vec![0u8; usize::from(len(28))];
        file.read_exact(&mut name)?;
        let name = String::from_utf8_lossy(&name).into_owned();
        if arrays.iter().any(|array| holds(&name, array)) {
            names.push(name);
        }
        file.seek_relative(i64::from(len(30)) + i64::from(len(32)))?;
    }
    Ok(names)
}
