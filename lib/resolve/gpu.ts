// GPU and DRM driver libraries are tied to the kernel driver of the machine they run on; a copy
// from the build machine breaks the target's GPU stack. They are left out unless asked for
// (--allow-gpu-libs), and the manifest says what was left out and who needed it.

// Plain string tests, not regular expressions: each expression is compiled on its first use, and
// `resolve` asks about a handful of names once, so compiling cost more than all the tests. The
// patterns these stand for: ^libcuda\.so, ^libcudadebugger\.so, ^libnvidia-, ^libnvcuvid\.so,
// ^libnvoptix\.so, ^libGLX_nvidia\.so, ^libEGL_nvidia\.so, ^libGLESv[12]_CM_nvidia\.so,
// ^libGLESv2_nvidia\.so, ^libvdpau_nvidia\.so, ^libdrm(_[a-z0-9]+)?\.so, ^libamdhip64\.so,
// ^libhsa-runtime64\.so and _dri\.so$ (spec/unit/resolve/gpu.spec.ts checks them against these).
const GPU_PREFIXES = [
  'libcuda.so',
  'libcudadebugger.so',
  'libnvidia-',
  'libnvcuvid.so',
  'libnvoptix.so',
  'libGLX_nvidia.so',
  'libEGL_nvidia.so',
  'libGLESv1_CM_nvidia.so',
  'libGLESv2_CM_nvidia.so',
  'libGLESv2_nvidia.so',
  'libvdpau_nvidia.so',
  'libdrm.so',
  'libamdhip64.so',
  'libhsa-runtime64.so',
];

/** True when `fileName` (a basename) is a GPU/DRM driver library. */
export function isGpuLibrary(fileName: string): boolean {
  if (fileName.endsWith('_dri.so')) return true;
  for (const prefix of GPU_PREFIXES) if (fileName.startsWith(prefix)) return true;
  return fileName.startsWith('libdrm_') && isDrmDriver(fileName);
}

/** libdrm_NAME.so..., NAME of lowercase letters and digits. */
function isDrmDriver(fileName: string): boolean {
  const start = 'libdrm_'.length;
  let at = start;
  while (at < fileName.length && isLowerAlphanumeric(fileName.charCodeAt(at))) at++;
  return at > start && fileName.startsWith('.so', at);
}

function isLowerAlphanumeric(code: number): boolean {
  return (code >= 0x61 && code <= 0x7a) || (code >= 0x30 && code <= 0x39);
}

export const GPU_EXCLUSION_REASON = 'GPU/DRM driver library: it must come from the target machine (use --allow-gpu-libs to bundle it)';
