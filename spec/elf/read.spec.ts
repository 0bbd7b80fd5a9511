import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { readElf } from '../../lib/elf';
import { SidebundleError } from '../../lib/errors';
import { tempDir } from '../helpers/tmp';

/** What readelf (binutils) says about a file: the oracle. */
function readelfFacts(file: string) {
  const dynamic = execFileSync('readelf', ['-d', '-W', file], { encoding: 'utf8' });
  const grab = (tag: string) => [...dynamic.matchAll(new RegExp(`\\(${tag}\\)\\s+[^[]*\\[([^\\]]*)\\]`, 'g'))].map((m) => m[1]!);
  const program = execFileSync('readelf', ['-l', '-W', file], { encoding: 'utf8' });
  const interpreter = /Requesting program interpreter: ([^\]]+)\]/.exec(program)?.[1];
  const versions = execFileSync('readelf', ['-V', '-W', file], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const needs: Record<string, string[]> = {};
  const needSection = versions.split(/Version needs section/)[1]?.split(/Version definition section|Version symbols section/)[0] ?? '';
  let current = '';
  for (const line of needSection.split('\n')) {
    const fileMatch = /File: (\S+)/.exec(line);
    if (fileMatch) needs[(current = fileMatch[1]!)] = [];
    const nameMatch = /Name: (\S+)\s+Flags/.exec(line);
    if (nameMatch && current) needs[current]!.push(nameMatch[1]!);
  }
  const defSection = versions.split(/Version definition section/)[1]?.split(/Version needs section|Version symbols section/)[0] ?? '';
  const defs = [...defSection.matchAll(/Flags: (\S+)\s+Index: \d+\s+Cnt: \d+\s+Name: (\S+)/g)]
    .filter((m) => m[1] !== 'BASE')
    .map((m) => m[2]!);
  return { needed: grab('NEEDED'), rpath: grab('RPATH')[0], runpath: grab('RUNPATH')[0], soname: grab('SONAME')[0], interpreter, needs, defs };
}

const libDir = '/usr/lib/x86_64-linux-gnu';
const corpus = [
  '/usr/bin/jq', '/usr/bin/curl', '/usr/bin/git', '/usr/bin/python3.11', '/usr/bin/perl', '/usr/bin/node', '/usr/bin/busybox',
  `${libDir}/libc.so.6`, `${libDir}/ld-linux-x86-64.so.2`, `${libDir}/libstdc++.so.6`, `${libDir}/libcurl.so.4`,
  ...readdirSync(libDir).filter((f) => /\.so\.\d+$/.test(f)).sort().slice(0, 40).map((f) => path.join(libDir, f)),
].filter((f) => existsSync(f));

describe('readElf on real binaries agrees with readelf', () => {
  test.each(corpus)('%s', (file) => {
    const info = readElf(file);
    const facts = readelfFacts(file);
    expect(info.needed).toEqual(facts.needed);
    expect(info.interpreter).toBe(facts.interpreter);
    expect(info.soname).toBe(facts.soname);
    expect(info.rpath).toBe(facts.rpath);
    expect(info.runpath).toBe(facts.runpath);
    expect(Object.fromEntries(info.versionNeeds.map((n) => [n.file, n.versions]))).toEqual(facts.needs);
    expect([...info.versionDefs].sort()).toEqual([...facts.defs].sort());
  });

  // The programs the version-table bounds were checked against: each must have version needs
  // (else the comparison proves nothing) and read exactly as readelf -V lists them.
  const versioned = ['/bin/ls', '/usr/bin/python3', `${libDir}/libstdc++.so.6`];
  for (const file of versioned) {
    const check = existsSync(file) ? test : test.skip; // skipped visibly where not installed
    check(`${file} keeps the version needs readelf -V lists`, () => {
      const facts = readelfFacts(file);
      expect(Object.keys(facts.needs).length).toBeGreaterThan(0);
      const info = readElf(file);
      expect(Object.fromEntries(info.versionNeeds.map((n) => [n.file, n.versions]))).toEqual(facts.needs);
      expect(info.versionNeeds.map((n) => n.file)).toEqual(Object.keys(facts.needs));
    });
  }

  test('libc defines the GLIBC versions programs need', () => {
    const libc = readElf(`${libDir}/libc.so.6`);
    expect(libc.versionDefs).toContain('GLIBC_2.34');
    const jq = readElf('/usr/bin/jq');
    expect(jq.versionNeeds.find((n) => n.file === 'libc.so.6')!.versions.length).toBeGreaterThan(0);
  });

  test('a static program has no interpreter and no needed libraries', () => {
    const busybox = readElf('/usr/bin/busybox');
    expect(busybox.interpreter).toBeUndefined();
    expect(busybox.needed).toEqual([]);
  });
});

