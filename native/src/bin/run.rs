//! sidebundle-run: the static launcher behind a bundle's run modes, and the single-file stub.
//!
//! A bundle's sh launchers (bin/NAME) run it for the modes that make the payload the root
//! filesystem:
//!
//!   sidebundle-run MODE PAYLOAD N ROOT-CMD... M HOST-ENV... K HOST-CMD... -- ARGS...
//!
//! MODE is `ns`, `auto`, `chroot` or `bwrap`. ROOT-CMD is `PATH ARGV0 FIXED-ARGS...` with PATH
//! inside the payload; HOST-CMD (same shape, host paths) and HOST-ENV (`KEY=VALUE`) are what
//! `auto` runs when the machine cannot give it a namespace. ARGS are the user's.
//!
//!   ns      an unprivileged user + mount namespace (uid/gid mapped to the caller); the new
//!           root is a tmpfs holding the payload's top-level directories (read-only binds),
//!           /etc merged from the payload and the host's identity and network files, and the
//!           host's own directories for everything the payload does not provide (/proc, /dev,
//!           /sys read-only, /tmp, /home, /root, /run, the cwd ...). Then exec, no fork: the
//!           program keeps the launcher's pid, signals, exit status and terminal.
//!   chroot  the same root, built in a mount namespace without a user namespace and entered
//!           with chroot(2): for root on hosts where user namespaces are disabled.
//!   auto    ns, else the host-mode command; SIDEBUNDLE_DEBUG=1 says which and why.
//!   bwrap   the same view built by bubblewrap's arguments; the program is exec'd inside by
//!           this binary (`sidebundle-run exec PATH ARGV0 ARGS...`), which sets argv[0].
//!
//! A copy of this binary with a bundle appended (see single.rs) is a single-file bundle: it
//! extracts itself once into a cache and runs the entry there.

use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::os::raw::{c_int, c_void};
use std::ptr;
use std::sync::atomic::{AtomicI32, Ordering};

use sidebundle_native::single;
use sidebundle_native::sys;

const USAGE: &str = "sidebundle-run is started by a bundle's launchers (bin/NAME); run those instead";

/// Host directories that always come from the host, even when the payload has them: kernel
/// interfaces, scratch space and the user's own files.
const HOST_ALWAYS: &[&str] = &["proc", "dev", "sys", "tmp", "run", "home", "root", "mnt", "media", "srv"];
/// Host directories never shown inside the root: the system the payload replaces.
const HOST_NEVER: &[&str] = &["bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", "etc", "boot", "lost+found"];
/// Files in /etc that come from the host at run time (who the user is, how names resolve).
const HOST_ETC: &[&str] = &["passwd", "group", "nsswitch.conf", "hosts", "resolv.conf", "localtime", "host.conf"];

fn main() {
    let args: Vec<OsString> = std::env::args_os().collect();
    // A single-file bundle carries its payload after the ELF image.
    match single::embedded() {
        Ok(Some(embedded)) => die(single::run(embedded, &args), 126),
        Ok(None) => {}
        Err(message) => die(message, 126),
    }
    if args.len() < 2 {
        die(USAGE.to_owned(), 2);
    }
    let mode = args[1].to_string_lossy().into_owned();
    if mode == "exec" {
        // Inside bwrap: exec PATH with argv[0] ARGV0.
        if args.len() < 4 {
            die(USAGE.to_owned(), 2);
        }
        let error = sys::exec_argv(&args[2], &args[3..]);
        die(format!("cannot run {}: {}", args[2].to_string_lossy(), error), 127);
    }
    let request = match parse(&args[2..]) {
        Some(r) => r,
        None => die(USAGE.to_owned(), 2),
    };
    match mode.as_str() {
        "ns" => match enter(&request, Isolation::UserNamespace) {
            Ok(()) => run_in_root(&request),
            Err(why) => die(format!("run mode ns cannot start: {}", why), 126),
        },
        "chroot" => match enter(&request, Isolation::Chroot) {
            Ok(()) => run_in_root(&request),
            Err(why) => die(format!("run mode chroot cannot start: {}", why), 126),
        },
        "auto" => match enter(&request, Isolation::UserNamespace) {
            Ok(()) => {
                debug("run mode auto: ns");
                run_in_root(&request)
            }
            Err(why) => {
                debug(&format!("run mode auto: host ({})", why));
                run_on_host(&request)
            }
        },
        "bwrap" => run_bwrap(&request),
        other => die(format!("unknown run mode {} (host, auto, ns, chroot or bwrap)", other), 2),
    }
}

