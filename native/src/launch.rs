//! The runner's side of launching (the launcher itself is sidebundle_nolibc::launch, which
//! says how each run mode works): the entry of a single file, started in this process, and
//! run mode bwrap, which needs threads and signal handlers (launch/bwrap.rs). A directory
//! bundle's entries start in runtime/sidebundle-launch, which execs this runner
//! (runtime/sidebundle-run) for bwrap.

mod bwrap;

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

use sidebundle_nolibc::host::Env;
use sidebundle_nolibc::launch::{self, Request};
pub use sidebundle_nolibc::report::debug;
pub use sidebundle_nolibc::timing;

/// A runner invoked under its own name: the bwrap supervisor (`supervise FD PATH ARGV0 ARGS...`).
pub fn subcommand(args: &[OsString]) -> ! {
    if args.len() >= 5 && args[1] == "supervise" {
        bwrap::supervise_inside(&args[2], &args[3], &args[4..]);
    }
    die("sidebundle-run starts a bundle's entries: run bin/NAME of the bundle instead".to_owned(), 2)
}

/// The entry `argv[0]` names, in the bundle this runner belongs to (started by the launcher
/// for run mode bwrap).
pub fn run_invoked(args: &[OsString]) -> ! {
    let args: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
    launch::run_invoked(&args, execfn().as_deref(), environment(), &run_bwrap)
}

/// An entry of the bundle at `bundle`, in this process (a single file's).
pub fn run_entry(bundle: &Path, name: &OsStr, argv0: &OsStr, user_args: &[OsString]) -> ! {
    let user_args: Vec<Vec<u8>> = user_args.iter().map(|a| a.as_bytes().to_vec()).collect();
    launch::run_entry(bundle.as_os_str().as_bytes(), name.as_bytes(), argv0.as_bytes(), &user_args, environment(), &run_bwrap)
}

/// The path the kernel executed (AT_EXECFN), as the launcher reads it from its auxiliary vector.
fn execfn() -> Option<Vec<u8>> {
    const AT_EXECFN: std::os::raw::c_ulong = 31;
    extern "C" {
        fn getauxval(kind: std::os::raw::c_ulong) -> std::os::raw::c_ulong;
    }
    // SAFETY: getauxval reads this process's auxiliary vector; AT_EXECFN is a C string in it.
    let at = unsafe { getauxval(AT_EXECFN) } as *const std::os::raw::c_char;
    // SAFETY: a NUL-terminated string the kernel put on the stack, alive for the process.
    (!at.is_null()).then(|| unsafe { std::ffi::CStr::from_ptr(at) }.to_bytes().to_vec())
}

/// This process's environment as the launcher takes it.
fn environment() -> Env {
    Env(std::env::vars_os().map(|(k, v)| [k.as_bytes(), b"=", v.as_bytes()].concat()).collect())
}

/// Run mode bwrap, with the launcher's environment made this process's (bwrap and the
/// program inherit it).
fn run_bwrap(request: &Request, env: Env) -> std::convert::Infallible {
    for entry in &env.0 {
        if let Some(eq) = entry.iter().position(|&b| b == b'=') {
            std::env::set_var(OsStr::from_bytes(&entry[..eq]), OsString::from_vec(entry[eq + 1..].to_vec()));
        }
    }
    bwrap::run_bwrap(request)
}

pub fn die(message: String, code: i32) -> ! {
    sidebundle_nolibc::report::die(&message, code)
}
