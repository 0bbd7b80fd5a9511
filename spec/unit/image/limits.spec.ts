// The unpack limits: parsed from SIDEBUNDLE_IMAGE_LIMITS, layered over the defaults, and the
// least of the layer, image and ratio limits deciding what a layer may unpack to.
import { DEFAULT_IMAGE_LIMITS, formatLimit, imageLimits, layerAllowance, parseImageLimits } from '../../../lib/image/limits';

const MiB = 1024 * 1024;

test('SIDEBUNDLE_IMAGE_LIMITS sets limits by key, sizes with binary units', () => {
  expect(parseImageLimits('layer=32G, ratio=200,file=1.5G,ratio-floor=64M,entries=10,image=1T')).toEqual({
    maxLayerBytes: 32 * 1024 * MiB,
    maxRatio: 200,
    maxFileBytes: 1.5 * 1024 * MiB,
    ratioFloorBytes: 64 * MiB,
    maxEntries: 10,
    maxImageBytes: 1024 * 1024 * MiB,
  });
  expect(parseImageLimits('')).toEqual({});
});

test('a malformed limit is an input error that lists the keys', () => {
  for (const bad of ['layer', 'layer=', 'layers=1G', 'ratio=5M', 'file=0', 'file=-1']) {
    expect(() => parseImageLimits(bad)).toThrow(expect.objectContaining({ code: 'IMAGE_LIMITS_INVALID', kind: 'input', hint: expect.stringMatching(/file, layer, image, ratio, ratio-floor, entries/) }));
  }
});

test('the caller overrides the environment, which overrides the defaults', () => {
  const env = { SIDEBUNDLE_IMAGE_LIMITS: 'layer=1G,ratio=7' };
  expect(imageLimits({}, {})).toEqual(DEFAULT_IMAGE_LIMITS);
  expect(imageLimits({ maxRatio: 9 }, env)).toEqual({ ...DEFAULT_IMAGE_LIMITS, maxLayerBytes: 1024 * MiB, maxRatio: 9 });
});

test('a layer may unpack to the least of its limits, and says which', () => {
  const limits = { ...DEFAULT_IMAGE_LIMITS, maxLayerBytes: 100 * MiB, maxImageBytes: 150 * MiB, maxRatio: 10, ratioFloorBytes: 8 * MiB };
  expect(layerAllowance(limits, undefined, 0)).toMatchObject({ bytes: 100 * MiB, limit: 'maxLayerBytes' });
  expect(layerAllowance(limits, undefined, 120 * MiB)).toMatchObject({ bytes: 30 * MiB, limit: 'maxImageBytes' });
  expect(layerAllowance(limits, 2 * MiB, 0)).toMatchObject({ bytes: 20 * MiB, limit: 'maxRatio' });
  expect(layerAllowance(limits, 1000, 0)).toMatchObject({ bytes: 8 * MiB, limit: 'maxRatio', why: expect.stringMatching(/at least the ratio-floor limit \(8M\)/) });
});

test('limits print as they are written', () => {
  expect(formatLimit('maxLayerBytes', 16 * 1024 * MiB)).toBe('16G');
  expect(formatLimit('maxLayerBytes', 1000)).toBe('1000');
  expect(formatLimit('maxRatio', 50)).toBe('50');
});