struct Request {
    payload: PathBuf,
    root_cmd: Vec<OsString>,
    host_env: Vec<OsString>,
    host_cmd: Vec<OsString>,
    user_args: Vec<OsString>,
}

fn parse(args: &[OsString]) -> Option<Request> {
    let payload = PathBuf::from(args.first()?);
    let mut i = 1;
    let mut counted = || -> Option<Vec<OsString>> {
        let n: usize = args.get(i)?.to_str()?.parse().ok()?;
        let list = args.get(i + 1..i + 1 + n)?.to_vec();
        i += 1 + n;
        Some(list)
    };
    let root_cmd = counted()?;
    let host_env = counted()?;
    let host_cmd = counted()?;
    if root_cmd.len() < 2 || args.get(i)?.as_bytes() != b"--" {
        return None;
    }
    Some(Request { payload, root_cmd, host_env, host_cmd, user_args: args[i + 1..].to_vec() })
}

fn debug(message: &str) {
    if std::env::var_os("SIDEBUNDLE_DEBUG").is_some_and(|v| !v.is_empty() && v != "0") {
        eprintln!("sidebundle: {}", message);
    }
}

fn die(message: String, code: i32) -> ! {
    eprintln!("sidebundle: {}", message);
    std::process::exit(code)
}

fn c(path: &Path) -> CString {
    CString::new(path.as_os_str().as_bytes()).unwrap_or_default()
}

fn cs(text: &str) -> CString {
    CString::new(text).unwrap_or_default()
}

fn run_in_root(request: &Request) -> ! {
    let mut argv = request.root_cmd[1..].to_vec();
    argv.extend(request.user_args.iter().cloned());
    let error = sys::exec_argv(&request.root_cmd[0], &argv);
    die(format!("cannot run {} inside the bundle's root: {}", request.root_cmd[0].to_string_lossy(), error), 127)
}

fn run_on_host(request: &Request) -> ! {
    for pair in &request.host_env {
        let bytes = pair.as_bytes();
        if let Some(eq) = bytes.iter().position(|&b| b == b'=') {
            std::env::set_var(OsStr::from_bytes(&bytes[..eq]), OsStr::from_bytes(&bytes[eq + 1..]));
        }
    }
    if request.host_cmd.len() < 2 {
        die("this bundle has no host-mode command".to_owned(), 126);
    }
    let mut argv = request.host_cmd[1..].to_vec();
    argv.extend(request.user_args.iter().cloned());
    let error = sys::exec_argv(&request.host_cmd[0], &argv);
    die(format!("cannot run {}: {}", request.host_cmd[0].to_string_lossy(), error), 127)
}

#[derive(PartialEq, Clone, Copy)]
enum Isolation {
    UserNamespace,
    Chroot,
}

