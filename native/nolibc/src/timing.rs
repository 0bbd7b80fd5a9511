//! SIDEBUNDLE_DEBUG=timing: each phase of a launch with its CLOCK_MONOTONIC time, printed to
//! stderr just before the exec (or the error), so the printing does not fall inside a phase.
//! Off (or never switched on with `init`), a mark costs one relaxed atomic load.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, Ordering};

use crate::sys;

static ON: AtomicBool = AtomicBool::new(false);

/// The phases so far: (what ended, when), the first one being the runner's start. A spin lock
/// guards them: the runner may have worker threads (a single file's extraction).
struct Marks {
    busy: AtomicBool,
    list: UnsafeCell<Vec<(String, u64)>>,
}

// SAFETY: `list` is only touched while `busy` is held (with_marks).
unsafe impl Sync for Marks {}

static MARKS: Marks = Marks { busy: AtomicBool::new(false), list: UnsafeCell::new(Vec::new()) };

fn with_marks<T>(f: impl FnOnce(&mut Vec<(String, u64)>) -> T) -> T {
    while MARKS.busy.compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
        core::hint::spin_loop();
    }
    // SAFETY: the lock is held.
    let result = f(unsafe { &mut *MARKS.list.get() });
    MARKS.busy.store(false, Ordering::Release);
    result
}

/// Switch timing on where SIDEBUNDLE_DEBUG (its value here) lists `timing`, and mark the start.
pub fn init(debug: Option<&[u8]>) {
    let on = debug.is_some_and(|v| v.split(|&b| b == b',').any(|w| w == b"timing"));
    ON.store(on, Ordering::Relaxed);
    mark("start");
}

fn enabled() -> bool {
    ON.load(Ordering::Relaxed)
}

/// The phase called `what` ends now.
pub fn mark(what: &str) {
    if enabled() {
        let now = sys::monotonic_ns();
        with_marks(|marks| marks.push((what.into(), now)));
    }
}

/// Like `mark`, with the name built only when timing is on.
pub fn mark_with(what: impl FnOnce() -> String) {
    if enabled() {
        mark(&what());
    }
}

/// Stands for the phases printed already: their end, for the next phase's duration.
const PRINTED: &str = "";

/// Print the phases not printed yet (each with its own duration and the time since the first
/// mark): before an exec that may fail, which later phases follow.
pub fn flush(last: &str) {
    if !enabled() {
        return;
    }
    mark(last);
    let out = with_marks(|marks| {
        let Some(&(_, start)) = marks.first() else { return String::new() };
        let mut out = String::new();
        let mut before = start;
        for (what, at) in marks.iter().skip(1) {
            if what != PRINTED {
                out.push_str(&format!("sidebundle: timing {:>8.3} ms {:>8.3} ms  {}\n", (at - before) as f64 / 1e6, (at - start) as f64 / 1e6, what));
            }
            before = *at;
        }
        marks.truncate(1);
        marks.push((PRINTED.into(), before));
        out
    });
    sys::write_all(2, out.as_bytes());
}
