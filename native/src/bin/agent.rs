//! sidebundle-agent: the static binary for work that cannot run inside Node.
//!
//!   sidebundle-agent trace --rootfs DIR --spec SPEC.json --output DIR [--trace-backend B]
//!       enter DIR (a mount namespace of its own, a throwaway overlay of the rootfs so the
//!       traced run never changes DIR, /proc, /dev and a private /tmp, then pivot_root) and
//!       trace each command of SPEC there; writes
//!       OUTPUT/report.json, an array with one report (or error) per command, paths as seen
//!       inside the root. `--rootfs /` traces in place (the agent already runs inside a
//!       container).
//!   sidebundle-agent probe      what this process may do (capabilities, fanotify)
//!   sidebundle-agent --version

use std::ffi::CString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::ptr;
use std::time::Duration;

use sidebundle_native::json::{self, Value};
use sidebundle_native::spawn::Stdio;
use sidebundle_native::sys;
use sidebundle_native::trace::{self, Backend, Request};

// What a command gets when its spec names no environment or timeout. sidebundle always sends both
// (lib/trace/agent.ts, from DEFAULT_TRACE_ENV and DEFAULT_TRACE_TIMEOUT_MS in lib/model/trace.ts):
// these serve a spec written by hand, and must say the same; spec/unit/trace/agent.spec.ts
// compares them.
const DEFAULT_ENV: [(&str, &str); 3] = [
    ("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
    ("HOME", "/root"),
    ("LANG", "C.UTF-8"),
];
const DEFAULT_TIMEOUT_MS: f64 = 60_000.0;

const USAGE: &str = "usage: sidebundle-agent trace --rootfs DIR --spec SPEC.json --output DIR [--trace-backend ptrace|fanotify|combined]\n       sidebundle-agent probe\n       sidebundle-agent --version\n";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("trace") => match trace_command(&args[1..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err((code, message, hint)) => {
                eprintln!("sidebundle-agent: error[{}]: {}\n  hint: {}", code, message, hint);
                ExitCode::from(if code == "AGENT_BAD_USAGE" { 2 } else { 1 })
            }
        },
        Some("probe") => {
            println!("{}", json::to_string(&trace::probe()));
            ExitCode::SUCCESS
        }
        Some("--version") | Some("-V") => {
            println!("sidebundle-agent {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Some("--help") | Some("-h") | Some("help") => {
            print!("{}", USAGE);
            ExitCode::SUCCESS
        }
        _ => {
            eprint!("{}", USAGE);
            ExitCode::from(2)
        }
    }
}

type Failure = (&'static str, String, String);

fn usage(message: String) -> Failure {
    ("AGENT_BAD_USAGE", message, USAGE.trim().replace('\n', " | "))
}

fn trace_command(args: &[String]) -> Result<(), Failure> {
    let mut rootfs = None;
    let mut spec = None;
    let mut output = None;
    let mut backend = "ptrace".to_owned();
    let mut i = 0;
    while i < args.len() {
        let value = args.get(i + 1).cloned().ok_or_else(|| usage(format!("{} needs a value", args[i])))?;
        match args[i].as_str() {
            "--rootfs" => rootfs = Some(value),
            "--spec" => spec = Some(value),
            "--output" => output = Some(value),
            "--trace-backend" => backend = value,
            other => return Err(usage(format!("unknown option {}", other))),
        }
        i += 2;
    }
    let rootfs = rootfs.ok_or_else(|| usage("--rootfs is required".into()))?;
    let spec_file = spec.ok_or_else(|| usage("--spec is required".into()))?;
    let output = output.ok_or_else(|| usage("--output is required".into()))?;
    let backend = Backend::parse(&backend).ok_or_else(|| usage(format!("--trace-backend {} is not ptrace, fanotify or combined", backend)))?;
    let spec_text = std::fs::read_to_string(&spec_file).map_err(|e| ("AGENT_BAD_SPEC", format!("cannot read {}: {}", spec_file, e), "check the --spec path".into()))?;
    let spec = json::parse(&spec_text).map_err(|e| ("AGENT_BAD_SPEC", format!("{} is not JSON: {}", spec_file, e), "write {\"commands\": [{\"command\": [...]}]}".into()))?;
    let commands: Vec<Value> = match spec.get("commands").and_then(Value::as_array) {
        Some(list) => list.to_vec(),
        None => vec![spec.clone()],
    };
    std::fs::create_dir_all(&output).map_err(|e| ("AGENT_OUTPUT", format!("cannot create {}: {}", output, e), "choose a writable --output".into()))?;
    // Opened before entering the root: the output directory is outside it.
    let report_path = Path::new(&output).join("report.json");
    let mut report_file = std::fs::File::create(&report_path)
        .map_err(|e| ("AGENT_OUTPUT", format!("cannot create {}: {}", report_path.display(), e), "choose a writable --output".to_owned()))?;

    if rootfs != "/" {
        enter_root(Path::new(&rootfs), &Path::new(&output).join(".root-view"))?;
    }
    let mut reports = Vec::new();
    for (n, command) in commands.iter().enumerate() {
        let argv = command.get("command").and_then(Value::str_array).filter(|a| !a.is_empty());
        let Some(argv) = argv else {
            reports.push(json::obj(vec![("error", json::obj(vec![("code", json::s("AGENT_BAD_SPEC")), ("message", json::s(format!("commands[{}] has no command", n)))]))]));
            continue;
        };
        let env = match command.get("env").and_then(Value::as_object) {
            Some(map) => map.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned()))).collect(),
            None => DEFAULT_ENV.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        };
        let request = Request {
            argv,
            cwd: Some(command.get("cwd").and_then(Value::as_str).unwrap_or("/").to_owned()),
            env,
            backend,
            timeout: Duration::from_millis(command.get("timeoutMs").and_then(Value::as_f64).unwrap_or(DEFAULT_TIMEOUT_MS) as u64),
            linger: Duration::from_millis(command.get("lingerMs").and_then(Value::as_f64).unwrap_or(1_000.0) as u64),
            session: n as u64,
            stdout: Stdio::Stderr,
        };
        reports.push(match trace::run(&request) {
            Ok(report) => report,
            Err(failure) => failure.to_json(),
        });
    }
    let text = format!("{}\n", json::to_string(&Value::Arr(reports)));
    report_file
        .write_all(text.as_bytes())
        .map_err(|e| ("AGENT_OUTPUT", format!("cannot write {}: {}", report_path.display(), e), "choose a writable --output".to_owned()))
}

