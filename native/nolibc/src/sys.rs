//! Linux x86-64 system calls without a C library: each returns the kernel's answer, an error
//! as `Errno` (nothing is kept in a global errno). Safe in any process, with or without libc.

use alloc::vec::Vec;
use core::arch::asm;
use core::fmt;

/// An error number from the kernel; shown as the standard library shows an OS error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Errno(pub i32);

pub const EPERM: i32 = 1;
pub const ENOENT: i32 = 2;
pub const EINTR: i32 = 4;
pub const EIO: i32 = 5;
pub const ENOEXEC: i32 = 8;
pub const EACCES: i32 = 13;
pub const ETXTBSY: i32 = 26;
pub const EEXIST: i32 = 17;
pub const ELOOP: i32 = 40;
pub const EBADF: i32 = 9;
pub const EINVAL: i32 = 22;
pub const ERANGE: i32 = 34;
pub const ENAMETOOLONG: i32 = 36;

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        // glibc's texts for the errors a launch meets; the number always follows.
        let text = match self.0 {
            1 => "Operation not permitted",
            2 => "No such file or directory",
            5 => "Input/output error",
            7 => "Argument list too long",
            8 => "Exec format error",
            9 => "Bad file descriptor",
            12 => "Cannot allocate memory",
            13 => "Permission denied",
            14 => "Bad address",
            16 => "Device or resource busy",
            17 => "File exists",
            19 => "No such device",
            20 => "Not a directory",
            21 => "Is a directory",
            22 => "Invalid argument",
            23 => "Too many open files in system",
            24 => "Too many open files",
            26 => "Text file busy",
            28 => "No space left on device",
            30 => "Read-only file system",
            34 => "Numerical result out of range",
            36 => "File name too long",
            40 => "Too many levels of symbolic links",
            _ => return write!(f, "Unknown error {} (os error {})", self.0, self.0),
        };
        write!(f, "{} (os error {})", text, self.0)
    }
}

const SYS_READ: usize = 0;
const SYS_WRITE: usize = 1;
const SYS_OPEN: usize = 2;
const SYS_CLOSE: usize = 3;
const SYS_FSTAT: usize = 5;
const SYS_POLL: usize = 7;
const SYS_PREAD64: usize = 17;
const SYS_SENDFILE: usize = 40;
const SYS_MMAP: usize = 9;
const SYS_EXECVE: usize = 59;
const SYS_FCNTL: usize = 72;
const SYS_READLINK: usize = 89;
const SYS_EXIT_GROUP: usize = 231;
const SYS_NEWFSTATAT: usize = 262;
const SYS_GETCWD: usize = 79;
const SYS_CHDIR: usize = 80;
const SYS_MKDIR: usize = 83;
const SYS_SYMLINK: usize = 88;
const SYS_GETUID: usize = 102;
const SYS_GETGID: usize = 104;
const SYS_CAPGET: usize = 125;
const SYS_STATFS: usize = 137;
const SYS_CHROOT: usize = 161;
const SYS_MOUNT: usize = 165;
const SYS_UMOUNT2: usize = 166;
const SYS_GETDENTS64: usize = 217;
const SYS_CLOCK_GETTIME: usize = 228;
const SYS_UNSHARE: usize = 272;
const SYS_MEMFD_CREATE: usize = 319;
const SYS_EXECVEAT: usize = 322;

/// # Safety
/// The arguments must be valid for system call `n`.
#[inline]
pub unsafe fn syscall(n: usize, a: usize, b: usize, c: usize, d: usize, e: usize, f: usize) -> isize {
    let ret: isize;
    asm!("syscall", inlateout("rax") n as isize => ret, in("rdi") a, in("rsi") b, in("rdx") c, in("r10") d, in("r8") e, in("r9") f,
        lateout("rcx") _, lateout("r11") _, options(nostack));
    ret
}

fn check(ret: isize) -> Result<usize, Errno> {
    if (-4095..0).contains(&ret) {
        Err(Errno(-ret as i32))
    } else {
        Ok(ret as usize)
    }
}

