//! What a launch says on stderr: SIDEBUNDLE_DEBUG's lines, warnings, and the error it dies of.

use alloc::format;
use core::sync::atomic::{AtomicBool, Ordering};

use crate::{sys, timing};

static DEBUG: AtomicBool = AtomicBool::new(false);

/// SIDEBUNDLE_DEBUG's value (set and not `0`: debug lines; listing `timing`: the phases).
pub fn init(debug: Option<&[u8]>) {
    DEBUG.store(debug.is_some_and(|v| !v.is_empty() && v != b"0"), Ordering::Relaxed);
    timing::init(debug);
}

pub fn debug(message: &str) {
    if DEBUG.load(Ordering::Relaxed) {
        warn(message);
    }
}

/// `sidebundle: MESSAGE` on stderr.
pub fn warn(message: &str) {
    sys::write_all(2, format!("sidebundle: {}\n", message).as_bytes());
}

pub fn die(message: &str, code: i32) -> ! {
    timing::flush("until the error");
    warn(message);
    sys::exit(code)
}
