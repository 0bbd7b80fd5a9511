//! sidebundle's launcher, without a C library: raw Linux system calls (sys), JSON (json),
//! which entry a launcher was started as and what the bundle says about it (entry), the run
//! modes (launch: host.rs, and the payload-as-root modes' plan.rs, root.rs, mount.rs), and what
//! a launch reports (report, timing). sidebundle-launch (src/bin/launch.rs) is this with its
//! own start-up, and has no C library at all: a static glibc program spends ~0.3 ms before
//! `main` asking the CPU about its features and caches (CPUID, a VM exit each under a
//! hypervisor). The runner in ../src (static glibc: single files, bwrap) uses the same code.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod entry;
pub mod host;
pub mod json;
pub mod launch;
pub mod mount;
pub mod path;
pub mod plan;
pub mod report;
pub mod root;
pub mod single;
pub mod sys;
pub mod timing;