/// `bytes` with a NUL after it, for the kernel; a NUL inside is EINVAL (no such path).
pub fn c_string(bytes: &[u8]) -> Result<Vec<u8>, Errno> {
    if bytes.contains(&0) {
        return Err(Errno(EINVAL));
    }
    let mut out = Vec::with_capacity(bytes.len() + 1);
    out.extend_from_slice(bytes);
    out.push(0);
    Ok(out)
}

pub const O_RDONLY: usize = 0;
pub const O_WRONLY: usize = 1;
pub const O_RDWR: usize = 2;
pub const O_CREAT: usize = 0o100;
pub const O_EXCL: usize = 0o200;
pub const O_TRUNC: usize = 0o1000;
pub const O_DIRECTORY: usize = 0o200000;
pub const O_CLOEXEC: usize = 0o2000000;
pub const O_PATH: usize = 0o10000000;
/// An unnamed file in the directory opened (with O_DIRECTORY's bit, as the kernel defines it).
pub const O_TMPFILE: usize = 0o20200000;

pub fn open(path: &[u8], flags: usize) -> Result<i32, Errno> {
    open_mode(path, flags, 0)
}

pub fn open_mode(path: &[u8], flags: usize, mode: usize) -> Result<i32, Errno> {
    let c = c_string(path)?;
    // SAFETY: a NUL-terminated path that outlives the call.
    check(unsafe { syscall(SYS_OPEN, c.as_ptr() as usize, flags, mode, 0, 0, 0) }).map(|fd| fd as i32)
}

/// A system call on one path argument (the rest plain numbers).
fn path_call(n: usize, path: &[u8], b: usize, c: usize) -> Result<usize, Errno> {
    let p = c_string(path)?;
    // SAFETY: a NUL-terminated path that outlives the call; `b` and `c` are numbers.
    check(unsafe { syscall(n, p.as_ptr() as usize, b, c, 0, 0, 0) })
}

pub fn mkdir(path: &[u8], mode: usize) -> Result<(), Errno> {
    path_call(SYS_MKDIR, path, mode, 0).map(|_| ())
}

pub fn chdir(path: &[u8]) -> Result<(), Errno> {
    path_call(SYS_CHDIR, path, 0, 0).map(|_| ())
}

pub fn chroot(path: &[u8]) -> Result<(), Errno> {
    path_call(SYS_CHROOT, path, 0, 0).map(|_| ())
}

pub fn symlink(text: &[u8], at: &[u8]) -> Result<(), Errno> {
    let (t, a) = (c_string(text)?, c_string(at)?);
    // SAFETY: two NUL-terminated paths that outlive the call.
    check(unsafe { syscall(SYS_SYMLINK, t.as_ptr() as usize, a.as_ptr() as usize, 0, 0, 0, 0) }).map(|_| ())
}

pub const MNT_DETACH: usize = 2;

pub fn umount2(target: &[u8], flags: usize) -> Result<(), Errno> {
    path_call(SYS_UMOUNT2, target, flags, 0).map(|_| ())
}

pub const MS_RDONLY: usize = 1;
pub const MS_NOSUID: usize = 2;
pub const MS_NODEV: usize = 4;
pub const MS_REMOUNT: usize = 32;
pub const MS_BIND: usize = 4096;
pub const MS_MOVE: usize = 8192;
pub const MS_REC: usize = 16384;
pub const MS_PRIVATE: usize = 1 << 18;

/// mount(2); None for the source, type or data passes NULL.
pub fn mount(source: Option<&[u8]>, target: &[u8], fstype: Option<&[u8]>, flags: usize, data: Option<&[u8]>) -> Result<(), Errno> {
    let owned = |v: Option<&[u8]>| v.map(c_string).transpose();
    let (source, target, fstype, data) = (owned(source)?, c_string(target)?, owned(fstype)?, owned(data)?);
    let ptr = |v: &Option<Vec<u8>>| v.as_ref().map_or(0, |b| b.as_ptr() as usize);
    // SAFETY: NUL-terminated strings (or NULL) that outlive the call.
    check(unsafe { syscall(SYS_MOUNT, ptr(&source), target.as_ptr() as usize, ptr(&fstype), flags, ptr(&data), 0) }).map(|_| ())
}

pub const CLONE_NEWNS: usize = 0x20000;
pub const CLONE_NEWUSER: usize = 0x10000000;

