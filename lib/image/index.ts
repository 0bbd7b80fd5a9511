export { imageIdentity, materializeImage } from './materialize';
export type { MaterializeOptions, MaterializedImage } from './materialize';
export { parseImageReference, describeSource } from './reference';
export type { ImageSource } from './reference';
export { ImageStore, defaultImageCache } from './store';
export { RegistryClient } from './registry';
export { applyLayer } from './unpack';
