//! What goes where in the root of the root run modes (ns, chroot, bwrap): the payload laid over
//! the target's file system. Planned from directory listings only, so a test can plan against
//! two temporary trees; root.rs mounts the plan and bwrap.rs turns it into bwrap's arguments.
//!
//! Rules, in order (docs/run-modes.md, "What the program sees"):
//! - a top-level name the payload lacks, or one of HOST_ALWAYS, is the target's;
//! - a directory both have is merged, the payload's entries first: one read-only overlay
//!   (`lowerdir=PAYLOAD/dir:/dir`) where overlayfs is allowed, else a directory of binds one
//!   level deep (each entry of either side; deeper, the payload's directory hides the target's);
//! - the loader's directories (LIB_DIRS) are the payload's alone, the target's CA store
//!   (TARGET_CA) replaces the payload's, the target's data directories (TARGET_DATA: time
//!   zones, terminfo, compiled locales) come first with the payload's filling gaps (with binds:
//!   the target's alone), the host's identity and network files (HOST_ETC) are the target's.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::{Component, Path, PathBuf};

/// Top-level directories that always come from the target, even when the payload has them:
/// kernel interfaces, scratch space and the user's own files (HOST_DIRS in lib/package/pack.ts).
pub const HOST_ALWAYS: &[&str] = &["proc", "dev", "sys", "tmp", "run", "home", "root", "mnt", "media", "srv"];
/// Files in /etc that come from the target even when the payload has them (who the user is,
/// how names resolve, the local time).
pub const HOST_ETC: &[&str] = &["passwd", "group", "nsswitch.conf", "hosts", "resolv.conf", "localtime", "host.conf"];
/// The loader's default directories: the payload's alone where it has them, so a library the
/// bundle lacks is never taken from the target's system (a second libc's NSS or gconv module,
/// a stale entry of the payload's ld.so.cache).
pub const LIB_DIRS: &[&str] = &["lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu", "lib64", "usr/lib64"];
/// The CA store: the target's replaces the payload's wherever the target has one (trust is the
/// machine's decision; a merge would bring back certificates the target removed).
pub const TARGET_CA: &[&str] = &["etc/ssl/certs", "etc/ssl/cert.pem", "etc/pki", "etc/ca-certificates", "etc/ca-certificates.conf", "usr/share/ca-certificates", "usr/share/pki"];
/// Data the target keeps current for its users: time zones, terminal descriptions, compiled
/// locales. The target's entries first, the payload's where the target has none.
pub const TARGET_DATA: &[&str] = &["usr/share/zoneinfo", "usr/share/terminfo", "lib/terminfo", "usr/lib/terminfo", "etc/terminfo", "usr/lib/locale", "usr/share/i18n"];

#[derive(Debug, Clone, PartialEq)]
pub enum Place {
    /// A directory of the new root's tmpfs.
    Dir { at: PathBuf },
    /// A symbolic link with this text.
    Symlink { link: PathBuf, at: PathBuf },
    /// `dir`: whether `source` is a directory, where the plan already knows it from a listing
    /// (the mount point is then made without asking again); None where it does not.
    Bind { source: PathBuf, at: PathBuf, readonly: bool, device: bool, dir: Option<bool> },
    /// A read-only overlay, the first layer winning.
    Overlay { lowers: Vec<PathBuf>, at: PathBuf },
}

/// What a plan is made from. `target` is `/` at run time.
pub struct Inputs<'a> {
    pub payload: &'a Path,
    pub target: &'a Path,
    pub cwd: Option<&'a Path>,
    /// The target's mount points (absolute, as in /proc/self/mountinfo): the submounts of a
    /// directory are not seen through an overlay of it, so they are mounted again on top.
    pub mounts: &'a [PathBuf],
    /// Whether a top-level directory both sides have may be an overlay.
    pub overlay: &'a dyn Fn(&OsStr) -> bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Origin {
    Payload,
    Target,
}

