//! ns and chroot modes: build the root plan.rs describes in a new mount namespace (with a user
//! namespace for ns) and enter it. Until the final move nothing is visible to the program: a
//! failure before it leaves the host view intact (auto falls back to host mode).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::launch::Request;
use crate::mount;
use crate::path::{components, join, show, strip_prefix};
use crate::plan::{self, Inputs, Place};
use crate::report::{debug, warn};
use crate::sys;
use crate::timing;

#[derive(PartialEq, Clone, Copy)]
pub enum Isolation {
    UserNamespace,
    Chroot,
}

const CAP_SYS_CHROOT: u32 = 18;

/// Build the bundle's root and enter it.
pub fn enter(request: &Request, isolation: Isolation) -> Result<(), String> {
    let payload = sys::canonicalize(&request.payload).map_err(|e| format!("the payload {} is missing: {}", show(&request.payload), e))?;
    let cwd = sys::getcwd();
    timing::mark("payload and working directory");
    // The new root is made on the bundle's runtime/root (an empty directory shipped for this),
    // so the host's / stays reachable while it is filled. A bundle made for host mode has none.
    let base = mount_point(request)?;
    new_namespaces(isolation)?;
    let mounts = mount::mount_points();
    timing::mark_with(|| format!("read /proc/self/mountinfo ({} mounts)", mounts.len()));
    // Overlays unless SIDEBUNDLE_OVERLAY=0; a refused one is planned again with binds: only that
    // directory when its layers overlap (the bundle lies inside it), all of them otherwise.
    let mut refused: Option<Vec<Vec<u8>>> = if request.overlay { Some(Vec::new()) } else { None };
    let floor = loop {
        let allowed = |name: &[u8]| refused.as_ref().is_some_and(|r| !r.iter().any(|n| n.as_slice() == name));
        let places = plan::plan_root(&Inputs { payload: &payload, target: b"/", cwd: cwd.as_deref(), mounts: &mounts, overlay: &allowed });
        timing::mark_with(|| format!("plan ({} places)", places.len()));
        let floor = lay_floor(&base, &places)?;
        match fill_root(&base, floor, &places) {
            Ok(()) => {
                debug(&describe(&places, floor));
                break floor;
            }
            Err(Fill::Failed(why)) => return Err(why),
            Err(Fill::OverlayRefused { at, why, errno }) => {
                debug(&format!("root: {}; binds instead", why));
                let top = components(&at).get(1).map(|c| c.to_vec()).unwrap_or_default();
                refused = match refused {
                    Some(mut list) if errno == sys::ELOOP => {
                        list.push(top);
                        Some(list)
                    }
                    _ => None,
                };
                // Detaching our own floor (and everything mounted on it).
                let _ = sys::umount2(&base, sys::MNT_DETACH);
            }
        }
    };
    pivot(&base, isolation, floor)?;
    match cwd {
        Some(dir) if sys::chdir(&dir).is_ok() => {}
        Some(dir) => {
            warn(&format!("the working directory {} is not visible inside the bundle's root; running in /", show(&dir)));
            let _ = sys::chdir(b"/");
        }
        None => {
            let _ = sys::chdir(b"/");
        }
    }
    Ok(())
}

