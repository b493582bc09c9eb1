//! A global allocator for test binaries that counts, per thread, the bytes held and the peak,
//! and refuses (returns null for) any request that would take the thread past [`CAP`], so a
//! reader that sizes a buffer from file data cannot even try to take gigabytes.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The most bytes one thread may hold at once in these tests: 1 GiB.
pub const CAP: usize = 1 << 30;

thread_local! {
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
    static HELD: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

/// Counts the bytes of a thread inside [`peak_during`] and refuses requests past [`CAP`]
/// there; elsewhere it is the system allocator, except that a single request over [`CAP`] is
/// refused. (Counting only inside `peak_during` keeps the count exact when a test binary also
/// runs multi-threaded code — burn, rayon — that frees on one thread what another allocated.)
pub struct Counting;

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !ACTIVE.try_with(Cell::get).unwrap_or(false) {
            if layout.size() > CAP {
                return std::ptr::null_mut();
            }
            return System.alloc(layout);
        }
        let held = HELD.try_with(Cell::get).unwrap_or(0);
        let wanted = held.saturating_add(layout.size());
        // The peak counts requests, granted or not: asking for 1 TiB is the bug.
        let _ = PEAK.try_with(|p| p.set(p.get().max(wanted)));
        if wanted > CAP {
            return std::ptr::null_mut();
        }
        let ptr = System.alloc(layout);
        if !ptr.is_null() {
            let _ = HELD.try_with(|h| h.set(wanted));
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        if ACTIVE.try_with(Cell::get).unwrap_or(false) {
            let _ = HELD.try_with(|h| h.set(h.get().saturating_sub(layout.size())));
        }
    }
}

/// Runs `f` and returns its result and the most bytes this thread held or asked to hold
/// during it (refused requests included), counted from zero when `f` starts.
pub fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    HELD.with(|h| h.set(0));
    PEAK.with(|p| p.set(0));
    ACTIVE.with(|a| a.set(true));
    let out = f();
    ACTIVE.with(|a| a.set(false));
    (out, PEAK.with(Cell::get))
}
