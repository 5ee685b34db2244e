/**
 * The real stack for browser tests: a private Orthanc, the nnSAM viewer server (OHIF + our plugins +
 * DICOMweb proxy, exactly what `npm start` serves) and headless Chromium. Tests get a page and helpers that
 * wait on OHIF's own state instead of sleeping.
 */
import { startDemo, type Demo, type DemoOptions } from '../../server/src/demo/start.js';
import { launchBrowser, type BrowserSession } from './browser.js';

export interface ViewerStack {
  demo: Demo;
  browser: BrowserSession;
  stop(): Promise<void>;
}

export async function startViewerStack(options: DemoOptions = {}): Promise<ViewerStack> {
  const demo = await startDemo({ port: 0, ...options });
  let browser: BrowserSession;
  try {
    browser = await launchBrowser();
  } catch (e) {
    await demo.stop();
    throw e;
  }
  // OHIF's "investigational use" banner covers the bottom of the viewport; acknowledge it for the session
  await browser.page.addInitScript(() => sessionStorage.setItem('investigationalUseDialog', 'hidden'));
  return {
    demo,
    browser,
    async stop() {
      await browser.close();
      await demo.stop();
    },
  };
}
