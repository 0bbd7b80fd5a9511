//! Single-file bundles: sidebundle-run with a whole bundle appended.
//!
//! Layout: the ELF launcher, then a raw DEFLATE stream of the bundle's records, then a 64-byte
//! trailer: magic "SIDEBUNDLE-SFX-1" (16), stream offset (u64 LE), stream length (u64 LE),
//! SHA-256 of the uncompressed records (32). The records: kind (d f l h), mode (u32), path
//! (u32 length + bytes, relative), then for f: size (u64) + bytes; for l and h: target (u32 +
//! bytes; h names an earlier file). The bundle is extracted once into
//! `$SIDEBUNDLE_CACHE_DIR` (default `$XDG_CACHE_HOME/sidebundle/single`, `~/.cache/...`, or
//! `/tmp/sidebundle-UID/single`) under the digest: into a private temporary directory, checked
//! against the digest, stamped, renamed into place; a concurrent first run that loses the
//! rename uses the winner's copy. A copy without its stamp is extracted again; with
//! SIDEBUNDLE_VERIFY=1 every file is also checked against the bundle's manifest.lock.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use crate::inflate::inflate;
use crate::sha256::{hex, Sha256};

pub const MAGIC: &[u8; 16] = b"SIDEBUNDLE-SFX-1";
const TRAILER: u64 = 64;
const STAMP: &str = ".sidebundle-extracted";

pub struct Embedded {
    exe: PathBuf,
    offset: u64,
    length: u64,
    digest: [u8; 32],
}

/// The bundle appended to this executable, if any.
pub fn embedded() -> Result<Option<Embedded>, String> {
    let exe = std::fs::read_link("/proc/self/exe").map_err(|e| format!("cannot find this executable: {}", e))?;
    let mut file = match File::open(&exe) {
        Ok(f) => f,
        Err(_) => return Ok(None),
    };
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    if size < TRAILER {
        return Ok(None);
    }
    let mut trailer = [0u8; 64];
    if file.seek(SeekFrom::Start(size - TRAILER)).is_err() || file.read_exact(&mut trailer).is_err() {
        return Ok(None);
    }
    if &trailer[..16] != MAGIC {
        return Ok(None);
    }
    let offset = u64::from_le_bytes(trailer[16..24].try_into().unwrap());
    let length = u64::from_le_bytes(trailer[24..32].try_into().unwrap());
    if offset.checked_add(length).map_or(true, |end| end > size - TRAILER) {
        return Err(format!("{} is a damaged single-file bundle (its trailer points past the end); rebuild it", exe.display()));
    }
    Ok(Some(Embedded { exe, offset, length, digest: trailer[32..64].try_into().unwrap() }))
}

fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SIDEBUNDLE_CACHE_DIR").filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(dir).join("sidebundle/single");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        let cache = PathBuf::from(home).join(".cache");
        if std::fs::create_dir_all(&cache).is_ok() {
            return cache.join("sidebundle/single");
        }
    }
    // SAFETY: getuid has no preconditions.
    PathBuf::from(format!("/tmp/sidebundle-{}/single", unsafe { crate::sys::getuid() }))
}

/// Extract if needed, pick the entry, exec its launcher. Returns only with an error message.
pub fn run(embedded: Embedded, args: &[OsString]) -> String {
    let digest = hex(&embedded.digest);
    let cache = cache_dir();
    let dir = cache.join(&digest);
    let verify = std::env::var_os("SIDEBUNDLE_VERIFY").is_some_and(|v| !v.is_empty() && v != "0");
    let stamped = installed(&dir, &digest);
    let damaged = stamped && verify && verify_tree(&dir).is_err();
    if !stamped || damaged {
        if let Err(e) = extract(&embedded, &cache, &dir, &digest, damaged) {
            return e;
        }
    }
    let (name, rest) = match pick_entry(&dir, args) {
        Ok(x) => x,
        Err(e) => return e,
    };
    // The entry runs from here, in this process: no second launcher start.
    crate::launch::run_entry(&dir, &name, &invoked_name(args, &name), &rest)
}