#[derive(Debug)]
enum Node {
    Dir(BTreeMap<OsString, Node>),
    Bind { source: PathBuf, origin: Origin, readonly: bool, device: bool, dir: Option<bool> },
    Symlink(PathBuf),
    Overlay(Vec<PathBuf>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Dir,
    Symlink,
    Other,
}

/// The kind of `root/rel` without following a symlink on the way (None then, or when absent):
/// a payload path behind a link is not where the new root shows it.
fn kind_in(root: &Path, rel: &Path) -> Option<Kind> {
    // Most paths asked about are absent from the payload (the CA store, the host's /etc files,
    // the data directories): one lstat says so; only a present path has its parents checked.
    let last = std::fs::symlink_metadata(root.join(rel)).ok()?;
    let parts: Vec<Component> = rel.components().collect();
    let mut at = root.to_path_buf();
    for part in parts.iter().take(parts.len().saturating_sub(1)) {
        at.push(part);
        let meta = std::fs::symlink_metadata(&at).ok()?;
        if meta.file_type().is_symlink() || !meta.is_dir() {
            return None;
        }
    }
    Some(if last.file_type().is_symlink() { Kind::Symlink } else if last.is_dir() { Kind::Dir } else { Kind::Other })
}

fn is_dir(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_dir())
}

/// A directory's entries with their kinds, from the directory itself (d_type: no lstat each,
/// except on file systems that do not fill it in, where the standard library asks; None where
/// that fails).
fn listing(dir: &Path) -> BTreeMap<OsString, Option<Kind>> {
    let Ok(entries) = std::fs::read_dir(dir) else { return BTreeMap::new() };
    entries
        .filter_map(|e| e.ok())
        .map(|e| {
            let kind = e.file_type().ok().map(|t| if t.is_symlink() { Kind::Symlink } else if t.is_dir() { Kind::Dir } else { Kind::Other });
            (e.file_name(), kind)
        })
        .collect()
}

pub fn names(dir: &Path) -> Vec<OsString> {
    let mut list: Vec<OsString> = std::fs::read_dir(dir).map(|it| it.filter_map(|e| e.ok().map(|e| e.file_name())).collect()).unwrap_or_default();
    list.sort();
    list
}

/// One entry as a node: a link keeps its text, anything else is bound.
fn entry(source: PathBuf, origin: Origin, readonly: bool) -> Option<Node> {
    let meta = std::fs::symlink_metadata(&source).ok()?;
    if meta.file_type().is_symlink() {
        return std::fs::read_link(&source).ok().map(Node::Symlink);
    }
    Some(Node::Bind { source, origin, readonly, device: false, dir: Some(meta.is_dir()) })
}

/// `entry` for a name whose kind a listing gave (no lstat again).
fn listed_entry(source: PathBuf, kind: Kind, origin: Origin, readonly: bool) -> Option<Node> {
    if kind == Kind::Symlink {
        return std::fs::read_link(&source).ok().map(Node::Symlink);
    }
    Some(Node::Bind { source, origin, readonly, device: false, dir: Some(kind == Kind::Dir) })
}

/// A directory of binds: the payload's entries (read-only), then the target's others.
fn merged_dir(payload_dir: &Path, target_dir: Option<&Path>) -> Node {
    let mut children = BTreeMap::new();
    for name in names(payload_dir) {
        if let Some(node) = entry(payload_dir.join(&name), Origin::Payload, true) {
            children.insert(name, node);
        }
    }
    for name in target_dir.map(names).unwrap_or_default() {
        if !children.contains_key(&name) {
            if let Some(node) = entry(target_dir.unwrap_or(Path::new("/")).join(&name), Origin::Target, false) {
                children.insert(name, node);
            }
        }
    }
    Node::Dir(children)
}

struct Tree {
    top: BTreeMap<OsString, Node>,
    /// Mounts on paths inside the tree, in order, over what is there.
    over: Vec<(PathBuf, Node)>,
    overlaid: Vec<OsString>,
}

