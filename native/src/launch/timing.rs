//! SIDEBUNDLE_DEBUG=timing: each phase of a launch with its CLOCK_MONOTONIC time, printed to
//! stderr just before the exec (or the error), so the printing does not fall inside a phase.
//! Off, a mark costs one relaxed atomic load.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Mutex;

use crate::sys;

const UNKNOWN: u8 = 0;
const OFF: u8 = 1;
const ON: u8 = 2;

static STATE: AtomicU8 = AtomicU8::new(UNKNOWN);
/// The phases so far: (what ended, when), the first one being the runner's start.
static MARKS: Mutex<Vec<(String, u64)>> = Mutex::new(Vec::new());

fn enabled() -> bool {
    match STATE.load(Ordering::Relaxed) {
        ON => true,
        OFF => false,
        _ => {
            let on = std::env::var_os("SIDEBUNDLE_DEBUG").is_some_and(|v| v.to_string_lossy().split(',').any(|w| w == "timing"));
            STATE.store(if on { ON } else { OFF }, Ordering::Relaxed);
            on
        }
    }
}

/// The phase called `what` ends now.
pub fn mark(what: &str) {
    if enabled() {
        let now = sys::monotonic_ns();
        if let Ok(mut marks) = MARKS.lock() {
            marks.push((what.to_owned(), now));
        }
    }
}

/// Like `mark`, with the name built only when timing is on.
pub fn mark_with(what: impl FnOnce() -> String) {
    if enabled() {
        mark(&what());
    }
}

/// Print the phases (each with its own duration and the time since the first mark) and forget
/// them.
pub fn flush(last: &str) {
    if !enabled() {
        return;
    }
    mark(last);
    let Ok(mut marks) = MARKS.lock() else { return };
    let Some(&(_, start)) = marks.first() else { return };
    let mut out = String::new();
    let mut before = start;
    for (what, at) in marks.iter().skip(1) {
        out.push_str(&format!("sidebundle: timing {:>8.3} ms {:>8.3} ms  {}\n", (at - before) as f64 / 1e6, (at - start) as f64 / 1e6, what));
        before = *at;
    }
    marks.clear();
    eprint!("{}", out);
}
