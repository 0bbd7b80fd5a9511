//! Which entry the runner was started as, and what the bundle says about it
//! (runtime/entries/NAME.json, written by lib/package/launcher.ts).

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::json::{self, Value};

/// Follow argv[0] (through PATH and symlinks) to the entry link in the bundle's bin/ it came
/// through.
pub fn entry_name(bundle: &Path, invoked: &OsStr) -> Option<OsString> {
    let bin = std::fs::canonicalize(bundle.join("bin")).ok()?;
    let mut at = if invoked.as_bytes().contains(&b'/') {
        PathBuf::from(invoked)
    } else {
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path).map(|d| d.join(invoked)).find(|p| p.exists())?
    };
    for _ in 0..40 {
        let dir = at.parent().map(|d| if d.as_os_str().is_empty() { Path::new(".") } else { d });
        // A link in bin/ that is an entry (an alias such as bin/sha256sum -> busybox goes on).
        // (A directory written as `bin` itself is it: a canonical path canonicalizes to itself.)
        if dir.is_some_and(|d| d == bin || std::fs::canonicalize(d).is_ok_and(|real| real == bin)) {
            if let Some(name) = at.file_name() {
                if bundle.join("runtime/entries").join(format!("{}.json", name.to_string_lossy())).is_file() {
                    return Some(name.to_os_string());
                }
            }
        }
        let target = std::fs::read_link(&at).ok()?;
        at = if target.is_absolute() { target } else { at.parent().unwrap_or(Path::new(".")).join(target) };
    }
    None
}

/// What a bundle knows about one entry (runtime/entries/NAME.json).
pub struct Spec {
    pub mode: String,
    pub payload: PathBuf,
    pub root_cmd: Vec<OsString>,
    pub host_cmd: Vec<OsString>,
    pub env: Vec<(String, OsString)>,
    pub host_env: Vec<(String, OsString)>,
    pub root_env: Vec<(String, OsString)>,
    pub helpers_on_path: bool,
}

pub fn read_spec(bundle: &Path, name: &OsStr, argv0: &OsStr) -> Result<Spec, String> {
    let file = bundle.join("runtime/entries").join(format!("{}.json", name.to_string_lossy()));
    let text = std::fs::read_to_string(&file).map_err(|e| format!("cannot read {}: {} (is the bundle complete?)", file.display(), e))?;
    let value = json::parse(&text).map_err(|e| format!("{} is damaged: {}", file.display(), e))?;
    let root = bundle.as_os_str().as_bytes();
    let words = |key: &str| -> Vec<OsString> {
        value.get(key).and_then(Value::as_array).unwrap_or(&[]).iter().map(|w| token(w, root, argv0)).collect()
    };
    let env = |key: &str| -> Vec<(String, OsString)> {
        match value.get(key).and_then(Value::as_object) {
            Some(map) => map.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), expand(v, root)))).collect(),
            None => Vec::new(),
        }
    };
    Ok(Spec {
        mode: value.get("mode").and_then(Value::as_str).unwrap_or("auto").to_owned(),
        payload: bundle.join(value.get("payload").and_then(Value::as_str).unwrap_or("payload")),
        root_cmd: words("root"),
        host_cmd: words("host"),
        env: env("env"),
        host_env: env("hostEnv"),
        root_env: env("rootEnv"),
        helpers_on_path: value.get("helpersOnPath").and_then(Value::as_bool).unwrap_or(false),
    })
}

/// A command word: {"s": literal} | {"b": path in the bundle} | {"paths": [bundle paths]}
/// (joined with ':') | {"argv0": true} (the name the entry was called by: what multi-call
/// programs dispatch on).
fn token(word: &Value, root: &[u8], argv0: &OsStr) -> OsString {
    let in_bundle = |p: &str| {
        let mut bytes = root.to_vec();
        bytes.push(b'/');
        bytes.extend_from_slice(p.as_bytes());
        bytes
    };
    if let Some(s) = word.get("s").and_then(Value::as_str) {
        return s.into();
    }
    if let Some(b) = word.get("b").and_then(Value::as_str) {
        return OsString::from(OsStr::from_bytes(&in_bundle(b)));
    }
    if let Some(list) = word.get("paths").and_then(Value::as_array) {
        let joined: Vec<Vec<u8>> = list.iter().filter_map(Value::as_str).map(in_bundle).collect();
        return OsString::from(OsStr::from_bytes(&joined.join(&b':')));
    }
    Path::new(argv0).file_name().unwrap_or(argv0).to_os_string()
}

/// `${SIDEBUNDLE_ROOT}` in a value is the bundle directory.
fn expand(value: &str, root: &[u8]) -> OsString {
    let mut out = Vec::new();
    for (i, part) in value.split("${SIDEBUNDLE_ROOT}").enumerate() {
        if i > 0 {
            out.extend_from_slice(root);
        }
        out.extend_from_slice(part.as_bytes());
    }
    OsString::from(OsStr::from_bytes(&out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    #[test]
    fn the_entry_is_found_through_its_link_in_bin_however_it_is_reached() {
        let base = fs::canonicalize(std::env::temp_dir()).unwrap().join(format!("sb-entry-name-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        let bundle = base.join("b");
        fs::create_dir_all(bundle.join("bin")).unwrap();
        fs::create_dir_all(bundle.join("runtime/entries")).unwrap();
        fs::write(bundle.join("runtime/sidebundle-run"), "").unwrap();
        fs::write(bundle.join("runtime/entries/x.json"), "{}").unwrap();
        symlink("../runtime/sidebundle-run", bundle.join("bin/x")).unwrap();
        symlink("x", bundle.join("bin/alias")).unwrap();
        symlink(bundle.join("bin/x"), base.join("elsewhere")).unwrap();
        symlink(&bundle, base.join("via")).unwrap();
        let name = |invoked: PathBuf| entry_name(&bundle, invoked.as_os_str());
        let x = Some(OsString::from("x"));
        assert_eq!(name(bundle.join("bin/x")), x);
        assert_eq!(name(bundle.join("bin/./x")), x);
        assert_eq!(name(base.join("elsewhere")), x);
        assert_eq!(name(base.join("via/bin/x")), x);
        assert_eq!(name(base.join("b/runtime/../bin/x")), x);
        // bin/alias is no entry of its own: it goes on to the entry it links to.
        assert_eq!(name(bundle.join("bin/alias")), x);
        assert_eq!(name(bundle.join("runtime/sidebundle-run")), None);
        fs::remove_dir_all(&base).unwrap();
    }
}
