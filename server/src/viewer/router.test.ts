// The OHIF viewer router: static app, generated app-config.js, DICOMweb proxy to a private Orthanc.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { makePhantom } from '../demo/index.js';
import { stowInstances } from '../demo/index.js';
import { startOrthanc, type OrthancInstance } from '../orthanc/launch.js';
import { freePort } from '../util/net.js';
import { dicomWebProxy, parseUpstream, upstreamPath } from './proxy.js';
import { viewerRouter } from './router.js';

// A stand-in OHIF dist (the router only needs index.html and static files) and two plugin bundles; the
// DICOMweb side is a real Orthanc holding the phantom study.
let dir: string;
let orthanc: OrthancInstance;
let server: Server;
let base: string;
const phantom = makePhantom({ slices: 3, size: 64 });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nnsam-viewer-'));
  await mkdir(join(dir, 'dist', 'assets'), { recursive: true });
  await mkdir(join(dir, 'plugins'));
  await writeFile(join(dir, 'dist', 'index.html'), '<html><script src="/app-config.js"></script>OHIF</html>');
  await writeFile(join(dir, 'dist', 'app.bundle.js'), 'console.log("ohif")');
  await writeFile(join(dir, 'dist', 'app-config.js'), 'window.config = "the stock one";');
  await writeFile(join(dir, 'plugins', 'nnsam-extension.js'), 'export default { id: "ext" };');
  await writeFile(join(dir, 'plugins', 'nnsam-extension.js.map'), '{}');
  await writeFile(join(dir, 'plugins', 'nnsam-mode.js'), 'export default { id: "mode" };');
  orthanc = await startOrthanc();
  await stowInstances(
    orthanc.dicomWebUrl,
    phantom.instances.map((i) => i.bytes),
  );
  const app = express();
  app.use(
    viewerRouter({
      ohifDist: join(dir, 'dist'),
      plugins: [
        { kind: 'extension', file: join(dir, 'plugins', 'nnsam-extension.js') },
        { kind: 'mode', file: join(dir, 'plugins', 'nnsam-mode.js') },
      ],
      dicomWebUpstream: orthanc.dicomWebUrl,
      apiBaseUrl: '/api',
    }),
  );
  const port = await freePort();
  server = app.listen(port, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${port}`;
});
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await orthanc?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('viewerRouter', () => {
  it('serves our app-config.js instead of the one in dist/', async () => {
    const res = await fetch(`${base}/app-config.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/javascript/);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const text = await res.text();
    expect(text).toContain('"/plugins/nnsam-extension.js"');
    expect(text).toContain('"/plugins/nnsam-mode.js"');
    expect(text).not.toContain('the stock one');
  });

  it('serves the plugin bundles and their source maps as JavaScript, and nothing else under /plugins', async () => {
    const ext = await fetch(`${base}/plugins/nnsam-extension.js`);
    expect(ext.status).toBe(200);
    expect(ext.headers.get('content-type')).toMatch(/javascript/);
    expect(await ext.text()).toContain('export default');
    expect((await fetch(`${base}/plugins/nnsam-extension.js.map`)).status).toBe(200);
    expect((await fetch(`${base}/plugins/other.js`)).status).toBe(404);
    expect((await fetch(`${base}/plugins/..%2Fnnsam-mode.js`)).status).toBe(404);
  });

  it('serves OHIF files, and index.html for client-side routes only', async () => {
    expect(await (await fetch(`${base}/app.bundle.js`)).text()).toContain('ohif');
    const page = await fetch(`${base}/nnsam?StudyInstanceUIDs=1.2.3`, { headers: { Accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(await page.text()).toContain('OHIF');
    expect((await fetch(`${base}/`, { headers: { Accept: 'text/html' } })).status).toBe(200);
    // a missing file, or a JSON request (e.g. /api without the API mounted), is a plain 404, not the page
    expect((await fetch(`${base}/missing.js`)).status).toBe(404);
    expect((await fetch(`${base}/api/health`, { headers: { Accept: 'application/json' } })).status).toBe(404);
  });

  it('proxies DICOMweb to the upstream, passing the browser Host through', async () => {
    const studies = await fetch(`${base}/dicom-web/studies?StudyInstanceUID=${phantom.studyInstanceUID}`, {
      headers: { Accept: 'application/dicom+json' },
    });
    expect(studies.status).toBe(200);
    const found = (await studies.json()) as Array<Record<string, { Value: unknown[] }>>;
    expect(found).toHaveLength(1);
    // Orthanc writes absolute retrieve URLs from the Host header: they point back at the proxy
    const series = (await (
      await fetch(`${base}/dicom-web/studies/${phantom.studyInstanceUID}/series`, {
        headers: { Accept: 'application/dicom+json' },
      })
    ).json()) as Array<Record<string, { Value: string[] }>>;
    expect(series[0]!['00081190']!.Value[0]).toBe(
      `${base}/dicom-web/studies/${phantom.studyInstanceUID}/series/${phantom.seriesInstanceUID}`,
    );
    // pixel data streams through unchanged
    const frame = await fetch(
      `${base}/dicom-web/studies/${phantom.studyInstanceUID}/series/${phantom.seriesInstanceUID}/instances/${phantom.instances[0]!.sopInstanceUID}/frames/1`,
      { headers: { Accept: 'multipart/related; type="application/octet-stream"' } },
    );
    expect(frame.status).toBe(200);
    const body = Buffer.from(await frame.arrayBuffer());
    const pixels = Buffer.from(phantom.image.data.buffer, 0, 64 * 64 * 2);
    expect(body.indexOf(pixels)).toBeGreaterThan(0);
  });

  it('streams request bodies too: STOW-RS through the proxy stores instances', async () => {
    const other = makePhantom({ slices: 2, size: 64, seed: 7 });
    await stowInstances(
      `${base}/dicom-web`,
      other.instances.map((i) => i.bytes),
    );
    const found = await fetch(`${orthanc.dicomWebUrl}/studies/${other.studyInstanceUID}/instances`, {
      headers: { Accept: 'application/dicom+json' },
    });
    expect(((await found.json()) as unknown[]).length).toBe(2);
  });

  it("never lets a path step out of the DICOMweb root into the PACS's other APIs", async () => {
    expect(upstreamPath('/dicom-web', '/studies?x=1')).toBe('/dicom-web/studies?x=1');
    expect(upstreamPath('', '/studies')).toBe('/studies');
    expect(upstreamPath('/dicom-web', '/./studies')).toBe('/dicom-web/studies'); // harmless, normalised
    for (const bad of ['/../system', '/%2e%2e/system', '/studies/..%2F..%2Fsystem', '/a\\..\\b']) {
      expect(upstreamPath('/dicom-web', bad), bad).toBeUndefined();
    }
    // sent raw (fetch would normalise the dots away before sending)
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const url = new URL(base);
      request({ host: url.hostname, port: url.port, path: '/dicom-web/../system' }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
        .on('error', reject)
        .end();
    });
    expect(answer.status).toBe(400);
    expect(answer.body).toContain('bad_dicomweb_path');
  });

  it('answers 502 with what to check when the DICOMweb server is down', async () => {
    const port = await freePort();
    const app = express().use(
      '/dicom-web',
      dicomWebProxy({ upstream: `http://127.0.0.1:${port}/dicom-web` }),
    );
    const s = app.listen(0, '127.0.0.1');
    await new Promise((r) => s.once('listening', r));
    try {
      const address = s.address() as { port: number };
      const res = await fetch(`http://127.0.0.1:${address.port}/dicom-web/studies`);
      expect(res.status).toBe(502);
      const body = (await res.json()) as { error: { code: string; message: string; hint: string } };
      expect(body.error.code).toBe('dicomweb_unreachable');
      expect(body.error.message).toContain(`127.0.0.1:${port}/dicom-web`);
      expect(body.error.hint).toMatch(/PACS/);
    } finally {
      s.close();
    }
  });

  it('rejects upstream URLs it cannot proxy, naming them', () => {
    expect(() => parseUpstream('orthanc:8042')).toThrow(/orthanc:8042.*only http and https/);
    expect(() => parseUpstream('not a url')).toThrow(/"not a url" is not a URL/);
    expect(() => parseUpstream('http://pacs/dicom-web?x=1')).toThrow(/must not carry/);
    expect(parseUpstream('https://pacs.example/dicom-web/').pathname).toBe('/dicom-web/');
  });

  it('refuses a dist folder without index.html', () => {
    expect(() =>
      viewerRouter({
        ohifDist: dir,
        plugins: [],
        dicomWebUpstream: 'http://127.0.0.1:1/dicom-web',
        apiBaseUrl: '/api',
      }),
    ).toThrow(/is not an OHIF build/);
  });
});