/// argv[0] for the entry: the name it was called by when that is the entry (a symlink named
/// after it), else the entry's name.
fn invoked_name(args: &[OsString], name: &OsStr) -> OsString {
    match args.first() {
        Some(a) if Path::new(a).file_name() == Some(name) => a.clone(),
        _ => name.to_os_string(),
    }
}

/// A complete extraction of this digest is at `dir` (its completion stamp is written last).
fn installed(dir: &Path, digest: &str) -> bool {
    std::fs::read_to_string(dir.join(STAMP)).map(|s| s.trim() == digest).unwrap_or(false)
}

fn pick_entry(dir: &Path, args: &[OsString]) -> Result<(OsString, Vec<OsString>), String> {
    let mut entries: Vec<OsString> = std::fs::read_dir(dir.join("bin")).map_err(|e| format!("the extracted bundle has no bin/: {}", e))?.filter_map(|e| e.ok().map(|e| e.file_name())).collect();
    entries.sort();
    let invoked = args.first().map(|a| Path::new(a).file_name().unwrap_or_default().to_os_string()).unwrap_or_default();
    if entries.contains(&invoked) {
        return Ok((invoked, args[1..].to_vec()));
    }
    if let Some(first) = args.get(1) {
        if entries.contains(first) {
            return Ok((first.clone(), args[2..].to_vec()));
        }
    }
    if entries.len() == 1 {
        return Ok((entries[0].clone(), args[1..].to_vec()));
    }
    let names: Vec<String> = entries.iter().map(|e| e.to_string_lossy().into_owned()).collect();
    Err(format!(
        "this single-file bundle holds {}: name one as the first argument ({} {} ...), or run it through a symlink with the entry's name",
        names.join(", "),
        invoked.to_string_lossy(),
        names.first().cloned().unwrap_or_default()
    ))
}

/// `replace`: the installed copy failed verification and must go even though it is stamped.
fn extract(embedded: &Embedded, cache: &Path, dir: &Path, digest: &str, replace: bool) -> Result<(), String> {
    std::fs::create_dir_all(cache).map_err(|e| format!("cannot create the cache {}: {} (set SIDEBUNDLE_CACHE_DIR to a writable directory)", cache.display(), e))?;
    let mut file = File::open(&embedded.exe).map_err(|e| format!("cannot read {}: {}", embedded.exe.display(), e))?;
    let mut compressed = vec![0u8; embedded.length as usize];
    file.seek(SeekFrom::Start(embedded.offset)).and_then(|_| file.read_exact(&mut compressed)).map_err(|e| format!("cannot read {}: {}", embedded.exe.display(), e))?;
    let damaged = |why: String| format!("{} is damaged ({}); rebuild or download it again", embedded.exe.display(), why);
    let records = inflate(&compressed, compressed.len() * 3).map_err(damaged)?;
    drop(compressed);
    let mut hash = Sha256::default();
    hash.update(&records);
    if hex(&hash.finish()) != digest {
        return Err(damaged("its contents do not match the digest it carries".into()));
    }
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { crate::sys::getpid() };
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let tmp = cache.join(format!(".{}.tmp-{}-{}", &digest[..16], pid, nanos));
    let result = write_records(&records, &tmp).and_then(|()| {
        let mut stamp = File::create(tmp.join(STAMP)).map_err(|e| format!("cannot write {}: {}", tmp.display(), e))?;
        stamp.write_all(format!("{}\n", digest).as_bytes()).map_err(|e| e.to_string())
    });
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    // Another first run may have installed its copy meanwhile (and may be running from it):
    // keep that one. Only a damaged or half-written copy is moved aside.
    if installed(dir, digest) && !replace {
        let _ = std::fs::remove_dir_all(&tmp);
        return Ok(());
    }
    if dir.exists() {
        let stale = cache.join(format!(".{}.stale-{}-{}", &digest[..16], pid, nanos));
        if std::fs::rename(dir, &stale).is_ok() {
            let _ = std::fs::remove_dir_all(&stale);
        }
    }
    if std::fs::rename(&tmp, dir).is_err() {
        // Another first run won the race: its copy is as good as ours.
        let _ = std::fs::remove_dir_all(&tmp);
        if !installed(dir, digest) {
            return Err(format!("cannot install the extracted bundle at {}", dir.display()));
        }
    }
    Ok(())
}

