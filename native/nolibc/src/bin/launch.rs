//! sidebundle-launch: the launcher of a bundle's entries (runtime/sidebundle-launch; bin/NAME
//! links to it), in every run mode: sidebundle_nolibc::launch. Run mode bwrap, which needs
//! threads and signal handlers, is the runner's (runtime/sidebundle-run, static glibc): the
//! launcher execs it with its own arguments and environment.
//!
//! No C library: its own _start, a bump allocator on mmap, memcpy and friends, and raw
//! system calls (sidebundle_nolibc::sys). A static glibc program spends ~0.3 ms before `main`
//! asking the CPU about itself (CPUID, a VM exit each under a hypervisor), more than the
//! launcher's own work in host mode and a third of it in ns mode (bench/results/run.md).
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]
#![cfg_attr(test, allow(dead_code, unused_imports))]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::convert::Infallible;

use sidebundle_nolibc::host::Env;
use sidebundle_nolibc::launch::{self, Request};
use sidebundle_nolibc::path::{self, join};
use sidebundle_nolibc::report::die;
use sidebundle_nolibc::{report, single, sys};

#[cfg(not(test))]
mod rt {
    use core::alloc::{GlobalAlloc, Layout};
    use core::arch::{asm, global_asm};
    use core::cell::UnsafeCell;
    use sidebundle_nolibc::sys;

    const AT_EXECFN: usize = 31;

    // The kernel starts us with argc, argv, envp and the auxiliary vector on the stack; the
    // ABI wants it 16-aligned at a call.
    global_asm!(".globl _start", "_start:", "xor ebp, ebp", "mov rdi, rsp", "and rsp, -16", "call {main}", "ud2", main = sym start);

    unsafe extern "C" fn start(sp: *const usize) -> ! {
        let argc = *sp;
        let argv = sp.add(1) as *const *const u8;
        let envp = argv.add(argc + 1);
        let strings = |mut at: *const *const u8, count: Option<usize>| {
            let mut out = alloc::vec::Vec::new();
            while !(*at).is_null() && count.map_or(true, |c| out.len() < c) {
                let s = *at;
                let len = strlen(s);
                out.push(core::slice::from_raw_parts(s, len).to_vec());
                at = at.add(1);
            }
            out
        };
        let (args, env) = (strings(argv, Some(argc)), strings(envp, None));
        // The auxiliary vector follows envp's NULL: (type, value) pairs up to AT_NULL.
        let mut auxv = envp.add(env.len() + 1) as *const usize;
        let mut execfn = None;
        while *auxv != 0 {
            if *auxv == AT_EXECFN {
                let s = *auxv.add(1) as *const u8;
                execfn = Some(core::slice::from_raw_parts(s, strlen(s)).to_vec());
            }
            auxv = auxv.add(2);
        }
        super::main(args, env, execfn)
    }

    /// Memory from mmap in chunks, never given back to the kernel: the launcher execs or exits
    /// at once. The last block is freed and grown in place, so the many short-lived paths and
    /// buffers of a launch reuse the same pages: a fresh page costs a fault (several µs under a
    /// hypervisor), which made a plain bump allocator the launcher's largest cost after the
    /// kernel's mounts.
    struct Bump(UnsafeCell<(usize, usize)>);
    // SAFETY: the launcher has one thread.
    unsafe impl Sync for Bump {}
    const CHUNK: usize = 256 * 1024;

    unsafe impl GlobalAlloc for Bump {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let (next, end) = &mut *self.0.get();
            if layout.size() > CHUNK / 4 {
                let len = (layout.size() + 4095) & !4095;
                return sys::map_anonymous(len).unwrap_or(core::ptr::null_mut());
            }
            let mut start = (*next + layout.align() - 1) & !(layout.align() - 1);
            if *next == 0 || start + layout.size() > *end {
                let Some(chunk) = sys::map_anonymous(CHUNK) else { return core::ptr::null_mut() };
                *next = chunk as usize;
                *end = *next + CHUNK;
                start = (*next + layout.align() - 1) & !(layout.align() - 1);
            }
            *next = start + layout.size();
            start as *mut u8
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            let (next, _) = &mut *self.0.get();
            if ptr as usize + layout.size() == *next {
                *next = ptr as usize;
            }
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            let (next, end) = &mut *self.0.get();
            // The last block of the chunk grows (or shrinks) where it is.
            if ptr as usize + layout.size() == *next && ptr as usize + new_size <= *end && new_size <= CHUNK / 4 {
                *next = ptr as usize + new_size;
                return ptr;
            }
            let new = self.alloc(Layout::from_size_align_unchecked(new_size, layout.align()));
            if !new.is_null() {
                core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            new
        }
    }

