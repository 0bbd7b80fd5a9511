//! The records of a format-3 single file as one byte stream (BufRead). Members are independent
//! DEFLATE streams, so worker threads (one per CPU, at most MAX_WORKERS) inflate the next few
//! while this thread hashes and hands out the current one, in order. Memory stays bounded
//! whatever the bundle's size: the members in flight never promise more than IN_FLIGHT bytes
//! (one at least), buffers are reused, and every byte handed out is hashed on the way (the
//! digest is known once the stream is drained). The workers are joined, and gone from the
//! thread group, when this is dropped: the entry then runs in this process, and unshare of a
//! user namespace refuses a process with other threads.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::inflate::inflate_into;
use crate::sha256::Sha256;

/// The largest member accepted (the writer makes 1 MiB ones): bounds memory on a hostile index.
const MAX_MEMBER: u32 = 16 << 20;
/// A stored DEFLATE stream of MAX_MEMBER bytes with room to spare.
const MAX_COMPRESSED: u32 = MAX_MEMBER + (MAX_MEMBER >> 8) + 1024;
/// Uncompressed bytes the members being inflated ahead may promise together.
const IN_FLIGHT: u64 = 8 << 20;
const MAX_WORKERS: usize = 4;
/// Buffers up to this size are reused.
const RECYCLE: usize = 2 << 20;

/// One member to inflate: its number, compressed bytes, a buffer to inflate into, its size.
struct Job {
    member: u64,
    compressed: Vec<u8>,
    out: Vec<u8>,
    size: usize,
    done: SyncSender<Done>,
}

/// The inflated member (or why not), with both buffers back for reuse.
struct Done {
    result: Result<(), String>,
    compressed: Vec<u8>,
    out: Vec<u8>,
}

/// A member handed to the workers, in stream order; an index entry that could not be read
/// is queued as its error so that it surfaces in order too.
type Pending = io::Result<Receiver<Done>>;

pub struct Members {
    file: File,
    index: BufReader<File>,
    members_left: u64,
    count: u64,
    /// The next member to hand out (read from the index) and one read but not yet handed out.
    next: u64,
    peeked: Option<(u32, u32)>,
    pending: VecDeque<(u32, Pending)>,
    pending_bytes: u64,
    jobs: Option<SyncSender<Job>>,
    /// Each worker with its thread id.
    workers: Vec<(JoinHandle<()>, i32)>,
    spare: Vec<Vec<u8>>,
    out: Vec<u8>,
    pos: usize,
    hash: Sha256,
}

extern "C" {
    fn gettid() -> i32;
}

fn invalid(why: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why)
}

fn inflate_job(mut job: Job) {
    let result = inflate_into(&job.compressed, &mut job.out, job.size).map_err(|why| format!("member {}: {}", job.member, why)).and_then(|()| {
        if job.out.len() == job.size {
            Ok(())
        } else {
            Err(format!("member {} holds {} bytes, the index says {}", job.member, job.out.len(), job.size))
        }
    });
    // The reader may have stopped waiting (an earlier member failed): nothing to report to.
    let _ = job.done.send(Done { result, compressed: job.compressed, out: job.out });
}

/// Up to MAX_WORKERS threads taking jobs from one queue; none if threads cannot be made (the
/// reader then inflates each member itself).
fn start_workers(members: u64) -> (Option<SyncSender<Job>>, Vec<(JoinHandle<()>, i32)>) {
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let wanted = cpus.min(MAX_WORKERS).min(usize::try_from(members).unwrap_or(usize::MAX));
    if wanted == 0 {
        return (None, Vec::new());
    }
    let (jobs, queue) = sync_channel::<Job>(MAX_WORKERS * 2);
    let queue = Arc::new(Mutex::new(queue));
    let mut workers = Vec::new();
    for i in 0..wanted {
        let queue = Arc::clone(&queue);
        let (started, tid) = sync_channel(1);
        let worker = std::thread::Builder::new().name(format!("inflate-{}", i)).spawn(move || {
            // SAFETY: gettid has no preconditions.
            let _ = started.send(unsafe { gettid() });
            loop {
                let job = match queue.lock() {
                    Ok(q) => q.recv(),
                    Err(_) => return,
                };
                match job {
                    Ok(job) => inflate_job(job),
                    Err(_) => return,
                }
            }
        });
        match worker {
            Ok(handle) => workers.push((handle, tid.recv().unwrap_or(0))),
            Err(_) => break,
        }
    }
    if workers.is_empty() {
        return (None, workers);
    }
    (Some(jobs), workers)
}

