//! The C ABI for ffi-rs: JSON string in, JSON string out (freed with sb_free). A panic never
//! crosses the boundary: it becomes an error document.

use std::ffi::{CStr, CString};
use std::os::raw::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::json::{self, Value};
use crate::trace;

fn respond(value: Value) -> *mut c_char {
    CString::new(json::to_string(&value)).unwrap_or_else(|_| CString::new("{\"error\":{\"code\":\"TRACE_INTERNAL\"}}").unwrap_or_default()).into_raw()
}

fn error(code: &str, message: String) -> Value {
    json::obj(vec![("error", json::obj(vec![("code", json::s(code)), ("message", json::s(message)), ("hint", json::s("this is a bug in sidebundle; please report it"))]))])
}

fn with_request(input: *const c_char, handler: impl FnOnce(Value) -> Value) -> *mut c_char {
    let result = catch_unwind(AssertUnwindSafe(|| {
        if input.is_null() {
            return error("TRACE_BAD_REQUEST", "null request".into());
        }
        // SAFETY: the caller passes a NUL-terminated string that lives for this call.
        let text = unsafe { CStr::from_ptr(input) }.to_string_lossy().into_owned();
        match json::parse(&text) {
            Ok(value) => handler(value),
            Err(e) => error("TRACE_BAD_REQUEST", format!("request is not JSON: {}", e)),
        }
    }));
    respond(result.unwrap_or_else(|_| error("TRACE_INTERNAL", "the native tracer panicked".into())))
}

/// Run one whole trace session (fork, exec, the tracer loop) in the calling thread.
#[no_mangle]
pub extern "C" fn sb_trace(request: *const c_char) -> *mut c_char {
    with_request(request, |value| {
        if cfg!(feature = "stub") {
            return json::obj(vec![("error", json::obj(vec![
                ("code", json::s("TRACE_NATIVE_UNAVAILABLE")),
                ("message", json::s("this native shim was built in stub mode (SIDEBUNDLE_NATIVE_BUILD=stub): it cannot trace")),
                ("hint", json::s("rebuild it normally: npm run build:native")),
            ]))]);
        }
        match trace::parse_request(&value).and_then(|req| trace::run(&req)) {
            Ok(report) => report,
            Err(failure) => failure.to_json(),
        }
    })
}

/// Cancel a running session: {"session": N} → {"cancelled": bool}.
#[no_mangle]
pub extern "C" fn sb_cancel(request: *const c_char) -> *mut c_char {
    with_request(request, |value| {
        let session = value.get("session").and_then(Value::as_f64).unwrap_or(-1.0);
        json::obj(vec![("cancelled", Value::Bool(session >= 0.0 && trace::cancel(session as u64)))])
    })
}

/// What this process may do (capabilities, ptrace scope, fanotify).
#[no_mangle]
pub extern "C" fn sb_probe(request: *const c_char) -> *mut c_char {
    with_request(request, |_| trace::probe())
}

#[no_mangle]
pub extern "C" fn sb_version() -> *mut c_char {
    respond(json::obj(vec![("version", json::s(env!("CARGO_PKG_VERSION"))), ("stub", Value::Bool(cfg!(feature = "stub")))]))
}

/// Free a string returned by this library.
#[no_mangle]
pub extern "C" fn sb_free(text: *mut c_char) {
    if !text.is_null() {
        // SAFETY: `text` came from CString::into_raw in this library and is freed once.
        unsafe { drop(CString::from_raw(text)) };
    }
}
