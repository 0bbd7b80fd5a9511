//! The fanotify backend. The traced command runs in a mount namespace of its own (a copy of
//! ours: same files, but distinct mount objects), and we put FAN_MARK_MOUNT marks on those
//! copies only (reached through /proc/<child>/root). Only processes in that namespace open
//! files through those mounts, and every process the command starts inherits it, daemons that
//! call setsid included: so the events are exactly the traced tree's, with no pid bookkeeping
//! and no race with processes that exit before their events are read. A reader thread turns
//! events into paths (readlink of the event's descriptor) until the session ends.

use std::ffi::CString;
use std::io;
use std::os::raw::c_void;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::record::{Op, Record, Seen};
use crate::sys;

const SKIP_FS: [&str; 17] = [
    "proc", "sysfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "securityfs", "debugfs", "tracefs", "bpf", "mqueue",
    "hugetlbfs", "pstore", "configfs", "fusectl", "binfmt_misc", "nsfs",
];

pub struct Listener {
    fd: i32,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<(u64, bool)>>,
    pub marked: usize,
}

/// Open fanotify and mark the mounts of `pid`'s mount namespace.
pub fn start(pid: sys::pid_t, record: Arc<Mutex<Record>>) -> io::Result<Listener> {
    // SAFETY: plain syscall wrappers.
    let fd = unsafe {
        sys::fanotify_init(
            sys::FAN_CLASS_NOTIF | sys::FAN_CLOEXEC | sys::FAN_NONBLOCK | sys::FAN_UNLIMITED_QUEUE,
            (sys::O_RDONLY as u32) | sys::O_LARGEFILE | (sys::O_CLOEXEC as u32),
        )
    };
    if fd < 0 {
        return Err(sys::last_error());
    }
    let mut marked = 0;
    let mut last_error = None;
    for mountpoint in mountpoints(pid)? {
        let target = CString::new(format!("/proc/{}/root{}", pid, if mountpoint == "/" { "/" } else { &mountpoint })).unwrap_or_default();
        // SAFETY: marking a path we just built.
        let rc = unsafe {
            sys::fanotify_mark(fd, sys::FAN_MARK_ADD | sys::FAN_MARK_MOUNT, sys::FAN_OPEN | sys::FAN_OPEN_EXEC | sys::FAN_ONDIR, -100, target.as_ptr())
        };
        if rc == 0 {
            marked += 1;
        } else {
            last_error = Some(sys::last_error());
        }
    }
    if marked == 0 {
        unsafe { sys::close(fd) };
        return Err(last_error.unwrap_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no mount to watch")));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let thread = std::thread::spawn(move || read_events(fd, &flag, &record));
    Ok(Listener { fd, stop, thread: Some(thread), marked })
}

impl Listener {
    /// Stop after reading what is queued. Returns (events, overflowed).
    pub fn finish(mut self) -> (u64, bool) {
        self.stop.store(true, Ordering::SeqCst);
        let result = self.thread.take().and_then(|t| t.join().ok()).unwrap_or((0, false));
        // SAFETY: our descriptor, closed once.
        unsafe { sys::close(self.fd) };
        self.fd = -1;
        result
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if self.fd >= 0 {
            unsafe { sys::close(self.fd) };
        }
    }
}

/// Mount points of `pid`'s namespace that hold files (not proc, sys, dev and friends).
fn mountpoints(pid: sys::pid_t) -> io::Result<Vec<String>> {
    let text = std::fs::read_to_string(format!("/proc/{}/mountinfo", pid))?;
    let mut out = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(sep) = fields.iter().position(|f| *f == "-") else { continue };
        let (Some(point), Some(fstype)) = (fields.get(4), fields.get(sep + 1)) else { continue };
        if SKIP_FS.contains(fstype) {
            continue;
        }
        let point = unescape(point);
        if !out.contains(&point) {
            out.push(point);
        }
    }
    Ok(out)
}

/// mountinfo escapes space, tab, newline and backslash as \ooo.
fn unescape(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 3 < bytes.len() && bytes[i + 1..i + 4].iter().all(|b| (b'0'..=b'7').contains(b)) {
            out.push(((bytes[i + 1] - b'0') << 6) | ((bytes[i + 2] - b'0') << 3) | (bytes[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn read_events(fd: i32, stop: &AtomicBool, record: &Arc<Mutex<Record>>) -> (u64, bool) {
    let mut buf = vec![0u8; 256 * 1024];
    let mut count = 0u64;
    let mut overflow = false;
    loop {
        let stopping = stop.load(Ordering::SeqCst);
        let mut pfd = sys::PollFd { fd, events: sys::POLLIN, revents: 0 };
        // SAFETY: one pollfd.
        unsafe { sys::poll(&mut pfd, 1, if stopping { 0 } else { 25 }) };
        // SAFETY: reading events into our buffer.
        let n = unsafe { sys::read(fd, buf.as_mut_ptr() as *mut c_void, buf.len()) };
        if n <= 0 {
            if stopping {
                return (count, overflow);
            }
            continue;
        }
        let mut at = 0usize;
        let n = n as usize;
        while at + 24 <= n {
            let len = u32::from_ne_bytes(buf[at..at + 4].try_into().unwrap_or([0; 4])) as usize;
            if len < 24 || at + len > n {
                break;
            }
            let mask = u64::from_ne_bytes(buf[at + 8..at + 16].try_into().unwrap_or([0; 8]));
            let efd = i32::from_ne_bytes(buf[at + 16..at + 20].try_into().unwrap_or([0; 4]));
            if mask & sys::FAN_Q_OVERFLOW != 0 {
                overflow = true;
            }
            if efd >= 0 {
                let link = format!("/proc/self/fd/{}", efd);
                if let Ok(path) = std::fs::read_link(&link) {
                    let is_dir = std::fs::metadata(&link).map(|m| m.is_dir()).unwrap_or(false);
                    let op = if mask & sys::FAN_OPEN_EXEC != 0 { Op::Exec } else if is_dir { Op::Opendir } else { Op::Open };
                    record.lock().map(|mut r| r.add(path.to_string_lossy().into_owned(), op, true, None, Seen::Fanotify)).ok();
                    count += 1;
                }
                // SAFETY: the event's descriptor is ours to close.
                unsafe { sys::close(efd) };
            }
            at += len;
        }
    }
}
