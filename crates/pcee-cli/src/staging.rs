//! Commands that write several files into an output directory (`sweep`, `diagram`, `trials`,
//! `demo`) write them all or none: every file goes first into a hidden staging directory inside
//! the output directory, and only when all are written are they renamed into place.

use anyhow::Context;
use std::path::{Path, PathBuf};

/// A set of files being written into `dir`.
pub struct Staging {
    dir: PathBuf,
    temp: tempfile::TempDir,
    names: Vec<String>,
}

impl Staging {
    /// Creates `dir` (and its parents) if needed, and a staging directory inside it.
    ///
    /// # Errors
    /// `<dir>: cannot create the output directory: <reason>`.
    pub fn new(dir: &Path) -> anyhow::Result<Staging> {
        let context = || format!("{}: cannot create the output directory", dir.display());
        std::fs::create_dir_all(dir).with_context(context)?;
        let temp = tempfile::Builder::new()
            .prefix(".pcee-staging-")
            .tempdir_in(dir)
            .with_context(context)?;
        Ok(Staging {
            dir: dir.to_path_buf(),
            temp,
            names: Vec::new(),
        })
    }

    /// Where a writer that takes a path (e.g. `ExitLogits::write_npz`) must write file `name`;
    /// call [`Staging::add`] afterwards.
    pub fn path(&self, name: &str) -> PathBuf {
        self.temp.path().join(name)
    }

    /// Records that file `name` was written at [`Staging::path`]`(name)`.
    pub fn add(&mut self, name: &str) {
        self.names.push(name.to_string());
    }

    /// Writes file `name` with `content`.
    ///
    /// # Errors
    /// `<dir>/<name>: cannot write the file: <reason>` (e.g. no space left).
    pub fn write(&mut self, name: &str, content: &[u8]) -> anyhow::Result<()> {
        std::fs::write(self.path(name), content)
            .with_context(|| format!("{}: cannot write the file", self.dir.join(name).display()))?;
        self.add(name);
        Ok(())
    }

    /// Moves every written file into the output directory (one rename each, replacing older
    /// files of the same name) and removes the staging directory. Returns the number of files.
    ///
    /// # Errors
    /// `<dir>/<name>: cannot write the file: <reason>` when a rename fails.
    pub fn commit(self) -> anyhow::Result<usize> {
        for name in &self.names {
            let target = self.dir.join(name);
            std::fs::rename(self.path(name), &target)
                .with_context(|| format!("{}: cannot write the file", target.display()))?;
        }
        Ok(self.names.len())
    }
}
