// Builds the rootfs and image fixtures once before any test worker starts (cached between runs).
import { imageFixtures } from './fixtures/images';
import { bareRootfs, bullseyeRootfs } from './fixtures/rootfs';

export default function globalSetup(): void {
  bareRootfs();
  bullseyeRootfs();
  imageFixtures();
}
