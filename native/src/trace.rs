//! One trace session: start the command under the chosen backend(s), enforce the timeout and
//! cancellation, make sure nothing it started outlives it, and report what it touched.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::fanotify;
use crate::json::{self, Value};
use crate::ptrace::{self, Tree};
use crate::record::Record;
use crate::spawn::{self, ChildStatus, SpawnSpec, Stdio};
use crate::sys;

#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Backend {
    Ptrace,
    Fanotify,
    Combined,
}

impl Backend {
    pub fn parse(name: &str) -> Option<Backend> {
        match name {
            "ptrace" => Some(Backend::Ptrace),
            "fanotify" => Some(Backend::Fanotify),
            "combined" => Some(Backend::Combined),
            _ => None,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Backend::Ptrace => "ptrace",
            Backend::Fanotify => "fanotify",
            Backend::Combined => "combined",
        }
    }
    fn ptrace(self) -> bool {
        self != Backend::Fanotify
    }
    fn fanotify(self) -> bool {
        self != Backend::Ptrace
    }
}

pub struct Request {
    pub argv: Vec<String>,
    pub cwd: Option<String>,
    pub env: Vec<(String, String)>,
    pub backend: Backend,
    pub timeout: Duration,
    /// How long processes may outlive the command before they are stopped (daemons).
    pub linger: Duration,
    pub session: u64,
    pub stdout: Stdio,
}

/// A clear failure: code, message, and the hint the user needs.
pub struct Failure {
    pub code: &'static str,
    pub message: String,
    pub hint: String,
}

impl Failure {
    pub fn to_json(&self) -> Value {
        json::obj(vec![(
            "error",
            json::obj(vec![("code", json::s(self.code)), ("message", json::s(self.message.clone())), ("hint", json::s(self.hint.clone()))]),
        )])
    }
}

struct Control {
    cancelled: AtomicBool,
}

fn sessions() -> &'static Mutex<HashMap<u64, Arc<Control>>> {
    static SESSIONS: OnceLock<Mutex<HashMap<u64, Arc<Control>>>> = OnceLock::new();
    SESSIONS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Cancel a running session (from any thread). False if no such session runs.
pub fn cancel(session: u64) -> bool {
    match sessions().lock().ok().and_then(|s| s.get(&session).cloned()) {
        Some(control) => {
            control.cancelled.store(true, Ordering::SeqCst);
            true
        }
        None => false,
    }
}

