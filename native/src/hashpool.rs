//! Files hashed on threads of their own, for the digest memo in Node (napi.rs). A resolve hands
//! over each file as its walk finds it and goes on walking; the digests are ready, or nearly,
//! when it asks for them. Node's own sha256 runs on its one JavaScript thread: a 30-program
//! bundle (113 MiB) spent ~140 ms there, after the walk, with the second core idle.
//!
//! Each result is one line of text: `ok <sha256> <bytes read> <dev>:<ino>:<size>:<mtime_ns>:<ctime_ns>`,
//! the last word the state from fstat of the descriptor read (as sidebundle's openRegular gives
//! it), in the form of the memo's statKey (lib/cache/digest-memo.ts); or `err <why>`. The caller hashes a file that failed here itself, so every error it reports is
//! its own, worded as ever.

use std::collections::{HashMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::sync::{Condvar, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use crate::sha256::{hex, Sha256};

const O_NONBLOCK: i32 = 0o4000;
const O_NOCTTY: i32 = 0o400;
/// Reads of 1 MiB into a buffer each thread keeps: no memory touched anew per file.
const CHUNK: usize = 1 << 20;
/// Threads at most, whatever the CPU count: reading and hashing is memory-bound past a few.
const MAX_THREADS: usize = 4;

#[derive(Default)]
struct State {
    queue: VecDeque<(u64, String)>,
    /// Jobs a thread is hashing now.
    running: std::collections::HashSet<u64>,
    results: HashMap<u64, String>,
    next: u64,
    threads: usize,
}

#[derive(Default)]
struct Pool {
    state: Mutex<State>,
    work: Condvar,
    done: Condvar,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(Pool::default)
}

/// Whether this CPU has the SHA extensions. Without them the portable code here is slower than
/// Node's (OpenSSL), threads or not, and the caller keeps hashing itself.
pub fn accelerated() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("sha") && std::arch::is_x86_feature_detected!("sse4.1")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Queue `path` for hashing; the id to take its result by.
pub fn queue(path: String) -> u64 {
    let pool = pool();
    let mut state = pool.state.lock().unwrap_or_else(|e| e.into_inner());
    let id = state.next;
    state.next += 1;
    state.queue.push_back((id, path));
    // One core is left to the caller, busy with its walk meanwhile; once it waits in take(), a
    // thread more takes that core.
    let wanted = threads_wanted();
    if state.threads < wanted.min(state.queue.len() + state.threads) {
        // A thread that cannot start leaves the others (or take(), below) to do the work.
        if thread::Builder::new().name("sb-hash".into()).spawn(worker).is_ok() {
            state.threads += 1;
        }
    }
    drop(state);
    pool.work.notify_one();
    id
}

/// One core left to the caller, at least one thread, MAX_THREADS - 1 at most (take() adds one). Asked once:
/// available_parallelism reads the cgroup's CPU quota files on every call.
fn threads_wanted() -> usize {
    static WANTED: OnceLock<usize> = OnceLock::new();
    *WANTED.get_or_init(|| thread::available_parallelism().map_or(1, |n| n.get()).saturating_sub(1).clamp(1, MAX_THREADS - 1))
}

/// The result of `id`, waiting up to `timeout` for it: "" if it is not done by then (the
/// caller's event loop turns, Ctrl+C is handled, and it asks again). A job no thread has started
/// gets one more thread, up to one per core: the caller waits rather than hash a file of any
/// size itself; only where no thread could be started does it.
pub fn take(id: u64, timeout: Duration) -> String {
    let pool = pool();
    let deadline = Instant::now() + timeout;
    let mut state = pool.state.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if let Some(result) = state.results.remove(&id) {
            return result;
        }
        let queued = state.queue.iter().position(|(queued, _)| *queued == id);
        if queued.is_none() && !state.running.contains(&id) {
            return "err no such job (never queued, or taken already)".into();
        }
        if let Some(at) = queued {
            if state.threads < threads_wanted() + 1 && thread::Builder::new().name("sb-hash".into()).spawn(worker).is_ok() {
                state.threads += 1;
                pool.work.notify_one();
            }
            if state.threads == 0 {
                let (_, path) = state.queue.remove(at).expect("the position just found");
                drop(state);
                return hash_file(&path, &mut Vec::new());
            }
        }
        let now = Instant::now();
        if now >= deadline {
            return String::new();
        }
        state = pool.done.wait_timeout(state, deadline - now).unwrap_or_else(|e| e.into_inner()).0;
    }
}

fn worker() {
    let pool = pool();
    let mut buffer = Vec::new();
    loop {
        let (id, path) = {
            let mut state = pool.state.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                if let Some(job) = state.queue.pop_front() {
                    state.running.insert(job.0);
                    break job;
                }
                state = pool.work.wait(state).unwrap_or_else(|e| e.into_inner());
            }
        };
        // A panic must still post a result: take() waits for every job a thread took.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hash_file(&path, &mut buffer))).unwrap_or_else(|_| "err the hashing thread panicked".into());
        let mut state = pool.state.lock().unwrap_or_else(|e| e.into_inner());
        state.running.remove(&id);
        state.results.insert(id, result);
        drop(state);
        pool.done.notify_all();
    }
}

