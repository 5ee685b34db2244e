/**
 * Builds the nnSAM mode instance from the stock segmentation mode's instance.
 */
import { MODE_ID, PANEL_ID, PANEL_TEST_ID, ROUTE_NAME, STOCK_SEGMENTATION_PANELS } from './ids.js';
import { PRIMARY_SECTION, segmentButton } from './toolbar.js';
import type { ModeContext, ModeInstance } from './types.js';

export function extendSegmentationMode(base: ModeInstance): ModeInstance {
  const baseRoute = base.routes[0];
  if (!baseRoute) throw new Error('nnSAM mode: the stock segmentation mode has no route to extend.');
  const stockRight = (baseRoute.layoutInstance.props.rightPanels ?? []).filter((p) => p !== PANEL_ID);
  const baseEnter = base.onModeEnter;

  return {
    ...base,
    id: MODE_ID,
    routeName: ROUTE_NAME,
    displayName: 'nnSAM few-shot segmentation',
    routes: [
      {
        ...baseRoute,
        path: ROUTE_NAME,
        layoutInstance: {
          ...baseRoute.layoutInstance,
          props: {
            ...baseRoute.layoutInstance.props,
            rightPanels: [PANEL_ID, ...stockRight],
            rightPanelClosed: false,
          },
        },
      },
    ],
    toolbarButtons: [
      ...(base.toolbarButtons ?? []).filter((b) => (b as { id?: string })?.id !== segmentButton.id),
      segmentButton,
    ],
    onModeEnter(this: ModeInstance, ctx: ModeContext) {
      baseEnter?.call(this, ctx);
      // the stock enter registered the toolbar from the composition; append ours to the primary bar
      ctx.servicesManager.services.toolbarService?.updateSection(PRIMARY_SECTION, [segmentButton.id]);
      this._unsubscriptions ??= [];
      this._unsubscriptions.push(keepPanelInFront(ctx));
    },
  };
}

/**
 * The stock mode switches the right panel to its labelmap (or contour) panel when the first segmentation
 * appears, e.g. when the nnSAM panel loads a SEG. If our panel was the one on screen at that moment, the
 * switch was not the user's doing: bring ours back. If the user was elsewhere, leave it alone. The stock
 * switch is forced (`activatePanel(id, true)`); a switch asked for without force (the extension's
 * "Start labelling" opening the brush tools, a user's action) is left alone.
 */
export function keepPanelInFront(
  ctx: ModeContext,
  doc: Pick<Document, 'querySelector'> = document,
): () => void {
  const { panelService } = ctx.servicesManager.services;
  const subscription = panelService.subscribe(panelService.EVENTS.ACTIVATE_PANEL, (event) => {
    if (!STOCK_SEGMENTATION_PANELS.includes(event?.panelId) || !event.forceActive) return;
    // OHIF mounts only the active tab of a side panel: our root in the page means ours is on screen
    if (!doc.querySelector(`[data-cy="${PANEL_TEST_ID}"]`)) return;
    setTimeout(() => panelService.activatePanel(PANEL_ID, true), 0);
  });
  return () => subscription.unsubscribe();
}
