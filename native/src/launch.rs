//! The launcher behind a bundle's entries, in the runner binary (bin/sidebundle-run) and in
//! single-file bundles. `bin/NAME` is a symlink to `runtime/sidebundle-run`; the runner finds
//! which entry it was started as by following argv[0] to `bin/`, reads
//! `runtime/entries/NAME.json` (written by lib/package/launcher.ts) and runs the program in the
//! run mode (the bundle's, or SIDEBUNDLE_RUN_MODE):
//!
//!   host    the bundled loader with --library-path (an argument of that one process: programs
//!           the entry starts never inherit it) and the host-mode environment rules;
//!   ns      an unprivileged user + mount namespace (uid/gid mapped to the caller); the new
//!           root is a tmpfs holding the payload's top-level directories (read-only binds),
//!           /etc merged from the payload and the host's identity and network files, and the
//!           host's own directories for everything the payload does not provide (/proc, /dev,
//!           /sys read-only, /tmp, /home, /root, /run, the cwd ...). Then exec, no fork: the
//!           program keeps the launcher's pid, signals, exit status and terminal;
//!   chroot  the same root, built in a mount namespace without a user namespace and entered
//!           with chroot(2): for root on hosts where user namespaces are disabled;
//!   auto    ns, else host; SIDEBUNDLE_DEBUG=1 says which and why;
//!   bwrap   the same view built by bubblewrap's arguments; the program is exec'd inside by
//!           this binary (`sidebundle-run exec PATH ARGV0 ARGS...`), which sets argv[0], and
//!           signals sent to the launcher are forwarded to it.

use std::ffi::{CString, OsStr, OsString};
use std::os::raw::{c_int, c_void};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::ptr;
use std::sync::atomic::{AtomicI32, Ordering};

use crate::json::{self, Value};
use crate::sys;

/// Host directories that always come from the host, even when the payload has them: kernel
/// interfaces, scratch space and the user's own files (HOST_DIRS in lib/package/pack.ts).
const HOST_ALWAYS: &[&str] = &["proc", "dev", "sys", "tmp", "run", "home", "root", "mnt", "media", "srv"];
/// Host directories never shown inside the root: the system the payload replaces.
const HOST_NEVER: &[&str] = &["bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", "etc", "boot", "lost+found"];
/// Files in /etc that come from the host at run time (who the user is, how names resolve).
const HOST_ETC: &[&str] = &["passwd", "group", "nsswitch.conf", "hosts", "resolv.conf", "localtime", "host.conf"];

/// A runner invoked under its own name: the bwrap helper (`exec PATH ARGV0 ARGS...`).
pub fn subcommand(args: &[OsString]) -> ! {
    if args.len() >= 4 && args[1] == "exec" {
        let error = sys::exec_argv(&args[2], &args[3..]);
        die(format!("cannot run {}: {}", args[2].to_string_lossy(), error), 127);
    }
    die("sidebundle-run starts a bundle's entries: run bin/NAME of the bundle instead".to_owned(), 2)
}

/// The entry `argv[0]` names, in the bundle this runner belongs to.
pub fn run_invoked(args: &[OsString]) -> ! {
    let exe = std::fs::read_link("/proc/self/exe").unwrap_or_else(|e| die(format!("cannot find the launcher: {}", e), 127));
    let bundle = exe.parent().and_then(Path::parent).map(Path::to_path_buf).unwrap_or_default();
    let invoked = args.first().cloned().unwrap_or_default();
    let name = entry_name(&bundle, &invoked).unwrap_or_else(|| {
        die(format!("{} is not an entry of the bundle {} (run bin/NAME, or a link to it)", invoked.to_string_lossy(), bundle.display()), 127)
    });
    run_entry(&bundle, &name, &invoked, &args[1..])
}

/// Follow argv[0] (through PATH and symlinks) to the entry link in the bundle's bin/ it came
/// through.
fn entry_name(bundle: &Path, invoked: &OsStr) -> Option<OsString> {
    let bin = std::fs::canonicalize(bundle.join("bin")).ok()?;
    let mut at = if invoked.as_bytes().contains(&b'/') {
        PathBuf::from(invoked)
    } else {
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path).map(|d| d.join(invoked)).find(|p| p.exists())?
    };
    for _ in 0..40 {
        let dir = at.parent().map(|d| if d.as_os_str().is_empty() { Path::new(".") } else { d });
        // A link in bin/ that is an entry (an alias such as bin/sha256sum -> busybox goes on).
        if dir.and_then(|d| std::fs::canonicalize(d).ok()).as_deref() == Some(bin.as_path()) {
            if let Some(name) = at.file_name() {
                if bundle.join("runtime/entries").join(format!("{}.json", name.to_string_lossy())).is_file() {
                    return Some(name.to_os_string());
                }
            }
        }
        let target = std::fs::read_link(&at).ok()?;
        at = if target.is_absolute() { target } else { at.parent().unwrap_or(Path::new(".")).join(target) };
    }
    None
}

