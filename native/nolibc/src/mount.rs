//! Mount helpers of the launcher's root modes (root.rs): binds, read-only remounts, tmpfs,
//! read-only overlays, the mount table. Errors are strings naming the paths, ready for a user.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::path::show;
use crate::sys::{self, Errno};

/// A tmpfs on `at` (nosuid, nodev) with the given `mode=` option.
pub fn tmpfs(at: &[u8], mode: &str) -> Result<(), String> {
    let options = format!("mode={}", mode);
    sys::mount(Some(b"tmpfs"), at, Some(b"tmpfs"), sys::MS_NOSUID | sys::MS_NODEV, Some(options.as_bytes()))
        .map_err(|e| format!("cannot mount a tmpfs on {}: {}", show(at), e))
}

/// Bind `source` on `target` (both must exist), with its submounts; read-only if asked.
pub fn bind(source: &[u8], target: &[u8], readonly: bool) -> Result<(), String> {
    sys::mount(Some(source), target, None, sys::MS_BIND | sys::MS_REC, None).map_err(|e| format!("cannot bind {} on {}: {}", show(source), show(target), e))?;
    if readonly {
        remount_readonly(target);
    }
    Ok(())
}

/// A read-only overlay of `lowers` on `at`, the first lower layer winning. Refused where
/// overlayfs is missing or not allowed in a user namespace (kernels before 5.11, some
/// container policies), and for layers that overlap (one inside another: ELOOP). The error
/// comes with its errno.
pub fn overlay(lowers: &[Vec<u8>], at: &[u8]) -> Result<(), (String, i32)> {
    let joined = lowers.iter().map(|p| escape_layer(p)).collect::<Vec<_>>().join(&b':');
    let options = [b"lowerdir=".as_slice(), &joined].concat();
    sys::mount(Some(b"overlay"), at, Some(b"overlay"), sys::MS_RDONLY | sys::MS_NOSUID | sys::MS_NODEV, Some(&options))
        .map_err(|Errno(errno)| (format!("cannot mount an overlay of {} on {}: {}", show(&joined), show(at), Errno(errno)), errno))
}

/// A path as one overlayfs layer option: `\`, `,` and `:` escaped.
pub fn escape_layer(path: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(path.len());
    for &b in path {
        if matches!(b, b'\\' | b',' | b':') {
            out.push(b'\\');
        }
        out.push(b);
    }
    out
}

/// Make a mount read-only, keeping the flags the kernel locks in a user namespace (nosuid,
/// nodev, noexec, atime). Best effort: a mount that refuses stays writable.
pub fn remount_readonly(target: &[u8]) {
    let Ok(st_flags) = sys::mount_flags(target) else { return };
    // statfs ST_* bit → mount MS_* flag.
    const KEPT: [(u64, usize); 6] = [(2, 2), (4, 4), (8, 8), (1024, 1024), (2048, 2048), (4096, 1 << 21)];
    let mut flags = sys::MS_BIND | sys::MS_REMOUNT | sys::MS_RDONLY;
    for (st_bit, ms_flag) in KEPT {
        if st_flags & st_bit != 0 {
            flags |= ms_flag;
        }
    }
    let _ = sys::mount(None, target, None, flags, None);
}

/// Every mount point of this mount namespace, in /proc/self/mountinfo order (parents first).
/// Read with a large buffer: the kernel renders the file anew for every read(2).
pub fn mount_points() -> Vec<Vec<u8>> {
    parse_mount_points(&sys::read_file_with(b"/proc/self/mountinfo", 64 * 1024).unwrap_or_default())
}

/// The fifth field of each mountinfo line, with the kernel's octal escapes (`\040`) undone.
pub fn parse_mount_points(text: &[u8]) -> Vec<Vec<u8>> {
    text.split(|&b| b == b'\n').filter_map(|line| line.split(|&b| b == b' ').nth(4)).map(unescape).collect()
}

fn unescape(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        let octal = field.get(i + 1..i + 4).filter(|d| field[i] == b'\\' && d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match octal {
            Some(d) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            None => {
                out.push(field[i]);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_points_are_the_fifth_field_unescaped() {
        let text = b"22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n30 22 0:5 / /opt/my\\040data rw - tmpfs tmpfs rw\n";
        assert_eq!(parse_mount_points(text), vec![b"/".to_vec(), b"/opt/my data".to_vec()]);
    }

    #[test]
    fn layers_escape_the_option_separators() {
        assert_eq!(escape_layer(b"/b,x:y\\z"), b"/b\\,x\\:y\\\\z");
    }
}
