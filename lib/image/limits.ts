// How much an image may unpack to: per file, per layer, per image, and per compressed byte of a
// layer, so that a decompression or tar bomb is refused while it streams instead of filling the
// disk. Each limit is declared once below (default, key in SIDEBUNDLE_IMAGE_LIMITS, meaning);
// docs/images.md ("Limits and timeouts") documents the same table.
import { SidebundleError } from '../errors';

export interface ImageLimits {
  /** Largest single file. */
  maxFileBytes: number;
  /** Largest layer, unpacked (the tar stream's bytes). */
  maxLayerBytes: number;
  /** Largest total of the layers one run unpacks for an image. */
  maxImageBytes: number;
  /** Unpacked bytes a layer may have per compressed byte... */
  maxRatio: number;
  /** ...though any layer may unpack to this much. */
  ratioFloorBytes: number;
  /** Most entries in one layer. */
  maxEntries: number;
}

export const IMAGE_LIMITS_ENV = 'SIDEBUNDLE_IMAGE_LIMITS';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

// Sizes: real images hold single files of a few GiB at most (CUDA and model files), layers of a
// few GiB and whole images rarely over 20 GiB. gzip and zstd layers of real files unpack to 2-10
// times their size (20 for layers of mostly zeros); a bomb does 1000 (gzip) or far more (zstd).
// The floor lets a tiny layer hold a moderate file of zeros (a preallocated database, a swap file).
export const LIMITS: { readonly [K in keyof ImageLimits]: { key: string; value: number; size: boolean; what: string } } = {
  maxFileBytes: { key: 'file', value: 4 * GiB, size: true, what: 'bytes in one file' },
  maxLayerBytes: { key: 'layer', value: 16 * GiB, size: true, what: 'bytes one layer unpacks to' },
  maxImageBytes: { key: 'image', value: 32 * GiB, size: true, what: 'bytes the layers of an image unpack to (those unpacked in one run)' },
  maxRatio: { key: 'ratio', value: 50, size: false, what: 'unpacked bytes per compressed byte of a layer' },
  ratioFloorBytes: { key: 'ratio-floor', value: 256 * MiB, size: true, what: 'bytes any layer may unpack to, whatever its ratio' },
  maxEntries: { key: 'entries', value: 2_000_000, size: false, what: 'entries in one layer' },
};

const NAMES = Object.keys(LIMITS) as Array<keyof ImageLimits>;

export const DEFAULT_IMAGE_LIMITS: ImageLimits = Object.fromEntries(NAMES.map((name) => [name, LIMITS[name].value])) as unknown as ImageLimits;

const UNITS: Array<[string, number]> = [['T', 1024 * GiB], ['G', GiB], ['M', MiB], ['K', KiB]];

/** A limit as it is written in SIDEBUNDLE_IMAGE_LIMITS (16G, 256M, 50). */
export function formatLimit(name: keyof ImageLimits, value: number): string {
  if (!LIMITS[name].size) return String(value);
  const unit = UNITS.find(([, bytes]) => value >= bytes && value % bytes === 0);
  return unit ? `${value / unit[1]}${unit[0]}` : String(value);
}

/** `layer=32G,ratio=200` (sizes take K, M, G, T: powers of 1024) → the limits it sets. */
export function parseImageLimits(text: string, where = IMAGE_LIMITS_ENV): Partial<ImageLimits> {
  const result: Partial<ImageLimits> = {};
  for (const item of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([a-z-]+)=(\d+(?:\.\d+)?)([KMGT]?)$/i.exec(item);
    const name = m ? NAMES.find((n) => LIMITS[n].key === m[1]!.toLowerCase()) : undefined;
    const unit = m?.[3] ? UNITS.find(([u]) => u === m[3]!.toUpperCase())![1] : 1;
    const value = m ? Math.floor(Number(m[2]) * unit) : NaN;
    if (!m || !name || !(value > 0) || (m[3] && !LIMITS[name].size)) {
      throw new SidebundleError('IMAGE_LIMITS_INVALID', `${where}: ${JSON.stringify(item)} is not a limit`, {
        input: where,
        kind: 'input',
        hint: `write KEY=VALUE[,KEY=VALUE...] with keys ${NAMES.map((n) => LIMITS[n].key).join(', ')}; sizes take K, M, G, T (e.g. layer=32G,ratio=200)`,
      });
    }
    result[name] = value;
  }
  return result;
}

/** The limits in force: defaults, then the environment, then the caller's. */
export function imageLimits(overrides: Partial<ImageLimits> = {}, env: NodeJS.ProcessEnv = process.env): ImageLimits {
  return { ...DEFAULT_IMAGE_LIMITS, ...parseImageLimits(env[IMAGE_LIMITS_ENV] ?? ''), ...overrides };
}

/** How many bytes a layer may unpack to, which limit sets that, and in words. */
export interface LayerAllowance {
  bytes: number;
  limit: keyof ImageLimits;
  why: string;
}

/** The least of the layer limit, what the image limit leaves, and the ratio limit (when the compressed size is known). */
export function layerAllowance(limits: ImageLimits, compressedBytes: number | undefined, imageBytesBefore: number): LayerAllowance {
  const f = (name: keyof ImageLimits) => `the ${LIMITS[name].key} limit (${formatLimit(name, limits[name])})`;
  const candidates: LayerAllowance[] = [
    { bytes: limits.maxLayerBytes, limit: 'maxLayerBytes', why: f('maxLayerBytes') },
    { bytes: limits.maxImageBytes - imageBytesBefore, limit: 'maxImageBytes', why: `${f('maxImageBytes')}, ${imageBytesBefore} bytes of which the layers below took` },
  ];
  if (compressedBytes !== undefined) {
    candidates.push({
      bytes: Math.max(limits.maxRatio * compressedBytes, limits.ratioFloorBytes),
      limit: 'maxRatio',
      why: `${f('maxRatio')} for its ${compressedBytes} compressed bytes (at least ${f('ratioFloorBytes')})`,
    });
  }
  return candidates.reduce((least, c) => (c.bytes < least.bytes ? c : least));
}

/** The error for a layer or file over `limit`: what, which limit, how to raise it. */
export function overLimit(name: keyof ImageLimits, limits: ImageLimits, message: string, input: string): SidebundleError {
  const { key } = LIMITS[name];
  return new SidebundleError(name === 'maxImageBytes' ? 'IMAGE_TOO_LARGE' : 'IMAGE_LAYER_TOO_LARGE', message, {
    input,
    hint: `nothing of it was kept; if the image really is that large, raise the ${key} limit (now ${formatLimit(name, limits[name])}) with ${IMAGE_LIMITS_ENV}=${key}=VALUE, otherwise it is a decompression or tar bomb`,
    details: { limit: key, value: limits[name] },
  });
}
