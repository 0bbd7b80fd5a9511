// Migration for 0.1.0, where an unknown key in sidebundle.json became an error (it used to be
// ignored) and bundles moved to layout/manifest format 2 (rebuilt, nothing to convert): give each
// sidebundle.json its "$schema", so editors flag such keys, and name the unknown keys each holds
// (with the closest known option) instead of guessing a rename.
import { formatFiles, logger, visitNotIgnoredFiles, type Tree } from '@nx/devkit';
import * as path from 'node:path';

import { closest } from '../../lib/config/config';
import { CONFIG_OPTIONS } from '../../lib/config/options';

const KNOWN = ['$schema', ...CONFIG_OPTIONS.map((o) => o.name)];

/** What the migration found: files given a "$schema", and unknown keys per file. */
export interface AddConfigSchemaReport {
  updated: string[];
  unknownKeys: Record<string, string[]>;
}

export async function addConfigSchema(tree: Tree): Promise<AddConfigSchemaReport> {
  const report: AddConfigSchemaReport = { updated: [], unknownKeys: {} };
  visitNotIgnoredFiles(tree, '.', (file) => {
    if (path.posix.basename(file) !== 'sidebundle.json' || file.split('/').includes('node_modules')) return;
    let config: unknown;
    try {
      config = JSON.parse(tree.read(file, 'utf8')!);
    } catch (error) {
      logger.warn(`sidebundle: ${file} is not valid JSON (${(error as Error).message}); left as it is`);
      return;
    }
    if (typeof config !== 'object' || config === null || Array.isArray(config)) return;
    const record = config as Record<string, unknown>;
    const unknown = Object.keys(record).filter((key) => !KNOWN.includes(key));
    if (unknown.length > 0) {
      report.unknownKeys[file] = unknown;
      for (const key of unknown) {
        const near = closest(key, KNOWN);
        logger.warn(`sidebundle: ${file}: unknown option "${key}"${near ? ` (did you mean ${near}?)` : ''}: now an error, fix it by hand`);
      }
    }
    if (!('$schema' in record)) {
      const dir = path.posix.dirname(file);
      const up = dir === '.' ? './' : '../'.repeat(dir.split('/').length);
      tree.write(file, `${JSON.stringify({ $schema: `${up}node_modules/sidebundle/sidebundle.schema.json`, ...record }, null, 2)}\n`);
      report.updated.push(file);
    }
  });
  await formatFiles(tree);
  return report;
}

export default addConfigSchema;