/// Build the bundle's root and enter it. Until the final pivot nothing is visible to the
/// program: a failure before it leaves the host view intact (auto falls back to host mode).
fn enter(request: &Request, isolation: Isolation) -> Result<(), String> {
    let payload = std::fs::canonicalize(&request.payload).map_err(|e| format!("the payload {} is missing: {}", request.payload.display(), e))?;
    let cwd = std::env::current_dir().ok();
    // SAFETY: getuid/getgid have no preconditions.
    let (uid, gid) = unsafe { (sys::getuid(), sys::getgid()) };
    // SAFETY: unshare on this single-threaded process.
    unsafe {
        if isolation == Isolation::UserNamespace {
            if sys::unshare(sys::CLONE_NEWUSER | sys::CLONE_NEWNS) != 0 {
                return Err(format!(
                    "unshare(CLONE_NEWUSER|CLONE_NEWNS): {} (unprivileged user namespaces are disabled here: kernel.unprivileged_userns_clone, user.max_user_namespaces, an AppArmor or seccomp policy, or a chroot); use SIDEBUNDLE_RUN_MODE=host",
                    sys::last_error()
                ));
            }
            std::fs::write("/proc/self/setgroups", "deny").ok();
            std::fs::write("/proc/self/uid_map", format!("{} {} 1\n", uid, uid)).map_err(|e| format!("cannot map uid {}: {}", uid, e))?;
            std::fs::write("/proc/self/gid_map", format!("{} {} 1\n", gid, gid)).map_err(|e| format!("cannot map gid {}: {}", gid, e))?;
        } else {
            if !sys::has_capability(sys::CAP_SYS_CHROOT) {
                return Err("chroot needs CAP_SYS_CHROOT (run as root), or use run mode ns or auto".to_owned());
            }
            if sys::unshare(sys::CLONE_NEWNS) != 0 {
                return Err(format!("unshare(CLONE_NEWNS): {}: a mount namespace needs CAP_SYS_ADMIN (run as root), or use run mode ns or auto", sys::last_error()));
            }
        }
        if sys::mount(ptr::null(), cs("/").as_ptr(), ptr::null(), sys::MS_REC | sys::MS_PRIVATE, ptr::null()) != 0 {
            return Err(format!("cannot make the mounts private: {}", sys::last_error()));
        }
    }
    // The new root: a tmpfs on the bundle's runtime/root (an empty directory shipped for this),
    // so the host's /tmp and everything else stay reachable while it is filled.
    let base = mount_point(request)?;
    mount_tmpfs(&base)?;
    let result = fill_root(&base, &payload, cwd.as_deref());
    if let Err(e) = result {
        return Err(e);
    }
    // SAFETY: chdir/pivot_root/umount2/chroot on the mounts prepared above.
    unsafe {
        if sys::chdir(c(&base).as_ptr()) != 0 {
            return Err(format!("cannot enter {}: {}", base.display(), sys::last_error()));
        }
        if isolation == Isolation::UserNamespace {
            std::fs::create_dir(base.join(".oldroot")).map_err(|e| format!("cannot prepare the root: {}", e))?;
            if sys::syscall(sys::SYS_PIVOT_ROOT, cs(".").as_ptr(), cs(".oldroot").as_ptr()) != 0 {
                return Err(format!("pivot_root: {}", sys::last_error()));
            }
            sys::chdir(cs("/").as_ptr());
            if sys::umount2(cs("/.oldroot").as_ptr(), sys::MNT_DETACH) != 0 {
                return Err(format!("cannot detach the host root: {}", sys::last_error()));
            }
            let _ = std::fs::remove_dir("/.oldroot");
        } else if sys::chroot(cs(".").as_ptr()) != 0 {
            return Err(format!("chroot: {}", sys::last_error()));
        }
        // The tmpfs holding the mount points is read-only from here on.
        remount_readonly(Path::new("/"));
    }
    match cwd {
        Some(dir) if std::env::set_current_dir(&dir).is_ok() => {}
        Some(dir) => {
            eprintln!("sidebundle: the working directory {} is not visible inside the bundle's root; running in /", dir.display());
            let _ = std::env::set_current_dir("/");
        }
        None => {
            let _ = std::env::set_current_dir("/");
        }
    }
    Ok(())
}