fn c(text: &str) -> CString {
    CString::new(text).unwrap_or_default()
}

/// A mount namespace of our own with a throwaway view of the rootfs (see `private_view`), /proc,
/// /dev, /sys and a private /tmp bound into it, then pivot_root (or chroot) into it.
fn enter_root(rootfs: &Path, scratch: &Path) -> Result<(), Failure> {
    let root = std::fs::canonicalize(rootfs).map_err(|e| ("AGENT_BAD_ROOTFS", format!("{}: {}", rootfs.display(), e), "give an unpacked root filesystem directory".into()))?;
    // SAFETY: namespace and mount syscalls on paths we own; the agent is single-threaded here.
    unsafe {
        if sys::unshare(sys::CLONE_NEWNS) != 0 {
            let e = sys::last_error();
            return Err(("AGENT_NAMESPACE_DENIED", format!("cannot create a mount namespace ({}): entering a root needs CAP_SYS_ADMIN", e), "run the agent as root (or with CAP_SYS_ADMIN), or inside a container with --cap-add SYS_ADMIN".into()));
        }
        sys::mount(ptr::null(), c("/").as_ptr(), ptr::null(), sys::MS_REC | sys::MS_PRIVATE, ptr::null());
    }
    let (view, writable) = private_view(&root, scratch)?;
    let root_s = view.to_string_lossy().into_owned();
    // SAFETY: bind mounts onto directories of the view, inside our own mount namespace.
    unsafe {
        for (source, target) in [("/proc", "proc"), ("/dev", "dev"), ("/sys", "sys")] {
            let at = format!("{}/{}", root_s, target);
            if writable {
                let _ = std::fs::create_dir_all(&at);
            }
            sys::mount(c(source).as_ptr(), c(&at).as_ptr(), ptr::null(), sys::MS_BIND | sys::MS_REC, ptr::null());
        }
        let tmp = format!("{}/tmp", root_s);
        if writable {
            let _ = std::fs::create_dir_all(&tmp);
        }
        sys::mount(c("tmpfs").as_ptr(), c(&tmp).as_ptr(), c("tmpfs").as_ptr(), sys::MS_NOSUID | sys::MS_NODEV, c("mode=1777").as_ptr() as *const _);
    }
    // pivot_root rather than chroot: the rootfs becomes the namespace's root mount, so paths
    // the kernel reports (readlink of descriptors, fanotify events) are paths inside it.
    // SAFETY: pivot_root/umount on the mounts prepared above; chroot as the fallback.
    unsafe {
        let old = format!("{}/.sidebundle-oldroot", root_s);
        let _ = std::fs::create_dir_all(&old);
        let pivoted = sys::chdir(c(&root_s).as_ptr()) == 0
            && sys::syscall(sys::SYS_PIVOT_ROOT, c(".").as_ptr(), c(".sidebundle-oldroot").as_ptr()) == 0
            && sys::chdir(c("/").as_ptr()) == 0
            && sys::umount2(c("/.sidebundle-oldroot").as_ptr(), sys::MNT_DETACH) == 0;
        if pivoted {
            let _ = std::fs::remove_dir("/.sidebundle-oldroot");
        } else {
            let _ = std::fs::remove_dir(&old);
            if sys::chroot(c(&root_s).as_ptr()) != 0 || sys::chdir(c("/").as_ptr()) != 0 {
                return Err(("AGENT_CHROOT_FAILED", format!("cannot enter {}: {}", root_s, sys::last_error()), "the agent needs CAP_SYS_ADMIN and CAP_SYS_CHROOT (root, or a container with SYS_ADMIN)".into()));
            }
        }
    }
    Ok(())
}

