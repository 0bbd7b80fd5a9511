// --copy-dir: a directory tree copied into the payload as data (files, symlinks kept as links,
// subdirectories, empty ones too), refused where it is no tree of data, and without the secrets
// it holds unless --allow-secret names them. A FIFO, socket or device in it cannot be carried:
// it is left out with a warning and recorded in manifest.lock's excluded.
import { readlinkSync } from 'node:fs';
import * as path from 'node:path';

import { SidebundleError } from '../errors';
import { VCS_REASON, within } from '../policy/policy';
import { secretByName, secretChecker } from '../policy/secrets';
import type { Draft } from './draft';

/** A directory tree copied as data: files, symlinks (kept as links) and subdirectories. */
export function addCopyDir(draft: Draft, source: string, dest: string): void {
  const logical = source.startsWith('/') ? source : path.resolve(draft.options.cwd ?? process.cwd(), source);
  const walk = draft.fs.resolve(logical);
  if (walk === null || !walk.stats.isDirectory()) {
    // SRC:dest with a relative dest parses as one SRC (a colon may be part of a name).
    const colon = logical.lastIndexOf(':');
    if (colon > 0 && draft.fs.resolve(logical.slice(0, colon))?.stats.isDirectory()) badDest(logical.slice(colon + 1), source);
    throw new SidebundleError('COPY_DIR_NOT_FOUND', `--copy-dir ${source} is not a directory${draft.inside}`, {
      input: source,
      kind: 'input',
      hint: 'give an existing directory, optionally followed by :DEST (its absolute path in the bundle)',
    });
  }
  if (/^\/(proc|sys|dev)(\/|$)/.test(walk.path)) {
    throw new SidebundleError('COPY_DIR_VIRTUAL', `--copy-dir ${source} is ${walk.path}, part of a kernel virtual file system`, {
      input: source,
      kind: 'input',
      hint: 'its files describe this machine and change while they are read; copy real data instead',
    });
  }
  if (!dest.startsWith('/')) badDest(dest, source);
  // A copied tree is data the user chose, but a key or token in it still needs --allow-secret.
  const secretIn = secretChecker((p) => draft.fs.hostPath(p));
  const allowed = (p: string) => (draft.options.allowSecret ?? []).some((a) => within(p, a));
  const visit = (from: string, to: string) => {
    draft.dirs.add(to); // kept when empty, as cp -r keeps it
    for (const item of draft.fs.readdir(from)) {
      const itemFrom = `${from === '/' ? '' : from}/${item.name}`;
      const itemTo = `${to === '/' ? '' : to}/${item.name}`;
      // secretIn judges a file by name, inode and content; a directory is judged by its name.
      const secret = allowed(itemFrom) ? undefined : item.name === '.git' ? VCS_REASON : item.isFile() ? secretIn(itemFrom) : item.isDirectory() ? secretByName(itemFrom) : undefined;
      if (secret) {
        draft.excluded.set(itemFrom, { path: itemFrom, reason: secret, impact: 'secret' });
        draft.note('warning', 'COPY_DIR_SECRET', `--copy-dir leaves out ${itemFrom}: ${secret} (to ship it: --allow-secret ${itemFrom})`, itemFrom);
        continue;
      }
      if (item.isDirectory()) visit(itemFrom, itemTo);
      else if (item.isSymbolicLink()) draft.symlinks.set(itemTo, readlinkSync(draft.fs.hostPath(itemFrom)));
      else if (item.isFile()) {
        draft.addFile(itemTo, 'data', { kind: 'copy-dir', source: itemFrom });
        if (itemFrom !== itemTo) draft.files.get(itemTo)!.from = itemFrom;
      } else {
        const what = item.isFIFO() ? 'a FIFO' : item.isSocket() ? 'a socket' : 'a device';
        const reason = `${what}: a bundle carries files, symlinks and directories`;
        draft.excluded.set(itemFrom, { path: itemFrom, reason });
        draft.note('warning', 'COPY_DIR_SPECIAL', `--copy-dir leaves out ${itemFrom}, ${reason} (the program must make it at run time)`, itemFrom);
      }
    }
  };
  visit(walk.path, path.posix.normalize(dest));
}

function badDest(dest: string, given: string): never {
  throw new SidebundleError('COPY_DIR_BAD_DEST', `--copy-dir ${given}: the destination ${dest} is not absolute`, {
    input: given,
    kind: 'input',
    hint: 'write SRC:DEST with DEST an absolute path, e.g. --copy-dir ./share:/opt/app/share',
  });
}
