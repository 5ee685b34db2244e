/**
 * Toolbar module: the evaluator of the "Segment with the latest model" button (the button itself is
 * registered by the nnSAM mode on entry, the OHIF 3.13 way). Disabled, with the reason as its tooltip,
 * while no project with a trained model is selected or a segmentation runs; the workflow asks OHIF to
 * re-evaluate when that changes.
 */
import { SEGMENT_EVALUATOR } from './ids.js';
import type { Workflow } from './workflow/workflow.js';

export function toolbarModule(workflow: () => Workflow) {
  return [
    {
      name: SEGMENT_EVALUATOR,
      evaluate: () => {
        const { disabled, reason } = workflow().segmentation.availability();
        return disabled ? { disabled: true, disabledText: reason } : { disabled: false };
      },
    },
  ];
}