/// runtime/root next to this binary (bundle/runtime/sidebundle-run).
fn mount_point(request: &Request) -> Result<PathBuf, String> {
    let exe = std::fs::read_link("/proc/self/exe").map_err(|e| format!("cannot find the launcher: {}", e))?;
    let at = exe.parent().map(|d| d.join("root")).unwrap_or_default();
    if at.is_dir() {
        return Ok(at);
    }
    // A launcher outside a bundle (single-file extraction puts it in place): next to the payload.
    let beside = request.payload.parent().map(|d| d.join("runtime/root")).unwrap_or_default();
    if beside.is_dir() {
        return Ok(beside);
    }
    Err(format!("the bundle has no runtime/root directory next to {}", exe.display()))
}

fn mount_tmpfs(at: &Path) -> Result<(), String> {
    // SAFETY: mount on a directory we checked.
    let ok = unsafe { sys::mount(cs("tmpfs").as_ptr(), c(at).as_ptr(), cs("tmpfs").as_ptr(), sys::MS_NOSUID | sys::MS_NODEV, cs("mode=0755").as_ptr() as *const _) == 0 };
    if ok {
        Ok(())
    } else {
        Err(format!("cannot mount a tmpfs on {}: {}", at.display(), sys::last_error()))
    }
}

fn bind(source: &Path, target: &Path, readonly: bool) -> Result<(), String> {
    // SAFETY: bind mount between paths that exist.
    unsafe {
        if sys::mount(c(source).as_ptr(), c(target).as_ptr(), ptr::null(), sys::MS_BIND | sys::MS_REC, ptr::null()) != 0 {
            return Err(format!("cannot bind {} on {}: {}", source.display(), target.display(), sys::last_error()));
        }
        if readonly {
            remount_readonly(target);
        }
    }
    Ok(())
}

/// Make a mount read-only, keeping the flags the kernel locks (nosuid, nodev, noexec, atime).
/// Best effort: a mount that refuses stays writable.
unsafe fn remount_readonly(target: &Path) {
    let mut st: sys::StatVfs = std::mem::zeroed();
    if sys::statvfs(c(target).as_ptr(), &mut st) != 0 {
        return;
    }
    let mut flags = sys::MS_BIND | sys::MS_REMOUNT | sys::MS_RDONLY;
    const ST_NOSUID: u64 = 2;
    const ST_NODEV: u64 = 4;
    const ST_NOEXEC: u64 = 8;
    const ST_NOATIME: u64 = 1024;
    const ST_NODIRATIME: u64 = 2048;
    const ST_RELATIME: u64 = 4096;
    if st.f_flag & ST_NOSUID != 0 {
        flags |= sys::MS_NOSUID;
    }
    if st.f_flag & ST_NODEV != 0 {
        flags |= sys::MS_NODEV;
    }
    if st.f_flag & ST_NOEXEC != 0 {
        flags |= 8;
    }
    if st.f_flag & ST_NOATIME != 0 {
        flags |= 1024;
    }
    if st.f_flag & ST_NODIRATIME != 0 {
        flags |= 2048;
    }
    if st.f_flag & ST_RELATIME != 0 {
        flags |= 1 << 21;
    }
    sys::mount(ptr::null(), c(target).as_ptr(), ptr::null(), flags, ptr::null());
}

fn copy_symlink(link: &Path, at: &Path) -> Result<(), String> {
    let target = std::fs::read_link(link).map_err(|e| format!("cannot read {}: {}", link.display(), e))?;
    std::os::unix::fs::symlink(&target, at).map_err(|e| format!("cannot create {}: {}", at.display(), e))
}

/// Bind `source` (file or directory) at `at`, creating the mount point.
fn bind_entry(source: &Path, at: &Path, readonly: bool) -> Result<(), String> {
    let meta = std::fs::symlink_metadata(source).map_err(|e| format!("{}: {}", source.display(), e))?;
    if meta.file_type().is_symlink() {
        return copy_symlink(source, at);
    }
    if meta.is_dir() {
        std::fs::create_dir_all(at).map_err(|e| format!("cannot create {}: {}", at.display(), e))?;
    } else {
        std::fs::File::create(at).map_err(|e| format!("cannot create {}: {}", at.display(), e))?;
    }
    bind(source, at, readonly)
}