    #[global_allocator]
    static HEAP: Bump = Bump(UnsafeCell::new((0, 0)));

    /// Formatted text straight to stderr: a panic may be an allocation that failed.
    struct Stderr;

    impl core::fmt::Write for Stderr {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            sys::write_all(2, s.as_bytes());
            Ok(())
        }
    }

    #[panic_handler]
    fn panic(info: &core::panic::PanicInfo) -> ! {
        let _ = core::fmt::Write::write_fmt(&mut Stderr, format_args!("sidebundle: internal error in the launcher: {}\n", info));
        sys::exit(101)
    }

    /// Named by the cleanup paths of the precompiled core and alloc libraries (built to
    /// unwind); never reached: with panic = "abort" a panic ends the process in the handler
    /// above, so nothing ever unwinds.
    #[no_mangle]
    pub extern "C" fn rust_eh_personality() {}

    #[no_mangle]
    pub extern "C" fn _Unwind_Resume() -> ! {
        sys::exit(134)
    }

    // What the compiler calls for copies and comparisons (there is no C library to give them).
    #[no_mangle]
    pub unsafe extern "C" fn memcpy(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
        asm!("rep movsb", inout("rcx") n => _, inout("rdi") dest => _, inout("rsi") src => _, options(nostack, preserves_flags));
        dest
    }

    #[no_mangle]
    pub unsafe extern "C" fn memmove(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
        if (dest as usize).wrapping_sub(src as usize) >= n {
            return memcpy(dest, src, n);
        }
        // Overlapping with dest above src: copy backwards.
        asm!("std", "rep movsb", "cld", inout("rcx") n => _, inout("rdi") dest.add(n - 1) => _, inout("rsi") src.add(n - 1) => _, options(nostack));
        dest
    }

    #[no_mangle]
    pub unsafe extern "C" fn memset(dest: *mut u8, c: i32, n: usize) -> *mut u8 {
        asm!("rep stosb", inout("rcx") n => _, inout("rdi") dest => _, in("al") c as u8, options(nostack, preserves_flags));
        dest
    }

    #[no_mangle]
    pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
        for i in 0..n {
            // Volatile: a plain loop may be turned back into a call to memcmp.
            let (x, y) = (core::ptr::read_volatile(a.add(i)), core::ptr::read_volatile(b.add(i)));
            if x != y {
                return x as i32 - y as i32;
            }
        }
        0
    }

    #[no_mangle]
    pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
        memcmp(a, b, n)
    }

    #[no_mangle]
    pub unsafe extern "C" fn strlen(s: *const u8) -> usize {
        let mut n = 0;
        while core::ptr::read_volatile(s.add(n)) != 0 {
            n += 1;
        }
        n
    }
}

fn main(args: Vec<Vec<u8>>, env: Vec<Vec<u8>>, execfn: Option<Vec<u8>>) -> ! {
    let env = Env(env);
    report::init(env.get(b"SIDEBUNDLE_DEBUG"));
    if !sys::open_closed_stdio() {
        sys::exit(134);
    }
    let exe = launch::this_executable();
    // A bundle's entries run runtime/sidebundle-launch; a file by any other name may be a
    // single-file bundle that this launcher heads (a launcher copied out of its bundle is not),
    // whatever it is called.
    if path::file_name(&exe) != Some(b"sidebundle-launch") {
        if let Some(single) = single::open(&exe) {
            single::start(single, &exe, &args, env)
        }
    }
    let invoked = args.first().cloned().unwrap_or_default();
    if matches!(path::file_name(&invoked), Some(b"sidebundle-launch" | b"sidebundle-run" | b".sidebundle-run")) {
        die("sidebundle-launch starts a bundle's entries: run bin/NAME of the bundle instead", 2);
    }
    let caller_env = env.0.clone();
    // bwrap: the runner starts the entry again, from the caller's own arguments and environment.
    let bwrap = |request: &Request, _: Env| -> Infallible {
        let runner = join(&request.bundle, b"runtime/sidebundle-run");
        let error = sys::execve(&runner, &args, &caller_env);
        if error == sys::Errno(sys::ENOENT) {
            die("run mode bwrap cannot start: the bundle has no runtime/sidebundle-run, which runs it (a bundle made for run mode host has none); bundle it again with --run-mode bwrap or auto", 126);
        }
        die(&format!("run mode bwrap cannot start: cannot run {}: {}", String::from_utf8_lossy(&runner), error), 126)
    };
    launch::run_invoked_from(&exe, &args, execfn.as_deref(), env, &bwrap)
}