pub fn plan_root(inputs: &Inputs) -> Vec<Place> {
    let payload_top = listing(inputs.payload);
    let mut tree = top_level(inputs, &payload_top);
    let etc_is_link = payload_top.get(OsStr::new("etc")) == Some(&Some(Kind::Symlink));
    submounts(&mut tree, inputs);
    for rel in LIB_DIRS {
        if overlaid(&tree, rel) && kind_in(inputs.payload, Path::new(rel)) == Some(Kind::Dir) {
            tree.over.push((PathBuf::from(rel), Node::Bind { source: inputs.payload.join(rel), origin: Origin::Payload, readonly: true, device: false, dir: Some(true) }));
        }
    }
    let etc_files: Vec<String> = if etc_is_link { Vec::new() } else { HOST_ETC.iter().map(|f| format!("etc/{}", f)).collect() };
    let replaced = TARGET_CA.iter().map(|s| s.to_string()).chain(etc_files).filter(|rel| !(etc_is_link && rel.starts_with("etc/")));
    for rel in replaced {
        let source = inputs.target.join(&rel);
        let node = || Node::Bind { source: source.clone(), origin: Origin::Target, readonly: true, device: false, dir: None };
        if overlaid(&tree, &rel) {
            // Through the overlay the target's copy shows already unless the payload has one.
            // The payload is asked first: it rarely has one, so the target is rarely asked.
            if kind_in(inputs.payload, Path::new(&rel)).is_some() && source.exists() {
                tree.over.push((PathBuf::from(&rel), node()));
            }
        } else if source.exists() {
            graft(&mut tree.top, Path::new(&rel), node());
        }
    }
    for rel in TARGET_DATA {
        let source = inputs.target.join(rel);
        if overlaid(&tree, rel) {
            // As above, the payload first.
            if kind_in(inputs.payload, Path::new(rel)) == Some(Kind::Dir) && is_dir(&source) {
                tree.over.push((PathBuf::from(rel), Node::Overlay(vec![source, inputs.payload.join(rel)])));
            }
        } else if is_dir(&source) {
            graft(&mut tree.top, Path::new(rel), Node::Bind { source, origin: Origin::Target, readonly: true, device: false, dir: Some(true) });
        }
    }
    follow_target_links(&mut tree, inputs);
    keep_cwd(&mut tree, inputs);
    flatten(tree)
}

/// With binds, a link of the target's next to the payload's entries (/etc/os-release ->
/// ../usr/lib/os-release) may point into a directory the payload hides; the file it names is
/// grafted in at that path, unless the payload has one there.
fn follow_target_links(tree: &mut Tree, inputs: &Inputs) {
    let mut found = Vec::new();
    for (top, node) in &tree.top {
        let Node::Dir(children) = node else { continue };
        for (name, child) in children {
            let rel = Path::new(top).join(name);
            if matches!(child, Node::Symlink(_)) && kind_in(inputs.payload, &rel).is_none() {
                found.push(rel);
            }
        }
    }
    for rel in found {
        let Ok(real) = std::fs::canonicalize(inputs.target.join(&rel)) else { continue };
        let Ok(real_rel) = real.strip_prefix(inputs.target) else { continue };
        if kind_in(inputs.payload, real_rel).is_none() && real_rel.components().count() > 1 {
            graft(&mut tree.top, real_rel, Node::Bind { source: real.clone(), origin: Origin::Target, readonly: true, device: false, dir: None });
        }
    }
}

/// The top level: the target's, the payload's, or both merged. Both sides' kinds come from
/// their listings (no lstat per entry).
fn top_level(inputs: &Inputs, payload_top: &BTreeMap<OsString, Option<Kind>>) -> Tree {
    let mut tree = Tree { top: BTreeMap::new(), over: Vec::new(), overlaid: Vec::new() };
    let target_kinds = listing(inputs.target);
    let mut all: Vec<OsString> = payload_top.keys().cloned().collect();
    all.extend(target_kinds.keys().cloned());
    all.sort();
    all.dedup();
    for name in all {
        let from_target = !payload_top.contains_key(&name) || HOST_ALWAYS.iter().any(|h| OsStr::new(h) == name);
        let target_kind = target_kinds.get(&name).copied();
        let node = if from_target { target_top(inputs.target, &name, target_kind.flatten()) } else { payload_top_entry(inputs, &name, payload_top[&name], target_kind, &mut tree.overlaid) };
        if let Some(node) = node {
            tree.top.insert(name, node);
        }
    }
    tree
}

/// `kind` from the target's listing: None where the target has no such entry.
fn target_top(target: &Path, name: &OsStr, kind: Option<Kind>) -> Option<Node> {
    let source = target.join(name);
    let kind = kind?;
    if kind == Kind::Symlink {
        return std::fs::read_link(&source).ok().map(Node::Symlink);
    }
    let text = name.to_string_lossy();
    Some(Node::Bind { source, origin: Origin::Target, readonly: text == "sys", device: text == "dev", dir: Some(kind == Kind::Dir) })
}