pub fn run(req: &Request) -> Result<Value, Failure> {
    let started = Instant::now();
    let record = Arc::new(Mutex::new(Record::default()));
    let spec = SpawnSpec {
        argv: req.argv.clone(),
        env: req.env.clone(),
        cwd: req.cwd.clone(),
        stdout: match req.stdout {
            Stdio::Inherit => Stdio::Inherit,
            Stdio::Null => Stdio::Null,
            Stdio::Stderr => Stdio::Stderr,
        },
        new_mount_ns: req.backend.fanotify(),
        seccomp: req.backend.ptrace(),
    };
    let mut child = spawn::spawn(&spec).map_err(|e| {
        if req.backend.fanotify() && e.raw_os_error() == Some(1) {
            fanotify_denied(&e)
        } else {
            Failure { code: "TRACE_START_FAILED", message: format!("cannot start the trace command {:?}: {}", req.argv, e), hint: "check the trace command".into() }
        }
    })?;
    let mount_ns = std::fs::read_link(format!("/proc/{}/ns/mnt", child.pid)).ok();

    if req.backend.ptrace() {
        if let Err(e) = ptrace::seize(child.pid) {
            child.reap();
            return Err(Failure {
                code: "TRACE_PTRACE_DENIED",
                message: format!(
                    "ptrace is not permitted here ({}): sidebundle may already be traced (by a debugger or strace), or a policy forbids it (kernel.yama.ptrace_scope, a seccomp profile, a container without CAP_SYS_PTRACE)",
                    e
                ),
                hint: "grant CAP_SYS_PTRACE (or lower kernel.yama.ptrace_scope), or use --trace-backend fanotify, which needs CAP_SYS_ADMIN instead".into(),
            });
        }
    }
    let listener = if req.backend.fanotify() {
        match fanotify::start(child.pid, record.clone()) {
            Ok(l) => Some(l),
            Err(e) => {
                child.reap();
                return Err(fanotify_denied(&e));
            }
        }
    } else {
        None
    };

    let control = Arc::new(Control { cancelled: AtomicBool::new(false) });
    sessions().lock().map(|mut s| s.insert(req.session, control.clone())).ok();
    let seccomp = child.release() == ChildStatus::SeccompOn;

    // The watchdog: timeout, cancellation, and processes that outlive the command.
    let tree = Arc::new(Mutex::new(Tree::default()));
    let done = Arc::new(AtomicBool::new(false));
    let root_exited = Arc::new(Mutex::new(None::<Instant>));
    let timed_out = Arc::new(AtomicBool::new(false));
    let lingered = Arc::new(AtomicBool::new(false));
    let watchdog = {
        let (tree, done, control, root_exited, timed_out, lingered) = (tree.clone(), done.clone(), control.clone(), root_exited.clone(), timed_out.clone(), lingered.clone());
        let (timeout, linger, ns) = (req.timeout, req.linger, mount_ns.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::SeqCst) {
                // Parked, not asleep: the session's end unparks it, so joining it costs no wait.
                std::thread::park_timeout(Duration::from_millis(10));
                let over_time = started.elapsed() >= timeout;
                let lingering = root_exited.lock().ok().and_then(|t| *t).map(|t| t.elapsed() >= linger).unwrap_or(false);
                if over_time || control.cancelled.load(Ordering::SeqCst) || lingering {
                    if over_time {
                        timed_out.store(true, Ordering::SeqCst);
                    }
                    if lingering && !over_time {
                        lingered.store(true, Ordering::SeqCst);
                    }
                    stop_everything(&tree, ns.as_deref());
                }
            }
        })
    };

    let exit = if req.backend.ptrace() {
        let mark = root_exited.clone();
        let on_root_exit = move || {
            if let Ok(mut t) = mark.lock() {
                *t = Some(Instant::now());
            }
        };
        ptrace::run(child.pid, seccomp, &tree, &record, &on_root_exit).exit
    } else {
        wait_root(child.pid, &root_exited, &tree)
    };
    // fanotify mode: processes the command left in its namespace get the same grace period
    // as under ptrace, then are stopped.
    if !req.backend.ptrace() {
        if let Some(ns) = &mount_ns {
            let deadline = Instant::now() + req.linger;
            while namespace_members(ns) > 0 && Instant::now() < deadline && !timed_out.load(Ordering::SeqCst) && !control.cancelled.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(10));
            }
            if namespace_members(ns) > 0 {
                lingered.store(true, Ordering::SeqCst);
            }
        }
    }
    if let Some(ns) = &mount_ns {
        kill_namespace(ns);
    }
    done.store(true, Ordering::SeqCst);
    watchdog.thread().unpark();
    let _ = watchdog.join();
    sessions().lock().map(|mut s| s.remove(&req.session)).ok();
    let (fan_events, overflow) = listener.map(|l| l.finish()).unwrap_or((0, false));

    if let Some(ChildStatus::Failed { stage, errno }) = child.start_failure() {
        let e = std::io::Error::from_raw_os_error(errno);
        return Err(Failure {
            code: "TRACE_COMMAND_FAILED",
            message: format!("the trace command {:?} could not {}: {}", req.argv, if stage == "chdir" { "enter its working directory" } else { "be executed" }, e),
            hint: "check the trace command (its program must exist inside the root) and its working directory".into(),
        });
    }

    let mut warnings = Vec::new();
    if req.backend.ptrace() && !seccomp {
        warnings.push(json::s("seccomp filters are unavailable: every system call was stopped (slower, same result)"));
    }
    if overflow {
        warnings.push(json::s("the fanotify queue overflowed: some opened files may be missing"));
    }
    if lingered.load(Ordering::SeqCst) {
        warnings.push(json::s(format!("processes the command started were still running {} ms after it ended, and were stopped", req.linger.as_millis())));
    }
    let timed_out = timed_out.load(Ordering::SeqCst);
    if timed_out {
        warnings.push(json::s(format!("the command was killed after the {} ms timeout, with everything it started", req.timeout.as_millis())));
    }
    let record = record.lock().map_err(|_| Failure { code: "TRACE_INTERNAL", message: "trace record poisoned".into(), hint: String::new() })?;
    let exit_json = match exit {
        Some((Some(code), _)) => json::obj(vec![("code", Value::Num(code as f64))]),
        Some((None, Some(sig))) => json::obj(vec![("signal", json::s(sys::signal_name(sig)))]),
        _ => Value::Null,
    };
    Ok(json::obj(vec![
        ("command", Value::Arr(req.argv.iter().map(|a| json::s(a.clone())).collect())),
        ("cwd", req.cwd.clone().map(json::s).unwrap_or(Value::Null)),
        ("backend", json::s(req.backend.name())),
        ("exit", exit_json),
        ("timedOut", Value::Bool(timed_out)),
        ("cancelled", Value::Bool(control.cancelled.load(Ordering::SeqCst))),
        ("durationMs", Value::Num(started.elapsed().as_millis() as f64)),
        ("seccomp", Value::Bool(seccomp)),
        ("events", Value::Num((record.events + fan_events) as f64)),
        ("files", record.to_json()),
        ("warnings", Value::Arr(warnings)),
    ]))
}

/// fanotify mode: wait for the command itself; the namespace sweep stops what it left.
fn wait_root(pid: sys::pid_t, root_exited: &Arc<Mutex<Option<Instant>>>, tree: &Arc<Mutex<Tree>>) -> Option<(Option<i32>, Option<i32>)> {
    tree.lock().map(|mut t| t.pids.insert(pid)).ok();
    loop {
        let mut status = 0;
        // SAFETY: waiting for our own child.
        let rc = unsafe { sys::waitpid(pid, &mut status, sys::WALL | 0x2000_0000) };
        if rc < 0 {
            if sys::errno() == 4 {
                continue;
            }
            return None;
        }
        if status & 0x7f == 0 || ((status & 0x7f) + 1) as i8 >> 1 > 0 {
            root_exited.lock().map(|mut t| *t = Some(Instant::now())).ok();
            tree.lock().map(|mut t| t.pids.remove(&pid)).ok();
            return Some(if status & 0x7f == 0 { (Some((status >> 8) & 0xff), None) } else { (None, Some(status & 0x7f)) });
        }
    }
}

