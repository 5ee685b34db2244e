/**
 * Puts our React tree inside OHIF's side panel.
 *
 * The stock viewer bundles its own React; our runtime plugin bundles another copy. Elements cross between
 * the two fine (same React 18 element format), hooks do not. So OHIF gets a hook-free component that
 * returns a bare `<div ref>`, and the ref callback mounts our own root into that div with our React.
 * The callback must be one stable function: a new callback per render makes React detach and re-attach
 * it on every render, and remounting our root each time crashes with a removeChild NotFoundError. One
 * root per element, created once; unmounted (after the current commit) when the element leaves the page.
 * In an OHIF monorepo build both sides share one React and this still works: a nested root is allowed.
 */
import { createElement, type ReactElement } from 'react';
import { createRoot, type Root } from 'react-dom/client';

export function foreignPanel(render: () => ReactElement, className = 'nnsam-host'): () => ReactElement {
  let element: HTMLElement | null = null;
  let root: Root | null = null;

  const unmount = () => {
    const r = root;
    root = null;
    element = null;
    // never unmount synchronously inside the host React's commit phase
    if (r) queueMicrotask(() => r.unmount());
  };

  const ref = (el: HTMLElement | null) => {
    if (el) {
      if (el === element) return;
      if (element) unmount();
      element = el;
      root = createRoot(el);
      root.render(render());
      return;
    }
    // React calls the ref with null before a remount too: check, after the commit, that it really left
    const leaving = element;
    queueMicrotask(() => {
      if (leaving && element === leaving && !leaving.isConnected) unmount();
    });
  };

  return function NnsamPanelHost() {
    return createElement('div', { ref, className, style: { height: '100%', overflow: 'auto' } });
  };
}
