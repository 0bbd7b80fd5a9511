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

use alloc::borrow::ToOwned;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use crate::path::{components, join, strip_prefix};
use crate::sys;

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

/// Paths here are bytes: absolute where they name a place (`/usr/lib`), relative to the new
/// root's top where they are rules (`usr/lib`).
#[derive(Debug, Clone, PartialEq)]
pub enum Place {
    /// A directory of the new root's tmpfs.
    Dir { at: Vec<u8> },
    /// A symbolic link with this text.
    Symlink { link: Vec<u8>, at: Vec<u8> },
    /// `dir`: whether `source` is a directory, where the plan already knows it from a listing
    /// (the mount point is then made without asking again); None where it does not.
    Bind { source: Vec<u8>, at: Vec<u8>, readonly: bool, device: bool, dir: Option<bool> },
    /// A read-only overlay, the first layer winning.
    Overlay { lowers: Vec<Vec<u8>>, at: Vec<u8> },
}

/// What a plan is made from. `target` is `/` at run time.
pub struct Inputs<'a> {
    pub payload: &'a [u8],
    pub target: &'a [u8],
    pub cwd: Option<&'a [u8]>,
    /// The target's mount points (absolute, as in /proc/self/mountinfo): the submounts of a
    /// directory are not seen through an overlay of it, so they are mounted again on top.
    pub mounts: &'a [Vec<u8>],
    /// Whether a top-level directory both sides have may be an overlay.
    pub overlay: &'a dyn Fn(&[u8]) -> bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Origin {
    Payload,
    Target,
}

