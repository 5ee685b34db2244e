import { describe, expect, it, vi } from 'vitest';

import mode from './index.js';
import {
  MODE_ID,
  PANEL_ID,
  PANEL_TEST_ID,
  SEGMENT_BUTTON_ID,
  SEGMENT_COMMAND,
  SEGMENT_EVALUATOR,
  STOCK_SEGMENTATION_PANELS,
} from './ids.js';
import { extendSegmentationMode, keepPanelInFront } from './extend.js';
import type { ModeContext, ModeInstance, ModeModule } from './types.js';

// The shape of OHIF 3.13.2's @ohif/mode-segmentation instance, reduced to what the extension touches
// (the browser tests run the real one).
function stockInstance(calls: string[]): ModeInstance {
  return {
    id: '@ohif/mode-segmentation',
    routeName: 'segmentation',
    displayName: 'Segmentation',
    routes: [
      {
        path: 'template',
        layoutTemplate() {
          return this.layoutInstance;
        },
        layoutInstance: {
          id: '@ohif/extension-default.layoutTemplateModule.viewerLayout',
          props: { leftPanels: ['thumbnails'], rightPanels: [...STOCK_SEGMENTATION_PANELS] },
        },
      },
    ],
    onModeEnter(this: ModeInstance) {
      this._unsubscriptions = [() => calls.push('stock unsubscribed')];
      calls.push(`stock enter as ${this.id}`);
    },
    onModeExit(this: ModeInstance) {
      this._unsubscriptions?.forEach((u) => u());
    },
    extensions: { '@ohif/extension-default': '^3.0.0' },
    toolbarButtons: [{ $reference: 'cornerstone.toolbarButtons' }],
  };
}

function panelServiceRecorder() {
  const listeners: Array<(e: { panelId: string; forceActive: boolean }) => void> = [];
  const activated: string[] = [];
  const sections: Record<string, string[]> = { primary: ['WindowLevel', 'Pan'] };
  return {
    activated,
    sections,
    emit: (panelId: string, forceActive = true) => listeners.forEach((l) => l({ panelId, forceActive })),
    ctx: {
      servicesManager: {
        services: {
          panelService: {
            EVENTS: { ACTIVATE_PANEL: 'event::panelService:activatePanel' },
            activatePanel: (id: string) => void activated.push(id),
            subscribe: (_e: string, l: (e: { panelId: string; forceActive: boolean }) => void) => {
              listeners.push(l);
              return { unsubscribe: () => listeners.splice(listeners.indexOf(l), 1) };
            },
          },
          // OHIF 3.13's updateSection appends ids the section does not have yet
          toolbarService: {
            updateSection: (key: string, ids: string[]) => {
              const section = (sections[key] ??= []);
              section.push(...ids.filter((id) => !section.includes(id)));
            },
          },
        },
      },
    } as ModeContext,
  };
}

describe('nnSAM mode', () => {
  it('is the stock segmentation mode under its own route, with the nnSAM panel first on the right', () => {
    const nnsam = extendSegmentationMode(stockInstance([]));
    expect([nnsam.id, nnsam.routeName, nnsam.routes[0]!.path]).toEqual([MODE_ID, 'nnsam', 'nnsam']);
    expect(nnsam.routes[0]!.layoutInstance.props.rightPanels).toEqual([
      PANEL_ID,
      ...STOCK_SEGMENTATION_PANELS,
    ]);
    expect(nnsam.routes[0]!.layoutInstance.props.leftPanels).toEqual(['thumbnails']);
    // the layout template still reads the route it is called on
    expect(nnsam.routes[0]!.layoutTemplate.call(nnsam.routes[0]!)).toBe(nnsam.routes[0]!.layoutInstance);
    // our extension is never in the route's extension map (OHIF would try to import it by name)
    expect(Object.keys(nnsam.extensions as object)).not.toContain('@nnsam/ohif-extension');
    // the stock toolbar composition stays, with the one-click button added as a plain definition
    expect(nnsam.toolbarButtons).toEqual([
      { $reference: 'cornerstone.toolbarButtons' },
      {
        id: SEGMENT_BUTTON_ID,
        uiType: 'ohif.toolButton',
        props: expect.objectContaining({ commands: SEGMENT_COMMAND, evaluate: SEGMENT_EVALUATOR }),
      },
    ]);
  });

  it('runs the stock onModeEnter on itself and cleans up its own subscription on exit', () => {
    const calls: string[] = [];
    const nnsam = extendSegmentationMode(stockInstance(calls));
    const recorder = panelServiceRecorder();
    vi.stubGlobal('document', { querySelector: () => null });
    try {
      nnsam.onModeEnter!.call(nnsam, recorder.ctx);
      expect(calls).toEqual([`stock enter as ${MODE_ID}`]);
      // the one-click button joins the stock primary toolbar, after the stock buttons, once
      expect(recorder.sections.primary).toEqual(['WindowLevel', 'Pan', SEGMENT_BUTTON_ID]);
      nnsam.onModeEnter!.call(nnsam, recorder.ctx);
      expect(recorder.sections.primary).toEqual(['WindowLevel', 'Pan', SEGMENT_BUTTON_ID]);
      expect(nnsam._unsubscriptions).toHaveLength(2);
      nnsam.onModeExit!.call(nnsam, recorder.ctx);
      expect(calls).toContain('stock unsubscribed');
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('brings the nnSAM panel back when the stock mode switches away from it, not when the user is elsewhere', async () => {
    const recorder = panelServiceRecorder();
    let ourPanelOnScreen = true;
    keepPanelInFront(recorder.ctx, {
      querySelector: (sel: string) =>
        ourPanelOnScreen && sel === `[data-cy="${PANEL_TEST_ID}"]` ? ({} as Element) : null,
    });
    recorder.emit(STOCK_SEGMENTATION_PANELS[0]!);
    recorder.emit('@ohif/extension-cornerstone.panelModule.panelMeasurement');
    // not forced: asked for on purpose (the extension opening the brush tools), left alone
    recorder.emit(STOCK_SEGMENTATION_PANELS[0]!, false);
    ourPanelOnScreen = false;
    recorder.emit(STOCK_SEGMENTATION_PANELS[1]!);
    await new Promise((r) => setTimeout(r, 10));
    expect(recorder.activated).toEqual([PANEL_ID]);
  });

  it("builds itself from the viewer's own stock segmentation mode, and says so when it is missing", async () => {
    const stock: ModeModule = {
      id: '@ohif/mode-segmentation',
      modeInstance: stockInstance([]),
      modeFactory(this: { modeInstance?: ModeInstance }) {
        return this.modeInstance!;
      },
    };
    const requested: string[][] = [];
    const instance = await mode.modeFactory({
      loadModules: async (names) => {
        requested.push(names);
        return [stock];
      },
    });
    expect(requested).toEqual([['@ohif/mode-segmentation']]);
    expect(instance.routeName).toBe('nnsam');
    await expect(mode.modeFactory({ loadModules: async () => [undefined] })).rejects.toThrow(
      /@ohif\/mode-segmentation is not available/,
    );
  });
});
