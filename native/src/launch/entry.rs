//! Which entry the runner was started as, and what the bundle says about it: the launcher's
//! parts without a C library (sidebundle_nolibc::entry), with std's paths.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

pub use sidebundle_nolibc::entry::Spec;

/// Follow argv[0] (through PATH and symlinks) to the entry link in the bundle's bin/ it came
/// through.
pub fn entry_name(bundle: &Path, invoked: &OsStr) -> Option<OsString> {
    let path = std::env::var_os("PATH");
    sidebundle_nolibc::entry::entry_name(bundle.as_os_str().as_bytes(), invoked.as_bytes(), path.as_ref().map(|p| p.as_bytes())).map(OsString::from_vec)
}

pub fn read_spec(bundle: &Path, name: &OsStr, argv0: &OsStr) -> Result<Spec, String> {
    sidebundle_nolibc::entry::read_spec(bundle.as_os_str().as_bytes(), name.as_bytes(), argv0.as_bytes())
}
