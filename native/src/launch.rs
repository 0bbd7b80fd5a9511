//! The launcher behind a bundle's entries, in the runner binary (bin/sidebundle-run) and in
//! single-file bundles. `bin/NAME` is a symlink to `runtime/sidebundle-run`; the runner finds
//! which entry it was started as by following argv[0] to `bin/`, reads
//! `runtime/entries/NAME.json` (launch/entry.rs) and runs the program in the run mode (the
//! bundle's, or SIDEBUNDLE_RUN_MODE):
//!
//!   host    the bundled loader with --library-path (an argument of that one process: programs
//!           the entry starts never inherit it) and the host-mode environment rules;
//!   ns      an unprivileged user + mount namespace (uid/gid mapped to the caller) whose root
//!           is the payload laid over the target's file system (launch/plan.rs says what goes
//!           where, launch/root.rs mounts it). Then exec, no fork: the program keeps the
//!           launcher's pid, signals, exit status and terminal;
//!   chroot  the same root, built in a mount namespace without a user namespace and entered
//!           with chroot(2): for root on hosts where user namespaces are disabled;
//!   auto    ns, else host; SIDEBUNDLE_DEBUG=1 says which and why;
//!   bwrap   the same view built by bubblewrap's arguments, supervised from both sides
//!           (launch/bwrap.rs): signals reach the program and its death is ours.

mod bwrap;
mod entry;
pub mod plan;
mod root;
pub mod timing;

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use crate::sys;
use entry::Spec;
use sidebundle_nolibc::host::{self, Env};
use root::Isolation;

/// A runner invoked under its own name: the bwrap supervisor (`supervise FD PATH ARGV0 ARGS...`).
pub fn subcommand(args: &[OsString]) -> ! {
    if args.len() >= 5 && args[1] == "supervise" {
        bwrap::supervise_inside(&args[2], &args[3], &args[4..]);
    }
    die("sidebundle-run starts a bundle's entries: run bin/NAME of the bundle instead".to_owned(), 2)
}

/// The entry `argv[0]` names, in the bundle this runner belongs to.
pub fn run_invoked(args: &[OsString]) -> ! {
    let exe = std::fs::read_link("/proc/self/exe").unwrap_or_else(|e| die(format!("cannot find the launcher: {}", e), 127));
    let bundle = exe.parent().and_then(Path::parent).map(Path::to_path_buf).unwrap_or_default();
    let invoked = args.first().cloned().unwrap_or_default();
    let name = entry::entry_name(&bundle, &invoked).unwrap_or_else(|| {
        die(format!("{} is not an entry of the bundle {} (run bin/NAME, or a link to it)", invoked.to_string_lossy(), bundle.display()), 127)
    });
    timing::mark("find the entry from argv[0]");
    run_entry(&bundle, &name, &invoked, &args[1..])
}

pub fn run_entry(bundle: &Path, name: &OsStr, argv0: &OsStr, user_args: &[OsString]) -> ! {
    let spec = entry::read_spec(bundle, name, argv0).unwrap_or_else(|e| die(e, 127));
    timing::mark("read the entry's spec");
    std::env::set_var("SIDEBUNDLE_ROOT", bundle);
    for (key, value) in &spec.env {
        std::env::set_var(key, OsStr::from_bytes(value));
    }
    let request = Request {
        bundle: bundle.to_path_buf(),
        payload: PathBuf::from(OsStr::from_bytes(&spec.payload)),
        spec,
        user_args: user_args.iter().map(|a| a.as_bytes().to_vec()).collect(),
    };
    let mode = std::env::var("SIDEBUNDLE_RUN_MODE").ok().filter(|m| !m.is_empty()).unwrap_or_else(|| request.spec.mode.clone());
    match mode.as_str() {
        "host" => run_on_host(&request),
        "ns" => match root::enter(&request, Isolation::UserNamespace) {
            Ok(()) => run_in_root(&request),
            Err(why) => die(format!("run mode ns cannot start: {}", why), 126),
        },
        "chroot" => match root::enter(&request, Isolation::Chroot) {
            Ok(()) => run_in_root(&request),
            Err(why) => die(format!("run mode chroot cannot start: {}", why), 126),
        },
        "auto" => match root::enter(&request, Isolation::UserNamespace) {
            Ok(()) => {
                debug("run mode auto: ns");
                run_in_root(&request)
            }
            Err(why) => {
                debug(&format!("run mode auto: host ({})", why));
                run_on_host(&request)
            }
        },
        "bwrap" => {
            set_root_env(&request.spec);
            bwrap::run_bwrap(&request)
        }
        other => die(format!("SIDEBUNDLE_RUN_MODE={} is not one of auto, host, ns, chroot, bwrap", other), 2),
    }
}

struct Request {
    bundle: PathBuf,
    payload: PathBuf,
    spec: Spec,
    user_args: Vec<Vec<u8>>,
}

pub fn debug(message: &str) {
    if std::env::var_os("SIDEBUNDLE_DEBUG").is_some_and(|v| !v.is_empty() && v != "0") {
        eprintln!("sidebundle: {}", message);
    }
}

pub fn die(message: String, code: i32) -> ! {
    timing::flush("until the error");
    eprintln!("sidebundle: {}", message);
    std::process::exit(code)
}

fn run_in_root(request: &Request) -> ! {
    set_root_env(&request.spec);
    let Some((program, argv)) = host::command(&request.spec.root_cmd, &request.user_args) else {
        die("the bundle describes no command for this run mode inside the bundle's root".to_owned(), 126)
    };
    timing::flush("argv and environment");
    let error = sys::exec_argv(OsStr::from_bytes(&program), &argv.into_iter().map(OsString::from_vec).collect::<Vec<_>>());
    die(format!("cannot run {} inside the bundle's root: {}", String::from_utf8_lossy(&program), error), 127)
}

/// The environment of the payload-as-root modes (JAVA_HOME at its path there); --set-env wins.
fn set_root_env(spec: &Spec) {
    for (key, value) in &spec.root_env {
        if !spec.env.iter().any(|(k, _)| k == key) {
            std::env::set_var(key, OsStr::from_bytes(value));
        }
    }
}

/// Host mode, as sidebundle-run-host runs it (sidebundle_nolibc::host), from this process's
/// environment (SIDEBUNDLE_ROOT and the entry's variables are set already).
fn run_on_host(request: &Request) -> ! {
    let mut env = Env(std::env::vars_os().map(|(k, v)| [k.as_bytes(), b"=", v.as_bytes()].concat()).collect());
    let bundle = request.bundle.as_os_str().as_bytes();
    host::host_env(&mut env, bundle, &request.spec).unwrap_or_else(|e| die(e, 127));
    let Some((program, argv)) = host::command(&request.spec.host_cmd, &request.user_args) else {
        die("the bundle describes no command for this run mode".to_owned(), 126)
    };
    timing::flush("argv and environment");
    let error = sidebundle_nolibc::sys::execve(&program, &argv, &env.0);
    die(format!("cannot run {}: {}", String::from_utf8_lossy(&program), error), 127)
}
