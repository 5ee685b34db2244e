/**
 * OHIF 3.13 extension "@nnsam/ohif-extension": the nnSAM side panel and the commands that read painted
 * labelmaps and show returned SEGs. Loaded either at run time by a stock viewer (app-config.js lists
 * /plugins/nnsam-extension.js) or built into an OHIF monorepo through pluginConfig.json.
 */
import { createElement } from 'react';

import { NnsamApi } from './api/client.js';
import { commandsModule } from './commands.js';
import { resolveConfig, type NnsamViewerConfig } from './config.js';
import { EXTENSION_ID, PANEL_NAME } from './ids.js';
import { ohifContext } from './ohif/context.js';
import type { ExtensionParams } from './ohif/types.js';
import { foreignPanel } from './panel/host.js';
import { NnsamPanel } from './panel/NnsamPanel.js';
import { injectStyles } from './panel/styles.js';

export { COMMANDS, EXTENSION_ID, PANEL_ID, PANEL_NAME, PANEL_TEST_ID } from './ids.js';
export type { ShownSeg, ShowSegOptions } from './seg/show.js';
export type { CollectOptions } from './labelmap/collect.js';

let config: NnsamViewerConfig | null = null;

const extension = {
  id: EXTENSION_ID,

  preRegistration({ appConfig, configuration }: ExtensionParams) {
    config = resolveConfig(configuration, appConfig);
  },

  getPanelModule(params: ExtensionParams) {
    const ctx = ohifContext(params);
    const api = new NnsamApi((config ?? resolveConfig(undefined, params.appConfig)).apiBaseUrl);
    return [
      {
        name: PANEL_NAME,
        iconName: 'ToolSegmentAnything',
        iconLabel: 'nnSAM',
        label: 'nnSAM',
        component: foreignPanel(() => {
          injectStyles();
          return createElement(NnsamPanel, { ctx, api });
        }),
      },
    ];
  },

  getCommandsModule(params: ExtensionParams) {
    return commandsModule(ohifContext(params));
  },
};

export default extension;