fn safe_relative(path: &[u8]) -> Result<PathBuf, String> {
    let p = Path::new(OsStr::from_bytes(path));
    if path.is_empty() || p.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Err(format!("unsafe path {:?} in the bundle", String::from_utf8_lossy(path)));
    }
    Ok(p.to_path_buf())
}

fn write_records(data: &[u8], into: &Path) -> Result<(), String> {
    std::fs::create_dir(into).map_err(|e| format!("cannot create {}: {}", into.display(), e))?;
    let mut at = 0usize;
    let take = |at: &mut usize, n: usize| -> Result<&[u8], String> {
        let end = at.checked_add(n).filter(|&e| e <= data.len()).ok_or("the bundle's records end early")?;
        let slice = &data[*at..end];
        *at = end;
        Ok(slice)
    };
    let mut deferred_modes: Vec<(PathBuf, u32)> = Vec::new();
    while at < data.len() {
        let kind = take(&mut at, 1)?[0];
        let mode = u32::from_le_bytes(take(&mut at, 4)?.try_into().unwrap());
        let len = u32::from_le_bytes(take(&mut at, 4)?.try_into().unwrap()) as usize;
        let rel = safe_relative(take(&mut at, len)?)?;
        let path = into.join(&rel);
        let io = |e: std::io::Error| format!("cannot write {}: {}", path.display(), e);
        match kind {
            b'd' => {
                std::fs::create_dir_all(&path).map_err(io)?;
                deferred_modes.push((path.clone(), mode & 0o7777));
            }
            b'f' => {
                let size = u64::from_le_bytes(take(&mut at, 8)?.try_into().unwrap()) as usize;
                let bytes = take(&mut at, size)?;
                let mut f = File::create(&path).map_err(io)?;
                f.write_all(bytes).map_err(io)?;
                f.set_permissions(std::fs::Permissions::from_mode(mode & 0o7777)).map_err(io)?;
            }
            b'l' => {
                let n = u32::from_le_bytes(take(&mut at, 4)?.try_into().unwrap()) as usize;
                let target = OsStr::from_bytes(take(&mut at, n)?).to_os_string();
                symlink(&target, &path).map_err(io)?;
            }
            b'h' => {
                let n = u32::from_le_bytes(take(&mut at, 4)?.try_into().unwrap()) as usize;
                let target = into.join(safe_relative(take(&mut at, n)?)?);
                std::fs::hard_link(&target, &path).map_err(io)?;
            }
            other => return Err(format!("unknown record kind {} in the bundle", other)),
        }
    }
    // Directory modes last: a read-only directory would refuse the files written into it.
    for (path, mode) in deferred_modes.into_iter().rev() {
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode));
    }
    Ok(())
}

/// Every regular file the manifest lists has its recorded sha256 (SIDEBUNDLE_VERIFY=1).
fn verify_tree(dir: &Path) -> Result<(), String> {
    let manifest = std::fs::read_to_string(dir.join("manifest.lock")).map_err(|e| e.to_string())?;
    let value = crate::json::parse(&manifest).map_err(|e| e.to_string())?;
    let mut files = value.get("files").and_then(crate::json::Value::as_array).ok_or("manifest without files")?.to_vec();
    files.extend(value.get("traced_files").and_then(crate::json::Value::as_array).map(|a| a.to_vec()).unwrap_or_default());
    for file in &files {
        let (Some(path), Some(sha)) = (file.get("path").and_then(crate::json::Value::as_str), file.get("sha256").and_then(crate::json::Value::as_str)) else {
            continue;
        };
        let mut hash = Sha256::default();
        let mut f = File::open(dir.join(path)).map_err(|e| format!("{}: {}", path, e))?;
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = f.read(&mut buf).map_err(|e| e.to_string())?;
            if n == 0 {
                break;
            }
            hash.update(&buf[..n]);
        }
        if hex(&hash.finish()) != sha {
            return Err(format!("{} changed", path));
        }
    }
    Ok(())
}
