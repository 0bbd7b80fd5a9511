// Builds the rootfs fixtures once before any test worker starts (they are cached between runs).
import { bareRootfs, bullseyeRootfs } from './fixtures/rootfs';

export default function globalSetup(): void {
  bareRootfs();
  bullseyeRootfs();
}
