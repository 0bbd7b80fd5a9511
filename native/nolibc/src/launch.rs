//! The launcher behind a bundle's entries. `bin/NAME` is a symlink to
//! `runtime/sidebundle-launch` (src/bin/launch.rs: this, with no C library); it finds which
//! entry it was started as by following argv[0] to `bin/`, reads
//! `runtime/entries/NAME.json` (entry.rs) and runs the program in the run mode (the bundle's,
//! or SIDEBUNDLE_RUN_MODE):
//!
//!   host    the bundled loader with --library-path (an argument of that one process: programs
//!           the entry starts never inherit it) and the host-mode environment rules (host.rs);
//!   ns      an unprivileged user + mount namespace (uid/gid mapped to the caller) whose root
//!           is the payload laid over the target's file system (plan.rs says what goes where,
//!           root.rs mounts it). Then exec, no fork: the program keeps the launcher's pid,
//!           signals, exit status and terminal;
//!   chroot  the same root, built in a mount namespace without a user namespace and entered
//!           with chroot(2): for root on hosts where user namespaces are disabled;
//!   auto    ns, else host; SIDEBUNDLE_DEBUG=1 says which and why;
//!   bwrap   the same view built by bubblewrap's arguments, supervised from both sides: the
//!           caller's `bwrap` (the runner, native/src/launch/bwrap.rs, which needs threads
//!           and signal handlers: the launcher execs it).
//!
//! The runner (static glibc: single files, bwrap) runs the same code in-process.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::convert::Infallible;

use crate::entry::{self, Spec};
use crate::host::{self, Env};
use crate::path::{self, show};
use crate::report::{debug, die};
use crate::root::{self, Isolation};
use crate::{sys, timing};

/// One entry to start: where its bundle is, what the bundle says about it, the user's
/// arguments, and whether overlays may be used (SIDEBUNDLE_OVERLAY is not 0).
pub struct Request {
    pub bundle: Vec<u8>,
    pub payload: Vec<u8>,
    pub spec: Spec,
    pub user_args: Vec<Vec<u8>>,
    pub overlay: bool,
}

/// How run mode bwrap starts, given the request and the environment built so far (it never
/// returns: Infallible stands for `!`, which a function type cannot name yet).
pub type Bwrap<'a> = &'a dyn Fn(&Request, Env) -> Infallible;

/// The entry `argv[0]` names, in the bundle this launcher belongs to. `execfn`: the path the
/// kernel executed (AT_EXECFN), for a caller whose argv[0] is another name (`exec -a`,
/// execl(path, "name")): what a shell script launcher gets as $0.
pub fn run_invoked(args: &[Vec<u8>], execfn: Option<&[u8]>, env: Env, bwrap: Bwrap) -> ! {
    run_invoked_from(&this_executable(), args, execfn, env, bwrap)
}

/// This process's executable (/proc/self/exe), or the end of the launch.
pub fn this_executable() -> Vec<u8> {
    sys::readlink(b"/proc/self/exe").unwrap_or_else(|e| die(&format!("cannot find the launcher: /proc/self/exe: {} (is /proc mounted?)", e), 127))
}

/// run_invoked, for the launcher `exe` (`BUNDLE/runtime/sidebundle-launch`).
pub fn run_invoked_from(exe: &[u8], args: &[Vec<u8>], execfn: Option<&[u8]>, env: Env, bwrap: Bwrap) -> ! {
    let bundle = path::parent(exe).and_then(|runtime| path::parent(&runtime)).unwrap_or_default();
    let invoked = args.first().cloned().unwrap_or_default();
    let found = entry::entry_name(&bundle, &invoked, env.get(b"PATH")).or_else(|| execfn.and_then(|at| entry::entry_name(&bundle, at, None)));
    let name = found.unwrap_or_else(|| {
        die(&format!("{} is not an entry of the bundle {} (run bin/NAME, or a link to it)", show(&invoked), show(&bundle)), 127)
    });
    timing::mark("find the entry from argv[0]");
    run_entry(&bundle, &name, &invoked, &args[1.min(args.len())..], env, bwrap)
}

