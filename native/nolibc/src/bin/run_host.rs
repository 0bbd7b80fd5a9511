//! sidebundle-run-host: the launcher of host-mode bundles (runtime/sidebundle-run there;
//! bin/NAME links to it). It finds its entry as the runner does, reads
//! runtime/entries/NAME.json and execs the bundled loader with --library-path.
//!
//! No C library: its own _start, a bump allocator on mmap, memcpy and friends, and raw
//! system calls (sidebundle_nolibc::sys). Started, it costs what the kernel's exec costs: a
//! static glibc program spends ~0.3 ms before `main` asking the CPU about itself, and a shell
//! script launcher ~0.6 ms in the shell (bench/results/run.md). The namespace run modes stay
//! in sidebundle-run (static glibc), which runs host mode too where auto falls back to it.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]
#![cfg_attr(test, allow(dead_code, unused_imports))]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use sidebundle_nolibc::entry;
use sidebundle_nolibc::host::{self, Env};
use sidebundle_nolibc::path::{self, show};
use sidebundle_nolibc::sys;

#[cfg(not(test))]
mod rt {
    use core::alloc::{GlobalAlloc, Layout};
    use core::arch::{asm, global_asm};
    use core::cell::UnsafeCell;
    use sidebundle_nolibc::sys;

    // The kernel starts us with argc, argv and envp on the stack; the ABI wants it 16-aligned
    // at a call.
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
        super::main(args, env)
    }

    /// Memory from mmap in chunks, never given back: the launcher execs or exits at once.
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
        unsafe fn dealloc(&self, _: *mut u8, _: Layout) {}
    }

    #[global_allocator]
    static HEAP: Bump = Bump(UnsafeCell::new((0, 0)));

    #[panic_handler]
    fn panic(info: &core::panic::PanicInfo) -> ! {
        let message = alloc::format!("sidebundle: internal error in the launcher: {}\n", info);
        sys::write_all(2, message.as_bytes());
        sys::exit(101)
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

fn die(message: &str, code: i32) -> ! {
    sys::write_all(2, format!("sidebundle: {}\n", message).as_bytes());
    sys::exit(code)
}

fn main(args: Vec<Vec<u8>>, env: Vec<Vec<u8>>) -> ! {
    if !sys::open_closed_stdio() {
        sys::exit(134);
    }
    let mut env = Env(env);
    let invoked = args.first().cloned().unwrap_or_default();
    if matches!(path::file_name(&invoked), Some(b"sidebundle-run" | b".sidebundle-run")) {
        die("sidebundle-run starts a bundle's entries: run bin/NAME of the bundle instead", 2);
    }
    let exe = sys::readlink(b"/proc/self/exe").unwrap_or_else(|e| die(&format!("cannot find the launcher: {}", e), 127));
    let bundle = path::parent(&exe).and_then(|runtime| path::parent(&runtime)).unwrap_or_default();
    let name = entry::entry_name(&bundle, &invoked, env.get(b"PATH")).unwrap_or_else(|| {
        die(&format!("{} is not an entry of the bundle {} (run bin/NAME, or a link to it)", show(&invoked), show(&bundle)), 127)
    });
    let spec = entry::read_spec(&bundle, &name, &invoked).unwrap_or_else(|e| die(&e, 127));
    let mode = env.get(b"SIDEBUNDLE_RUN_MODE").filter(|m| !m.is_empty()).map(|m| String::from_utf8_lossy(m).into_owned()).unwrap_or_else(|| spec.mode.clone());
    match mode.as_str() {
        "host" => {}
        "auto" => {
            if env.get(b"SIDEBUNDLE_DEBUG").is_some_and(|v| !v.is_empty() && v != b"0") {
                sys::write_all(2, b"sidebundle: run mode auto: host (this bundle was made for run mode host)\n");
            }
        }
        "ns" | "chroot" | "bwrap" => die(
            &format!("run mode {} cannot start: this bundle was made for run mode host, and its launcher runs programs on the host only; bundle it again with --run-mode auto (or {}) to have it", mode, mode),
            126,
        ),
        other => die(&format!("SIDEBUNDLE_RUN_MODE={} is not one of auto, host, ns, chroot, bwrap", other), 2),
    }
    host::entry_env(&mut env, &bundle, &spec);
    host::host_env(&mut env, &bundle, &spec).unwrap_or_else(|e| die(&e, 127));
    let Some((program, argv)) = host::command(&spec.host_cmd, &args[1.min(args.len())..]) else {
        die("the bundle describes no command for this run mode", 126)
    };
    let error = sys::execve(&program, &argv, &env.0);
    die(&format!("cannot run {}: {}", show(&program), error), 127)
}
