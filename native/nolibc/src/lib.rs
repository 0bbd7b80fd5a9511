//! The parts of sidebundle's launcher that need no C library: raw Linux system calls (sys),
//! JSON (json), which entry a launcher was started as and what the bundle says about it
//! (entry), and host mode's environment and command (host). The runner in ../src (static
//! glibc: namespaces, bwrap, single files) uses them, and so does sidebundle-run-host
//! (src/bin/run_host.rs), the launcher of host-mode bundles, which has no C library at all:
//! a static glibc program spends ~0.3 ms of its start asking the CPU about its features and
//! caches (CPUID, a VM exit each under a hypervisor) before `main`, more than the rest of a
//! host-mode launch.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod entry;
pub mod host;
pub mod json;
pub mod path;
pub mod sys;