pub fn unshare(flags: usize) -> Result<(), Errno> {
    // SAFETY: unshare takes flags only.
    check(unsafe { syscall(SYS_UNSHARE, flags, 0, 0, 0, 0, 0) }).map(|_| ())
}

pub fn getuid() -> u32 {
    // SAFETY: no arguments, cannot fail.
    unsafe { syscall(SYS_GETUID, 0, 0, 0, 0, 0, 0) as u32 }
}

pub fn getgid() -> u32 {
    // SAFETY: no arguments, cannot fail.
    unsafe { syscall(SYS_GETGID, 0, 0, 0, 0, 0, 0) as u32 }
}

/// The working directory (None where it is gone or unreachable).
pub fn getcwd() -> Option<Vec<u8>> {
    let mut buf = alloc::vec![0u8; 4096];
    // SAFETY: a buffer of 4096 bytes.
    let n = check(unsafe { syscall(SYS_GETCWD, buf.as_mut_ptr() as usize, buf.len(), 0, 0, 0, 0) }).ok()?;
    // The kernel counts the NUL; an unreachable directory comes back as "(unreachable)...".
    buf.truncate(n.saturating_sub(1));
    (buf.first() == Some(&b'/')).then_some(buf)
}

/// Write `bytes` to a file that exists (a /proc file, say).
pub fn write_file(path: &[u8], bytes: &[u8]) -> Result<(), Errno> {
    let fd = open(path, O_WRONLY | O_CLOEXEC)?;
    // SAFETY: writing from a buffer we own, at most its length.
    let written = check(unsafe { syscall(SYS_WRITE, fd as usize, bytes.as_ptr() as usize, bytes.len(), 0, 0, 0) });
    close(fd);
    match written {
        Ok(n) if n == bytes.len() => Ok(()),
        Ok(_) => Err(Errno(EIO)),
        Err(e) => Err(e),
    }
}

/// Create a new empty file (O_EXCL: never one that exists, never through a link).
pub fn create_new(path: &[u8]) -> Result<(), Errno> {
    open_mode(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644).map(close)
}

/// Create or truncate a file (File::create).
pub fn create(path: &[u8]) -> Result<(), Errno> {
    open_mode(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o666).map(close)
}

/// mkdir -p (std::fs::create_dir_all: existing directories are fine).
pub fn create_dir_all(path: &[u8]) -> Result<(), Errno> {
    match mkdir(path, 0o777) {
        Ok(()) => return Ok(()),
        Err(Errno(EEXIST)) if file_type(path, true) == Ok(S_IFDIR) => return Ok(()),
        Err(Errno(ENOENT)) => {}
        Err(e) => return Err(e),
    }
    match crate::path::parent(path) {
        Some(parent) if !parent.is_empty() => create_dir_all(&parent)?,
        _ => return Err(Errno(ENOENT)),
    }
    match mkdir(path, 0o777) {
        Err(Errno(EEXIST)) if file_type(path, true) == Ok(S_IFDIR) => Ok(()),
        other => other,
    }
}

/// The kinds readdir gives (d_type); None where the file system does not say.
pub const DT_DIR: u8 = 4;
pub const DT_LNK: u8 = 10;
pub const DT_UNKNOWN: u8 = 0;

/// A directory's entries (without `.` and `..`) with their d_type.
pub fn read_dir(path: &[u8]) -> Result<Vec<(Vec<u8>, u8)>, Errno> {
    let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)?;
    let mut out = Vec::new();
    let mut buf = alloc::vec![0u8; 8 * 1024];
    let result = loop {
        // SAFETY: a buffer of its own length.
        let n = match check(unsafe { syscall(SYS_GETDENTS64, fd as usize, buf.as_mut_ptr() as usize, buf.len(), 0, 0, 0) }) {
            Ok(0) => break Ok(out),
            Ok(n) => n,
            Err(e) => break Err(e),
        };
        let mut at = 0;
        // struct linux_dirent64: ino u64, off i64, reclen u16, type u8, name NUL-terminated.
        while at + 19 <= n {
            let reclen = u16::from_ne_bytes([buf[at + 16], buf[at + 17]]) as usize;
            let kind = buf[at + 18];
            let name_area = &buf[at + 19..(at + reclen).min(n)];
            let name = &name_area[..name_area.iter().position(|&b| b == 0).unwrap_or(name_area.len())];
            if name != b"." && name != b".." {
                out.push((name.to_vec(), kind));
            }
            if reclen == 0 {
                break;
            }
            at += reclen;
        }
    };
    close(fd);
    result
}

