// /proc/self/mountinfo: which mount holds a path, and with which per-mount options (noexec stops
// every program in a bundle, launcher included, with "Permission denied").

export interface MountInfo {
  mountPoint: string;
  options: string[];
  fsType: string;
}

/** Parse mountinfo lines (octal escapes in paths decoded). */
export function parseMountInfo(text: string): MountInfo[] {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  const mounts: MountInfo[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    if (fields.length < 7 || dash < 6) continue;
    mounts.push({ mountPoint: unescape(fields[4]!), options: fields[5]!.split(','), fsType: fields[dash + 1] ?? '' });
  }
  return mounts;
}

/** The mount a path lies on: the last-mounted one with the longest mount point containing it. */
export function mountOf(mounts: readonly MountInfo[], file: string): MountInfo | undefined {
  let best: MountInfo | undefined;
  for (const m of mounts) {
    const inside = m.mountPoint === '/' || file === m.mountPoint || file.startsWith(`${m.mountPoint}/`);
    if (inside && (!best || m.mountPoint.length >= best.mountPoint.length)) best = m;
  }
  return best;
}
