/**
 * OHIF 3.13 extension "@nnsam/ohif-extension": the nnSAM side panel, the commands behind every one of its
 * actions (and the ones that read painted labelmaps, create class-aware labelmaps, show returned SEGs and
 * segment in one click), and the evaluator of the one-click toolbar button. Loaded either at run time by a stock viewer (app-config.js lists
 * /plugins/nnsam-extension.js) or built into an OHIF monorepo through pluginConfig.json.
 */
import { createElement } from 'react';

import { NnsamApi } from './api/client.js';
import { authorizationProvider } from './auth.js';
import { commandsModule } from './commands.js';
import { resolveConfig } from './config.js';
import { EXTENSION_ID, PANEL_NAME } from './ids.js';
import { ohifContext } from './ohif/context.js';
import type { ExtensionParams } from './ohif/types.js';
import { foreignPanel } from './panel/host.js';
import { NnsamPanel } from './panel/NnsamPanel.js';
import { injectStyles } from './panel/styles.js';
import { toolbarModule } from './toolbar.js';
import { Workflow } from './workflow/workflow.js';

export {
  COMMANDS,
  EXTENSION_ID,
  PANEL_ID,
  PANEL_NAME,
  PANEL_TEST_ID,
  SEGMENT_BUTTON_ID,
  SEGMENT_EVALUATOR,
} from './ids.js';
export type { ShownSeg, ShowSegOptions } from './seg/show.js';
export type { CollectOptions } from './labelmap/collect.js';
export type { CreateLabelmapOptions, CreatedLabelmap } from './labelmap/create.js';
export type { NnsamViewerConfig, TokenHook } from './config.js';

let workflow: Workflow | null = null;

/** One workflow per viewer, made on first use from what OHIF hands the extension. */
function workflowFor(params: ExtensionParams): Workflow {
  if (!workflow) {
    const ctx = ohifContext(params);
    const config = resolveConfig(params.configuration, params.appConfig);
    const api = new NnsamApi(config.apiBaseUrl, {
      authorization: authorizationProvider(config, () => ctx.services.userAuthenticationService),
    });
    workflow = new Workflow(ctx, api, config);
  }
  return workflow;
}

const extension = {
  id: EXTENSION_ID,

  preRegistration(params: ExtensionParams) {
    workflow = null;
    workflowFor(params); // bad settings fail here, at start, naming the key
  },

  getPanelModule(params: ExtensionParams) {
    return [
      {
        name: PANEL_NAME,
        iconName: 'ToolSegmentAnything',
        iconLabel: 'nnSAM',
        label: 'nnSAM',
        component: foreignPanel(() => {
          injectStyles();
          return createElement(NnsamPanel, { workflow: workflowFor(params) });
        }),
      },
    ];
  },

  getCommandsModule(params: ExtensionParams) {
    return commandsModule(ohifContext(params), () => workflowFor(params));
  },

  getToolbarModule(params: ExtensionParams) {
    return toolbarModule(() => workflowFor(params));
  },
};

export default extension;
