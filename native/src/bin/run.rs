//! sidebundle-run: the static launcher of a bundle's entries (see launch.rs), and, with a
//! bundle appended, a single-file bundle (see single.rs).

use std::ffi::OsString;
use std::path::Path;

use sidebundle_native::{launch, single};

fn main() {
    launch::timing::mark("start");
    let args: Vec<OsString> = std::env::args_os().collect();
    // A single-file bundle carries its payload after the ELF image.
    match single::embedded() {
        Ok(Some(embedded)) => launch::die(single::run(embedded, &args), 126),
        Ok(None) => {}
        Err(message) => launch::die(message, 126),
    }
    launch::timing::mark("look for an appended bundle");
    let called = args.first().map(|a| Path::new(a).file_name().unwrap_or_default().to_os_string()).unwrap_or_default();
    if called == "sidebundle-run" || called == ".sidebundle-run" {
        launch::subcommand(&args);
    }
    launch::run_invoked(&args)
}