/// The traced program must not change the rootfs: it is the image cache's snapshot (shared, by
/// hard links, with every later bundle of the image) or the user's own --trace-root. The view is
/// an overlay whose upper layer lives in a tmpfs of this namespace, so first-run writes
/// (`__pycache__`, a program rewriting its own files) succeed and vanish with the namespace.
/// Where overlayfs is unavailable, a read-only bind: writes fail instead of landing.
/// Returns the view and whether it is writable.
fn private_view(root: &Path, scratch: &Path) -> Result<(PathBuf, bool), Failure> {
    let fail = |what: &str| ("AGENT_MOUNT_FAILED", format!("{}: {}", what, sys::last_error()), "the agent needs CAP_SYS_ADMIN to prepare a private view of the root".to_owned());
    std::fs::create_dir_all(scratch).map_err(|e| ("AGENT_OUTPUT", format!("cannot create {}: {}", scratch.display(), e), "choose a writable --output".to_owned()))?;
    let scratch_s = scratch.to_string_lossy().into_owned();
    // SAFETY: mounts on directories we just created, inside our own mount namespace.
    unsafe {
        if sys::mount(c("tmpfs").as_ptr(), c(&scratch_s).as_ptr(), c("tmpfs").as_ptr(), sys::MS_NOSUID | sys::MS_NODEV, c("mode=0700").as_ptr() as *const _) != 0 {
            return Err(fail(&format!("cannot mount a tmpfs on {}", scratch_s)));
        }
    }
    let (upper, work, merged) = (scratch.join("upper"), scratch.join("work"), scratch.join("merged"));
    for dir in [&upper, &work, &merged] {
        std::fs::create_dir(dir).map_err(|e| ("AGENT_OUTPUT", format!("cannot create {}: {}", dir.display(), e), "choose a writable --output".to_owned()))?;
    }
    let escape = |p: &Path| p.to_string_lossy().replace('\\', "\\\\").replace(',', "\\,").replace(':', "\\:");
    let options = format!("lowerdir={},upperdir={},workdir={}", escape(root), escape(&upper), escape(&work));
    let merged_s = merged.to_string_lossy().into_owned();
    // SAFETY: as above.
    unsafe {
        if sys::mount(c("overlay").as_ptr(), c(&merged_s).as_ptr(), c("overlay").as_ptr(), 0, c(&options).as_ptr() as *const _) == 0 {
            return Ok((merged, true));
        }
        eprintln!("sidebundle-agent: warning: overlayfs is unavailable here ({}); tracing over a read-only view of {}", sys::last_error(), root.display());
        let root_s = root.to_string_lossy().into_owned();
        if sys::mount(c(&root_s).as_ptr(), c(&merged_s).as_ptr(), ptr::null(), sys::MS_BIND | sys::MS_REC, ptr::null()) != 0 {
            return Err(fail(&format!("cannot bind {}", root_s)));
        }
        if sys::mount(ptr::null(), c(&merged_s).as_ptr(), ptr::null(), sys::MS_BIND | sys::MS_REMOUNT | sys::MS_RDONLY, ptr::null()) != 0 {
            return Err(fail(&format!("cannot make {} read-only", merged_s)));
        }
    }
    Ok((merged, false))
}