/// `kind`: the payload's entry's, from its listing; `target_kind`: the target's listing's
/// answer for the same name (None: not listed), which says whether it is a directory unless
/// it is a link or unknown (then it is asked).
fn payload_top_entry(inputs: &Inputs, name: &OsStr, kind: Option<Kind>, target_kind: Option<Option<Kind>>, overlaid: &mut Vec<OsString>) -> Option<Node> {
    let source = inputs.payload.join(name);
    let kind = kind?;
    let target = inputs.target.join(name);
    let lib_dir = LIB_DIRS.iter().any(|l| OsStr::new(l) == name);
    let target_is_dir = || match target_kind {
        Some(Some(Kind::Dir)) => true,
        Some(Some(Kind::Other)) => false,
        _ => is_dir(&target),
    };
    if kind != Kind::Dir || lib_dir || !target_is_dir() {
        return listed_entry(source, kind, Origin::Payload, true);
    }
    if (inputs.overlay)(name) {
        overlaid.push(name.to_owned());
        return Some(Node::Overlay(vec![source, target]));
    }
    Some(merged_dir(&source, Some(&target)))
}

/// Whether `rel` lies in a top-level directory mounted as an overlay.
fn overlaid(tree: &Tree, rel: &str) -> bool {
    let top = Path::new(rel).components().next().map(|c| c.as_os_str().to_owned());
    top.is_some_and(|t| tree.overlaid.contains(&t))
}

/// The target's mounts under an overlaid directory, again on top of it: bound where the payload
/// has nothing at that path, merged where both have a directory, hidden behind the payload's
/// file or link otherwise.
fn submounts(tree: &mut Tree, inputs: &Inputs) {
    let mut under: Vec<PathBuf> = inputs
        .mounts
        .iter()
        .filter_map(|m| m.strip_prefix(inputs.target).ok())
        .filter(|rel| rel.components().count() > 1 && tree.overlaid.iter().any(|t| rel.starts_with(t)))
        .map(Path::to_path_buf)
        .collect();
    under.sort();
    under.dedup();
    let mut covered: Vec<PathBuf> = Vec::new();
    for rel in under {
        if covered.iter().any(|c| rel.starts_with(c)) {
            continue;
        }
        let source = inputs.target.join(&rel);
        match kind_in(inputs.payload, &rel) {
            Some(Kind::Dir) if is_dir(&source) => tree.over.push((rel.clone(), Node::Overlay(vec![inputs.payload.join(&rel), source]))),
            Some(_) => covered.push(rel),
            None => {
                tree.over.push((rel.clone(), Node::Bind { source, origin: Origin::Target, readonly: false, device: false, dir: None }));
                covered.push(rel);
            }
        }
    }
}

/// Put `node` at `rel`, splitting the payload's directories on the way into directories of
/// binds so the mount point can exist. A path already the target's, or behind a link, is left.
fn graft(top: &mut BTreeMap<OsString, Node>, rel: &Path, node: Node) {
    let parts: Vec<OsString> = rel.components().map(|c| c.as_os_str().to_owned()).collect();
    let mut level = top;
    for (i, part) in parts.iter().enumerate() {
        if i + 1 == parts.len() {
            level.insert(part.clone(), node);
            return;
        }
        let Some(child) = level.get_mut(part) else { return };
        if let Node::Bind { source, origin: Origin::Payload, readonly, .. } = child {
            if !is_dir(source) {
                return;
            }
            let readonly = *readonly;
            let mut split = merged_dir(source, None);
            if let Node::Dir(children) = &mut split {
                for grandchild in children.values_mut() {
                    if let Node::Bind { readonly: r, .. } = grandchild {
                        *r = readonly;
                    }
                }
            }
            *child = split;
        }
        match child {
            Node::Dir(children) => level = children,
            _ => return,
        }
    }
}

/// The working directory where it lives under a directory of the payload (/usr/src/project):
/// bound again, writable, unless the payload has that very directory.
fn keep_cwd(tree: &mut Tree, inputs: &Inputs) {
    let Some(dir) = inputs.cwd else { return };
    let Ok(rel) = dir.strip_prefix("/") else { return };
    let Some(top) = rel.components().next().map(|c| c.as_os_str().to_owned()) else { return };
    let from_payload = matches!(tree.top.get(&top), Some(Node::Overlay(_)) | Some(Node::Dir(_))) || matches!(tree.top.get(&top), Some(Node::Bind { origin: Origin::Payload, .. }));
    if from_payload && !inputs.payload.join(rel).is_dir() {
        tree.over.push((rel.to_path_buf(), Node::Bind { source: dir.to_path_buf(), origin: Origin::Target, readonly: false, device: false, dir: None }));
    }
}

fn flatten(tree: Tree) -> Vec<Place> {
    let mut places = Vec::new();
    for (name, node) in tree.top {
        walk(Path::new("/").join(name), node, &mut places);
    }
    for (rel, node) in tree.over {
        walk(Path::new("/").join(rel), node, &mut places);
    }
    places
}

