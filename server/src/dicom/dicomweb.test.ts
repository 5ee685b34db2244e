import { readdirSync, readFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startOrthanc, type OrthancInstance } from '../orthanc/launch.js';
import { createLogger } from '../util/logger.js';
import { DicomwebClient, jsonValue, multipartComplete } from './dicomweb.js';
import { parsePart10, str } from './part10.js';
import { frameBytes } from './pixel-data.js';
import { readSeg } from './seg-read.js';
import { writeSeg } from './seg-write.js';
import { loadSeriesFromDicomweb, loadSeriesFromFiles, type DicomSeries } from './series.js';
import { fixture } from '../../../test/support/dicom-tools.js';

const quiet = createLogger({}, { sink: () => undefined });
const STUDY = '1.2.392.200103.20080913.113635.0.2009.6.22.21.43.10.22941.1';
const SERIES = '1.2.392.200103.20080913.113635.1.2009.6.22.21.43.10.23430.1';
const SOP_01 = '1.2.392.200103.20080913.113635.2.2009.6.22.21.43.10.23431.1';
const ct3Files = () =>
  readdirSync(fixture('dcmqi', 'ct-3slice')).map((f) => readFileSync(join(fixture('dcmqi', 'ct-3slice'), f)));

/**
 * A loopback proxy in front of Orthanc that can delay answers, fail the first requests with a status, or
 * demand an Authorization header, and counts the requests it saw.
 */
interface Proxy {
  url: string;
  requests: number;
  behaviour: { delayMs?: number; failFirst?: number; failStatus?: number; requireAuth?: string };
  close(): Promise<void>;
}

