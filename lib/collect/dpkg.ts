// Which Debian package owns a file, and what else it installed: the fallback that makes "the
// whole distribution" mean something for modules that carry no list of their own (Debian's Perl
// modules have no .packlist, many of its Python ones an egg-info without installed-files.txt).
// Read from the root's /var/lib/dpkg/info/*.list, once, only when a family asks.
import type { RootFs } from '../resolve/rootfs';
import { readText } from './tree';

export interface PackageIndex {
  /** The package that installed `logical` (merged /usr: /lib/x and /usr/lib/x are one). */
  ownerOf(logical: string): string | undefined;
  /** The files it installed (as listed: directories too; callers filter). */
  filesOf(pkg: string): string[];
}

const INFO = '/var/lib/dpkg/info';

export function dpkgIndex(fs: RootFs): PackageIndex {
  let owners: Map<string, string> | undefined;
  let files: Map<string, string[]> | undefined;
  const load = () => {
    owners = new Map();
    files = new Map();
    const dir = fs.resolve(INFO);
    if (dir === null || !dir.stats.isDirectory()) return;
    let names: string[];
    try {
      names = fs.readdir(dir.path).map((d) => d.name).filter((n) => n.endsWith('.list'));
    } catch {
      return;
    }
    for (const name of names) {
      const pkg = name.slice(0, -'.list'.length).replace(/:.*$/, '');
      const list = (readText(fs, `${INFO}/${name}`) ?? '').split('\n').filter((l) => l.startsWith('/') && l !== '/.');
      files.set(pkg, list);
      for (const file of list) owners.set(usrMerged(file), pkg);
    }
  };
  return {
    ownerOf(logical) {
      if (owners === undefined) load();
      return owners!.get(usrMerged(logical));
    },
    filesOf(pkg) {
      if (files === undefined) load();
      return files!.get(pkg) ?? [];
    },
  };
}

/** /lib/x, /bin/x, /sbin/x as /usr/lib/x...: dpkg lists either spelling on merged-/usr systems. */
function usrMerged(file: string): string {
  return /^\/(lib|lib32|lib64|libx32|bin|sbin)\//.test(file) ? `/usr${file}` : file;
}
