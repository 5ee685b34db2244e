import { runInNewContext } from 'node:vm';

import { describe, expect, it } from 'vitest';

import { ohifAppConfig, renderAppConfig, runtimePluginEntries, type RuntimePlugin } from './app-config.js';

const plugins: RuntimePlugin[] = [
  { kind: 'extension', file: '/repo/extension/dist/plugin/nnsam-extension.js' },
  { kind: 'mode', file: '/repo/mode/dist/plugin/nnsam-mode.js' },
];

describe('app-config.js for the stock OHIF viewer', () => {
  it('lists runtime plugins as URLs under /plugins/, extensions and modes apart', () => {
    expect(runtimePluginEntries(plugins)).toEqual({
      extensions: ['/plugins/nnsam-extension.js'],
      modes: ['/plugins/nnsam-mode.js'],
    });
    expect(runtimePluginEntries([])).toEqual({ extensions: [], modes: [] });
  });

  it('points OHIF at DICOMweb on the same origin and the extension at the API', () => {
    const config = ohifAppConfig({ plugins, apiBaseUrl: '/api' });
    const source = (
      config.dataSources as Array<{ namespace: string; configuration: Record<string, unknown> }>
    )[0]!;
    expect(config.defaultDataSourceName).toBe('dicomweb');
    expect(source.namespace).toBe('@ohif/extension-default.dataSourcesModule.dicomweb');
    expect(source.configuration).toMatchObject({
      wadoRoot: '/dicom-web',
      qidoRoot: '/dicom-web',
      wadoUriRoot: '/dicom-web',
      imageRendering: 'wadors',
      supportsFuzzyMatching: false,
      qidoSupportsIncludeField: false,
      bulkDataURI: { enabled: true, relativeResolution: 'studies' },
      omitQuotationForMultipartRequest: true,
      name: 'nnsam',
    });
    expect(config.nnsam).toEqual({ apiBaseUrl: '/api' });
    expect(config.extensions).toEqual(['/plugins/nnsam-extension.js']);
  });

  it('lets a deployment override top-level keys', () => {
    const config = ohifAppConfig({
      plugins,
      apiBaseUrl: 'https://nnsam.example/api',
      overrides: { investigationalUseDialog: { option: 'never' }, showStudyList: false },
    });
    expect(config.investigationalUseDialog).toEqual({ option: 'never' });
    expect(config.showStudyList).toBe(false);
    expect(config.nnsam).toEqual({ apiBaseUrl: 'https://nnsam.example/api' });
  });

  it('renders a script that sets window.config to exactly that object', () => {
    const config = ohifAppConfig({ plugins, apiBaseUrl: '/api' });
    const window: Record<string, unknown> = {};
    runInNewContext(renderAppConfig(config), { window });
    expect(window.config).toEqual(config);
  });
});
