/**
 * What commands and the panel need from OHIF, gathered once from the managers OHIF hands the extension.
 */
import type {
  CommandsManager,
  CornerstoneCore,
  CornerstoneLibraries,
  ExtensionManager,
  Services,
  ServicesManager,
} from './types.js';

export interface OhifContext {
  services: Services;
  commandsManager: CommandsManager;
  extensionManager: ExtensionManager;
  /** cornerstone3D core, through OHIF's cornerstone extension (loaded lazily: it registers after us) */
  cornerstone(): CornerstoneCore;
}

const CORNERSTONE_UTILITIES = '@ohif/extension-cornerstone.utilityModule.common';

export function ohifContext(params: {
  servicesManager: ServicesManager;
  commandsManager: CommandsManager;
  extensionManager: ExtensionManager;
}): OhifContext {
  return {
    services: params.servicesManager.services,
    commandsManager: params.commandsManager,
    extensionManager: params.extensionManager,
    cornerstone() {
      const entry = params.extensionManager.getModuleEntry(CORNERSTONE_UTILITIES) as
        { exports?: { getCornerstoneLibraries?: () => CornerstoneLibraries } } | undefined;
      const libs = entry?.exports?.getCornerstoneLibraries?.();
      if (!libs?.cornerstone) {
        throw new Error(`OHIF's cornerstone extension is not loaded (${CORNERSTONE_UTILITIES} missing).`);
      }
      return libs.cornerstone;
    },
  };
}
