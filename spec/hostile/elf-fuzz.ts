// The ELF fuzzing loop, shared by the bounded spec and the long-run script: mutate real ELF
// files, parse each mutant with readElf, and report any outcome that is neither a parse nor a
// SidebundleError with an ELF_* code (a finding), and how long the slowest parse took.
import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import * as path from 'node:path';

import { ELF_ERROR_CODES, readElf } from '../../lib/elf';
import { isSidebundleError } from '../../lib/errors';
import { elfFields } from './elf-fields';
import { applyMutations, mutateInPlace, randomMutations, seededRandom, type Field, type Mutation, type Touched } from './mutate';

export interface FuzzBase {
  path: string;
  bytes: Buffer;
}

export interface FuzzOptions {
  bases: FuzzBase[];
  seed: number;
  /** Stop after this many mutants... */
  count: number;
  /** ...or after this many seconds, whichever comes first. */
  seconds?: number;
  /** Mutants are written here to be parsed (readElf reads files). */
  workDir: string;
  /** Called with each finding, e.g. to save it. */
  onFinding?: (finding: Finding) => void;
  /** Parses slower than this are findings too (a hang in the making). */
  slowMs?: number;
}

export interface Finding {
  base: string;
  seed: number;
  iteration: number;
  mutations: Mutation[];
  bytes: Buffer;
  outcome: string;
  ms: number;
}

export interface FuzzStats {
  runs: number;
  parsed: number;
  byCode: Record<string, number>;
  findings: Finding[];
  slowest: { ms: number; base: string; iteration: number };
}

const knownCodes: ReadonlySet<string> = new Set(ELF_ERROR_CODES);

export function fuzzElf(options: FuzzOptions): FuzzStats {
  const random = seededRandom(options.seed);
  const fields = new Map<FuzzBase, Field[]>(options.bases.map((b) => [b, elfFields(b.bytes)]));
  const stats: FuzzStats = { runs: 0, parsed: 0, byCode: {}, findings: [], slowest: { ms: 0, base: '', iteration: -1 } };
  const deadline = options.seconds === undefined ? Infinity : Date.now() + options.seconds * 1000;
  // One file per base; the mutant on disk is left behind if a parse hangs: the reproducer of last resort.
  const mutants = new Map(options.bases.map((b, i) => [b, new MutantFile(path.join(options.workDir, `current-${i}.elf`), b)]));
  try {
    for (let iteration = 0; iteration < options.count && Date.now() < deadline; iteration++) {
      const base = options.bases[Math.floor(random() * options.bases.length)]!;
      const mutations = randomMutations(random, base.bytes, fields.get(base)!);
      const outcome = mutants.get(base)!.with(mutations, parse);
      stats.runs++;
      if (outcome.result === 'parsed') stats.parsed++;
      else stats.byCode[outcome.result] = (stats.byCode[outcome.result] ?? 0) + 1;
      if (outcome.ms > stats.slowest.ms) stats.slowest = { ms: outcome.ms, base: base.path, iteration };
      const slow = options.slowMs !== undefined && outcome.ms > options.slowMs;
      if (outcome.result.startsWith('unexpected') || slow) {
        const finding: Finding = {
          base: base.path, seed: options.seed, iteration, mutations, bytes: applyMutations(base.bytes, mutations),
          outcome: slow ? `slow (${outcome.ms.toFixed(0)} ms): ${outcome.result}` : outcome.result, ms: outcome.ms,
        };
        stats.findings.push(finding);
        options.onFinding?.(finding);
      }
    }
  } finally {
    for (const mutant of mutants.values()) mutant.close();
  }
  return stats;
}

function parse(file: string): { result: string; ms: number } {
  const started = process.hrtime.bigint();
  let result: string;
  try {
    readElf(file);
    result = 'parsed';
  } catch (error) {
    result = isSidebundleError(error) && knownCodes.has(error.code) ? error.code : `unexpected ${describe(error)}`;
  }
  return { result, ms: Number(process.hrtime.bigint() - started) / 1e6 };
}

/**
 * One file on disk holding a base with a few bytes patched: bases are megabytes and a mutant
 * differs in a handful of bytes, so only those are written, then restored.
 */
class MutantFile {
  private readonly fd: number;
  private readonly working: Buffer;

  constructor(
    readonly file: string,
    private readonly base: FuzzBase,
  ) {
    this.fd = openSync(file, 'w+');
    this.working = Buffer.from(base.bytes);
    writeSync(this.fd, base.bytes, 0, base.bytes.length, 0);
  }

  with<T>(mutations: Mutation[], use: (file: string) => T): T {
    const { bytes } = this.base;
    const touched = mutateInPlace(this.working, mutations);
    this.write(touched, this.working);
    if (touched.length < bytes.length) ftruncateSync(this.fd, touched.length);
    try {
      return use(this.file);
    } finally {
      for (const [start, end] of touched.ranges) bytes.copy(this.working, start, start, end);
      this.write(touched, bytes);
      if (touched.length < bytes.length) writeSync(this.fd, bytes, touched.length, bytes.length - touched.length, touched.length);
    }
  }

  close(): void {
    closeSync(this.fd);
  }

  private write(touched: Touched, from: Buffer): void {
    for (const [start, end] of touched.ranges) {
      const stop = Math.min(end, touched.length);
      if (stop > start) writeSync(this.fd, from, start, stop - start, start);
    }
  }
}

function describe(error: unknown): string {
  if (isSidebundleError(error)) return `SidebundleError ${error.code}: ${error.message}`;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
