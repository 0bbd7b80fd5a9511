// Would a plain program run here, with this machine's (or a root's) own libraries? Its PT_INTERP,
// each DT_NEEDED found as ld.so would find it (lib/resolve), and every symbol version it and its
// libraries need defined by the library that provides it: the checks behind ld.so's
// "version `GLIBC_2.34' not found (required by ...)".
import * as path from 'node:path';

import type { ElfInfo } from '../elf';
import { isSidebundleError } from '../errors';
import { buildClosure, type ClosureDraft } from '../resolve/closure';
import { RootFs } from '../resolve/rootfs';
import { check, type Check } from './checks';

export function programChecks(program: string, root = '/'): Check[] {
  const fs = new RootFs(root);
  const logical = path.posix.isAbsolute(program) ? program : path.resolve(program);
  const where = root === '/' ? '' : ` inside ${root}`;
  const walk = fs.resolve(logical);
  if (!walk) return [check('program', 'fail', `${logical} does not exist${where}`)];
  let info: ElfInfo;
  try {
    info = fs.elf(walk.path);
  } catch (error) {
    if (!isSidebundleError(error)) throw error;
    return [check('program', 'warn', `${logical} is not an ELF program the doctor reads: ${error.message}`, 'for a script, run the doctor on its interpreter')];
  }
  if (info.interpreter === undefined) return [check('interpreter', 'ok', `${logical} is statically linked: it needs no loader or library`)];
  if (!fs.resolve(info.interpreter)) {
    return [check('interpreter', 'fail', `${logical} needs the loader ${info.interpreter} (PT_INTERP), which does not exist${where}`, 'the program was built for another system: bundle it with sidebundle create instead')];
  }
  const checks = [check('interpreter', 'ok', `the loader ${info.interpreter} is present`)];
  let draft: ClosureDraft;
  try {
    draft = buildClosure({ root, entries: [{ path: logical }], scanScripts: false });
  } catch (error) {
    if (!isSidebundleError(error)) throw error;
    return [...checks, check('closure', 'fail', error.message, error.hint)];
  }
  for (const m of draft.missing) {
    checks.push(check(`needed:${m.name}`, 'fail', `${m.name} not found${m.why ? ` (${m.why})` : ''}, needed by ${m.chain.join(' -> ')}`, 'install the library, or bundle the program with sidebundle create'));
  }
  if (draft.missing.length === 0) checks.push(check('needed', 'ok', `every DT_NEEDED library is found (${draft.files.length - 1} files)`));
  checks.push(...versionChecks(draft));
  return checks;
}

/** Each needed version against the versions its library defines. */
function versionChecks(draft: ClosureDraft): Check[] {
  const bySoname = new Map<string, { path: string; defs: Set<string> }>();
  for (const f of draft.files) {
    if (!f.elf) continue;
    const name = f.elf.soname ?? path.posix.basename(f.path);
    if (!bySoname.has(name)) bySoname.set(name, { path: f.path, defs: new Set(f.elf.versionDefs) });
  }
  const checks: Check[] = [];
  let needs = 0;
  for (const f of draft.files) {
    for (const need of f.elf?.versionNeeds ?? []) {
      const provider = bySoname.get(need.file);
      if (!provider) continue; // missing: reported above
      needs += need.versions.length;
      const unmet = need.versions.filter((v) => !provider.defs.has(v));
      for (const v of unmet) {
        checks.push(check(`version:${f.path}:${v}`, 'fail', `version \`${v}' not found (required by ${f.path}): ${provider.path} does not define it`, v.startsWith('GLIBC_') ? `this machine's glibc is older than the one ${f.path} was built against: bundle it with sidebundle create (it brings its own loader and libc)` : 'bundle the program with sidebundle create'));
      }
    }
  }
  if (checks.length === 0) checks.push(check('versions', 'ok', `every needed symbol version is defined (${needs} checked)`));
  return checks;
}