fn new_namespaces(isolation: Isolation) -> Result<(), String> {
    let (uid, gid) = (sys::getuid(), sys::getgid());
    if isolation == Isolation::UserNamespace {
        let unshared = sys::unshare(sys::CLONE_NEWUSER | sys::CLONE_NEWNS);
        timing::mark("unshare(CLONE_NEWUSER|CLONE_NEWNS)");
        if let Err(e) = unshared {
            return Err(format!(
                "unshare(CLONE_NEWUSER|CLONE_NEWNS): {} (unprivileged user namespaces are disabled here: kernel.unprivileged_userns_clone, user.max_user_namespaces, an AppArmor or seccomp policy, or a chroot); use SIDEBUNDLE_RUN_MODE=host",
                e
            ));
        }
        let _ = sys::write_file(b"/proc/self/setgroups", b"deny");
        timing::mark("write /proc/self/setgroups");
        sys::write_file(b"/proc/self/uid_map", format!("{} {} 1\n", uid, uid).as_bytes()).map_err(|e| format!("cannot map uid {}: {}", uid, e))?;
        timing::mark("write /proc/self/uid_map");
        sys::write_file(b"/proc/self/gid_map", format!("{} {} 1\n", gid, gid).as_bytes()).map_err(|e| format!("cannot map gid {}: {}", gid, e))?;
        timing::mark("write /proc/self/gid_map");
    } else {
        if !sys::has_capability(CAP_SYS_CHROOT) {
            return Err("chroot needs CAP_SYS_CHROOT (run as root), or use run mode ns or auto".into());
        }
        if let Err(e) = sys::unshare(sys::CLONE_NEWNS) {
            return Err(format!("unshare(CLONE_NEWNS): {}: a mount namespace needs CAP_SYS_ADMIN (run as root), or use run mode ns or auto", e));
        }
    }
    sys::mount(None, b"/", None, sys::MS_REC | sys::MS_PRIVATE, None).map_err(|e| format!("cannot make the mounts private: {}", e))?;
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
fn pivot(base: &[u8], isolation: Isolation, floor: Floor) -> Result<(), String> {
    sys::chdir(base).map_err(|e| format!("cannot enter {}: {}", show(base), e))?;
    if isolation == Isolation::UserNamespace {
        sys::mount(Some(b"."), b"/", None, sys::MS_MOVE, None).map_err(|e| format!("cannot move the new root over /: {}", e))?;
    }
    timing::mark("move the root over /");
    sys::chroot(b".").map_err(|e| format!("chroot: {}", e))?;
    let _ = sys::chdir(b"/");
    timing::mark("chroot");
    if floor == Floor::Tmpfs {
        // The tmpfs holding the mount points is read-only from here on.
        mount::remount_readonly(b"/");
        timing::mark("remount / read-only");
    }
    Ok(())
}

/// The bundle's runtime/root: an empty directory shipped as the new root's mount point.
fn mount_point(request: &Request) -> Result<Vec<u8>, String> {
    let at = join(&request.bundle, b"runtime/root");
    match sys::file_type(&at, true) {
        Ok(sys::S_IFDIR) => Ok(at),
        _ => Err(format!("the bundle has no {} (is it complete?)", show(&at))),
    }
}

/// SIDEBUNDLE_DEBUG's line on how the root was merged.
fn describe(places: &[Place], floor: Floor) -> String {
    let overlays: Vec<String> = places
        .iter()
        .filter_map(|p| match p {
            Place::Overlay { at, .. } if components(at).len() == 2 => Some(show(at).into_owned()),
            _ => None,
        })
        .collect();
    let binds = places.iter().filter(|p| matches!(p, Place::Bind { .. })).count();
    let on = match floor {
        Floor::Host => "on the host's root",
        Floor::Tmpfs => "on a tmpfs",
    };
    if overlays.is_empty() {
        format!("root: binds only ({} binds), {}", binds, on)
    } else {
        format!("root: overlays on {} ({} binds), {}", overlays.join(" "), binds, on)
    }
}

enum Fill {
    Failed(String),
    OverlayRefused { at: Vec<u8>, why: String, errno: i32 },
}

/// What the new root's top level is made on.
#[derive(PartialEq, Clone, Copy)]
enum Floor {
    /// The host's own root, bound with its submounts in one mount(2): the plan's top level is the
    /// host's but for directories it has too (overlaid or bound over) and the same links. Each
    /// mount costs ~13 µs and the namespace's teardown unmounts it again, so this saves the
    /// ~20 binds of the host's top-level entries (docs/run-modes.md, "What a launch costs").
    Host,
    /// A fresh tmpfs holding a mount point or a link for each top-level name: where the bundle
    /// brings a name the host lacks, or a link or directory where the host has something else.
    Tmpfs,
}

/// Mount the floor the plan needs on `base`. The host's root where the plan fits it and binding
/// it works (a mount marked unbindable refuses), a tmpfs otherwise.
fn lay_floor(base: &[u8], places: &[Place]) -> Result<Floor, String> {
    if fits_host_root(places) {
        let bound = sys::mount(Some(b"/"), base, None, sys::MS_BIND | sys::MS_REC, None);
        timing::mark("bind the host's root (MS_REC)");
        match bound {
            Ok(()) => return Ok(Floor::Host),
            Err(e) => debug(&format!("root: cannot bind / on {}: {}; a tmpfs instead", show(base), e)),
        }
    }
    mount::tmpfs(base, "0755")?;
    timing::mark("tmpfs on runtime/root");
    Ok(Floor::Tmpfs)
}

/// Whether every top-level place is already the host's (its own entry, the same link) or lands
/// on a host entry of its kind (a directory for an overlay, a directory or file for a bind).
fn fits_host_root(places: &[Place]) -> bool {
    places.iter().filter(|p| top_level_name(place_at(p)).is_some()).all(|place| match place {
        Place::Bind { source, at, dir, .. } => {
            source == at || matches!((sys::file_type(at, false), dir.unwrap_or_else(|| sys::file_type(source, true) == Ok(sys::S_IFDIR))), (Ok(sys::S_IFDIR), true) | (Ok(sys::S_IFREG), false))
        }
        Place::Symlink { link, at } => sys::readlink(at).is_ok_and(|text| &text == link),
        Place::Overlay { at, .. } => sys::file_type(at, false) == Ok(sys::S_IFDIR),
        Place::Dir { .. } => false,
    })
}

fn place_at(place: &Place) -> &[u8] {
    match place {
        Place::Dir { at } | Place::Symlink { at, .. } | Place::Bind { at, .. } | Place::Overlay { at, .. } => at,
    }
}

fn fill_root(base: &[u8], floor: Floor, places: &[Place]) -> Result<(), Fill> {
    let inside = |at: &[u8]| join(base, &strip_prefix(at, b"/").unwrap_or_else(|| at.to_vec()));
    for place in places {
        let top_level = top_level_name(place_at(place)).is_some();
        if floor == Floor::Host && top_level {
            match place {
                // The host's own entry or the same link: there already. /sys stays read-only.
                Place::Bind { source, at, readonly, .. } if source == at => {
                    if *readonly {
                        mount::remount_readonly(&inside(at));
                        timing::mark_with(|| format!("remount {} read-only", show(at)));
                    }
                    continue;
                }
                Place::Symlink { .. } => continue,
                _ => {}
            }
        }
        match place {
            Place::Dir { at } => sys::create_dir_all(&inside(at)).map_err(|e| Fill::Failed(format!("cannot create {}: {}", show(at), e)))?,
            Place::Symlink { link, at } => {
                if let Err(e) = sys::symlink(link, &inside(at)) {
                    debug(&format!("cannot create {}: {}", show(at), e));
                }
            }
            Place::Bind { source, at, readonly, dir, .. } => {
                // A mount point that cannot be made (the cwd under a read-only payload
                // directory, a path behind a link) leaves that path as it is.
                let target = if floor == Floor::Host && top_level { Ok(inside(at)) } else { mount_point_for(base, at, source, *dir) };
                if let Err(e) = target.and_then(|target| mount::bind(source, &target, *readonly)) {
                    debug(&e);
                }
            }
            Place::Overlay { lowers, at } => {
                // The plan overlays directories only (its first layer is one).
                let target = if floor == Floor::Host && top_level { Ok(inside(at)) } else { mount_point_for(base, at, &lowers[0], Some(true)) };
                let target = match target {
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
            Place::Dir { at } => format!("dir {}", show(at)),
            Place::Symlink { at, .. } => format!("symlink {}", show(at)),
            Place::Bind { at, .. } => format!("bind {}", show(at)),
            Place::Overlay { at, lowers } => format!("overlay {} ({} layers)", show(at), lowers.len()),
        });
    }
    Ok(())
}

/// `at` under `base`, created like `source` (directory or file) if missing. Never through a
/// link: the link's target would be resolved outside the new root. `source_is_dir`: what the
/// plan knows of `source` (None: asked here).
fn mount_point_for(base: &[u8], at: &[u8], source: &[u8], source_is_dir: Option<bool>) -> Result<Vec<u8>, String> {
    // A top-level place is new in the fresh tmpfs but for a name planned twice: made at once
    // (no lstat of it, no stat of the source). Where that fails (it exists), the careful way
    // below decides, as before: a failed mkdir or O_EXCL open changed nothing.
    if let (Some(dir), Some(name)) = (source_is_dir, top_level_name(at)) {
        let target = join(base, name);
        let made = if dir { sys::mkdir(&target, 0o777) } else { sys::create_new(&target) };
        if made.is_ok() {
            return Ok(target);
        }
    }
    let parts = components(at);
    let mut target = base.to_vec();
    let mut rest = parts.iter().skip(1);
    // One lstat per component, up to the first missing one (nothing below it exists either).
    let mut exists = true;
    for part in rest.by_ref() {
        target = join(&target, part);
        match sys::file_type(&target, false) {
            Ok(sys::S_IFLNK) => return Err(format!("not mounting on {}: it is a link in the new root", show(at))),
            Ok(_) => {}
            Err(_) => {
                exists = false;
                break;
            }
        }
    }
    for part in rest {
        target = join(&target, part);
    }
    if exists {
        return Ok(target);
    }
    let made = if sys::file_type(source, true) == Ok(sys::S_IFDIR) { sys::create_dir_all(&target) } else { sys::create(&target) };
    made.map(|_| target).map_err(|e| format!("cannot create the mount point {}: {}", show(at), e))
}

/// `name` for `/name`, None for any other path.
fn top_level_name(at: &[u8]) -> Option<&[u8]> {
    match components(at).as_slice() {
        [root, name] if *root == b"/" && *name != b"." && *name != b".." => Some(name),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::path::Path;

    #[test]
    fn a_mount_point_is_made_like_its_source_and_never_through_a_link() {
        let base_path = std::env::temp_dir().join(format!("sb-root-points-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base_path);
        fs::create_dir_all(&base_path).unwrap();
        let base = base_path.clone().into_os_string().into_encoded_bytes();
        let under = |rel: &str| join(&base, rel.as_bytes());
        let missing: &[u8] = b"/nonexistent-source";
        // With what the plan knows of the source (the source itself is not asked).
        assert_eq!(mount_point_for(&base, b"/d", missing, Some(true)), Ok(under("d")));
        assert!(base_path.join("d").is_dir());
        assert_eq!(mount_point_for(&base, b"/f", missing, Some(false)), Ok(under("f")));
        assert!(fs::symlink_metadata(base_path.join("f")).unwrap().is_file());
        // Without: the source is asked (a directory here, a file where it is missing).
        assert_eq!(mount_point_for(&base, b"/g", b"/", None), Ok(under("g")));
        assert!(base_path.join("g").is_dir());
        assert_eq!(mount_point_for(&base, b"/d/deeper/e", b"/", Some(true)), Ok(under("d/deeper/e")));
        assert!(base_path.join("d/deeper/e").is_dir());
        // An existing place is used as it is, whatever the hint says.
        fs::write(base_path.join("kept"), "x").unwrap();
        assert_eq!(mount_point_for(&base, b"/kept", b"/", Some(true)), Ok(under("kept")));
        assert_eq!(fs::read_to_string(base_path.join("kept")).unwrap(), "x");
        // A link is refused, at the top level and on the way.
        std::os::unix::fs::symlink("/", base_path.join("l")).unwrap();
        for at in ["/l", "/l/x"] {
            let got = mount_point_for(&base, at.as_bytes(), b"/", Some(true));
            assert!(got.as_ref().is_err_and(|e| e.contains("is a link")), "{}: {:?}", at, got);
        }
        assert!(!Path::new("/x-made-through-a-link").exists());
        fs::remove_dir_all(&base_path).unwrap();
    }

    #[test]
    fn only_a_path_of_one_name_is_top_level() {
        assert_eq!(top_level_name(b"/usr"), Some(&b"usr"[..]));
        assert_eq!(top_level_name(b"/usr/lib"), None);
        assert_eq!(top_level_name(b"/"), None);
        assert_eq!(top_level_name(b"usr"), None);
    }
}