async function startProxy(target: string): Promise<Proxy> {
  const targetUrl = new URL(target);
  const proxy: Proxy = { url: '', requests: 0, behaviour: {}, close: async () => undefined };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    proxy.requests++;
    const b = proxy.behaviour;
    if (b.requireAuth && req.headers.authorization !== b.requireAuth) {
      res.writeHead(401, { 'Content-Type': 'application/json' }).end('{"Message":"Unauthorized request"}');
      req.resume();
      return;
    }
    if (b.failFirst && b.failFirst > 0) {
      b.failFirst--;
      res.writeHead(b.failStatus ?? 503).end('busy');
      req.resume();
      return;
    }
    const forward = () => {
      const upstream = request(
        {
          host: targetUrl.hostname,
          port: targetUrl.port,
          path: req.url,
          method: req.method,
          headers: req.headers,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    };
    if (b.delayMs) setTimeout(forward, b.delayMs);
    else forward();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address() as { port: number };
  proxy.url = `http://127.0.0.1:${address.port}`;
  proxy.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return proxy;
}

let orthanc: OrthancInstance;
let proxy: Proxy;
let client: DicomwebClient;
let fromFiles: DicomSeries;

beforeAll(async () => {
  // startOrthanc loads no GDCM plugin (it crashes Orthanc 1.10.1 while transcoding): DCMTK transcodes.
  orthanc = await startOrthanc();
  proxy = await startProxy(orthanc.url);
  client = new DicomwebClient({ url: orthanc.dicomWebUrl, logger: quiet, timeoutMs: 10_000 });
  fromFiles = await loadSeriesFromFiles(fixture('dcmqi', 'ct-3slice'), { logger: quiet });
  const stored = await client.storeInstances(ct3Files());
  expect(stored.stored.map((s) => s.sopInstanceUID).sort()).toEqual(
    fromFiles.slices.map((s) => s.sopInstanceUID).sort(),
  );
});

afterAll(async () => {
  await proxy?.close();
  await orthanc?.stop();
});

function expectSameSeries(a: DicomSeries, b: DicomSeries): void {
  expect(a.volume.geometry).toEqual(b.volume.geometry);
  expect(a.slices).toEqual(b.slices);
  expect(Buffer.from(a.volume.data.buffer).equals(Buffer.from(b.volume.data.buffer))).toBe(true);
}

describe('DICOMweb with a real Orthanc', () => {
  it('finds what was stored with QIDO-RS', async () => {
    const studies = await client.searchForStudies({ PatientID: '99000' });
    expect(studies.map((s) => jsonValue(s, '0020000D'))).toEqual([STUDY]);
    const series = await client.searchForSeries(STUDY);
    expect(series.map((s) => jsonValue(s, '0020000E'))).toEqual([SERIES]);
    const instances = await client.searchForInstances(STUDY, SERIES);
    expect(instances).toHaveLength(3);
    expect(await client.searchForStudies({ PatientID: 'nobody' })).toEqual([]);
  });

  it('loads the series with WADO-RS exactly as from the files (as stored, and transcoded by the server)', async () => {
    expectSameSeries(await loadSeriesFromDicomweb(client, STUDY, SERIES, { logger: quiet }), fromFiles);
    expectSameSeries(
      await loadSeriesFromDicomweb(client, STUDY, SERIES, { logger: quiet, transcode: 'server' }),
      fromFiles,
    );
  });

  it('decodes JPEG-LS sent by the server like the uncompressed pixels', async () => {
    const native = await client.retrieveSeries(STUDY, SERIES, { transferSyntax: '1.2.840.10008.1.2.1' });
    const reference = new Map(
      await Promise.all(
        native.map(async (b) => {
          const p = parsePart10(b, 'native');
          return [str(p.dataset, 'SOPInstanceUID'), (await frameBytes(p))[0]!] as const;
        }),
      ),
    );
    for (const ts of ['1.2.840.10008.1.2.4.80']) {
      const parts = await client.retrieveSeries(STUDY, SERIES, { transferSyntax: ts });
      expect(parts).toHaveLength(3);
      for (const bytes of parts) {
        const p = parsePart10(bytes, ts);
        expect(p.transferSyntaxUID).toBe(ts);
        const decoded = (await frameBytes(p))[0]!;
        expect(
          Buffer.from(decoded).equals(Buffer.from(reference.get(str(p.dataset, 'SOPInstanceUID'))!)),
        ).toBe(true);
      }
    }
  });

  it('asks the server to transcode what it cannot decode itself (JPEG Lossless)', async () => {
    // store one image as JPEG Lossless (the server encodes it), then load the series again
    const jpeg = await client.retrieveInstance(STUDY, SERIES, SOP_01, {
      transferSyntax: '1.2.840.10008.1.2.4.70',
    });
    expect(parsePart10(jpeg, 'jpeg').transferSyntaxUID).toBe('1.2.840.10008.1.2.4.70');
    await client.storeInstances([jpeg]);
    const stored = await client.retrieveInstance(STUDY, SERIES, SOP_01, { transferSyntax: '*' });
    expect(parsePart10(stored, 'stored').transferSyntaxUID).toBe('1.2.840.10008.1.2.4.70');
    expectSameSeries(await loadSeriesFromDicomweb(client, STUDY, SERIES, { logger: quiet }), fromFiles);
  });

  it('stores a SEG with STOW-RS that QIDO finds and WADO returns byte for byte', async () => {
    const series = await loadSeriesFromDicomweb(client, STUDY, SERIES, { logger: quiet });
    const [nx, ny, nz] = series.volume.geometry.dims;
    const data = new Uint8Array(nx * ny * nz);
    for (let k = 0; k < nz; k++)
      for (let j = 100; j < 150 + 30 * k; j++)
        for (let i = 200 + 10 * k; i < 260; i++) data[i + nx * (j + ny * k)] = 1;
    const seg = writeSeg(
      { geometry: series.volume.geometry, data },
      series,
      { '1': 'Liver' },
      { name: 'nnSAM', version: 't' },
      { logger: quiet },
    );
    const result = await client.storeInstances([seg.bytes]);
    expect(result.stored).toEqual([
      expect.objectContaining({
        sopClassUID: '1.2.840.10008.5.1.4.1.1.66.4',
        sopInstanceUID: seg.sopInstanceUID,
      }),
    ]);
    const found = await client.searchForSeries(STUDY, { Modality: 'SEG' });
    expect(found.map((s) => jsonValue(s, '0020000E'))).toEqual([seg.seriesInstanceUID]);
    const back = await client.retrieveInstance(STUDY, seg.seriesInstanceUID, seg.sopInstanceUID, {
      transferSyntax: '*',
    });
    expect(Buffer.from(back).equals(Buffer.from(seg.bytes))).toBe(true);
    const read = await readSeg(back, series);
    expect(Buffer.from(read.labels.data).equals(Buffer.from(data))).toBe(true);
  });

  it('refuses to send a truncated or foreign object, and stores nothing', async () => {
    const before = (await client.searchForInstances(STUDY)).length;
    const seg = readFileSync(fixture('dcmqi', 'liver.dcm'));
    await expect(client.storeInstances([seg.subarray(0, seg.length - 100)])).rejects.toMatchObject({
      code: 'truncated_dicom',
    });
    await expect(client.storeInstances([new TextEncoder().encode('not dicom')])).rejects.toMatchObject({
      code: 'not_dicom',
    });
    expect((await client.searchForInstances(STUDY)).length).toBe(before);
  });

  it('passes the Authorization header on, and says so clearly when the server refuses', async () => {
    proxy.behaviour = { requireAuth: 'Bearer s3cret' };
    try {
      const withToken = new DicomwebClient({
        url: `${proxy.url}/dicom-web`,
        authorization: 'Bearer s3cret',
        logger: quiet,
      });
      expect(await withToken.searchForStudies()).toHaveLength(1);
      const without = new DicomwebClient({ url: `${proxy.url}/dicom-web`, logger: quiet, backoffMs: 1 });
      proxy.requests = 0;
      await expect(without.searchForStudies()).rejects.toMatchObject({
        code: 'dicomweb_unauthorized',
        status: 401,
        message: expect.stringMatching(/refused QIDO-RS \/studies with HTTP 401: Unauthorized request/),
      });
      expect(proxy.requests).toBe(1); // 4xx is not retried
    } finally {
      proxy.behaviour = {};
    }
  });

  it('retries 5xx with backoff, then gives up with the status', async () => {
    const retrying = new DicomwebClient({
      url: `${proxy.url}/dicom-web`,
      logger: quiet,
      retries: 3,
      backoffMs: 5,
    });
    proxy.behaviour = { failFirst: 2, failStatus: 503 };
    proxy.requests = 0;
    expect(await retrying.searchForSeries(STUDY)).toHaveLength(2); // the CT and the SEG
    expect(proxy.requests).toBe(3);
    proxy.behaviour = { failFirst: 10, failStatus: 500 };
    proxy.requests = 0;
    await expect(retrying.searchForStudies()).rejects.toMatchObject({
      code: 'dicomweb_server_error',
      message: expect.stringMatching(/failed QIDO-RS \/studies with HTTP 500 \(4 attempts\)/),
    });
    expect(proxy.requests).toBe(4);
    proxy.behaviour = {};
  });

  it('names a series the server does not have (404, not retried)', async () => {
    proxy.requests = 0;
    const viaProxy = new DicomwebClient({ url: `${proxy.url}/dicom-web`, logger: quiet, backoffMs: 1 });
    await expect(viaProxy.retrieveSeries(STUDY, '2.25.404')).rejects.toMatchObject({
      code: 'dicomweb_not_found',
      message: expect.stringContaining(`/studies/${STUDY}/series/2.25.404`),
    });
    expect(proxy.requests).toBe(1);
  });

  it('times out on a server that does not answer', async () => {
    proxy.behaviour = { delayMs: 1500 };
    try {
      const impatient = new DicomwebClient({
        url: `${proxy.url}/dicom-web`,
        logger: quiet,
        timeoutMs: 200,
        retries: 1,
        backoffMs: 5,
      });
      await expect(impatient.searchForStudies()).rejects.toMatchObject({
        code: 'dicomweb_timeout',
        message: expect.stringMatching(/sent nothing for 200 ms on QIDO-RS \/studies \(2 attempts\)/),
      });
    } finally {
      proxy.behaviour = {};
    }
  });

  it('reports a server that is down', async () => {
    await orthanc.stop();
    const down = new DicomwebClient({ url: orthanc.dicomWebUrl, logger: quiet, retries: 2, backoffMs: 5 });
    await expect(down.searchForStudies()).rejects.toMatchObject({
      code: 'dicomweb_unreachable',
      message: expect.stringMatching(
        /Cannot reach the DICOMweb server http:\/\/127\.0\.0\.1:\d+\/dicom-web \(QIDO-RS \/studies\) \(3 attempts\)/,
      ),
    });
  });
});

describe('multipartComplete', () => {
  const type = 'multipart/related; type="application/dicom"; boundary=abc123';
  const body = (text: string) => new Uint8Array(Buffer.from(text, 'latin1')).buffer;
  it('accepts an answer that ends with its closing delimiter, with or without a final CRLF', () => {
    expect(multipartComplete(type, body('--abc123\r\n\r\nDATA\r\n--abc123--'))).toBe(true);
    expect(multipartComplete(type, body('--abc123\r\n\r\nDATA\r\n--abc123--\r\n'))).toBe(true);
  });
  it('refuses an answer cut off anywhere before it (a PACS stopped mid-answer)', () => {
    const whole = '--abc123\r\n\r\nDATA\r\n--abc123\r\n\r\nMORE\r\n--abc123--\r\n';
    for (let n = 0; n < whole.length - 3; n++)
      expect(multipartComplete(type, body(whole.slice(0, n)))).toBe(false);
  });
  it('leaves non-multipart answers alone', () => {
    expect(multipartComplete('application/dicom+json', body('[]'))).toBe(true);
  });
});
