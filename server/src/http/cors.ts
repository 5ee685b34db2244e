import type { RequestHandler } from 'express';

/**
 * CORS for the configured origins only (NNSAM_CORS_ORIGINS). Same-origin use (the viewer served by this
 * server) needs none. A preflight from any other origin is refused; simple requests get no CORS headers,
 * so the browser withholds the response from the foreign page.
 */
export function cors(origins: string[]): RequestHandler {
  const allowed = new Set(origins.map((o) => o.replace(/\/$/, '')));
  return (req, res, next) => {
    const origin = req.headers.origin;
    if (origin && (allowed.has(origin) || allowed.has('*'))) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Vary', 'Origin');
      res.setHeader('Access-Control-Expose-Headers', 'Location');
      if (req.method === 'OPTIONS') {
        res.setHeader('Access-Control-Allow-Methods', 'GET, POST, PUT, PATCH, DELETE, OPTIONS');
        res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, Last-Event-ID');
        res.setHeader('Access-Control-Max-Age', '600');
        res.status(204).end();
        return;
      }
    } else if (origin && req.method === 'OPTIONS') {
      res.status(403).json({ error: { code: 'cors_denied', message: `Origin ${origin} is not allowed.` } });
      return;
    }
    next();
  };
}
