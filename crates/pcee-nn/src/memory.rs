//! Keep freed tensor memory in the process instead of handing it back to the kernel.
//!
//! burn-flex allocates a fresh buffer for every operation's output. glibc serves blocks above
//! its mmap threshold (128 KiB, adapting up to 32 MiB) with `mmap` and returns them with
//! `munmap`, and trims the heap top above 128 KiB; so every stage's activations page-fault
//! again, pass after pass. Measured on `pcee infer` (msdnet-large, batch 256, 2 048 test
//! images, 2 cores): 574 000 page faults and 8.39 s of CPU, against 17 500 and 7.18 s with the
//! thresholds raised (see docs/performance.md).

use std::sync::Once;

/// Raise glibc's mmap threshold to its maximum (32 MiB on 64-bit) and stop it trimming the heap
/// (`mallopt(M_MMAP_THRESHOLD)`, `mallopt(M_TRIM_THRESHOLD)`), once per process. A freed
/// activation buffer is then reused by the next operation instead of being unmapped. Costs:
/// the process keeps its peak heap until it exits. Does nothing on other C libraries.
pub fn keep_freed_memory() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: mallopt only changes allocator parameters; glibc applies them under its own
        // lock, so calling it while other threads allocate is allowed.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
            libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
        }
    });
}