/// What a bundle knows about one entry (runtime/entries/NAME.json).
struct Spec {
    mode: String,
    payload: PathBuf,
    root_cmd: Vec<OsString>,
    host_cmd: Vec<OsString>,
    env: Vec<(String, OsString)>,
    host_env: Vec<(String, OsString)>,
    helpers_on_path: bool,
}

fn read_spec(bundle: &Path, name: &OsStr, argv0: &OsStr) -> Result<Spec, String> {
    let file = bundle.join("runtime/entries").join(format!("{}.json", name.to_string_lossy()));
    let text = std::fs::read_to_string(&file).map_err(|e| format!("cannot read {}: {} (is the bundle complete?)", file.display(), e))?;
    let value = json::parse(&text).map_err(|e| format!("{} is damaged: {}", file.display(), e))?;
    let root = bundle.as_os_str().as_bytes();
    let words = |key: &str| -> Vec<OsString> {
        value.get(key).and_then(Value::as_array).unwrap_or(&[]).iter().map(|w| token(w, root, argv0)).collect()
    };
    let env = |key: &str| -> Vec<(String, OsString)> {
        match value.get(key).and_then(Value::as_object) {
            Some(map) => map.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), expand(v, root)))).collect(),
            None => Vec::new(),
        }
    };
    Ok(Spec {
        mode: value.get("mode").and_then(Value::as_str).unwrap_or("auto").to_owned(),
        payload: bundle.join(value.get("payload").and_then(Value::as_str).unwrap_or("payload")),
        root_cmd: words("root"),
        host_cmd: words("host"),
        env: env("env"),
        host_env: env("hostEnv"),
        helpers_on_path: value.get("helpersOnPath").and_then(Value::as_bool).unwrap_or(false),
    })
}

/// A command word: {"s": literal} | {"b": path in the bundle} | {"paths": [bundle paths]}
/// (joined with ':') | {"argv0": true} (the name the entry was called by: what multi-call
/// programs dispatch on).
fn token(word: &Value, root: &[u8], argv0: &OsStr) -> OsString {
    let in_bundle = |p: &str| {
        let mut bytes = root.to_vec();
        bytes.push(b'/');
        bytes.extend_from_slice(p.as_bytes());
        bytes
    };
    if let Some(s) = word.get("s").and_then(Value::as_str) {
        return s.into();
    }
    if let Some(b) = word.get("b").and_then(Value::as_str) {
        return OsString::from(OsStr::from_bytes(&in_bundle(b)));
    }
    if let Some(list) = word.get("paths").and_then(Value::as_array) {
        let joined: Vec<Vec<u8>> = list.iter().filter_map(Value::as_str).map(in_bundle).collect();
        return OsString::from(OsStr::from_bytes(&joined.join(&b':')));
    }
    Path::new(argv0).file_name().unwrap_or(argv0).to_os_string()
}

/// `${SIDEBUNDLE_ROOT}` in a value is the bundle directory.
fn expand(value: &str, root: &[u8]) -> OsString {
    let mut out = Vec::new();
    for (i, part) in value.split("${SIDEBUNDLE_ROOT}").enumerate() {
        if i > 0 {
            out.extend_from_slice(root);
        }
        out.extend_from_slice(part.as_bytes());
    }
    OsString::from(OsStr::from_bytes(&out))
}

pub fn run_entry(bundle: &Path, name: &OsStr, argv0: &OsStr, user_args: &[OsString]) -> ! {
    let spec = read_spec(bundle, name, argv0).unwrap_or_else(|e| die(e, 127));
    std::env::set_var("SIDEBUNDLE_ROOT", bundle);
    for (key, value) in &spec.env {
        std::env::set_var(key, value);
    }
    let request = Request { bundle: bundle.to_path_buf(), spec, user_args: user_args.to_vec() };
    let mode = std::env::var("SIDEBUNDLE_RUN_MODE").ok().filter(|m| !m.is_empty()).unwrap_or_else(|| request.spec.mode.clone());
    match mode.as_str() {
        "host" => run_on_host(&request),
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
        other => die(format!("SIDEBUNDLE_RUN_MODE={} is not one of auto, host, ns, chroot, bwrap", other), 2),
    }
}