/// Open as openRegular does (no blocking on a FIFO, no controlling terminal), check it is a
/// regular file before reading a byte, then hash what the reads return.
pub fn hash_file(path: &str, buffer: &mut Vec<u8>) -> String {
    let file = match OpenOptions::new().read(true).custom_flags(O_NONBLOCK | O_NOCTTY).open(path) {
        Ok(file) => file,
        Err(e) => return format!("err {}", e),
    };
    let meta = match file.metadata() {
        Ok(meta) => meta,
        Err(e) => return format!("err {}", e),
    };
    if !meta.file_type().is_file() {
        return "err not a regular file".into();
    }
    match digest(file, buffer) {
        Ok((sha, size)) => {
            let ns = |sec: i64, nsec: i64| i128::from(sec) * 1_000_000_000 + i128::from(nsec);
            format!("ok {} {} {}:{}:{}:{}:{}", sha, size, meta.dev(), meta.ino(), meta.size(), ns(meta.mtime(), meta.mtime_nsec()), ns(meta.ctime(), meta.ctime_nsec()))
        }
        Err(e) => format!("err {}", e),
    }
}

fn digest(mut file: File, buffer: &mut Vec<u8>) -> std::io::Result<(String, u64)> {
    buffer.resize(CHUNK, 0);
    let mut hash = Sha256::default();
    let mut size = 0u64;
    loop {
        let n = match file.read(buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hash.update(&buffer[..n]);
        size += n as u64;
    }
    Ok((hex(&hash.finish()), size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_on_threads_and_reports_the_state_read() {
        let dir = std::env::temp_dir().join(format!("sb-hashpool-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("abc");
        std::fs::write(&file, b"abc").unwrap();
        let ids: Vec<u64> = (0..5).map(|_| queue(file.to_string_lossy().into_owned())).collect();
        for id in ids {
            let result = take(id, Duration::from_secs(60));
            let fields: Vec<&str> = result.split(' ').collect();
            assert_eq!(fields[..3], ["ok", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "3"], "{result}");
            assert_eq!(fields.len(), 4);
            assert_eq!(fields[3].split(':').nth(2), Some("3"));
        }
        assert!(take(queue(dir.to_string_lossy().into_owned()), Duration::from_secs(60)).starts_with("err not a regular file"));
        assert!(take(queue(dir.join("absent").to_string_lossy().into_owned()), Duration::from_secs(60)).starts_with("err "));
        // A wait that ends first answers "", and the job is still there to take.
        let big = dir.join("big");
        std::fs::write(&big, vec![7u8; 64 << 20]).unwrap();
        let id = queue(big.to_string_lossy().into_owned());
        assert_eq!(take(id, Duration::ZERO), "");
        assert!(take(id, Duration::from_secs(60)).starts_with("ok "));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
