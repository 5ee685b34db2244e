// The stock OHIF viewer served by the nnSAM server: router, generated app-config.js, DICOMweb proxy.
export {
  DICOMWEB_PATH,
  ohifAppConfig,
  PLUGINS_PATH,
  renderAppConfig,
  runtimePluginEntries,
  type AppConfigOptions,
  type RuntimePlugin,
} from './app-config.js';
export { nnsamPlugins, OHIF_VERSION, ohifDistDir } from './paths.js';
export { dicomWebProxy, parseUpstream, type DicomWebProxyOptions } from './proxy.js';
export { viewerRouter, type ViewerOptions } from './router.js';
