/**
 * OHIF 3.13 mode "nnSAM": OHIF's stock segmentation mode (viewport grid, labelmap and contour tools and
 * panels) with the nnSAM panel added first on the right. Route: /nnsam?StudyInstanceUIDs=<uid>.
 *
 * We extend rather than copy: `loadModules(['@ohif/mode-segmentation'])` inside modeFactory gives the
 * stock mode of whichever OHIF runs us, so tools and toolbars follow OHIF upgrades. Our extension is not
 * listed in the instance's `extensions` map (the route would try to import it by name): it is registered
 * by the viewer (app-config.js or pluginConfig.json) before any mode opens.
 */
import { MODE_ID, SEGMENTATION_MODE } from './ids.js';
import { extendSegmentationMode } from './extend.js';
import type { LoadModules, ModeModule } from './types.js';

export { MODE_ID, ROUTE_NAME } from './ids.js';
export { extendSegmentationMode } from './extend.js';

const mode = {
  id: MODE_ID,
  async modeFactory({
    modeConfiguration,
    loadModules,
  }: {
    modeConfiguration?: unknown;
    loadModules: LoadModules;
  }) {
    const [stock] = (await loadModules([SEGMENTATION_MODE])) as [ModeModule | undefined];
    if (!stock?.modeFactory) {
      throw new Error(`nnSAM mode: OHIF's ${SEGMENTATION_MODE} is not available; this OHIF build lacks it.`);
    }
    const base = await stock.modeFactory.call(stock, { loadModules });
    const nnsam = extendSegmentationMode(base);
    // Site configuration (appConfig.modesConfiguration['@nnsam/ohif-mode']) is applied the way the stock
    // modes apply theirs: the stock factory runs immutability-helper commands over `this.modeInstance`.
    return modeConfiguration
      ? stock.modeFactory.call({ modeInstance: nnsam }, { modeConfiguration, loadModules })
      : nnsam;
  },
  extensionDependencies: { '@nnsam/ohif-extension': '^0.1.0' },
};

export default mode;
