/**
 * Plans brush strokes that label a phantom slice the way a user would: for one class, points where a brush
 * of the given radius stays inside the class (so the stroke never spills onto another class), ordered by
 * angle around the class's centre so consecutive points are neighbours (a ring stays a ring, a disc gets a
 * star that covers it). A move between two points whose swept brush would leave the class (a crescent's
 * horns, a ring's inner edge) starts a new stroke instead; every stroke is a drag, never a click. Pure: works on the ground-truth label volume in
 * Node.
 */
import type { Volume } from '../../server/src/volume/types.js';

/**
 * Strokes (each a list of image pixel centres, column i and row j) that cover the class with the brush; at
 * most `maxPoints` points in all, none when the class is too thin for the brush on this slice.
 */
export function strokesInside(
  labels: Volume<Uint8Array>,
  k: number,
  value: number,
  brushRadiusMm: number,
  maxPoints = 24,
): Array<Array<[number, number]>> {
  const [nx, ny] = labels.geometry.dims;
  const spacing = labels.geometry.spacing[0];
  const slice = labels.data.subarray(k * nx * ny, (k + 1) * nx * ny);
  const distance = distanceInside(slice, nx, ny, value);
  // 1.5 pixels to spare: the brush labels every pixel its disc touches, and the chamfer distance is approximate
  const margin = brushRadiusMm / spacing + 1.5;
  const safeAt = (i: number, j: number) => distance[Math.round(i) + Math.round(j) * nx]! >= margin;
  const safe: Array<[number, number]> = [];
  let ci = 0;
  let cj = 0;
  let count = 0;
  for (let j = 0; j < ny; j++)
    for (let i = 0; i < nx; i++) {
      if (slice[i + j * nx] !== value) continue;
      ci += i;
      cj += j;
      count++;
      if (safeAt(i, j)) safe.push([i, j]);
    }
  if (!safe.length) return [];
  ci /= count;
  cj /= count;
  safe.sort((a, b) => Math.atan2(a[1] - cj, a[0] - ci) - Math.atan2(b[1] - cj, b[0] - ci));
  const step = Math.max(1, Math.floor(safe.length / maxPoints));
  const points = safe.filter((_p, n) => n % step === 0).slice(0, maxPoints);

  const strokes: Array<Array<[number, number]>> = [];
  let stroke: Array<[number, number]> = [];
  for (const p of points) {
    const last = stroke[stroke.length - 1];
    if (last && !segmentSafe(last, p, safeAt)) {
      strokes.push(stroke);
      stroke = [];
    }
    stroke.push(p);
  }
  strokes.push(stroke);
  // A lone point becomes a short drag to a safe neighbour 2 to 4 pixels away (or is dropped): cornerstone's
  // brush does not paint a click that follows a drag, and moves under 4 canvas pixels do not start one.
  return strokes
    .map((st) => {
      if (st.length > 1) return st;
      const p = st[0]!;
      const q = safe.find((c) => {
        const d = Math.hypot(c[0] - p[0], c[1] - p[1]);
        return d >= 2 && d <= 4 && segmentSafe(p, c, safeAt);
      });
      return q ? [p, q] : [];
    })
    .filter((st) => st.length > 1);
}

/** Whether every point of the segment (sampled every quarter pixel) is a safe brush centre. */
function segmentSafe(
  a: [number, number],
  b: [number, number],
  safeAt: (i: number, j: number) => boolean,
): boolean {
  const n = Math.ceil(Math.hypot(b[0] - a[0], b[1] - a[1]) * 4);
  for (let s = 1; s < n; s++) {
    const t = s / n;
    if (!safeAt(a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))) return false;
  }
  return true;
}

/** Euclidean-ish (3-4 chamfer, in pixels) distance from each pixel of `value` to the nearest other pixel. */
function distanceInside(slice: Uint8Array, nx: number, ny: number, value: number): Float32Array {
  const d = new Float32Array(nx * ny);
  const big = 1e9;
  for (let n = 0; n < d.length; n++) d[n] = slice[n] === value ? big : 0;
  const at = (i: number, j: number) => (i < 0 || j < 0 || i >= nx || j >= ny ? 0 : d[i + j * nx]!);
  for (let j = 0; j < ny; j++)
    for (let i = 0; i < nx; i++) {
      const n = i + j * nx;
      if (!d[n]) continue;
      d[n] = Math.min(d[n]!, at(i - 1, j) + 3, at(i, j - 1) + 3, at(i - 1, j - 1) + 4, at(i + 1, j - 1) + 4);
    }
  for (let j = ny - 1; j >= 0; j--)
    for (let i = nx - 1; i >= 0; i--) {
      const n = i + j * nx;
      if (!d[n]) continue;
      d[n] = Math.min(d[n]!, at(i + 1, j) + 3, at(i, j + 1) + 3, at(i + 1, j + 1) + 4, at(i - 1, j + 1) + 4);
    }
  for (let n = 0; n < d.length; n++) d[n] = d[n]! / 3;
  return d;
}