describe('readElf on bad input gives a typed error', () => {
  const dir = tempDir('sb-elf-');
  const jq = readFileSync('/usr/bin/jq');

  function write(name: string, bytes: Buffer): string {
    const file = path.join(dir, name);
    writeFileSync(file, bytes);
    return file;
  }

  function codeOf(file: string): string {
    try {
      readElf(file);
    } catch (error) {
      expect(error).toBeInstanceOf(SidebundleError);
      return (error as SidebundleError).code;
    }
    return 'no error';
  }

  test('a text file is not ELF', () => {
    expect(codeOf('/etc/passwd')).toBe('ELF_NOT_ELF');
    expect(codeOf(write('empty', Buffer.alloc(0)))).toBe('ELF_NOT_ELF');
  });

  test('a missing file is reported with its path', () => {
    expect(() => readElf(path.join(dir, 'nope'))).toThrow(/nope/);
    expect(codeOf(path.join(dir, 'nope'))).toBe('ELF_OPEN_FAILED');
  });

  test('a 32-bit ELF is unsupported, and says so', () => {
    const header = Buffer.from(jq.subarray(0, 64));
    header[4] = 1; // ELFCLASS32
    const file = write('elf32', header);
    expect(codeOf(file)).toBe('ELF_UNSUPPORTED');
    expect(() => readElf(file)).toThrow(/32-bit/);
  });

  test('an aarch64 ELF is unsupported, and says which machine it is', () => {
    const bytes = Buffer.from(jq);
    bytes.writeUInt16LE(183, 18);
    expect(() => readElf(write('aarch64', bytes))).toThrow(/AArch64/);
  });

  test('truncated files are caught before anything is read past the end', () => {
    expect(codeOf(write('trunc-64', jq.subarray(0, 64)))).toBe('ELF_TRUNCATED');
    expect(codeOf(write('trunc-40', jq.subarray(0, 40)))).toBe('ELF_TRUNCATED');
    expect(codeOf(write('trunc-1k', jq.subarray(0, 1024)))).toBe('ELF_TRUNCATED');
  });

  test('offsets and counts past the end of the file are errors, not allocations', () => {
    const farPhoff = Buffer.from(jq);
    farPhoff.writeBigUInt64LE(1n << 40n, 32);
    expect(codeOf(write('phoff', farPhoff))).toBe('ELF_TRUNCATED');
    const huge = Buffer.from(jq);
    huge.writeBigUInt64LE(0xffffffffffffffffn, 32);
    expect(codeOf(write('phoff-huge', huge))).toBe('ELF_MALFORMED');
    // PN_XNUM: the real count is sh_info of section header 0; make it absurd. More program
    // headers than the kernel loads is malformed before anything is read.
    const xnum = Buffer.from(jq);
    xnum.writeUInt16LE(0xffff, 56);
    xnum.writeUInt32LE(0xffffffff, Number(xnum.readBigUInt64LE(40)) + 44);
    expect(codeOf(write('xnum', xnum))).toBe('ELF_MALFORMED');
  });

  test('no loadable segment (e_phnum 0, or PN_XNUM whose section 0 says 0) is malformed, not a static program', () => {
    const none = Buffer.from(jq);
    none.writeUInt16LE(0, 56);
    expect(codeOf(write('phnum-0', none))).toBe('ELF_MALFORMED');
    expect(() => readElf(path.join(dir, 'phnum-0'))).toThrow(/no loadable segment \(PT_LOAD\)/);
    const xnum = Buffer.from(jq);
    xnum.writeUInt16LE(0xffff, 56);
    expect(xnum.readUInt32LE(Number(xnum.readBigUInt64LE(40)) + 44)).toBe(0); // the precondition: jq's section 0 says 0
    expect(codeOf(write('xnum-0', xnum))).toBe('ELF_MALFORMED');
  });

  test('an unterminated dynamic string table is malformed', () => {
    const sections = execFileSync('readelf', ['-S', '-W', '/usr/bin/jq'], { encoding: 'utf8' });
    const m = /\.dynstr\s+STRTAB\s+[0-9a-f]+\s+([0-9a-f]+)\s+([0-9a-f]+)/.exec(sections)!;
    const [offset, size] = [parseInt(m[1]!, 16), parseInt(m[2]!, 16)];
    const bytes = Buffer.from(jq);
    bytes.fill(0x41, offset, offset + size);
    expect(codeOf(write('strtab', bytes))).toBe('ELF_MALFORMED');
  });

  test('random corruption never crashes or hangs: a result or a SidebundleError', () => {
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const head = jq.subarray(0, 16384);
    for (let round = 0; round < 300; round++) {
      const bytes = Buffer.from(head.subarray(0, 64 + Math.floor(random() * (head.length - 64))));
      for (let flips = 0; flips < 1 + Math.floor(random() * 8); flips++) {
        bytes[Math.floor(random() * Math.min(bytes.length, 4096))] = Math.floor(random() * 256);
      }
      const file = write('fuzz', bytes);
      try {
        readElf(file);
      } catch (error) {
        expect(error).toBeInstanceOf(SidebundleError);
      }
    }
  });

  test('a copy of a real binary reads the same as the original', () => {
    const file = path.join(dir, 'jq-copy');
    copyFileSync('/usr/bin/jq', file);
    expect(readElf(file)).toEqual(readElf('/usr/bin/jq'));
  });
});
