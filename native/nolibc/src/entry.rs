//! Which entry a launcher was started as, and what the bundle says about it
//! (runtime/entries/NAME.json, written by lib/package/launcher.ts). Paths are bytes.

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::json::{self, Value};
use crate::path::{self, show};
use crate::sys;

/// Follow argv[0] (through PATH and symlinks) to the entry link in the bundle's bin/ it came
/// through. `search_path`: the PATH variable's value.
pub fn entry_name(bundle: &[u8], invoked: &[u8], search_path: Option<&[u8]>) -> Option<Vec<u8>> {
    let bin = sys::canonicalize(&path::join(bundle, b"bin")).ok()?;
    let mut at = if invoked.contains(&b'/') {
        invoked.to_vec()
    } else {
        search_path.unwrap_or_default().split(|&b| b == b':').map(|dir| path::join(dir, invoked)).find(|p| sys::file_type(p, true).is_ok())?
    };
    for _ in 0..40 {
        let dir = path::parent(&at).map(|d| if d.is_empty() { b".".to_vec() } else { d });
        // A link in bin/ that is an entry (an alias such as bin/sha256sum -> busybox goes on).
        // (A directory written as `bin` itself is it: a canonical path canonicalizes to itself.)
        if dir.is_some_and(|d| path::same(&d, &bin) || sys::canonicalize(&d).is_ok_and(|real| real == bin)) {
            if let Some(name) = path::file_name(&at) {
                if sys::file_type(&spec_file(bundle, name), true) == Ok(sys::S_IFREG) {
                    return Some(name.to_vec());
                }
            }
        }
        let target = sys::readlink(&at).ok()?;
        at = if target.first() == Some(&b'/') { target } else { path::join(&path::parent(&at).unwrap_or_default(), &target) };
    }
    None
}

fn spec_file(bundle: &[u8], name: &[u8]) -> Vec<u8> {
    let mut file = path::join(bundle, b"runtime/entries/");
    file.extend_from_slice(name);
    file.extend_from_slice(b".json");
    file
}

/// What a bundle knows about one entry (runtime/entries/NAME.json). Commands and values are
/// bytes with the bundle's path and the caller's argv[0] filled in.
pub struct Spec {
    pub mode: String,
    pub payload: Vec<u8>,
    /// PATH ARGV0 ARGS... with the payload as `/`.
    pub root_cmd: Vec<Vec<u8>>,
    /// PATH ARGV0 ARGS... in host mode.
    pub host_cmd: Vec<Vec<u8>>,
    pub env: Vec<(String, Vec<u8>)>,
    pub host_env: Vec<(String, Vec<u8>)>,
    pub root_env: Vec<(String, Vec<u8>)>,
    pub helpers_on_path: bool,
}

