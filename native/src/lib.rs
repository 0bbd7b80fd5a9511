//! sidebundle's native part, standard library only: the ptrace and fanotify tracers behind a
//! JSON C ABI for ffi-rs (ffi.rs), and the pieces the static agent binary is made of.

pub mod fanotify;
pub mod hashpool;
pub mod inflate;
pub mod ffi;
pub mod launch;
pub mod napi;
pub mod ptrace;
pub mod record;
pub mod replay;
pub mod seccomp;
pub mod sha256;
pub mod single;
pub mod spawn;
pub mod sys;
pub mod trace;

pub use sidebundle_nolibc::json;
