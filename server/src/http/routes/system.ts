import { Health, Info } from '../../api/index.js';
import type { AppContext } from '../context.js';
import { route, type RouteSpec } from '../route.js';

export function systemRoutes(ctx: AppContext): RouteSpec[] {
  return [
    route({
      method: 'get',
      path: '/health',
      summary: 'Liveness: answers as long as the process serves requests (no authentication).',
      tag: 'system',
      public: true,
      response: Health,
      handler: () => ({ status: 'ok', version: ctx.version }),
    }),
    route({
      method: 'get',
      path: '/info',
      summary:
        'Version, devices, encoders (and whether MobileSAM weights are configured), DICOMweb, auth and queue mode.',
      tag: 'system',
      response: Info,
      handler: () => ctx.services.info(),
    }),
  ];
}
