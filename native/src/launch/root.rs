//! ns and chroot modes: build the root plan.rs describes in a new mount namespace (with a user
//! namespace for ns) and enter it. Until the final pivot nothing is visible to the program: a
//! failure before it leaves the host view intact (auto falls back to host mode).

use std::ffi::{OsStr, OsString};
use std::path::{Component, Path, PathBuf};
use std::ptr;

use super::plan::{self, Inputs, Place};
use super::{debug, timing, Request};
use crate::mount;
use crate::sys;

#[derive(PartialEq, Clone, Copy)]
pub enum Isolation {
    UserNamespace,
    Chroot,
}

const ELOOP: i32 = 40;

/// Build the bundle's root and enter it.
pub fn enter(request: &Request, isolation: Isolation) -> Result<(), String> {
    let payload = std::fs::canonicalize(&request.payload).map_err(|e| format!("the payload {} is missing: {}", request.payload.display(), e))?;
    let cwd = std::env::current_dir().ok();
    timing::mark("payload and working directory");
    new_namespaces(isolation)?;
    // The new root: a tmpfs on the bundle's runtime/root (an empty directory shipped for this),
    // so the host's /tmp and everything else stay reachable while it is filled.
    let base = mount_point(request)?;
    let mounts = mount::mount_points();
    timing::mark_with(|| format!("read /proc/self/mountinfo ({} mounts)", mounts.len()));
    // Overlays unless SIDEBUNDLE_OVERLAY=0; a refused one is planned again with binds: only that
    // directory when its layers overlap (the bundle lies inside it), all of them otherwise.
    let mut refused: Option<Vec<OsString>> = if std::env::var_os("SIDEBUNDLE_OVERLAY").is_some_and(|v| v == "0") { None } else { Some(Vec::new()) };
    loop {
        mount::tmpfs(&base, "0755")?;
        timing::mark("tmpfs on runtime/root");
        let allowed = |name: &OsStr| refused.as_ref().is_some_and(|r| !r.iter().any(|n| n == name));
        let places = plan::plan_root(&Inputs { payload: &payload, target: Path::new("/"), cwd: cwd.as_deref(), mounts: &mounts, overlay: &allowed });
        timing::mark_with(|| format!("plan ({} places)", places.len()));
        match fill_root(&base, &places) {
            Ok(()) => {
                debug(&describe(&places));
                break;
            }
            Err(Fill::Failed(why)) => return Err(why),
            Err(Fill::OverlayRefused { at, why, errno }) => {
                debug(&format!("root: {}; binds instead", why));
                let top = at.components().nth(1).map(|c| c.as_os_str().to_owned()).unwrap_or_default();
                refused = match refused {
                    Some(mut list) if errno == ELOOP => {
                        list.push(top);
                        Some(list)
                    }
                    _ => None,
                };
                // SAFETY: detaching our own tmpfs (and everything mounted in it).
                unsafe { sys::umount2(mount::c(&base).as_ptr(), sys::MNT_DETACH) };
            }
        }
    }
    pivot(&base, isolation)?;
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

fn new_namespaces(isolation: Isolation) -> Result<(), String> {
    // SAFETY: getuid/getgid have no preconditions.
    let (uid, gid) = unsafe { (sys::getuid(), sys::getgid()) };
    // SAFETY: unshare on this single-threaded process.
    unsafe {
        if isolation == Isolation::UserNamespace {
            let unshared = sys::unshare(sys::CLONE_NEWUSER | sys::CLONE_NEWNS);
            timing::mark("unshare(CLONE_NEWUSER|CLONE_NEWNS)");
            if unshared != 0 {
                return Err(format!(
                    "unshare(CLONE_NEWUSER|CLONE_NEWNS): {} (unprivileged user namespaces are disabled here: kernel.unprivileged_userns_clone, user.max_user_namespaces, an AppArmor or seccomp policy, or a chroot); use SIDEBUNDLE_RUN_MODE=host",
                    sys::last_error()
                ));
            }
            std::fs::write("/proc/self/setgroups", "deny").ok();
            timing::mark("write /proc/self/setgroups");
            std::fs::write("/proc/self/uid_map", format!("{} {} 1\n", uid, uid)).map_err(|e| format!("cannot map uid {}: {}", uid, e))?;
            timing::mark("write /proc/self/uid_map");
            std::fs::write("/proc/self/gid_map", format!("{} {} 1\n", gid, gid)).map_err(|e| format!("cannot map gid {}: {}", gid, e))?;
            timing::mark("write /proc/self/gid_map");
        } else {
            if !sys::has_capability(sys::CAP_SYS_CHROOT) {
                return Err("chroot needs CAP_SYS_CHROOT (run as root), or use run mode ns or auto".to_owned());
            }
            if sys::unshare(sys::CLONE_NEWNS) != 0 {
                return Err(format!("unshare(CLONE_NEWNS): {}: a mount namespace needs CAP_SYS_ADMIN (run as root), or use run mode ns or auto", sys::last_error()));
            }
        }
        if sys::mount(ptr::null(), mount::c(Path::new("/")).as_ptr(), ptr::null(), sys::MS_REC | sys::MS_PRIVATE, ptr::null()) != 0 {
            return Err(format!("cannot make the mounts private: {}", sys::last_error()));
        }
    }
    timing::mark("make the mounts private (MS_REC|MS_PRIVATE on /)");
    Ok(())
}

/// Make `base` the root. In a user namespace it is moved over `/` and entered with chroot(2),
/// as switch_root does: the host's mounts stay below it, unreachable and left out of
/// /proc/self/mountinfo, and our root is the topmost mount on the namespace's root, so the
/// kernel does not count the program as chrooted (it may still create user namespaces).
/// pivot_root would need the old root detached, and a lazy unmount waits for an RCU grace
/// period (0.15 ms here, more on a busy machine) that the namespace's teardown pays anyway.
/// Without a user namespace (chroot mode): chroot(2) alone.
fn pivot(base: &Path, isolation: Isolation) -> Result<(), String> {
    let c = |text: &str| mount::c(Path::new(text));
    // SAFETY: chdir/mount/chroot on the mounts prepared by fill_root.
    unsafe {
        if sys::chdir(mount::c(base).as_ptr()) != 0 {
            return Err(format!("cannot enter {}: {}", base.display(), sys::last_error()));
        }
        if isolation == Isolation::UserNamespace && sys::mount(c(".").as_ptr(), c("/").as_ptr(), ptr::null(), sys::MS_MOVE, ptr::null()) != 0 {
            return Err(format!("cannot move the new root over /: {}", sys::last_error()));
        }
        timing::mark("move the root over /");
        if sys::chroot(c(".").as_ptr()) != 0 {
            return Err(format!("chroot: {}", sys::last_error()));
        }
        sys::chdir(c("/").as_ptr());
        timing::mark("chroot");
    }
    // The tmpfs holding the mount points is read-only from here on.
    mount::remount_readonly(Path::new("/"));
    timing::mark("remount / read-only");
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

/// SIDEBUNDLE_DEBUG's line on how the root was merged.
fn describe(places: &[Place]) -> String {
    let overlays: Vec<String> = places.iter().filter_map(|p| match p {
        Place::Overlay { at, .. } if at.components().count() == 2 => Some(at.display().to_string()),
        _ => None,
    }).collect();
    let binds = places.iter().filter(|p| matches!(p, Place::Bind { .. })).count();
    if overlays.is_empty() {
        format!("root: binds only ({} binds)", binds)
    } else {
        format!("root: overlays on {} ({} binds)", overlays.join(" "), binds)
    }
}

enum Fill {
    Failed(String),
    OverlayRefused { at: PathBuf, why: String, errno: i32 },
}

fn fill_root(base: &Path, places: &[Place]) -> Result<(), Fill> {
    let inside = |at: &Path| base.join(at.strip_prefix("/").unwrap_or(at));
    for place in places {
        match place {
            Place::Dir { at } => std::fs::create_dir_all(inside(at)).map_err(|e| Fill::Failed(format!("cannot create {}: {}", at.display(), e)))?,
            Place::Symlink { link, at } => {
                if let Err(e) = std::os::unix::fs::symlink(link, inside(at)) {
                    debug(&format!("cannot create {}: {}", at.display(), e));
                }
            }
            Place::Bind { source, at, readonly, dir, .. } => {
                // A mount point that cannot be made (the cwd under a read-only payload
                // directory, a path behind a link) leaves that path as it is.
                if let Err(e) = mount_point_for(base, at, source, *dir).and_then(|target| mount::bind(source, &target, *readonly)) {
                    debug(&e);
                }
            }
            Place::Overlay { lowers, at } => {
                // The plan overlays directories only (its first layer is one).
                let target = match mount_point_for(base, at, &lowers[0], Some(true)) {
                    Ok(target) => target,
                    Err(e) => {
                        debug(&e);
                        continue;
                    }
                };
                if let Err((why, errno)) = mount::overlay(lowers, &target) {
                    return Err(Fill::OverlayRefused { at: at.clone(), why, errno });
                }
            }
        }
        timing::mark_with(|| match place {
            Place::Dir { at } => format!("dir {}", at.display()),
            Place::Symlink { at, .. } => format!("symlink {}", at.display()),
            Place::Bind { at, .. } => format!("bind {}", at.display()),
            Place::Overlay { at, lowers } => format!("overlay {} ({} layers)", at.display(), lowers.len()),
        });
    }
    Ok(())
}

/// `at` under `base`, created like `source` (directory or file) if missing. Never through a
/// link: the link's target would be resolved outside the new root. `source_is_dir`: what the
/// plan knows of `source` (None: asked here).
fn mount_point_for(base: &Path, at: &Path, source: &Path, source_is_dir: Option<bool>) -> Result<PathBuf, String> {
    // A top-level place is new in the fresh tmpfs but for a name planned twice: made at once
    // (no lstat of it, no stat of the source). Where that fails (it exists), the careful way
    // below decides, as before: a failed mkdir or O_EXCL open changed nothing.
    if let (Some(dir), Some(name)) = (source_is_dir, top_level_name(at)) {
        let target = base.join(name);
        let made = if dir { std::fs::create_dir(&target) } else { std::fs::OpenOptions::new().write(true).create_new(true).open(&target).map(|_| ()) };
        if made.is_ok() {
            return Ok(target);
        }
    }
    let mut target = base.to_path_buf();
    let mut parts = at.components().skip(1);
    // One lstat per component, up to the first missing one (nothing below it exists either).
    let mut exists = true;
    for part in parts.by_ref() {
        target.push(part);
        match std::fs::symlink_metadata(&target) {
            Ok(m) if m.file_type().is_symlink() => return Err(format!("not mounting on {}: it is a link in the new root", at.display())),
            Ok(_) => {}
            Err(_) => {
                exists = false;
                break;
            }
        }
    }
    target.extend(parts);
    if exists {
        return Ok(target);
    }
    let made = if std::fs::metadata(source).is_ok_and(|m| m.is_dir()) { std::fs::create_dir_all(&target) } else { std::fs::File::create(&target).map(|_| ()) };
    made.map(|_| target).map_err(|e| format!("cannot create the mount point {}: {}", at.display(), e))
}

/// `name` for `/name`, None for any other path.
fn top_level_name(at: &Path) -> Option<&std::ffi::OsStr> {
    let mut parts = at.components();
    match (parts.next(), parts.next(), parts.next()) {
        (Some(Component::RootDir), Some(Component::Normal(name)), None) => Some(name),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn a_mount_point_is_made_like_its_source_and_never_through_a_link() {
        let base = std::env::temp_dir().join(format!("sb-root-points-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        fs::create_dir_all(&base).unwrap();
        let missing = Path::new("/nonexistent-source");
        // With what the plan knows of the source (the source itself is not asked).
        assert_eq!(mount_point_for(&base, Path::new("/d"), missing, Some(true)), Ok(base.join("d")));
        assert!(base.join("d").is_dir());
        assert_eq!(mount_point_for(&base, Path::new("/f"), missing, Some(false)), Ok(base.join("f")));
        assert!(fs::symlink_metadata(base.join("f")).unwrap().is_file());
        // Without: the source is asked (a directory here, a file where it is missing).
        assert_eq!(mount_point_for(&base, Path::new("/g"), Path::new("/"), None), Ok(base.join("g")));
        assert!(base.join("g").is_dir());
        assert_eq!(mount_point_for(&base, Path::new("/d/deeper/e"), Path::new("/"), Some(true)), Ok(base.join("d/deeper/e")));
        assert!(base.join("d/deeper/e").is_dir());
        // An existing place is used as it is, whatever the hint says.
        fs::write(base.join("kept"), "x").unwrap();
        assert_eq!(mount_point_for(&base, Path::new("/kept"), Path::new("/"), Some(true)), Ok(base.join("kept")));
        assert_eq!(fs::read_to_string(base.join("kept")).unwrap(), "x");
        // A link is refused, at the top level and on the way.
        std::os::unix::fs::symlink("/", base.join("l")).unwrap();
        for at in ["/l", "/l/x"] {
            let got = mount_point_for(&base, Path::new(at), Path::new("/"), Some(true));
            assert!(got.as_ref().is_err_and(|e| e.contains("is a link")), "{}: {:?}", at, got);
        }
        assert!(!Path::new("/x-made-through-a-link").exists());
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn only_a_path_of_one_name_is_top_level() {
        assert_eq!(top_level_name(Path::new("/usr")), Some(std::ffi::OsStr::new("usr")));
        assert_eq!(top_level_name(Path::new("/usr/lib")), None);
        assert_eq!(top_level_name(Path::new("/")), None);
        assert_eq!(top_level_name(Path::new("usr")), None);
    }
}
