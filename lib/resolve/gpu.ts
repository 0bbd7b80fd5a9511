// GPU and DRM driver libraries are tied to the kernel driver of the machine they run on; a copy
// from the build machine breaks the target's GPU stack. They are left out unless asked for
// (--allow-gpu-libs), and the manifest says what was left out and who needed it.

// One pattern, not a list tested in turn: each regular expression is compiled on its first use,
// and `resolve` tests a handful of names once, so fourteen compilations cost more than the tests.
const GPU_PATTERN = new RegExp([
  '^libcuda\\.so',
  '^libcudadebugger\\.so',
  '^libnvidia-',
  '^libnvcuvid\\.so',
  '^libnvoptix\\.so',
  '^libGLX_nvidia\\.so',
  '^libEGL_nvidia\\.so',
  '^libGLESv[12]_CM_nvidia\\.so',
  '^libGLESv2_nvidia\\.so',
  '^libvdpau_nvidia\\.so',
  '^libdrm(_[a-z0-9]+)?\\.so',
  '^libamdhip64\\.so',
  '^libhsa-runtime64\\.so',
  '_dri\\.so$',
].join('|'));

/** True when `fileName` (a basename) is a GPU/DRM driver library. */
export function isGpuLibrary(fileName: string): boolean {
  return GPU_PATTERN.test(fileName);
}

export const GPU_EXCLUSION_REASON = 'GPU/DRM driver library: it must come from the target machine (use --allow-gpu-libs to bundle it)';