/// statfs(2)'s mount flags (ST_RDONLY, ST_NOSUID ...).
pub fn mount_flags(path: &[u8]) -> Result<u64, Errno> {
    let c = c_string(path)?;
    let mut buf = [0u64; 15]; // struct statfs: 120 bytes, f_flags the 11th word on x86-64
    // SAFETY: a NUL-terminated path and a buffer the size of struct statfs.
    check(unsafe { syscall(SYS_STATFS, c.as_ptr() as usize, buf.as_mut_ptr() as usize, 0, 0, 0, 0) })?;
    Ok(buf[10])
}

/// Whether this process has capability `cap` in its effective set (capget, version 3).
pub fn has_capability(cap: u32) -> bool {
    let mut header = [0x2008_0522u32, 0];
    let mut data = [0u32; 6]; // two of { effective, permitted, inheritable }
    // SAFETY: header and data laid out as capget(2) expects for version 3.
    if check(unsafe { syscall(SYS_CAPGET, header.as_mut_ptr() as usize, data.as_mut_ptr() as usize, 0, 0, 0, 0) }).is_err() {
        return false;
    }
    let word = (cap / 32) as usize;
    word < 2 && data[word * 3] & (1 << (cap % 32)) != 0
}

/// CLOCK_MONOTONIC in nanoseconds.
pub fn monotonic_ns() -> u64 {
    let mut t = [0i64; 2];
    // SAFETY: a struct timespec.
    unsafe { syscall(SYS_CLOCK_GETTIME, 1, t.as_mut_ptr() as usize, 0, 0, 0, 0) };
    t[0] as u64 * 1_000_000_000 + t[1] as u64
}

pub fn close(fd: i32) {
    // SAFETY: closing a descriptor this process owns.
    unsafe { syscall(SYS_CLOSE, fd as usize, 0, 0, 0, 0, 0) };
}

pub fn read(fd: i32, buf: &mut [u8]) -> Result<usize, Errno> {
    // SAFETY: reading into a buffer we own, at most its length.
    check(unsafe { syscall(SYS_READ, fd as usize, buf.as_mut_ptr() as usize, buf.len(), 0, 0, 0) })
}

/// Write all of `bytes` (best effort: an error ends it).
pub fn write_all(fd: i32, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: writing from a buffer we own, at most its length.
        match check(unsafe { syscall(SYS_WRITE, fd as usize, bytes.as_ptr() as usize, bytes.len(), 0, 0, 0) }) {
            Ok(0) => return,
            Ok(n) => bytes = &bytes[n..],
            Err(Errno(EINTR)) => {}
            Err(_) => return,
        }
    }
}

/// The whole file.
pub fn read_file(path: &[u8]) -> Result<Vec<u8>, Errno> {
    read_file_with(path, 4096)
}

/// The whole file, read `chunk` bytes at a time at least (a /proc file such as mountinfo is
/// rendered anew for every read(2): read it in one).
pub fn read_file_with(path: &[u8], chunk: usize) -> Result<Vec<u8>, Errno> {
    let fd = open(path, O_RDONLY | O_CLOEXEC)?;
    let mut out = Vec::with_capacity(chunk);
    let result = loop {
        // Grown only when full: the read that says "end of file" needs no more room.
        if out.len() == out.capacity() {
            out.reserve(out.len().max(chunk));
        }
        let len = out.len();
        let spare = out.capacity() - len;
        // SAFETY: the spare capacity is allocated; only what read(2) filled is kept.
        let got = unsafe {
            out.set_len(len + spare);
            let got = read(fd, &mut out[len..]);
            out.set_len(len + *got.as_ref().unwrap_or(&0));
            got
        };
        match got {
            Ok(0) => break Ok(out),
            Ok(_) | Err(Errno(EINTR)) => {}
            Err(e) => break Err(e),
        }
    };
    close(fd);
    result
}