fn names(dir: &Path) -> Vec<OsString> {
    let mut list: Vec<OsString> = std::fs::read_dir(dir).map(|it| it.filter_map(|e| e.ok().map(|e| e.file_name())).collect()).unwrap_or_default();
    list.sort();
    list
}

/// The plan both ns/chroot and bwrap follow: what goes where in the new root.
enum Place {
    /// Bind a payload or host path (read-only or not).
    Bind { source: PathBuf, at: PathBuf, readonly: bool, device: bool },
    Symlink { source: PathBuf, at: PathBuf },
    Dir { at: PathBuf },
}

fn plan_root(payload: &Path, cwd: Option<&Path>) -> Vec<Place> {
    let mut places = Vec::new();
    let payload_top = names(payload);
    let in_payload = |name: &OsStr| payload_top.iter().any(|n| n == name) && !HOST_ALWAYS.iter().any(|h| OsStr::new(h) == name);
    for name in &payload_top {
        if !in_payload(name) {
            continue;
        }
        let source = payload.join(name);
        let at = PathBuf::from("/").join(name);
        let meta = match std::fs::symlink_metadata(&source) {
            Ok(m) => m,
            Err(_) => continue,
        };
        if meta.file_type().is_symlink() {
            places.push(Place::Symlink { source, at });
        } else if name == "etc" && meta.is_dir() {
            places.push(Place::Dir { at: at.clone() });
            let host_etc: Vec<&str> = HOST_ETC.iter().copied().filter(|f| Path::new("/etc").join(f).exists()).collect();
            for child in names(&source) {
                if host_etc.iter().any(|h| OsStr::new(h) == child) {
                    continue;
                }
                let from = source.join(&child);
                let to = at.join(&child);
                match std::fs::symlink_metadata(&from) {
                    Ok(m) if m.file_type().is_symlink() => places.push(Place::Symlink { source: from, at: to }),
                    Ok(_) => places.push(Place::Bind { source: from, at: to, readonly: true, device: false }),
                    Err(_) => {}
                }
            }
            for file in host_etc {
                places.push(Place::Bind { source: Path::new("/etc").join(file), at: at.join(file), readonly: true, device: false });
            }
        } else {
            places.push(Place::Bind { source, at, readonly: true, device: false });
        }
    }
    if !payload_top.iter().any(|n| n == "etc") {
        places.push(Place::Dir { at: PathBuf::from("/etc") });
        for file in HOST_ETC.iter().filter(|f| Path::new("/etc").join(f).exists()) {
            places.push(Place::Bind { source: Path::new("/etc").join(file), at: Path::new("/etc").join(file), readonly: true, device: false });
        }
    }
    // The host's own directories where the payload has nothing of its own.
    for name in names(Path::new("/")) {
        let text = name.to_string_lossy();
        if in_payload(&name) || HOST_NEVER.contains(&text.as_ref()) {
            continue;
        }
        let source = Path::new("/").join(&name);
        let meta = match std::fs::symlink_metadata(&source) {
            Ok(m) => m,
            Err(_) => continue,
        };
        if meta.file_type().is_symlink() {
            places.push(Place::Symlink { source: source.clone(), at: source });
        } else if meta.is_dir() {
            places.push(Place::Bind { source: source.clone(), at: source, readonly: text == "sys", device: text == "dev" });
        }
    }
    // The working directory where it lives under a payload directory (/usr/src/project).
    if let Some(dir) = cwd {
        let top = dir.components().nth(1).map(|c| c.as_os_str().to_owned());
        if let Some(top) = top {
            if in_payload(&top) && !payload.join(dir.strip_prefix("/").unwrap_or(dir)).is_dir() {
                places.push(Place::Bind { source: dir.to_owned(), at: dir.to_owned(), readonly: false, device: false });
            }
        }
    }
    places
}

