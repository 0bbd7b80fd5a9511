// The launcher binary has no C library: no start files, no libc, static.
fn main() {
    for arg in ["-nostartfiles", "-nostdlib", "-static", "-Wl,--gc-sections", "-Wl,--build-id=none"] {
        println!("cargo:rustc-link-arg-bins={}", arg);
    }
}
