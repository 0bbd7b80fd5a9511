//! A Node-API module in this same library, for what must be cheap to reach from Node: loaded
//! with process.dlopen in well under a millisecond, where ffi-rs (the tracer's way in) costs
//! ~15 ms to require on every run that uses it. It holds the hashing pool (hashpool.rs):
//! `accelerated()`, `queue(path) -> id`, `take(id, waitMs) -> line` ("" while not done). Node exports the napi_* functions
//! this library calls; nothing else loads it.

use std::ffi::{c_char, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use crate::hashpool;

type Env = *mut c_void;
type Value = *mut c_void;
type CallbackInfo = *mut c_void;
type Callback = unsafe extern "C" fn(Env, CallbackInfo) -> Value;

extern "C" {
    fn napi_create_function(env: Env, name: *const c_char, length: usize, cb: Callback, data: *mut c_void, result: *mut Value) -> i32;
    fn napi_set_named_property(env: Env, object: Value, name: *const c_char, value: Value) -> i32;
    fn napi_get_cb_info(env: Env, info: CallbackInfo, argc: *mut usize, argv: *mut Value, this: *mut Value, data: *mut *mut c_void) -> i32;
    fn napi_get_value_string_utf8(env: Env, value: Value, buf: *mut c_char, size: usize, result: *mut usize) -> i32;
    fn napi_get_value_double(env: Env, value: Value, result: *mut f64) -> i32;
    fn napi_create_double(env: Env, value: f64, result: *mut Value) -> i32;
    fn napi_create_string_utf8(env: Env, text: *const c_char, length: usize, result: *mut Value) -> i32;
    fn napi_get_boolean(env: Env, value: bool, result: *mut Value) -> i32;
    fn napi_throw_error(env: Env, code: *const c_char, message: *const c_char) -> i32;
}

const OK: i32 = 0;

unsafe fn throw(env: Env, message: &str) -> Value {
    let text = std::ffi::CString::new(message).unwrap_or_default();
    napi_throw_error(env, ptr::null(), text.as_ptr());
    ptr::null_mut()
}

unsafe fn first_argument(env: Env, info: CallbackInfo) -> Option<Value> {
    let mut argc = 1usize;
    let mut argv = [ptr::null_mut(); 1];
    let status = napi_get_cb_info(env, info, &mut argc, argv.as_mut_ptr(), ptr::null_mut(), ptr::null_mut());
    (status == OK && argc >= 1).then_some(argv[0])
}

unsafe fn string_argument(env: Env, info: CallbackInfo) -> Option<String> {
    let value = first_argument(env, info)?;
    let mut length = 0usize;
    if napi_get_value_string_utf8(env, value, ptr::null_mut(), 0, &mut length) != OK {
        return None;
    }
    let mut bytes = vec![0u8; length + 1];
    if napi_get_value_string_utf8(env, value, bytes.as_mut_ptr() as *mut c_char, bytes.len(), &mut length) != OK {
        return None;
    }
    bytes.truncate(length);
    String::from_utf8(bytes).ok()
}

/// Run `body`, a panic becoming a JavaScript error instead of crossing into Node.
unsafe fn guarded(env: Env, body: impl FnOnce() -> Result<Value, String>) -> Value {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(value)) => value,
        Ok(Err(message)) => throw(env, &message),
        Err(_) => throw(env, "sidebundle's native hashing panicked"),
    }
}

unsafe extern "C" fn accelerated(env: Env, _info: CallbackInfo) -> Value {
    let mut result = ptr::null_mut();
    napi_get_boolean(env, hashpool::accelerated(), &mut result);
    result
}

unsafe extern "C" fn queue(env: Env, info: CallbackInfo) -> Value {
    guarded(env, || {
        let path = string_argument(env, info).ok_or("queue(path): a string without NUL is expected")?;
        if path.contains('\0') {
            return Err("queue(path): the path contains NUL".into());
        }
        let mut result = ptr::null_mut();
        napi_create_double(env, hashpool::queue(path) as f64, &mut result);
        Ok(result)
    })
}

unsafe extern "C" fn take(env: Env, info: CallbackInfo) -> Value {
    guarded(env, || {
        let mut argc = 2usize;
        let mut argv = [ptr::null_mut(); 2];
        let (mut id, mut wait_ms) = (-1f64, -1f64);
        if napi_get_cb_info(env, info, &mut argc, argv.as_mut_ptr(), ptr::null_mut(), ptr::null_mut()) != OK
            || argc < 2
            || napi_get_value_double(env, argv[0], &mut id) != OK
            || napi_get_value_double(env, argv[1], &mut wait_ms) != OK
            || id < 0.0
            || id.fract() != 0.0
            || !(0.0..=3_600_000.0).contains(&wait_ms)
        {
            return Err("take(id, waitMs): an id from queue() and a wait in milliseconds are expected".into());
        }
        let line = hashpool::take(id as u64, std::time::Duration::from_secs_f64(wait_ms / 1000.0));
        let mut result = ptr::null_mut();
        napi_create_string_utf8(env, line.as_ptr() as *const c_char, line.len(), &mut result);
        Ok(result)
    })
}

/// # Safety
/// Called by Node once, with a live environment and exports object.
#[no_mangle]
pub unsafe extern "C" fn napi_register_module_v1(env: Env, exports: Value) -> Value {
    let functions: [(&[u8], Callback); 3] = [(b"accelerated\0", accelerated), (b"queue\0", queue), (b"take\0", take)];
    for (name, callback) in functions {
        let mut function = ptr::null_mut();
        if napi_create_function(env, name.as_ptr() as *const c_char, name.len() - 1, callback, ptr::null_mut(), &mut function) != OK
            || napi_set_named_property(env, exports, name.as_ptr() as *const c_char, function) != OK
        {
            return ptr::null_mut();
        }
    }
    exports
}