fn fill_root(base: &Path, payload: &Path, cwd: Option<&Path>) -> Result<(), String> {
    let inside = |at: &Path| base.join(at.strip_prefix("/").unwrap_or(at));
    for place in plan_root(payload, cwd) {
        match place {
            Place::Dir { at } => std::fs::create_dir_all(inside(&at)).map_err(|e| format!("cannot create {}: {}", at.display(), e))?,
            Place::Symlink { source, at } => copy_symlink(&source, &inside(&at))?,
            Place::Bind { source, at, readonly, .. } => {
                let target = inside(&at);
                if let Err(e) = bind_entry(&source, &target, readonly) {
                    // The cwd under a read-only payload directory cannot get a mount point.
                    debug(&format!("{}", e));
                }
            }
        }
    }
    Ok(())
}

fn run_bwrap(request: &Request) -> ! {
    let payload = std::fs::canonicalize(&request.payload).unwrap_or_else(|e| die(format!("the payload {} is missing: {}", request.payload.display(), e), 126));
    let cwd = std::env::current_dir().ok();
    let exe = std::fs::read_link("/proc/self/exe").unwrap_or_else(|e| die(format!("cannot find the launcher: {}", e), 126));
    let bwrap = find_on_path("bwrap").unwrap_or_else(|| die("run mode bwrap needs bubblewrap (`bwrap` on PATH); install it, or use SIDEBUNDLE_RUN_MODE=ns or auto".to_owned(), 127));
    let mut argv: Vec<OsString> = vec!["bwrap".into()];
    let mut push = |items: &[&OsStr]| argv.extend(items.iter().map(|s| s.to_os_string()));
    for place in plan_root(&payload, cwd.as_deref()) {
        match place {
            Place::Dir { at } => push(&["--dir".as_ref(), at.as_os_str()]),
            Place::Symlink { source, at } => {
                if let Ok(target) = std::fs::read_link(&source) {
                    push(&["--symlink".as_ref(), target.as_os_str(), at.as_os_str()]);
                }
            }
            Place::Bind { source, at, readonly, device } => {
                let flag = if device { "--dev-bind-try" } else if readonly { "--ro-bind-try" } else { "--bind-try" };
                push(&[flag.as_ref(), source.as_os_str(), at.as_os_str()]);
            }
        }
    }
    let runner = OsStr::new("/.sidebundle-run");
    push(&["--ro-bind".as_ref(), exe.as_os_str(), runner]);
    if let Some(dir) = &cwd {
        push(&["--chdir".as_ref(), dir.as_os_str()]);
    }
    push(&["--".as_ref(), runner, "exec".as_ref()]);
    argv.extend(request.root_cmd.iter().cloned());
    argv.extend(request.user_args.iter().cloned());
    supervise_bwrap(&bwrap, argv)
}

/// The sandboxed program's pid (bwrap reports it on --info-fd), for forwarding signals.
static TARGET: AtomicI32 = AtomicI32::new(0);

extern "C" fn forward(sig: c_int, info: *mut SigInfo, _context: *mut c_void) {
    // Terminal signals (Ctrl+C, Ctrl+\) reach the whole foreground group, the program too:
    // forward only what a process sent to us (kill, a supervisor's SIGTERM).
    // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
    let code = if info.is_null() { 0 } else { unsafe { (*info).si_code } };
    let pid = TARGET.load(Ordering::SeqCst);
    if code <= 0 && pid > 0 {
        // SAFETY: kill is async-signal-safe.
        unsafe { sys::kill(pid, sig) };
    }
}

