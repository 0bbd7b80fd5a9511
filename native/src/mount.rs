//! Mount helpers shared by the launcher's root modes (launch/root.rs) and meant for the agent's
//! private view too: binds, read-only remounts, tmpfs, read-only overlays, the mount table.
//! Errors are strings naming the paths, ready for a user.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::ptr;

use crate::sys;

pub fn c(path: &Path) -> CString {
    CString::new(path.as_os_str().as_bytes()).unwrap_or_default()
}

fn cs(text: &str) -> CString {
    CString::new(text).unwrap_or_default()
}

/// A tmpfs on `at` (nosuid, nodev) with the given `mode=` option.
pub fn tmpfs(at: &Path, mode: &str) -> Result<(), String> {
    let options = cs(&format!("mode={}", mode));
    // SAFETY: mount with NUL-terminated strings that outlive the call.
    let ok = unsafe { sys::mount(cs("tmpfs").as_ptr(), c(at).as_ptr(), cs("tmpfs").as_ptr(), sys::MS_NOSUID | sys::MS_NODEV, options.as_ptr() as *const _) == 0 };
    if ok {
        Ok(())
    } else {
        Err(format!("cannot mount a tmpfs on {}: {}", at.display(), sys::last_error()))
    }
}

/// Bind `source` on `target` (both must exist), with its submounts; read-only if asked.
pub fn bind(source: &Path, target: &Path, readonly: bool) -> Result<(), String> {
    // SAFETY: mount with NUL-terminated strings that outlive the call.
    unsafe {
        if sys::mount(c(source).as_ptr(), c(target).as_ptr(), ptr::null(), sys::MS_BIND | sys::MS_REC, ptr::null()) != 0 {
            return Err(format!("cannot bind {} on {}: {}", source.display(), target.display(), sys::last_error()));
        }
    }
    if readonly {
        remount_readonly(target);
    }
    Ok(())
}

/// A read-only overlay of `lowers` on `at`, the first lower layer winning. Refused where
/// overlayfs is missing or not allowed in a user namespace (kernels before 5.11, some
/// container policies), and for layers that overlap (one inside another: ELOOP). The error
/// comes with its errno.
pub fn overlay(lowers: &[PathBuf], at: &Path) -> Result<(), (String, i32)> {
    let joined: Vec<String> = lowers.iter().map(|p| escape_layer(p)).collect();
    let options = cs(&format!("lowerdir={}", joined.join(":")));
    // SAFETY: mount with NUL-terminated strings that outlive the call.
    let ok = unsafe { sys::mount(cs("overlay").as_ptr(), c(at).as_ptr(), cs("overlay").as_ptr(), sys::MS_RDONLY | sys::MS_NOSUID | sys::MS_NODEV, options.as_ptr() as *const _) == 0 };
    if ok {
        Ok(())
    } else {
        let errno = sys::errno();
        Err((format!("cannot mount an overlay of {} on {}: {}", joined.join(":"), at.display(), std::io::Error::from_raw_os_error(errno)), errno))
    }
}

/// A path as one overlayfs layer option: `\`, `,` and `:` escaped.
pub fn escape_layer(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "\\\\").replace(',', "\\,").replace(':', "\\:")
}

/// Make a mount read-only, keeping the flags the kernel locks in a user namespace (nosuid,
/// nodev, noexec, atime). Best effort: a mount that refuses stays writable.
pub fn remount_readonly(target: &Path) {
    // SAFETY: statvfs into a zeroed struct of the right layout.
    let mut st: sys::StatVfs = unsafe { std::mem::zeroed() };
    if unsafe { sys::statvfs(c(target).as_ptr(), &mut st) } != 0 {
        return;
    }
    // statvfs ST_* bit → mount MS_* flag.
    const KEPT: [(u64, std::os::raw::c_ulong); 6] = [(2, 2), (4, 4), (8, 8), (1024, 1024), (2048, 2048), (4096, 1 << 21)];
    let mut flags = sys::MS_BIND | sys::MS_REMOUNT | sys::MS_RDONLY;
    for (st_bit, ms_flag) in KEPT {
        if st.f_flag & st_bit != 0 {
            flags |= ms_flag;
        }
    }
    // SAFETY: as above.
    unsafe { sys::mount(ptr::null(), c(target).as_ptr(), ptr::null(), flags, ptr::null()) };
}

/// Every mount point of this mount namespace, in /proc/self/mountinfo order (parents first).
/// Read with a large buffer: the kernel renders the file anew for every read(2), and
/// `fs::read` starts with 32 bytes for a file whose size reads as 0.
pub fn mount_points() -> Vec<PathBuf> {
    use std::io::Read;
    let mut text = Vec::with_capacity(64 * 1024);
    if let Ok(mut file) = std::fs::File::open("/proc/self/mountinfo") {
        let _ = file.read_to_end(&mut text);
    }
    parse_mount_points(&text)
}

/// The fifth field of each mountinfo line, with the kernel's octal escapes (`\040`) undone.
pub fn parse_mount_points(text: &[u8]) -> Vec<PathBuf> {
    text.split(|&b| b == b'\n').filter_map(|line| line.split(|&b| b == b' ').nth(4)).map(|field| PathBuf::from(std::ffi::OsStr::from_bytes(&unescape(field)))).collect()
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
        assert_eq!(parse_mount_points(text), vec![PathBuf::from("/"), PathBuf::from("/opt/my data")]);
    }

    #[test]
    fn layers_escape_the_option_separators() {
        assert_eq!(escape_layer(Path::new("/b,x:y\\z")), "/b\\,x\\:y\\\\z");
    }
}
