/**
 * The nnSAM side panel. Sections, top to bottom: 1 server status, 2 project and classes, 3 labelled slices,
 * 4 train, 5 segment. Sections 2, 4 and 5 need the HTTP API.
 * TODO(issue 5): wire projects/classes, training (progress, loss and Dice curve from the event stream,
 * cancel, resulting model) and segmentation jobs (progress, then COMMANDS.showSeg on the stored SEG).
 */
import type { LabelmapPayload } from '@nnsam/server/api';
import { useCallback, useState } from 'react';

import type { NnsamApi } from '../api/client.js';
import { errorText, notifyError } from '../errors.js';
import { PANEL_TEST_ID } from '../ids.js';
import { collectLabelmap } from '../labelmap/collect.js';
import type { OhifContext } from '../ohif/context.js';
import { LabelledSlicesView } from './LabelledSlices.js';
import { ServerStatusView, useServerHealth } from './ServerStatus.js';

export interface NnsamPanelProps {
  ctx: OhifContext;
  api: NnsamApi;
}

export function NnsamPanel({ ctx, api }: NnsamPanelProps) {
  const [health, recheck] = useServerHealth(api);
  const [payload, setPayload] = useState<LabelmapPayload | null>(null);
  const [labelError, setLabelError] = useState<{ message: string; hint?: string } | null>(null);

  const detect = useCallback(() => {
    try {
      setPayload(collectLabelmap(ctx));
      setLabelError(null);
    } catch (e) {
      setPayload(null);
      setLabelError(errorText(e));
      notifyError(ctx.services.uiNotificationService, 'nnSAM: no labels to add', e);
    }
  }, [ctx]);

  return (
    <div className="nnsam-panel" data-cy={PANEL_TEST_ID}>
      <ServerStatusView state={health} apiBaseUrl={api.baseUrl} onRetry={recheck} />
      <LabelledSlicesView payload={payload} error={labelError} onDetect={detect} />
    </div>
  );
}