struct Request {
    bundle: PathBuf,
    spec: Spec,
    user_args: Vec<OsString>,
}

pub fn debug(message: &str) {
    if std::env::var_os("SIDEBUNDLE_DEBUG").is_some_and(|v| !v.is_empty() && v != "0") {
        eprintln!("sidebundle: {}", message);
    }
}

pub fn die(message: String, code: i32) -> ! {
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
    exec_command(&request.spec.root_cmd, &request.user_args, " inside the bundle's root")
}

/// PATH ARGV0 ARGS... followed by the user's arguments; returns only to die.
fn exec_command(cmd: &[OsString], user_args: &[OsString], where_: &str) -> ! {
    if cmd.len() < 2 {
        die(format!("the bundle describes no command for this run mode{}", where_), 126);
    }
    let mut argv = cmd[1..].to_vec();
    argv.extend(user_args.iter().cloned());
    let error = sys::exec_argv(&cmd[0], &argv);
    die(format!("cannot run {}{}: {}", cmd[0].to_string_lossy(), where_, error), 127)
}

fn run_on_host(request: &Request) -> ! {
    if request.bundle.as_os_str().as_bytes().contains(&b':') {
        die(format!("the bundle path {} contains a colon, which the dynamic loader cannot take; move the bundle", request.bundle.display()), 127);
    }
    for (key, value) in &request.spec.host_env {
        if !request.spec.env.iter().any(|(k, _)| k == key) {
            std::env::set_var(key, value);
        }
    }
    if request.spec.helpers_on_path {
        let mut path = request.bundle.join("bin").into_os_string();
        if let Some(old) = std::env::var_os("PATH").filter(|p| !p.is_empty()) {
            path.push(":");
            path.push(old);
        }
        std::env::set_var("PATH", path);
    }
    exec_command(&request.spec.host_cmd, &request.user_args, "")
}

#[derive(PartialEq, Clone, Copy)]
enum Isolation {
    UserNamespace,
    Chroot,
}

/// Build the bundle's root and enter it. Until the final pivot nothing is visible to the
/// program: a failure before it leaves the host view intact (auto falls back to host mode).
fn enter(request: &Request, isolation: Isolation) -> Result<(), String> {
    let payload = std::fs::canonicalize(&request.spec.payload).map_err(|e| format!("the payload {} is missing: {}", request.spec.payload.display(), e))?;
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

/// The bundle's runtime/root: an empty directory shipped as the new root's mount point.
fn mount_point(request: &Request) -> Result<PathBuf, String> {
    let at = request.bundle.join("runtime/root");
    if at.is_dir() {
        Ok(at)
    } else {
        Err(format!("the bundle has no {} (is it complete?)", at.display()))
    }
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
    // /etc is the payload's, with the host's identity and network files bound over it (unless
    // the payload's /etc is a link, which is kept as it is).
    let etc_is_link = std::fs::symlink_metadata(payload.join("etc")).is_ok_and(|m| m.file_type().is_symlink());
    let host_etc: Vec<&str> = if etc_is_link { Vec::new() } else { HOST_ETC.iter().copied().filter(|f| Path::new("/etc").join(f).exists()).collect() };
    if !etc_is_link {
        places.push(Place::Dir { at: PathBuf::from("/etc") });
    }
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
        } else {
            places.push(Place::Bind { source, at, readonly: true, device: false });
        }
    }
    for file in host_etc {
        let at = Path::new("/etc").join(file);
        places.push(Place::Bind { source: at.clone(), at, readonly: true, device: false });
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
    let payload = std::fs::canonicalize(&request.spec.payload).unwrap_or_else(|e| die(format!("the payload {} is missing: {}", request.spec.payload.display(), e), 126));
    let cwd = std::env::current_dir().ok();
    // The bundle's own runner (not /proc/self/exe: that may be a single file with a payload).
    let exe = request.bundle.join("runtime/sidebundle-run");
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
    argv.extend(request.spec.root_cmd.iter().cloned());
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
