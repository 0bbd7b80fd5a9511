// isGpuLibrary tests names with string methods; the list of patterns it stands for is the oracle here,
// over names each of them matches, near misses, and names of this machine's libraries.
import { readdirSync } from 'node:fs';

import { isGpuLibrary } from '../../../lib/resolve/gpu';

const PATTERNS = [
  /^libcuda\.so/,
  /^libcudadebugger\.so/,
  /^libnvidia-/,
  /^libnvcuvid\.so/,
  /^libnvoptix\.so/,
  /^libGLX_nvidia\.so/,
  /^libEGL_nvidia\.so/,
  /^libGLESv[12]_CM_nvidia\.so/,
  /^libGLESv2_nvidia\.so/,
  /^libvdpau_nvidia\.so/,
  /^libdrm(_[a-z0-9]+)?\.so/,
  /^libamdhip64\.so/,
  /^libhsa-runtime64\.so/,
  /_dri\.so$/,
];
const byList = (name: string) => PATTERNS.some((pattern) => pattern.test(name));

const GPU = [
  'libcuda.so.1', 'libcudadebugger.so.1', 'libnvidia-ml.so.1', 'libnvcuvid.so', 'libnvoptix.so.1', 'libGLX_nvidia.so.0',
  'libEGL_nvidia.so.0', 'libGLESv1_CM_nvidia.so.1', 'libGLESv2_CM_nvidia.so.1', 'libGLESv2_nvidia.so.2', 'libvdpau_nvidia.so',
  'libdrm.so.2', 'libdrm_amdgpu.so.1', 'libdrm_nouveau.so.2', 'libdrm_a1.so', 'libdrm_z09.so.1', 'libdrm.so', 'libamdhip64.so.5', 'libhsa-runtime64.so.1', 'radeonsi_dri.so', 'iris_dri.so',
];
const NOT_GPU = [
  'libc.so.6', 'libcudart.so.12', 'xlibcuda.so', 'libnvidia', 'libGLESv3_CM_nvidia.so', 'libdrm_AMD.so', 'libdrm-x.so', 'libdrm_.so', 'libdrm_amdgpu', 'libdrm_amd-gpu.so', 'libdrm_`.so', 'libdrm_{.so', 'libdrm_/.so', 'libdrm_:.so', 'libdrm_amdgpuso', 'libdrm', 'x_dri.so.1', '_dri.s',
  'libGLX_mesa.so.0', 'radeonsi_dri.so.1', 'dri.so', 'libEGL.so.1', 'libamdhip64.a', '',
];

describe('isGpuLibrary', () => {
  test.each(GPU)('%s is a GPU library', (name) => {
    expect(byList(name)).toBe(true);
    expect(isGpuLibrary(name)).toBe(true);
  });

  test.each(NOT_GPU)('"%s" is not', (name) => {
    expect(byList(name)).toBe(false);
    expect(isGpuLibrary(name)).toBe(false);
  });

  test("this machine's libraries: the same answer as the list of patterns", () => {
    const names = readdirSync('/usr/lib/x86_64-linux-gnu');
    expect(names.length).toBeGreaterThan(100);
    for (const name of names) expect([name, isGpuLibrary(name)]).toEqual([name, byList(name)]);
  });
});