impl Members {
    /// The members run from `offset` to `index`, the index (8 bytes per member) from there to
    /// `end`, where the trailer starts. The digest (finish) starts with the bytes before the
    /// members, the launcher and the runner (format 4): the code that runs is checked too.
    pub fn open(exe: &Path, offset: u64, index: u64, end: u64) -> Result<Members, String> {
        if !sidebundle_nolibc::single::layout_fits(offset, index, end) {
            return Err("its trailer does not describe a member index".into());
        }
        let mut hash = Sha256::default();
        let mut open = || -> io::Result<(File, File)> {
            let mut file = File::open(exe)?;
            let mut buf = vec![0u8; 1 << 16];
            let mut left = offset;
            while left > 0 {
                let n = file.read(&mut buf[..left.min(1 << 16) as usize])?;
                if n == 0 {
                    return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "it ends before its members"));
                }
                hash.update(&buf[..n]);
                left -= n as u64;
            }
            let mut table = File::open(exe)?;
            table.seek(SeekFrom::Start(index))?;
            Ok((file, table))
        };
        let (file, table) = open().map_err(|e| format!("cannot read it: {}", e))?;
        let count = (end - index) / 8;
        let (jobs, workers) = start_workers(count);
        Ok(Members {
            file,
            index: BufReader::with_capacity(1 << 12, table),
            members_left: index - offset,
            count,
            next: 0,
            peeked: None,
            pending: VecDeque::new(),
            pending_bytes: 0,
            jobs,
            workers,
            spare: Vec::new(),
            out: Vec::new(),
            pos: 0,
            hash,
        })
    }

    /// Hands members to the workers until IN_FLIGHT bytes are promised (one at least).
    fn dispatch(&mut self) {
        while self.next < self.count && !matches!(self.pending.back(), Some((_, Err(_)))) {
            let (compressed, size) = match self.peeked {
                Some(entry) => entry,
                None => {
                    let mut entry = [0u8; 8];
                    if let Err(e) = self.index.read_exact(&mut entry) {
                        self.pending.push_back((0, Err(e)));
                        return;
                    }
                    let entry = (u32::from_le_bytes(entry[..4].try_into().unwrap()), u32::from_le_bytes(entry[4..].try_into().unwrap()));
                    self.peeked = Some(entry);
                    entry
                }
            };
            // Both buffers count: a damaged index may claim members that inflate to nothing.
            let weight = size.max(compressed);
            if !self.pending.is_empty() && self.pending_bytes + weight as u64 > IN_FLIGHT {
                return;
            }
            self.peeked = None;
            let member = self.next;
            self.next += 1;
            let job = self.read_member(member, compressed, size);
            self.pending_bytes += weight as u64;
            self.pending.push_back((weight, job));
        }
    }

    /// Reads member `member`'s compressed bytes and gives it to a worker (or inflates it here).
    fn read_member(&mut self, member: u64, compressed: u32, size: u32) -> Pending {
        if compressed > MAX_COMPRESSED || size > MAX_MEMBER || compressed as u64 > self.members_left {
            return Err(invalid(format!("member {} has an implausible size in the index", member)));
        }
        self.members_left -= compressed as u64;
        let mut input = self.spare.pop().unwrap_or_default();
        input.clear();
        input.resize(compressed as usize, 0);
        self.file.read_exact(&mut input)?;
        let mut out = self.spare.pop().unwrap_or_default();
        out.clear();
        out.reserve_exact(size as usize);
        let (done, result) = sync_channel(1);
        let job = Job { member, compressed: input, out, size: size as usize, done };
        match &self.jobs {
            Some(jobs) => {
                if let Err(failed) = jobs.send(job) {
                    inflate_job(failed.0);
                }
            }
            None => inflate_job(job),
        }
        Ok(result)
    }

    /// The next member, inflated, in `out` (and hashed).
    fn load_next(&mut self) -> io::Result<()> {
        let Some((size, pending)) = self.pending.pop_front() else { return Ok(()) };
        self.pending_bytes -= size as u64;
        let done = pending?.recv().map_err(|_| invalid("a member could not be inflated".into()))?;
        let used = std::mem::replace(&mut self.out, done.out);
        // Buffers of the writer's 1 MiB members are reused; a hostile index's 16 MiB ones are not
        // kept around.
        for buffer in [done.compressed, used] {
            if buffer.capacity() <= RECYCLE && self.spare.len() < 2 * MAX_WORKERS {
                self.spare.push(buffer);
            }
        }
        self.pos = 0;
        if let Err(e) = done.result {
            self.out.clear(); // a failed member's partial output is never read as data
            return Err(invalid(e));
        }
        self.dispatch();
        self.hash.update(&self.out);
        Ok(())
    }

    /// The digest of everything read, once every member has been read whole.
    pub fn finish(mut self) -> Result<[u8; 32], String> {
        if self.next != self.count || !self.pending.is_empty() || self.pos != self.out.len() || self.members_left != 0 {
            return Err("the records end before the compressed data does".into());
        }
        Ok(std::mem::take(&mut self.hash).finish())
    }
}

