/**
 * The toolbar button "Segment with the latest model": one click segments the active series with the
 * selected nnSAM project's latest model and shows the SEG (the extension's command). Its evaluator (in the
 * extension) disables it, with the reason as tooltip, until a project has a trained model.
 *
 * OHIF 3.13 way: the definition joins the mode instance's `toolbarButtons` composition (so a site's
 * `?customization=` module can change it like any stock button), and on entry the mode appends its id to
 * the primary toolbar section with `toolbarService.updateSection`, which keeps the stock buttons.
 */
import { SEGMENT_BUTTON_ID, SEGMENT_COMMAND, SEGMENT_EVALUATOR } from './ids.js';

export const PRIMARY_SECTION = 'primary';

export const segmentButton = {
  id: SEGMENT_BUTTON_ID,
  uiType: 'ohif.toolButton',
  props: {
    icon: 'ToolSegmentAnything',
    label: 'Segment with the latest nnSAM model',
    tooltip: "Segments the active series with the nnSAM project's latest model and shows the result",
    commands: SEGMENT_COMMAND,
    evaluate: SEGMENT_EVALUATOR,
  },
};