pub fn run_entry(bundle: &[u8], name: &[u8], argv0: &[u8], user_args: &[Vec<u8>], mut env: Env, bwrap: Bwrap) -> ! {
    let spec = entry::read_spec(bundle, name, argv0).unwrap_or_else(|e| die(&e, 127));
    timing::mark("read the entry's spec");
    host::entry_env(&mut env, bundle, &spec);
    let mode = env.get(b"SIDEBUNDLE_RUN_MODE").filter(|m| !m.is_empty()).map(|m| String::from_utf8_lossy(m).into_owned()).unwrap_or_else(|| spec.mode.clone());
    let request = Request {
        bundle: bundle.to_vec(),
        payload: spec.payload.clone(),
        overlay: env.get(b"SIDEBUNDLE_OVERLAY") != Some(b"0"),
        spec,
        user_args: user_args.to_vec(),
    };
    // A bundle made for run mode host has no mount point for a new root, nor the runner bwrap
    // needs: its launcher runs programs on the host only.
    let host_only = request.spec.mode == "host" && sys::file_type(&path::join(bundle, b"runtime/root"), true).is_err();
    match mode.as_str() {
        "ns" | "chroot" | "bwrap" if host_only => die(
            &format!("run mode {} cannot start: this bundle was made for run mode host, and its launcher runs programs on the host only; bundle it again with --run-mode auto (or {}) to have it", mode, mode),
            126,
        ),
        "auto" if host_only => {
            debug("run mode auto: host (this bundle was made for run mode host)");
            run_on_host(&request, env)
        }
        "host" => run_on_host(&request, env),
        "ns" => match root::enter(&request, Isolation::UserNamespace) {
            Ok(()) => run_in_root(&request, env),
            Err(why) => die(&format!("run mode ns cannot start: {}", why), 126),
        },
        "chroot" => match root::enter(&request, Isolation::Chroot) {
            Ok(()) => run_in_root(&request, env),
            Err(why) => die(&format!("run mode chroot cannot start: {}", why), 126),
        },
        "auto" => match root::enter(&request, Isolation::UserNamespace) {
            Ok(()) => {
                debug("run mode auto: ns");
                run_in_root(&request, env)
            }
            Err(why) => {
                debug(&format!("run mode auto: host ({})", why));
                run_on_host(&request, env)
            }
        },
        "bwrap" => {
            root_env(&mut env, &request.spec);
            match bwrap(&request, env) {}
        }
        other => die(&format!("SIDEBUNDLE_RUN_MODE={} is not one of auto, host, ns, chroot, bwrap", other), 2),
    }
}

fn run_in_root(request: &Request, mut env: Env) -> ! {
    root_env(&mut env, &request.spec);
    let Some((program, argv)) = host::command(&request.spec.root_cmd, &request.user_args) else {
        die("the bundle describes no command for this run mode inside the bundle's root", 126)
    };
    timing::flush("argv and environment");
    let error = sys::execve(&program, &argv, &env.0);
    die(&format!("cannot run {} inside the bundle's root: {}", show(&program), error), exec_status(error))
}

/// The environment of the payload-as-root modes (JAVA_HOME at its path there); --set-env wins.
pub fn root_env(env: &mut Env, spec: &Spec) {
    for (key, value) in &spec.root_env {
        if !spec.env.iter().any(|(k, _)| k == key) {
            env.set(key.as_bytes(), value);
        }
    }
}

fn run_on_host(request: &Request, mut env: Env) -> ! {
    host::host_env(&mut env, &request.bundle, &request.spec).unwrap_or_else(|e| die(&e, 127));
    let Some((program, argv)) = host::command(&request.spec.host_cmd, &request.user_args) else {
        die("the bundle describes no command for this run mode", 126)
    };
    timing::flush("argv and environment");
    let error = sys::execve(&program, &argv, &env.0);
    die(&format!("cannot run {}: {}", show(&program), error), exec_status(error))
}

/// The shell's exit status for a program that could not be run: 126 where it is there but
/// cannot be executed, 127 where it is not found.
fn exec_status(error: sys::Errno) -> i32 {
    match error.0 {
        sys::EACCES | sys::ENOEXEC | sys::ETXTBSY => 126,
        _ => 127,
    }
}