/// A symbolic link's text.
pub fn readlink(path: &[u8]) -> Result<Vec<u8>, Errno> {
    let c = c_string(path)?;
    let mut size = 256;
    loop {
        let mut buf = alloc::vec![0u8; size];
        // SAFETY: a NUL-terminated path and a buffer of `size` bytes.
        let n = check(unsafe { syscall(SYS_READLINK, c.as_ptr() as usize, buf.as_mut_ptr() as usize, size, 0, 0, 0) })?;
        if n < size {
            buf.truncate(n);
            return Ok(buf);
        }
        if size >= 1 << 16 {
            return Err(Errno(ENAMETOOLONG));
        }
        size *= 4;
    }
}

/// x86-64 `struct stat`: the mode is all a launcher asks.
#[repr(C)]
struct Stat {
    dev: u64,
    ino: u64,
    nlink: u64,
    mode: u32,
    uid: u32,
    gid: u32,
    pad: u32,
    rest: [u64; 14],
}

pub const S_IFMT: u32 = 0o170000;
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFREG: u32 = 0o100000;
pub const S_IFLNK: u32 = 0o120000;

const AT_FDCWD: isize = -100;
const AT_SYMLINK_NOFOLLOW: usize = 0x100;

/// What a single file's warm start asks of a path: its whole mode, owner and size.
#[derive(Clone, Copy)]
pub struct Meta {
    pub mode: u32,
    pub uid: u32,
    pub size: u64,
}

impl Meta {
    pub fn kind(&self) -> u32 {
        self.mode & S_IFMT
    }
}

fn meta(st: &Stat) -> Meta {
    Meta { mode: st.mode, uid: st.uid, size: st.rest[1] }
}

/// lstat(2).
pub fn lstat(path: &[u8]) -> Result<Meta, Errno> {
    let c = c_string(path)?;
    // SAFETY: all-zero is a valid `Stat`.
    let mut st: Stat = unsafe { core::mem::zeroed() };
    // SAFETY: a NUL-terminated path and a `struct stat` of the kernel's layout.
    check(unsafe { syscall(SYS_NEWFSTATAT, AT_FDCWD as usize, c.as_ptr() as usize, &mut st as *mut Stat as usize, AT_SYMLINK_NOFOLLOW, 0, 0) })?;
    Ok(meta(&st))
}

/// fstat(2).
pub fn fstat(fd: i32) -> Result<Meta, Errno> {
    // SAFETY: all-zero is a valid `Stat`.
    let mut st: Stat = unsafe { core::mem::zeroed() };
    // SAFETY: a `struct stat` of the kernel's layout.
    check(unsafe { syscall(SYS_FSTAT, fd as usize, &mut st as *mut Stat as usize, 0, 0, 0, 0) })?;
    Ok(meta(&st))
}

