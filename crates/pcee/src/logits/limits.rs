//! How much memory reading one logits file may take: [`ReadLimits`], by default half of the
//! memory this process can still get.

/// The limit used where the available memory cannot be read (not Linux, no `/proc`): 4 GiB.
pub const FALLBACK_MAX_BYTES: u64 = 4 << 30;

/// Limits on what reading one file may allocate.
///
/// `max_bytes` bounds the memory the arrays of one file take once decoded (bytes), counted
/// before anything is allocated: the values at their in-memory size (float32 4 bytes, float64 8),
/// the wider copies made while checking labels (16 + 4 more bytes per value: `i128`, then `u32`)
/// and FLOPs (16 + 8 more), a second copy for Fortran-ordered arrays, and for `.safetensors` the
/// file itself, which is read whole. Not counted: the zip index and read buffers (kilobytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// The most bytes one file's arrays may take in memory (≥ 1).
    pub max_bytes: u64,
}

impl ReadLimits {
    /// A limit of `max_bytes` bytes (0 is read as 1: nothing but empty arrays fits).
    pub fn new(max_bytes: u64) -> Self {
        ReadLimits {
            max_bytes: max_bytes.max(1),
        }
    }
}

/// The process-wide limit set by [`ReadLimits::set_process_default`] (`--max-memory`).
static PROCESS_DEFAULT: std::sync::OnceLock<u64> = std::sync::OnceLock::new();

impl ReadLimits {
    /// Makes `max_bytes` the [`Default`] of every later read in this process — logits, IDX
    /// images, model weights — so one flag (`--max-memory`) bounds them all. Only the first
    /// call counts; returns whether this call set it.
    pub fn set_process_default(max_bytes: u64) -> bool {
        PROCESS_DEFAULT.set(max_bytes).is_ok()
    }
}

impl Default for ReadLimits {
    /// The limit of [`ReadLimits::set_process_default`] when one was set; otherwise half of
    /// [`available_memory`], or [`FALLBACK_MAX_BYTES`] where it cannot be read.
    fn default() -> Self {
        match PROCESS_DEFAULT.get() {
            Some(&bytes) => ReadLimits::new(bytes),
            None => {
                ReadLimits::new(available_memory().map_or(FALLBACK_MAX_BYTES, |bytes| bytes / 2))
            }
        }
    }
}

/// Memory this process can still get, in bytes: the smaller of `MemAvailable` in
/// `/proc/meminfo` and the room left under its cgroup's limit (v2 `memory.max −
/// memory.current`, or v1 `memory.limit_in_bytes − memory.usage_in_bytes`). `None` where
/// `/proc/meminfo` cannot be read (e.g. not Linux).
pub fn available_memory() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let available = meminfo_available(&meminfo)?;
    Some(match cgroup_room() {
        Some(room) => available.min(room),
        None => available,
    })
}

/// `MemAvailable` of a `/proc/meminfo` text, in bytes (the file counts kB = 1024 bytes).
fn meminfo_available(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib.saturating_mul(1024))
}

/// Bytes left under this process's cgroup memory limit; `None` without a limit.
fn cgroup_room() -> Option<u64> {
    let read =
        |path: &str| -> Option<u64> { std::fs::read_to_string(path).ok()?.trim().parse().ok() };
    let pairs = [
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        (
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",
            "/sys/fs/cgroup/memory/memory.usage_in_bytes",
        ),
    ];
    pairs.iter().find_map(|(limit, used)| {
        let limit = read(limit)?; // "max" (no limit) does not parse
        Some(limit.saturating_sub(read(used).unwrap_or(0)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_available_is_read_in_bytes() {
        let text = "MemTotal:       16000000 kB\nMemFree:  100 kB\nMemAvailable:    8000000 kB\n";
        assert_eq!(meminfo_available(text), Some(8_192_000_000));
        assert_eq!(meminfo_available("MemTotal: 5 kB\n"), None);
    }

    #[test]
    fn the_default_is_at_least_one_byte() {
        assert!(ReadLimits::default().max_bytes >= 1);
        assert_eq!(ReadLimits::new(0).max_bytes, 1);
    }
}
