//! Writing a file so that it is either complete or absent: data go to a temporary file in the
//! destination's directory, which is renamed over the destination only once fully written.
//! A new file gets the permissions of an ordinary new file (0666 minus the umask, typically
//! 0644), not the private 0600 of a temporary file; a replaced file keeps its permissions. A
//! symbolic link is followed (its target is replaced, the link stays), and a device or FIFO
//! (`/dev/null`, `/dev/stdout`, a pipe) is written through, never replaced. Both `pcee` and
//! `pcee-nn` write through here.

use std::fs::{File, OpenOptions, Permissions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Writes `path` atomically: `fill` writes the whole content into a buffered temporary file in
/// the same directory, which is then flushed, synced and renamed to `path`. On Unix a new file
/// is created with mode 0666 minus the process umask, like `std::fs::write` would; an existing
/// regular file keeps its mode. When `path` is a symbolic link, its target is written; when it
/// is a device, FIFO or socket, `fill` writes straight into it (no temporary file).
///
/// # Errors
/// Any I/O error of `fill`, of creating the temporary file or of the rename; the temporary file
/// is removed and `path` is left as it was.
pub fn write_atomic<F>(path: &Path, fill: F) -> io::Result<()>
where
    F: FnOnce(&mut BufWriter<&mut File>) -> io::Result<()>,
{
    let existing = std::fs::metadata(path).ok();
    if let Some(meta) = &existing {
        if !meta.is_file() && !meta.is_dir() {
            return write_through(path, fill);
        }
    }
    let target = resolve_link(path)?;
    let dir = match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".pcee-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // The kernel applies the umask to the mode given at creation.
        builder.permissions(Permissions::from_mode(0o666));
    }
    let mut temp = builder.tempfile_in(dir).map_err(without_temp_path)?;
    if let Some(meta) = existing.filter(|m| m.is_file()) {
        temp.as_file().set_permissions(meta.permissions())?;
    }
    {
        let mut writer = BufWriter::new(temp.as_file_mut());
        fill(&mut writer)?;
        writer.flush()?;
    }
    temp.as_file().sync_all()?;
    temp.persist(&target).map_err(|err| err.error)?;
    Ok(())
}

/// `path`, or the file a symbolic link `path` points to (links followed to the end).
fn resolve_link(path: &Path) -> io::Result<PathBuf> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => std::fs::canonicalize(path).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("a symbolic link whose target cannot be resolved ({e})"),
            )
        }),
        _ => Ok(path.to_path_buf()),
    }
}

/// A device, FIFO or socket: there is nothing to replace atomically, write into it.
fn write_through<F>(path: &Path, fill: F) -> io::Result<()>
where
    F: FnOnce(&mut BufWriter<&mut File>) -> io::Result<()>,
{
    let mut file = OpenOptions::new().write(true).open(path)?;
    let mut writer = BufWriter::new(&mut file);
    fill(&mut writer)?;
    writer.flush()
}

/// tempfile's errors name the temporary file, which means nothing to the user: say what the
/// directory lacks instead.
fn without_temp_path(err: io::Error) -> io::Error {
    let what = match err.kind() {
        io::ErrorKind::NotFound => "the directory does not exist".to_string(),
        io::ErrorKind::PermissionDenied => "permission denied in the directory".to_string(),
        kind => format!("cannot create a file in the directory ({kind})"),
    };
    io::Error::new(err.kind(), what)
}

/// Writes `bytes` to `path` atomically (see [`write_atomic`]).
///
/// # Errors
/// As [`write_atomic`].
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic(path, |writer| writer.write_all(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_fill_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        let result = write_atomic(&path, |w| {
            w.write_all(b"partial")?;
            Err(io::Error::other("boom"))
        });
        assert!(result.is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn successful_write_replaces_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        std::fs::write(&path, b"old").unwrap();
        write_bytes_atomic(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn new_files_get_ordinary_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let (atomic, plain) = (dir.path().join("a"), dir.path().join("b"));
        write_bytes_atomic(&atomic, b"x").unwrap();
        std::fs::write(&plain, b"x").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        // Same as a plain new file under the current umask (0644 under the usual 022), not 0600.
        assert_eq!(mode(&atomic), mode(&plain));
    }

    #[cfg(unix)]
    #[test]
    fn a_replaced_file_keeps_its_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("private.json");
        std::fs::write(&path, b"old").unwrap();
        std::fs::set_permissions(&path, Permissions::from_mode(0o600)).unwrap();
        write_bytes_atomic(&path, b"new").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            (mode, std::fs::read(&path).unwrap()),
            (0o600, b"new".to_vec())
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_symbolic_link_is_followed_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let (target, link) = (dir.path().join("target.json"), dir.path().join("link.json"));
        std::fs::write(&target, b"old").unwrap();
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_bytes_atomic(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
    }
}