fn stop_everything(tree: &Arc<Mutex<Tree>>, ns: Option<&std::path::Path>) {
    if let Ok(mut t) = tree.lock() {
        t.stopping = true;
        for pid in t.pids.iter() {
            // SAFETY: killing processes of the traced tree.
            unsafe { sys::kill(*pid, sys::SIGKILL) };
        }
    }
    if let Some(ns) = ns {
        kill_namespace(ns);
    }
}

/// How many processes live in the command's private mount namespace.
fn namespace_members(ns: &std::path::Path) -> usize {
    let Ok(dir) = std::fs::read_dir("/proc") else { return 0 };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()))
        .filter(|pid| std::fs::read_link(format!("/proc/{}/ns/mnt", pid)).ok().as_deref() == Some(ns))
        .count()
}

/// SIGKILL every process in the command's private mount namespace (fanotify mode runs the
/// command in one; everything it starts inherits it). Never our own process.
fn kill_namespace(ns: &std::path::Path) {
    let ours = std::fs::read_link("/proc/self/ns/mnt").ok();
    if ours.as_deref() == Some(ns) {
        return;
    }
    for _round in 0..3 {
        let mut found = false;
        if let Ok(dir) = std::fs::read_dir("/proc") {
            for entry in dir.flatten() {
                let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else { continue };
                if std::fs::read_link(format!("/proc/{}/ns/mnt", pid)).ok().as_deref() == Some(ns) {
                    // SAFETY: a process of the traced command's namespace.
                    unsafe { sys::kill(pid, sys::SIGKILL) };
                    found = true;
                }
            }
        }
        if !found {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn fanotify_denied(e: &std::io::Error) -> Failure {
    Failure {
        code: "TRACE_FANOTIFY_DENIED",
        message: format!("fanotify is not permitted here ({}): it needs CAP_SYS_ADMIN (to watch mounts and to give the command a mount namespace of its own)", e),
        hint: "run as root or grant CAP_SYS_ADMIN, or use --trace-backend ptrace, which needs no capability to trace its own children".into(),
    }
}

/// What this process may do: capabilities and whether each backend can start.
pub fn probe() -> Value {
    let yama = std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope").ok().and_then(|t| t.trim().parse::<f64>().ok());
    // SAFETY: a fanotify descriptor opened and closed right away.
    let fanotify_ok = unsafe {
        let fd = sys::fanotify_init(sys::FAN_CLASS_NOTIF | sys::FAN_CLOEXEC, sys::O_RDONLY as u32);
        if fd >= 0 {
            sys::close(fd);
        }
        fd >= 0
    };
    json::obj(vec![
        ("capSysPtrace", Value::Bool(sys::has_capability(sys::CAP_SYS_PTRACE))),
        ("capSysAdmin", Value::Bool(sys::has_capability(sys::CAP_SYS_ADMIN))),
        ("yamaPtraceScope", yama.map(Value::Num).unwrap_or(Value::Null)),
        ("fanotify", Value::Bool(fanotify_ok)),
    ])
}

/// Parse a JSON trace request.
pub fn parse_request(value: &Value) -> Result<Request, Failure> {
    let bad = |what: &str| Failure { code: "TRACE_BAD_REQUEST", message: format!("bad trace request: {}", what), hint: "this is a bug in the caller".into() };
    let argv = value.get("command").and_then(Value::str_array).filter(|a| !a.is_empty()).ok_or_else(|| bad("command must be a non-empty array of strings"))?;
    let backend = value.get("backend").and_then(Value::as_str).and_then(Backend::parse).ok_or_else(|| bad("backend must be ptrace, fanotify or combined"))?;
    let env = match value.get("env").and_then(Value::as_object) {
        Some(map) => map.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned()))).collect(),
        None => std::env::vars_os().map(|(k, v)| (k.to_string_lossy().into_owned(), v.to_string_lossy().into_owned())).collect(),
    };
    Ok(Request {
        argv,
        cwd: value.get("cwd").and_then(Value::as_str).map(str::to_owned),
        env,
        backend,
        timeout: Duration::from_millis(value.get("timeoutMs").and_then(Value::as_f64).unwrap_or(60_000.0) as u64),
        linger: Duration::from_millis(value.get("lingerMs").and_then(Value::as_f64).unwrap_or(1_000.0) as u64),
        session: value.get("session").and_then(Value::as_f64).unwrap_or(0.0) as u64,
        stdout: match value.get("stdout").and_then(Value::as_str) {
            Some("inherit") => Stdio::Inherit,
            Some("stderr") => Stdio::Stderr,
            _ => Stdio::Null,
        },
    })
}