pub fn read_spec(bundle: &[u8], name: &[u8], argv0: &[u8]) -> Result<Spec, String> {
    let file = spec_file(bundle, name);
    let bytes = sys::read_file(&file).map_err(|e| format!("cannot read {}: {} (is the bundle complete?)", show(&file), e))?;
    let text = core::str::from_utf8(&bytes).map_err(|_| format!("{} is damaged: it is not UTF-8", show(&file)))?;
    let value = json::parse(text).map_err(|e| format!("{} is damaged: {}", show(&file), e))?;
    let words = |key: &str| -> Vec<Vec<u8>> { value.get(key).and_then(Value::as_array).unwrap_or(&[]).iter().map(|w| token(w, bundle, argv0)).collect() };
    let env = |key: &str| -> Vec<(String, Vec<u8>)> {
        match value.get(key).and_then(Value::as_object) {
            Some(map) => map.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), expand(v, bundle)))).collect(),
            None => Vec::new(),
        }
    };
    Ok(Spec {
        mode: value.get("mode").and_then(Value::as_str).unwrap_or("auto").to_owned(),
        payload: path::join(bundle, value.get("payload").and_then(Value::as_str).unwrap_or("payload").as_bytes()),
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
fn token(word: &Value, root: &[u8], argv0: &[u8]) -> Vec<u8> {
    let in_bundle = |p: &str| {
        let mut bytes = root.to_vec();
        bytes.push(b'/');
        bytes.extend_from_slice(p.as_bytes());
        bytes
    };
    if let Some(s) = word.get("s").and_then(Value::as_str) {
        return s.as_bytes().to_vec();
    }
    if let Some(b) = word.get("b").and_then(Value::as_str) {
        return in_bundle(b);
    }
    if let Some(list) = word.get("paths").and_then(Value::as_array) {
        let joined: Vec<Vec<u8>> = list.iter().filter_map(Value::as_str).map(in_bundle).collect();
        return joined.join(&b':');
    }
    path::file_name(argv0).unwrap_or(argv0).to_vec()
}

/// `${SIDEBUNDLE_ROOT}` in a value is the bundle directory.
fn expand(value: &str, root: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, part) in value.split("${SIDEBUNDLE_ROOT}").enumerate() {
        if i > 0 {
            out.extend_from_slice(root);
        }
        out.extend_from_slice(part.as_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;
    use std::path::PathBuf;

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
        let b = |p: PathBuf| p.into_os_string().into_encoded_bytes();
        let bundle_b = b(bundle.clone());
        let name = |invoked: PathBuf| entry_name(&bundle_b, &b(invoked), None);
        let x = Some(b"x".to_vec());
        assert_eq!(name(bundle.join("bin/x")), x);
        assert_eq!(name(bundle.join("bin/./x")), x);
        assert_eq!(name(base.join("elsewhere")), x);
        assert_eq!(name(base.join("via/bin/x")), x);
        assert_eq!(name(base.join("b/runtime/../bin/x")), x);
        // bin/alias is no entry of its own: it goes on to the entry it links to.
        assert_eq!(name(bundle.join("bin/alias")), x);
        assert_eq!(name(bundle.join("runtime/sidebundle-run")), None);
        // A bare name is looked up on PATH (the first directory that has it).
        let path = [b(base.join("nowhere")), b(bundle.join("bin"))].join(&b':');
        assert_eq!(entry_name(&bundle_b, b"alias", Some(&path)), x);
        assert_eq!(entry_name(&bundle_b, b"alias", Some(&b(base.join("nowhere")))), None);
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn a_spec_fills_in_the_bundle_and_argv0() {
        let base = std::env::temp_dir().join(format!("sb-entry-spec-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        fs::create_dir_all(base.join("runtime/entries")).unwrap();
        let spec = r#"{"mode":"host","payload":"payload","host":[{"b":"payload/ld.so"},{"b":"payload/ld.so"},{"s":"--library-path"},{"paths":["payload/lib","payload/usr/lib"]},{"s":"--argv0"},{"argv0":true},{"b":"payload/bin/jq"}],"root":[{"s":"/bin/jq"},{"argv0":true}],"env":{"A":"${SIDEBUNDLE_ROOT}/share:x"},"hostEnv":{"B":"1"},"helpersOnPath":true}"#;
        fs::write(base.join("runtime/entries/jq.json"), spec).unwrap();
        let root = base.clone().into_os_string().into_encoded_bytes();
        let at = |rest: &str| [root.as_slice(), rest.as_bytes()].concat();
        let got = read_spec(&root, b"jq", b"/somewhere/jq-alias").unwrap();
        assert_eq!(got.mode, "host");
        assert_eq!(got.payload, at("/payload"));
        assert_eq!(got.host_cmd[3], [at("/payload/lib"), at("/payload/usr/lib")].join(&b':'));
        assert_eq!(got.host_cmd[5], b"jq-alias");
        assert_eq!(got.root_cmd, vec![b"/bin/jq".to_vec(), b"jq-alias".to_vec()]);
        assert_eq!(got.env, vec![("A".to_owned(), at("/share:x"))]);
        assert!(got.helpers_on_path);
        let missing = read_spec(&root, b"none", b"none").err().unwrap();
        assert!(missing.contains("none.json") && missing.contains("No such file or directory (os error 2)") && missing.contains("is the bundle complete?"), "{}", missing);
        fs::write(base.join("runtime/entries/bad.json"), "{").unwrap();
        assert!(read_spec(&root, b"bad", b"bad").err().unwrap().contains("bad.json is damaged"));
        fs::remove_dir_all(&base).unwrap();
    }
}