impl Drop for Members {
    /// No worker outlives the stream: they stop once the queue is closed and their job is done.
    fn drop(&mut self) {
        self.jobs = None;
        self.pending.clear();
        for (worker, tid) in self.workers.drain(..) {
            let _ = worker.join();
            // join returns once the thread has cleared its id, a moment before the kernel
            // drops it from the thread group: wait for that (bounded: about a second).
            let task = format!("/proc/self/task/{}", tid);
            for _ in 0..20_000 {
                if tid == 0 || std::fs::symlink_metadata(&task).is_err() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_micros(50));
            }
        }
    }
}

impl Read for Members {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Members {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.pos == self.out.len() && (self.next < self.count || !self.pending.is_empty()) {
            self.dispatch();
            self.load_next()?;
        }
        Ok(&self.out[self.pos..])
    }

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.out.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A file of `junk` runner bytes, then each slice as one stored DEFLATE member, then the
    /// index; returns its path and the offsets Members::open takes.
    fn members_file(name: &str, slices: &[Vec<u8>], damage: impl Fn(usize, &mut Vec<u8>, &mut [u8; 8])) -> (std::path::PathBuf, u64, u64, u64) {
        let path = std::env::temp_dir().join(format!("sb-stream-{}-{}", std::process::id(), name));
        let mut bytes = vec![0x7fu8; 1000];
        let mut index = Vec::new();
        for (i, slice) in slices.iter().enumerate() {
            let len = slice.len() as u16;
            let mut member = vec![1u8];
            member.extend_from_slice(&len.to_le_bytes());
            member.extend_from_slice(&(!len).to_le_bytes());
            member.extend_from_slice(slice);
            let mut entry = [0u8; 8];
            entry[..4].copy_from_slice(&(member.len() as u32).to_le_bytes());
            entry[4..].copy_from_slice(&(slice.len() as u32).to_le_bytes());
            damage(i, &mut member, &mut entry);
            bytes.extend_from_slice(&member);
            index.extend_from_slice(&entry);
        }
        let at = bytes.len() as u64;
        bytes.extend_from_slice(&index);
        File::create(&path).unwrap().write_all(&bytes).unwrap();
        (path, 1000, at, bytes.len() as u64)
    }

    fn slices() -> Vec<Vec<u8>> {
        (0..40usize).map(|i| (0..(i * 1531) % 60000).map(|k| (k.wrapping_mul(2654435761) >> 7 ^ i) as u8).collect()).collect()
    }

    #[test]
    fn members_inflated_on_worker_threads_come_out_in_order_byte_for_byte() {
        let slices = slices();
        let (path, offset, index, end) = members_file("order", &slices, |_, _, _| {});
        let mut members = Members::open(&path, offset, index, end).unwrap();
        assert!(!members.workers.is_empty(), "no worker thread was started");
        let tasks: Vec<String> = members.workers.iter().map(|(_, tid)| format!("/proc/self/task/{}", tid)).collect();
        assert!(tasks.iter().all(|t| Path::new(t).exists()), "the workers' thread ids are not this process's threads");
        let mut out = Vec::new();
        members.read_to_end(&mut out).unwrap();
        let whole = slices.concat();
        assert!(out == whole, "the stream differs from the members in order");
        let mut hash = Sha256::default();
        hash.update(&std::fs::read(&path).unwrap()[..offset as usize]);
        hash.update(&whole);
        assert_eq!(members.finish().unwrap(), hash.finish());
        // finish dropped the stream: every worker has left the thread group.
        assert_eq!(tasks.iter().filter(|t| Path::new(t).exists()).count(), 0);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn a_damaged_member_fails_in_its_place_after_the_members_before_it() {
        let slices = slices();
        let (path, offset, index, end) = members_file("damaged", &slices, |i, member, _| {
            if i == 25 {
                member[3] ^= 1; // NLEN no longer the complement of LEN
            }
        });
        let mut members = Members::open(&path, offset, index, end).unwrap();
        let mut out = Vec::new();
        let err = members.read_to_end(&mut out).unwrap_err();
        assert_eq!(err.to_string(), "member 25: stored block length check failed");
        assert_eq!(out.len(), slices[..25].iter().map(Vec::len).sum::<usize>());
        drop(members); // joins the workers: a hang here fails the test run
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn an_implausible_index_entry_fails_in_its_place() {
        let slices = slices();
        let (path, offset, index, end) = members_file("index", &slices, |i, _, entry| {
            if i == 30 {
                entry[4..].copy_from_slice(&(MAX_MEMBER + 1).to_le_bytes());
            }
        });
        let mut members = Members::open(&path, offset, index, end).unwrap();
        let mut out = Vec::new();
        let err = members.read_to_end(&mut out).unwrap_err();
        assert_eq!(err.to_string(), "member 30 has an implausible size in the index");
        assert_eq!(out.len(), slices[..30].iter().map(Vec::len).sum::<usize>());
        std::fs::remove_file(path).unwrap();
    }
}