#[derive(Debug)]
enum Node {
    Dir(BTreeMap<Vec<u8>, Node>),
    Bind { source: Vec<u8>, origin: Origin, readonly: bool, device: bool, dir: Option<bool> },
    Symlink(Vec<u8>),
    Overlay(Vec<Vec<u8>>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Dir,
    Symlink,
    Other,
}

fn kind_of(mode: u32) -> Kind {
    match mode {
        sys::S_IFLNK => Kind::Symlink,
        sys::S_IFDIR => Kind::Dir,
        _ => Kind::Other,
    }
}

/// The kind of `root/rel` without following a symlink on the way (None then, or when absent):
/// a payload path behind a link is not where the new root shows it.
fn kind_in(root: &[u8], rel: &[u8]) -> Option<Kind> {
    // Most paths asked about are absent from the payload (the CA store, the host's /etc files,
    // the data directories): one lstat says so; only a present path has its parents checked.
    let last = sys::file_type(&join(root, rel), false).ok()?;
    let parts = components(rel);
    let mut at = root.to_vec();
    for part in parts.iter().take(parts.len().saturating_sub(1)) {
        at = join(&at, part);
        if sys::file_type(&at, false).ok()? != sys::S_IFDIR {
            return None;
        }
    }
    Some(kind_of(last))
}

fn is_dir(path: &[u8]) -> bool {
    sys::file_type(path, true) == Ok(sys::S_IFDIR)
}

fn exists(path: &[u8]) -> bool {
    sys::file_type(path, true).is_ok()
}

/// A directory's entries with their kinds, from the directory itself (d_type: no lstat each,
/// except on file systems that do not fill it in, where it is asked; None where that fails).
fn listing(dir: &[u8]) -> BTreeMap<Vec<u8>, Option<Kind>> {
    let Ok(entries) = sys::read_dir(dir) else { return BTreeMap::new() };
    entries
        .into_iter()
        .map(|(name, d_type)| {
            let kind = match d_type {
                sys::DT_DIR => Some(Kind::Dir),
                sys::DT_LNK => Some(Kind::Symlink),
                sys::DT_UNKNOWN => sys::file_type(&join(dir, &name), false).ok().map(kind_of),
                _ => Some(Kind::Other),
            };
            (name, kind)
        })
        .collect()
}

pub fn names(dir: &[u8]) -> Vec<Vec<u8>> {
    let mut list: Vec<Vec<u8>> = sys::read_dir(dir).map(|entries| entries.into_iter().map(|(name, _)| name).collect()).unwrap_or_default();
    list.sort();
    list
}

/// One entry as a node: a link keeps its text, anything else is bound.
fn entry(source: Vec<u8>, origin: Origin, readonly: bool) -> Option<Node> {
    let kind = kind_of(sys::file_type(&source, false).ok()?);
    listed_entry(source, kind, origin, readonly)
}

/// `entry` for a name whose kind a listing gave (no lstat again).
fn listed_entry(source: Vec<u8>, kind: Kind, origin: Origin, readonly: bool) -> Option<Node> {
    if kind == Kind::Symlink {
        return sys::readlink(&source).ok().map(Node::Symlink);
    }
    Some(Node::Bind { source, origin, readonly, device: false, dir: Some(kind == Kind::Dir) })
}

/// A directory of binds: the payload's entries (read-only), then the target's others.
fn merged_dir(payload_dir: &[u8], target_dir: Option<&[u8]>) -> Node {
    let mut children = BTreeMap::new();
    for name in names(payload_dir) {
        if let Some(node) = entry(join(payload_dir, &name), Origin::Payload, true) {
            children.insert(name, node);
        }
    }
    for name in target_dir.map(names).unwrap_or_default() {
        if !children.contains_key(&name) {
            if let Some(node) = entry(join(target_dir.unwrap_or(b"/"), &name), Origin::Target, false) {
                children.insert(name, node);
            }
        }
    }
    Node::Dir(children)
}

struct Tree {
    top: BTreeMap<Vec<u8>, Node>,
    /// Mounts on paths inside the tree, in order, over what is there.
    over: Vec<(Vec<u8>, Node)>,
    overlaid: Vec<Vec<u8>>,
}

pub fn plan_root(inputs: &Inputs) -> Vec<Place> {
    let payload_top = listing(inputs.payload);
    let mut tree = top_level(inputs, &payload_top);
    let etc_is_link = payload_top.get(b"etc".as_slice()) == Some(&Some(Kind::Symlink));
    submounts(&mut tree, inputs);
    for rel in LIB_DIRS {
        if overlaid(&tree, rel) && kind_in(inputs.payload, rel.as_bytes()) == Some(Kind::Dir) {
            tree.over.push((rel.as_bytes().to_vec(), Node::Bind { source: join(inputs.payload, rel.as_bytes()), origin: Origin::Payload, readonly: true, device: false, dir: Some(true) }));
        }
    }
    let etc_files: Vec<String> = if etc_is_link { Vec::new() } else { HOST_ETC.iter().map(|f| format!("etc/{}", f)).collect() };
    let replaced = TARGET_CA.iter().map(|s| (*s).to_owned()).chain(etc_files).filter(|rel| !(etc_is_link && rel.starts_with("etc/")));
    for rel in replaced {
        let source = join(inputs.target, rel.as_bytes());
        let node = || Node::Bind { source: source.clone(), origin: Origin::Target, readonly: true, device: false, dir: None };
        if overlaid(&tree, &rel) {
            // Through the overlay the target's copy shows already unless the payload has one.
            // The payload is asked first: it rarely has one, so the target is rarely asked.
            if kind_in(inputs.payload, rel.as_bytes()).is_some() && exists(&source) {
                tree.over.push((rel.as_bytes().to_vec(), node()));
            }
        } else if exists(&source) {
            graft(&mut tree.top, rel.as_bytes(), node());
        }
    }
    for rel in TARGET_DATA {
        let source = join(inputs.target, rel.as_bytes());
        if overlaid(&tree, rel) {
            // As above, the payload first.
            if kind_in(inputs.payload, rel.as_bytes()) == Some(Kind::Dir) && is_dir(&source) {
                tree.over.push((rel.as_bytes().to_vec(), Node::Overlay(vec![source, join(inputs.payload, rel.as_bytes())])));
            }
        } else if is_dir(&source) {
            graft(&mut tree.top, rel.as_bytes(), Node::Bind { source, origin: Origin::Target, readonly: true, device: false, dir: Some(true) });
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
            let rel = join(top, name);
            if matches!(child, Node::Symlink(_)) && kind_in(inputs.payload, &rel).is_none() {
                found.push(rel);
            }
        }
    }
    for rel in found {
        let Ok(real) = sys::canonicalize(&join(inputs.target, &rel)) else { continue };
        let Some(real_rel) = strip_prefix(&real, inputs.target) else { continue };
        if kind_in(inputs.payload, &real_rel).is_none() && components(&real_rel).len() > 1 {
            graft(&mut tree.top, &real_rel, Node::Bind { source: real, origin: Origin::Target, readonly: true, device: false, dir: None });
        }
    }
}

/// The top level: the target's, the payload's, or both merged. Both sides' kinds come from
/// their listings (no lstat per entry).
fn top_level(inputs: &Inputs, payload_top: &BTreeMap<Vec<u8>, Option<Kind>>) -> Tree {
    let mut tree = Tree { top: BTreeMap::new(), over: Vec::new(), overlaid: Vec::new() };
    let target_kinds = listing(inputs.target);
    let mut all: Vec<Vec<u8>> = payload_top.keys().cloned().collect();
    all.extend(target_kinds.keys().cloned());
    all.sort();
    all.dedup();
    for name in all {
        let from_target = !payload_top.contains_key(&name) || HOST_ALWAYS.iter().any(|h| h.as_bytes() == name.as_slice());
        let target_kind = target_kinds.get(&name).copied();
        let node = if from_target { target_top(inputs.target, &name, target_kind.flatten()) } else { payload_top_entry(inputs, &name, payload_top[&name], target_kind, &mut tree.overlaid) };
        if let Some(node) = node {
            tree.top.insert(name, node);
        }
    }
    tree
}

/// `kind` from the target's listing: None where the target has no such entry.
fn target_top(target: &[u8], name: &[u8], kind: Option<Kind>) -> Option<Node> {
    let source = join(target, name);
    let kind = kind?;
    if kind == Kind::Symlink {
        return sys::readlink(&source).ok().map(Node::Symlink);
    }
    Some(Node::Bind { source, origin: Origin::Target, readonly: name == b"sys", device: name == b"dev", dir: Some(kind == Kind::Dir) })
}

/// `kind`: the payload's entry's, from its listing; `target_kind`: the target's listing's
/// answer for the same name (None: not listed), which says whether it is a directory unless
/// it is a link or unknown (then it is asked).
fn payload_top_entry(inputs: &Inputs, name: &[u8], kind: Option<Kind>, target_kind: Option<Option<Kind>>, overlaid: &mut Vec<Vec<u8>>) -> Option<Node> {
    let source = join(inputs.payload, name);
    let kind = kind?;
    let target = join(inputs.target, name);
    let lib_dir = LIB_DIRS.iter().any(|l| l.as_bytes() == name);
    let target_is_dir = || match target_kind {
        Some(Some(Kind::Dir)) => true,
        Some(Some(Kind::Other)) => false,
        _ => is_dir(&target),
    };
    if kind != Kind::Dir || lib_dir || !target_is_dir() {
        return listed_entry(source, kind, Origin::Payload, true);
    }
    if (inputs.overlay)(name) {
        overlaid.push(name.to_vec());
        return Some(Node::Overlay(vec![source, target]));
    }
    Some(merged_dir(&source, Some(&target)))
}

/// Whether `rel` lies in a top-level directory mounted as an overlay.
fn overlaid(tree: &Tree, rel: &str) -> bool {
    let top = components(rel.as_bytes()).first().map(|c| c.to_vec());
    top.is_some_and(|t| tree.overlaid.contains(&t))
}

/// The target's mounts under an overlaid directory, again on top of it: bound where the payload
/// has nothing at that path, merged where both have a directory, hidden behind the payload's
/// file or link otherwise.
fn submounts(tree: &mut Tree, inputs: &Inputs) {
    let mut under: Vec<Vec<u8>> = inputs
        .mounts
        .iter()
        .filter_map(|m| strip_prefix(m, inputs.target))
        .filter(|rel| components(rel).len() > 1 && tree.overlaid.iter().any(|t| crate::path::starts_with(rel, t)))
        .collect();
    under.sort();
    under.dedup();
    let mut covered: Vec<Vec<u8>> = Vec::new();
    for rel in under {
        if covered.iter().any(|c| crate::path::starts_with(&rel, c)) {
            continue;
        }
        let source = join(inputs.target, &rel);
        match kind_in(inputs.payload, &rel) {
            Some(Kind::Dir) if is_dir(&source) => tree.over.push((rel.clone(), Node::Overlay(vec![join(inputs.payload, &rel), source]))),
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
fn graft(top: &mut BTreeMap<Vec<u8>, Node>, rel: &[u8], node: Node) {
    let parts: Vec<Vec<u8>> = components(rel).into_iter().map(|c| c.to_vec()).collect();
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
    let Some(rel) = strip_prefix(dir, b"/") else { return };
    let Some(top) = components(&rel).first().map(|c| c.to_vec()) else { return };
    let from_payload = matches!(tree.top.get(&top), Some(Node::Overlay(_)) | Some(Node::Dir(_))) || matches!(tree.top.get(&top), Some(Node::Bind { origin: Origin::Payload, .. }));
    if from_payload && !is_dir(&join(inputs.payload, &rel)) {
        tree.over.push((rel, Node::Bind { source: dir.to_vec(), origin: Origin::Target, readonly: false, device: false, dir: None }));
    }
}

fn flatten(tree: Tree) -> Vec<Place> {
    let mut places = Vec::new();
    for (name, node) in tree.top {
        walk(join(b"/", &name), node, &mut places);
    }
    for (rel, node) in tree.over {
        walk(join(b"/", &rel), node, &mut places);
    }
    places
}

fn walk(at: Vec<u8>, node: Node, places: &mut Vec<Place>) {
    match node {
        Node::Dir(children) => {
            places.push(Place::Dir { at: at.clone() });
            for (name, child) in children {
                walk(join(&at, &name), child, places);
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
    use std::path::{Path, PathBuf};

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

    fn bytes(p: PathBuf) -> Vec<u8> {
        p.into_os_string().into_encoded_bytes()
    }

    fn plan(r: &Roots, overlay: bool, mounts: &[&str]) -> Vec<Place> {
        let mounts: Vec<Vec<u8>> = mounts.iter().map(|m| bytes(r.base.join("target").join(m))).collect();
        let yes = |_: &[u8]| overlay;
        let (payload, target) = (bytes(r.base.join("payload")), bytes(r.base.join("target")));
        plan_root(&Inputs { payload: &payload, target: &target, cwd: None, mounts: &mounts, overlay: &yes })
    }

    fn ats(places: &[Place], base: &Path) -> Vec<String> {
        let show = |p: &[u8]| String::from_utf8_lossy(p).into_owned();
        let short = |p: &[u8]| show(p).replace(&*base.to_string_lossy(), "");
        places
            .iter()
            .map(|p| match p {
                Place::Dir { at } => format!("dir {}", show(at)),
                Place::Symlink { link, at } => format!("link {} {}", show(at), show(link)),
                Place::Bind { source, at, .. } => format!("bind {} {}", show(at), short(source)),
                Place::Overlay { lowers, at } => format!("overlay {} {}", show(at), lowers.iter().map(|l| short(l)).collect::<Vec<_>>().join(":")),
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
            Place::Bind { at: a, dir, .. } if a.as_slice() == at.as_bytes() => Some(*dir),
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
