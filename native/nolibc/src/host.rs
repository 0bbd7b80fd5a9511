//! Host mode: the bundled loader started with --library-path (an argument of that one process:
//! programs the entry starts never inherit it) and the host-mode environment rules. Shared by
//! the runner (auto's fallback, SIDEBUNDLE_RUN_MODE=host) and sidebundle-run-host.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::entry::Spec;
use crate::path::show;

/// An environment as execve takes it: `KEY=VALUE` entries.
#[derive(Clone)]
pub struct Env(pub Vec<Vec<u8>>);

impl Env {
    pub fn get(&self, key: &[u8]) -> Option<&[u8]> {
        self.0.iter().find_map(|entry| entry.strip_prefix(key).and_then(|rest| rest.strip_prefix(b"=")))
    }

    /// Set `key` in place where it is (as setenv), else at the end.
    pub fn set(&mut self, key: &[u8], value: &[u8]) {
        let entry = [key, b"=", value].concat();
        match self.0.iter_mut().find(|e| e.strip_prefix(key).is_some_and(|rest| rest.first() == Some(&b'='))) {
            Some(slot) => *slot = entry,
            None => self.0.push(entry),
        }
    }
}

/// What every run mode sets: SIDEBUNDLE_ROOT and the entry's own variables.
pub fn entry_env(env: &mut Env, bundle: &[u8], spec: &Spec) {
    env.set(b"SIDEBUNDLE_ROOT", bundle);
    for (key, value) in &spec.env {
        env.set(key.as_bytes(), value);
    }
}

/// Host mode's additions to `entry_env`: its own variables where the entry sets none of that
/// name, and the bundle's bin/ first on PATH where the entry's helpers are run by name.
pub fn host_env(env: &mut Env, bundle: &[u8], spec: &Spec) -> Result<(), String> {
    if bundle.contains(&b':') {
        return Err(format!("the bundle path {} contains a colon, which the dynamic loader cannot take; move the bundle", show(bundle)));
    }
    for (key, value) in &spec.host_env {
        if !spec.env.iter().any(|(k, _)| k == key) {
            env.set(key.as_bytes(), value);
        }
    }
    if spec.helpers_on_path {
        let mut path = crate::path::join(bundle, b"bin");
        if let Some(old) = env.get(b"PATH").filter(|p| !p.is_empty()) {
            path.push(b':');
            path.extend_from_slice(old);
        }
        env.set(b"PATH", &path);
    }
    Ok(())
}

/// PATH and ARGV (ARGV0 ARGS... followed by the user's arguments) of a spec's command; None
/// where the bundle describes none for the mode.
pub fn command(cmd: &[Vec<u8>], user_args: &[Vec<u8>]) -> Option<(Vec<u8>, Vec<Vec<u8>>)> {
    if cmd.len() < 2 {
        return None;
    }
    let mut argv = cmd[1..].to_vec();
    argv.extend(user_args.iter().cloned());
    Some((cmd[0].clone(), argv))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Spec {
        Spec {
            mode: "host".into(),
            payload: b"/b/payload".to_vec(),
            root_cmd: Vec::new(),
            host_cmd: vec![b"/b/ld.so".to_vec(), b"/b/ld.so".to_vec(), b"/b/jq".to_vec()],
            env: vec![("A".into(), b"1".to_vec()), ("B".into(), b"entry".to_vec())],
            host_env: vec![("B".into(), b"host".to_vec()), ("C".into(), b"3".to_vec())],
            root_env: Vec::new(),
            helpers_on_path: true,
        }
    }

    #[test]
    fn the_entrys_variables_win_and_bin_leads_path() {
        let mut env = Env(vec![b"PATH=/usr/bin".to_vec(), b"A=old".to_vec(), b"HOME=/root".to_vec()]);
        entry_env(&mut env, b"/b", &spec());
        host_env(&mut env, b"/b", &spec()).unwrap();
        assert_eq!(env.0, vec![b"PATH=/b/bin:/usr/bin".to_vec(), b"A=1".to_vec(), b"HOME=/root".to_vec(), b"SIDEBUNDLE_ROOT=/b".to_vec(), b"B=entry".to_vec(), b"C=3".to_vec()]);
        let mut bare = Env(Vec::new());
        host_env(&mut bare, b"/b", &spec()).unwrap();
        assert_eq!(bare.get(b"PATH"), Some(&b"/b/bin"[..]));
        assert!(host_env(&mut bare, b"/a:b", &spec()).unwrap_err().contains("contains a colon"));
    }

    #[test]
    fn a_command_takes_the_users_arguments_after_its_own() {
        let (path, argv) = command(&spec().host_cmd, &[b"-n".to_vec()]).unwrap();
        assert_eq!(path, b"/b/ld.so");
        assert_eq!(argv, vec![b"/b/ld.so".to_vec(), b"/b/jq".to_vec(), b"-n".to_vec()]);
        assert!(command(&[b"/x".to_vec()], &[]).is_none());
        // A key is matched whole: PATHX is not PATH.
        let env = Env(vec![b"PATHX=1".to_vec()]);
        assert_eq!(env.get(b"PATH"), None);
    }
}
