import type { RequestHandler } from 'express';

/**
 * 405 with `Allow` for a method a path does not declare (RFC 9110 15.5.6), instead of the catch-all 404: the
 * OpenAPI document lists each path's methods, and clients and fuzzers read a 404 as "no such resource".
 * A request goes to the most specific declared path (a literal segment beats a parameter, so
 * `/models/import` is not `/models/:modelId`); HEAD is served wherever GET is, OPTIONS is left to CORS.
 */
export function methodNotAllowed(declared: { method: string; path: string }[]): RequestHandler {
  const byPath = new Map<string, Set<string>>();
  for (const d of declared) {
    const methods = byPath.get(d.path) ?? new Set<string>();
    methods.add(d.method.toUpperCase());
    if (d.method.toUpperCase() === 'GET') methods.add('HEAD');
    byPath.set(d.path, methods);
  }
  const paths = [...byPath].map(([path, methods]) => ({
    segments: path.split('/').filter(Boolean),
    allow: [...methods].join(', '),
    methods,
  }));
  return (req, res, next) => {
    if (req.method === 'OPTIONS') return next();
    const parts = req.path.split('/').filter(Boolean);
    let best: (typeof paths)[number] | undefined;
    let bestScore = '';
    for (const p of paths) {
      if (p.segments.length !== parts.length) continue;
      if (!p.segments.every((s, n) => s.startsWith(':') || s === parts[n])) continue;
      // literal segments first, left to right: "11" beats "10"
      const score = p.segments.map((s) => (s.startsWith(':') ? '0' : '1')).join('');
      if (!best || score > bestScore) [best, bestScore] = [p, score];
    }
    if (!best || best.methods.has(req.method)) return next();
    res.setHeader('Allow', best.allow);
    res.status(405).json({
      error: {
        code: 'method_not_allowed',
        message: `${req.method} is not a method of ${req.baseUrl}${req.path}; it accepts ${best.allow}.`,
        hint: 'See /api/openapi.json.',
      },
    });
  };
}
