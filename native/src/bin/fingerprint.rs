//! sidebundle-fingerprint DIR COMMAND...: the Nx runtime input of the resolve and trace targets.
//! COMMAND is a `sidebundle digest`; when its record in DIR (written by an earlier run of it) says
//! that nothing its output depends on changed, that output is printed again without starting Node
//! (see replay.rs); otherwise COMMAND runs, with SIDEBUNDLE_REPLAY naming the record to write.
//! Nx ignores the exit status of a runtime input, so failures are printed on stdout.

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{exit, Command};

use sidebundle_native::replay::{record_name, replay};

fn main() {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    if args.len() < 2 {
        println!("error usage: sidebundle-fingerprint DIR COMMAND...");
        exit(2);
    }
    let (dir, command) = (&args[0], &args[1..]);
    let cwd = match std::env::current_dir() {
        Ok(cwd) => cwd,
        Err(error) => {
            println!("error sidebundle-fingerprint: no working directory: {}", error);
            exit(1);
        }
    };
    let record = Path::new(dir).join(record_name(cwd.as_os_str(), command));
    if let Ok(bytes) = std::fs::read(&record) {
        if let Some(output) = replay(&bytes) {
            let mut stdout = std::io::stdout().lock();
            if stdout.write_all(output).and_then(|_| stdout.flush()).is_ok() {
                return;
            }
            exit(1);
        }
    }
    let error = Command::new(&command[0]).args(&command[1..]).env("SIDEBUNDLE_REPLAY", &record).exec();
    println!("error sidebundle-fingerprint cannot run {}: {}", command[0].to_string_lossy(), error);
    exit(127);
}
