//! Paths as bytes, with std::path's meaning for the few operations a launcher needs.

use alloc::borrow::Cow;
use alloc::vec::Vec;

/// `base` joined with `rest` (an absolute `rest` replaces it, as Path::join).
pub fn join(base: &[u8], rest: &[u8]) -> Vec<u8> {
    if rest.first() == Some(&b'/') || base.is_empty() {
        return rest.to_vec();
    }
    let mut out = base.to_vec();
    if out.last() != Some(&b'/') {
        out.push(b'/');
    }
    out.extend_from_slice(rest);
    out
}

/// The components of a path as Path::components gives them: `//` and `.` inside dropped, a
/// leading `/` as its own component.
pub fn components(path: &[u8]) -> Vec<&[u8]> {
    let mut out: Vec<&[u8]> = Vec::new();
    if path.first() == Some(&b'/') {
        out.push(b"/");
    }
    for (i, part) in path.split(|&b| b == b'/').enumerate() {
        // A leading `.` of a relative path is kept (Path::components does the same).
        if part.is_empty() || (part == b"." && !(i == 0 && path.first() != Some(&b'/'))) {
            continue;
        }
        out.push(part);
    }
    out
}

/// Path::parent (None for `/` and ``), and Path::file_name (None where the last component is
/// `..`, `.` or the root).
pub fn parent(path: &[u8]) -> Option<Vec<u8>> {
    let parts = components(path);
    match parts.split_last()? {
        (last, _) if *last == b"/" => None,
        (_, init) => Some(assemble(init)),
    }
}

pub fn file_name(path: &[u8]) -> Option<&[u8]> {
    components(path).last().copied().filter(|last| *last != b"/" && *last != b"." && *last != b"..")
}

/// Whether two paths name the same place component by component (Path's ==).
pub fn same(a: &[u8], b: &[u8]) -> bool {
    components(a) == components(b)
}

/// Path::strip_prefix: what follows `base` in `path`, component by component (None where
/// `base` is not a prefix).
pub fn strip_prefix(path: &[u8], base: &[u8]) -> Option<Vec<u8>> {
    let (parts, prefix) = (components(path), components(base));
    parts.starts_with(&prefix).then(|| assemble(&parts[prefix.len()..]))
}

/// Path::starts_with: whether `base` is a prefix of `path`, component by component.
pub fn starts_with(path: &[u8], base: &[u8]) -> bool {
    components(path).starts_with(&components(base))
}

/// The components joined again (`/` first where the path is absolute).
pub fn assemble(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 && out.last() != Some(&b'/') {
            out.push(b'/');
        }
        out.extend_from_slice(part);
    }
    out
}

/// A path for a message (invalid UTF-8 shown as U+FFFD).
pub fn show(path: &[u8]) -> Cow<'_, str> {
    alloc::string::String::from_utf8_lossy(path)
}

/// `n` in decimal ASCII.
pub fn decimal(mut n: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        out.push(b'0' + (n % 10) as u8);
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;

    #[test]
    fn parent_and_file_name_agree_with_std_path() {
        for p in ["/a/b", "a/b", "a", "/", "", "/a/b/", "a//b/./c", "./x", "../x", "x/..", "/a/./", ".", "bin/./x"] {
            let std_path = Path::new(p);
            let want_parent = std_path.parent().map(|d| d.as_os_str().as_bytes().to_vec());
            let got_parent = parent(p.as_bytes());
            // Path::parent keeps the text before the last component; compare component-wise.
            match (&want_parent, &got_parent) {
                (Some(w), Some(g)) => assert!(same(w, g), "{}: parent {:?} vs {:?}", p, OsStr::from_bytes(w), OsStr::from_bytes(g)),
                (None, None) => {}
                _ => panic!("{}: parent {:?} vs {:?}", p, want_parent, got_parent),
            }
            assert_eq!(std_path.file_name().map(|n| n.as_bytes()), file_name(p.as_bytes()), "{}", p);
        }
    }

    #[test]
    fn join_and_same_agree_with_std_path() {
        assert_eq!(join(b"/b", b"payload"), b"/b/payload");
        assert_eq!(join(b"/b/", b"x"), b"/b/x");
        assert_eq!(join(b"/b", b"/abs"), b"/abs");
        assert!(same(b"/a//b/./c", b"/a/b/c"));
        assert!(!same(b"/a/b", b"a/b"));
        assert_eq!(strip_prefix(b"/t/var/lib", b"/t"), Some(b"var/lib".to_vec()));
        assert_eq!(strip_prefix(b"/t", b"/t"), Some(Vec::new()));
        assert_eq!(strip_prefix(b"/tx/a", b"/t"), None);
        assert_eq!(strip_prefix(b"/usr/src", b"/"), Some(b"usr/src".to_vec()));
        assert!(starts_with(b"var/lib/x", b"var") && !starts_with(b"variable", b"var"));
        assert_eq!(decimal(0), b"0");
        assert_eq!(decimal(1234), b"1234");
    }
}