fn walk(at: PathBuf, node: Node, places: &mut Vec<Place>) {
    match node {
        Node::Dir(children) => {
            places.push(Place::Dir { at: at.clone() });
            for (name, child) in children {
                walk(at.join(name), child, places);
            }
        }
        Node::Bind { source, readonly, device, dir, .. } => places.push(Place::Bind { source, at, readonly, device, dir }),
        Node::Symlink(link) => places.push(Place::Symlink { link, at }),
        Node::Overlay(lowers) => places.push(Place::Overlay { lowers, at }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    struct Roots {
        base: PathBuf,
    }

    impl Drop for Roots {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.base);
        }
    }

    /// A payload and a target tree from `path` lists (a trailing / makes a directory, `a -> b`
    /// a link).
    fn roots(tag: &str, payload: &[&str], target: &[&str]) -> Roots {
        let base = std::env::temp_dir().join(format!("sb-plan-{}-{}", tag, std::process::id()));
        let _ = fs::remove_dir_all(&base);
        for (side, list) in [("payload", payload), ("target", target)] {
            fs::create_dir_all(base.join(side)).unwrap();
            for item in list {
                let at = base.join(side);
                if let Some((link, to)) = item.split_once(" -> ") {
                    std::os::unix::fs::symlink(to, at.join(link)).unwrap();
                } else if let Some(dir) = item.strip_suffix('/') {
                    fs::create_dir_all(at.join(dir)).unwrap();
                } else {
                    fs::create_dir_all(at.join(item).parent().unwrap()).unwrap();
                    fs::write(at.join(item), "x").unwrap();
                }
            }
        }
        Roots { base }
    }

    fn plan(r: &Roots, overlay: bool, mounts: &[&str]) -> Vec<Place> {
        let mounts: Vec<PathBuf> = mounts.iter().map(|m| r.base.join("target").join(m)).collect();
        let yes = |_: &OsStr| overlay;
        plan_root(&Inputs { payload: &r.base.join("payload"), target: &r.base.join("target"), cwd: None, mounts: &mounts, overlay: &yes })
    }

    fn ats(places: &[Place], base: &Path) -> Vec<String> {
        let short = |p: &Path| p.to_string_lossy().replace(&*base.to_string_lossy(), "");
        places
            .iter()
            .map(|p| match p {
                Place::Dir { at } => format!("dir {}", at.display()),
                Place::Symlink { link, at } => format!("link {} {}", at.display(), link.display()),
                Place::Bind { source, at, .. } => format!("bind {} {}", at.display(), short(source)),
                Place::Overlay { lowers, at } => format!("overlay {} {}", at.display(), lowers.iter().map(|l| short(l)).collect::<Vec<_>>().join(":")),
            })
            .collect()
    }

    #[test]
    fn a_shared_directory_is_an_overlay_with_the_payload_first() {
        let r = roots("overlay", &["opt/tool/t.json", "usr/bin/cat", "lib -> usr/lib"], &["opt/userdata/x.json", "usr/bin/cat", "usr/local/", "lib/", "var/log/"]);
        let got = ats(&plan(&r, true, &[]), &r.base);
        assert!(got.contains(&"overlay /opt /payload/opt:/target/opt".to_owned()), "{:?}", got);
        assert!(got.contains(&"overlay /usr /payload/usr:/target/usr".to_owned()), "{:?}", got);
        assert!(got.contains(&"link /lib usr/lib".to_owned()), "{:?}", got);
        assert!(got.contains(&"bind /var /target/var".to_owned()), "{:?}", got);
    }

    #[test]
    fn without_overlays_a_shared_directory_binds_each_entry_of_either_side() {
        let r = roots("binds", &["opt/tool/t.json", "etc/ld.so.cache", "usr/lib/libc.so.6"], &["opt/userdata/x.json", "opt/tool/", "etc/issue", "etc/passwd", "usr/lib/os-release", "etc/os-release -> ../usr/lib/os-release"]);
        let got = ats(&plan(&r, false, &[]), &r.base);
        // The target's link into a directory the payload has: the file it names is grafted in.
        for want in ["dir /opt", "bind /opt/tool /payload/opt/tool", "bind /opt/userdata /target/opt/userdata", "bind /etc/ld.so.cache /payload/etc/ld.so.cache", "bind /etc/issue /target/etc/issue", "bind /etc/passwd /target/etc/passwd", "link /etc/os-release ../usr/lib/os-release", "dir /usr/lib", "bind /usr/lib/libc.so.6 /payload/usr/lib/libc.so.6", "bind /usr/lib/os-release /target/usr/lib/os-release"] {
            assert!(got.contains(&want.to_owned()), "{} not in {:?}", want, got);
        }
    }

    #[test]
    fn the_loader_directories_are_the_payloads_alone() {
        let r = roots("libs", &["usr/lib/x86_64-linux-gnu/libc.so.6"], &["usr/lib/x86_64-linux-gnu/libnss_x.so.2", "usr/lib/locale/"]);
        let got = ats(&plan(&r, true, &[]), &r.base);
        assert_eq!(got, vec!["overlay /usr /payload/usr:/target/usr", "bind /usr/lib/x86_64-linux-gnu /payload/usr/lib/x86_64-linux-gnu"]);
    }

    #[test]
    fn the_targets_ca_store_wins_and_its_data_comes_first() {
        let r = roots("data", &["etc/ssl/certs/old.pem", "usr/share/zoneinfo/UTC", "usr/share/doc/"], &["etc/ssl/certs/new.pem", "usr/share/zoneinfo/America/New_York", "lib/terminfo/x/xterm"]);
        let got = ats(&plan(&r, true, &[]), &r.base);
        assert!(got.contains(&"bind /etc/ssl/certs /target/etc/ssl/certs".to_owned()), "{:?}", got);
        assert!(got.contains(&"overlay /usr/share/zoneinfo /target/usr/share/zoneinfo:/payload/usr/share/zoneinfo".to_owned()), "{:?}", got);
        // Without overlays: the payload's /usr/share is split so the target's zoneinfo can be
        // mounted in it; the target's /lib is shown whole (the payload has none).
        let got = ats(&plan(&r, false, &[]), &r.base);
        for want in ["dir /usr/share", "bind /usr/share/doc /payload/usr/share/doc", "bind /usr/share/zoneinfo /target/usr/share/zoneinfo", "bind /etc/ssl/certs /target/etc/ssl/certs", "bind /lib /target/lib"] {
            assert!(got.contains(&want.to_owned()), "{} not in {:?}", want, got);
        }
    }

    #[test]
    fn binds_say_whether_their_source_is_a_directory_where_a_listing_told() {
        let r = roots("kinds", &["opt/tool/t.json", "tool.conf", "etc/group"], &["var/log/", "target.conf", "etc/group"]);
        let places = plan(&r, true, &[]);
        let dir_of = |at: &str| places.iter().find_map(|p| match p {
            Place::Bind { at: a, dir, .. } if a == Path::new(at) => Some(*dir),
            _ => None,
        });
        // The listings' kinds: the target's directory and file, the payload's own directory and file.
        assert_eq!(dir_of("/var"), Some(Some(true)), "{:?}", places);
        assert_eq!(dir_of("/target.conf"), Some(Some(false)), "{:?}", places);
        assert_eq!(dir_of("/opt"), Some(Some(true)), "{:?}", places);
        assert_eq!(dir_of("/tool.conf"), Some(Some(false)), "{:?}", places);
        // A host file over the overlay: not listed, so the fill asks.
        assert_eq!(dir_of("/etc/group"), Some(None), "{:?}", places);
    }

    #[test]
    fn over_an_overlay_a_targets_file_is_bound_only_where_both_sides_have_it() {
        // group: both; hosts: the payload's only; passwd: the target's only (shows through).
        let r = roots("both", &["etc/ld.so.cache", "etc/group", "etc/hosts"], &["etc/passwd", "etc/group"]);
        let got = ats(&plan(&r, true, &[]), &r.base);
        assert_eq!(got, vec!["overlay /etc /payload/etc:/target/etc", "bind /etc/group /target/etc/group"]);
    }

    #[test]
    fn the_targets_submounts_show_through_an_overlay() {
        let r = roots("mounts", &["var/lib/tool/db", "var/cache/"], &["var/lib/docker/", "var/lib/docker/x/", "var/cache/", "var/log/"]);
        let got = ats(&plan(&r, true, &["", "var/lib/docker", "var/lib/docker/x", "var/cache", "proc"]), &r.base);
        assert_eq!(got, vec!["overlay /var /payload/var:/target/var", "overlay /var/cache /payload/var/cache:/target/var/cache", "bind /var/lib/docker /target/var/lib/docker"]);
    }
}