/// bwrap does not pass signals on to the program it runs: run it as our child, learn the
/// program's pid from --info-fd, forward signals to it, and leave with its exit status.
fn supervise_bwrap(bwrap: &Path, mut argv: Vec<OsString>) -> ! {
    let mut fds = [0 as c_int; 2];
    // SAFETY: pipe2 into a two-element array.
    if unsafe { sys::pipe2(fds.as_mut_ptr(), 0) } != 0 {
        die(format!("cannot start bwrap: {}", sys::last_error()), 126);
    }
    argv.splice(1..1, ["--info-fd".into(), OsString::from(fds[1].to_string())]);
    // SAFETY: fork in a single-threaded process; the child only execs or exits.
    let pid = unsafe { sys::fork() };
    if pid < 0 {
        die(format!("cannot start bwrap: {}", sys::last_error()), 126);
    }
    if pid == 0 {
        // SAFETY: the child closes the read end and execs.
        unsafe { sys::close(fds[0]) };
        let error = sys::exec_argv(bwrap.as_os_str(), &argv);
        eprintln!("sidebundle: cannot run {}: {}", bwrap.display(), error);
        // SAFETY: leave the forked child without running the parent's destructors.
        unsafe { sys::_exit(127) };
    }
    // SAFETY: closing our copy of the write end.
    unsafe { sys::close(fds[1]) };
    TARGET.store(pid, Ordering::SeqCst);
    for sig in [sys::SIGHUP, sys::SIGINT, 3 /* SIGQUIT */, 10 /* SIGUSR1 */, sys::SIGUSR2, sys::SIGTERM] {
        // SAFETY: a zeroed sigaction with our SA_SIGINFO handler.
        unsafe {
            let mut action: SigAction = std::mem::zeroed();
            action.handler = forward as *const () as usize;
            action.flags = SA_SIGINFO | SA_RESTART;
            sigaction(sig, &action, ptr::null_mut());
        }
    }
    // {"child-pid": N} on the info fd, then EOF when bwrap execs the program.
    let mut info = Vec::new();
    let mut buf = [0u8; 256];
    loop {
        // SAFETY: reading into a local buffer.
        let n = unsafe { sys::read(fds[0], buf.as_mut_ptr() as *mut c_void, buf.len()) };
        if n > 0 {
            info.extend_from_slice(&buf[..n as usize]);
        } else if n == 0 || sys::errno() != 4 {
            break;
        }
    }
    // SAFETY: our read end.
    unsafe { sys::close(fds[0]) };
    let text = String::from_utf8_lossy(&info);
    if let Some(child) = text.split("\"child-pid\":").nth(1).and_then(|rest| rest.trim_start().split(|c: char| !c.is_ascii_digit()).next()).and_then(|n| n.parse::<i32>().ok()) {
        TARGET.store(child, Ordering::SeqCst);
    }
    let mut status: c_int = 0;
    loop {
        // SAFETY: waiting for our own child.
        let r = unsafe { sys::waitpid(pid, &mut status, 0) };
        if r == pid {
            break;
        }
        if r < 0 && sys::errno() != 4 {
            die(format!("lost bwrap: {}", sys::last_error()), 126);
        }
    }
    if status & 0x7f == 0 {
        std::process::exit((status >> 8) & 0xff);
    }
    // Killed by a signal: die of the same signal, so our caller sees what the program saw.
    let sig = status & 0x7f;
    // SAFETY: default disposition, then the signal to ourselves.
    unsafe {
        sys::signal(sig, 0);
        sys::kill(sys::getpid(), sig);
    }
    std::process::exit(128 + sig)
}

#[repr(C)]
struct SigInfo {
    si_signo: c_int,
    si_errno: c_int,
    si_code: c_int,
}

/// x86-64 glibc `struct sigaction`.
#[repr(C)]
struct SigAction {
    handler: usize,
    mask: [u64; 16],
    flags: c_int,
    restorer: usize,
}

const SA_SIGINFO: c_int = 4;
const SA_RESTART: c_int = 0x1000_0000;

extern "C" {
    fn sigaction(sig: c_int, action: *const SigAction, old: *mut SigAction) -> c_int;
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| {
        std::fs::metadata(p).map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
    })
}