/// pread(2) until `buf` is full (or the file ends: Ok(false)).
pub fn pread_exact(fd: i32, buf: &mut [u8], mut offset: u64) -> Result<bool, Errno> {
    let mut at = 0;
    while at < buf.len() {
        // SAFETY: reading into the rest of a buffer we own.
        match check(unsafe { syscall(SYS_PREAD64, fd as usize, buf[at..].as_mut_ptr() as usize, buf.len() - at, offset as usize, 0, 0) }) {
            Ok(0) => return Ok(false),
            Ok(n) => {
                at += n;
                offset += n as u64;
            }
            Err(Errno(EINTR)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

pub const MFD_CLOEXEC: usize = 1;
/// Executable (Linux 6.3+; older kernels refuse the flag, and every memfd is executable there).
pub const MFD_EXEC: usize = 0x10;

/// memfd_create(2).
pub fn memfd_create(name: &[u8], flags: usize) -> Result<i32, Errno> {
    path_call(SYS_MEMFD_CREATE, name, flags, 0).map(|fd| fd as i32)
}

/// `len` bytes of `from` at `offset` appended to `to` (sendfile(2), in the kernel).
pub fn send_range(to: i32, from: i32, mut offset: u64, mut len: u64) -> Result<(), Errno> {
    while len > 0 {
        let mut at = offset as i64;
        // SAFETY: an offset the call updates; descriptors this process owns.
        match check(unsafe { syscall(SYS_SENDFILE, to as usize, from as usize, &mut at as *mut i64 as usize, len.min(1 << 30) as usize, 0, 0) }) {
            Ok(0) => return Err(Errno(EIO)),
            Ok(n) => {
                offset += n as u64;
                len -= n as u64;
            }
            Err(Errno(EINTR)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Let `fd` be inherited across execve (clear FD_CLOEXEC).
pub fn keep_on_exec(fd: i32) -> Result<(), Errno> {
    const F_SETFD: usize = 2;
    // SAFETY: fcntl on a descriptor; no pointers.
    check(unsafe { syscall(SYS_FCNTL, fd as usize, F_SETFD, 0, 0, 0, 0) }).map(|_| ())
}

/// The path /proc/self/fd/N that reopens the file open as `fd`.
pub fn fd_path(fd: i32) -> Vec<u8> {
    let mut link = b"/proc/self/fd/".to_vec();
    link.extend_from_slice(&crate::path::decimal(fd as u64));
    link
}

/// The file type bits of `path` (`follow`: through a final link, as stat(2); else lstat(2)).
pub fn file_type(path: &[u8], follow: bool) -> Result<u32, Errno> {
    let c = c_string(path)?;
    // SAFETY: all-zero is a valid `Stat`.
    let mut st: Stat = unsafe { core::mem::zeroed() };
    let flags = if follow { 0 } else { AT_SYMLINK_NOFOLLOW };
    // SAFETY: a NUL-terminated path and a `struct stat` of the kernel's layout.
    check(unsafe { syscall(SYS_NEWFSTATAT, AT_FDCWD as usize, c.as_ptr() as usize, &mut st as *mut Stat as usize, flags, 0, 0) })?;
    Ok(st.mode & S_IFMT)
}

/// The absolute path with every link resolved (realpath(3)), as the kernel names the file:
/// opened with O_PATH, then /proc/self/fd/N read back.
pub fn canonicalize(path: &[u8]) -> Result<Vec<u8>, Errno> {
    let fd = open(path, O_PATH | O_CLOEXEC)?;
    let result = readlink(&fd_path(fd));
    close(fd);
    result
}

const AT_EMPTY_PATH: usize = 0x1000;

/// execveat(2) of the open file `fd` itself (AT_EMPTY_PATH); returns only with the error.
pub fn execve_fd(fd: i32, argv: &[Vec<u8>], env: &[Vec<u8>]) -> Errno {
    let owned = |list: &[Vec<u8>]| -> Result<Vec<Vec<u8>>, Errno> { list.iter().map(|a| c_string(a)).collect() };
    let (Ok(argv), Ok(env)) = (owned(argv), owned(env)) else { return Errno(EINVAL) };
    let pointers = |list: &[Vec<u8>]| -> Vec<*const u8> { list.iter().map(|a| a.as_ptr()).chain(core::iter::once(core::ptr::null())).collect() };
    let (argv_p, env_p) = (pointers(&argv), pointers(&env));
    // SAFETY: an empty NUL-terminated path, NUL-terminated strings and NULL-terminated arrays.
    let ret = unsafe { syscall(SYS_EXECVEAT, fd as usize, b"\0".as_ptr() as usize, argv_p.as_ptr() as usize, env_p.as_ptr() as usize, AT_EMPTY_PATH, 0) };
    check(ret).err().unwrap_or(Errno(EINVAL))
}

/// execve(2); returns only with the error.
pub fn execve(path: &[u8], argv: &[Vec<u8>], env: &[Vec<u8>]) -> Errno {
    let Ok(path) = c_string(path) else { return Errno(EINVAL) };
    let owned = |list: &[Vec<u8>]| -> Result<Vec<Vec<u8>>, Errno> { list.iter().map(|a| c_string(a)).collect() };
    let (Ok(argv), Ok(env)) = (owned(argv), owned(env)) else { return Errno(EINVAL) };
    let pointers = |list: &[Vec<u8>]| -> Vec<*const u8> { list.iter().map(|a| a.as_ptr()).chain(core::iter::once(core::ptr::null())).collect() };
    let (argv_p, env_p) = (pointers(&argv), pointers(&env));
    // SAFETY: NUL-terminated strings and NULL-terminated arrays that outlive the call.
    let ret = unsafe { syscall(SYS_EXECVE, path.as_ptr() as usize, argv_p.as_ptr() as usize, env_p.as_ptr() as usize, 0, 0, 0) };
    check(ret).err().unwrap_or(Errno(EINVAL))
}

pub fn exit(code: i32) -> ! {
    loop {
        // SAFETY: exit_group ends the process.
        unsafe { syscall(SYS_EXIT_GROUP, code as usize, 0, 0, 0, 0, 0) };
    }
}

pub const PROT_READ: usize = 1;
pub const PROT_WRITE: usize = 2;
pub const MAP_PRIVATE: usize = 2;
pub const MAP_ANONYMOUS: usize = 0x20;

/// Fresh zeroed memory of `len` bytes (None where the kernel refuses).
pub fn map_anonymous(len: usize) -> Option<*mut u8> {
    // SAFETY: an anonymous private mapping chosen by the kernel.
    let ret = unsafe { syscall(SYS_MMAP, 0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, usize::MAX, 0) };
    check(ret).ok().map(|addr| addr as *mut u8)
}

#[repr(C)]
struct PollFd {
    fd: i32,
    events: i16,
    revents: i16,
}

const POLLNVAL: i16 = 0x20;
const F_GETFD: usize = 1;

/// Descriptors 0, 1 and 2 that are closed are opened on /dev/null, as the standard library's
/// start-up does (poll, or fcntl where poll is refused); false where /dev/null cannot be opened.
pub fn open_closed_stdio() -> bool {
    let mut fds = [0, 1, 2].map(|fd| PollFd { fd, events: 0, revents: 0 });
    loop {
        // SAFETY: poll on a local array of three entries.
        match check(unsafe { syscall(SYS_POLL, fds.as_mut_ptr() as usize, 3, 0, 0, 0, 0) }) {
            Ok(_) => break,
            Err(Errno(EINTR)) => continue,
            Err(_) => {
                for fd in 0..3 {
                    // SAFETY: F_GETFD on a descriptor number only reads its flags.
                    let closed = check(unsafe { syscall(SYS_FCNTL, fd, F_GETFD, 0, 0, 0, 0) }) == Err(Errno(EBADF));
                    if closed && open(b"/dev/null", O_RDWR).is_err() {
                        return false;
                    }
                }
                return true;
            }
        }
    }
    fds.iter().all(|pfd| pfd.revents & POLLNVAL == 0 || open(b"/dev/null", O_RDWR).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_as_the_standard_librarys() {
        assert_eq!(alloc::format!("{}", Errno(2)), std::io::Error::from_raw_os_error(2).to_string());
        assert_eq!(alloc::format!("{}", Errno(40)), std::io::Error::from_raw_os_error(40).to_string());
    }

    #[test]
    fn files_links_and_kinds() {
        let dir = std::env::temp_dir().join(format!("sb-nolibc-sys-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("d")).unwrap();
        std::fs::write(dir.join("d/f"), vec![7u8; 10_000]).unwrap();
        std::os::unix::fs::symlink("d/f", dir.join("l")).unwrap();
        let b = |p: &str| dir.join(p).into_os_string().into_encoded_bytes();
        assert_eq!(read_file(&b("l")).unwrap(), vec![7u8; 10_000]);
        assert_eq!(readlink(&b("l")).unwrap(), b"d/f");
        assert_eq!(file_type(&b("l"), false), Ok(S_IFLNK));
        assert_eq!(file_type(&b("l"), true), Ok(S_IFREG));
        assert_eq!(file_type(&b("d"), true), Ok(S_IFDIR));
        assert_eq!(file_type(&b("none"), true), Err(Errno(ENOENT)));
        assert_eq!(canonicalize(&b("l")).unwrap(), std::fs::canonicalize(dir.join("l")).unwrap().into_os_string().into_encoded_bytes());
        assert_eq!(read_file(b"with\0nul"), Err(Errno(EINVAL)));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
