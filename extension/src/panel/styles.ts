/**
 * The panel's look: OHIF's own theme variables (ui-next, shadcn-style HSL triples such as --primary,
 * --muted-foreground), so the panel follows whichever OHIF theme is active. Injected once.
 */
const CSS = `
.nnsam-panel { color: hsl(var(--foreground)); font-size: 13px; line-height: 1.35; padding: 4px 2px 12px; }
.nnsam-panel h2 { font-size: 13px; font-weight: 500; margin: 0; color: hsl(var(--foreground)); }
.nnsam-section { background: hsl(var(--muted)); border-radius: 6px; margin: 6px 4px; padding: 8px 10px; }
.nnsam-section-header { display: flex; align-items: center; justify-content: space-between; gap: 8px; margin-bottom: 6px; }
.nnsam-muted { color: hsl(var(--muted-foreground)); }
.nnsam-small { font-size: 12px; }
.nnsam-row { display: flex; align-items: center; gap: 6px; }
.nnsam-dot { width: 8px; height: 8px; border-radius: 50%; flex: none; background: hsl(var(--muted-foreground)); }
.nnsam-dot.ok { background: hsl(142 70% 45%); }
.nnsam-dot.warn { background: hsl(38 92% 50%); }
.nnsam-dot.error { background: hsl(var(--destructive)); box-shadow: 0 0 0 2px hsl(var(--destructive) / 0.35); }
.nnsam-error { color: hsl(var(--destructive-foreground)); background: hsl(var(--destructive) / 0.25);
  border: 1px solid hsl(var(--destructive) / 0.6); border-radius: 4px; padding: 6px 8px; margin-top: 6px; }
.nnsam-hint { color: hsl(var(--muted-foreground)); margin-top: 4px; }
.nnsam-button { background: hsl(var(--primary) / 0.15); color: hsl(var(--primary)); border: 1px solid hsl(var(--primary) / 0.4);
  border-radius: 4px; padding: 3px 10px; font-size: 12px; cursor: pointer; }
.nnsam-button:hover:not(:disabled) { background: hsl(var(--primary) / 0.3); }
.nnsam-button:disabled { opacity: 0.45; cursor: default; }
.nnsam-button.primary { background: hsl(var(--primary)); color: hsl(var(--primary-foreground)); border-color: hsl(var(--primary)); }
.nnsam-list { list-style: none; margin: 6px 0 0; padding: 0; }
.nnsam-list li { display: flex; align-items: center; justify-content: space-between; gap: 6px; padding: 3px 0;
  border-top: 1px solid hsl(var(--border)); }
.nnsam-link { background: none; border: 0; padding: 0; color: inherit; font: inherit; cursor: pointer; text-align: left; }
.nnsam-link:hover { text-decoration: underline; }
.nnsam-swatch { width: 10px; height: 10px; border-radius: 2px; flex: none; }
.nnsam-todo { font-size: 12px; color: hsl(var(--muted-foreground)); font-style: italic; }
.nnsam-panel input, .nnsam-panel select { background: hsl(var(--background)); color: hsl(var(--foreground));
  border: 1px solid hsl(var(--input)); border-radius: 4px; padding: 3px 6px; font-size: 12px; }
.nnsam-progress { height: 6px; border-radius: 3px; background: hsl(var(--input)); overflow: hidden; margin-top: 6px; }
.nnsam-progress > div { height: 100%; background: hsl(var(--primary)); transition: width 0.3s; }
`;

/** CSS colour of a class or segment; OHIF's muted text colour when it has none. */
export function rgb(c?: readonly number[]): string {
  return c ? `rgb(${c[0]}, ${c[1]}, ${c[2]})` : 'hsl(var(--muted-foreground))';
}

export function injectStyles(doc: Document = document): void {
  if (doc.getElementById('nnsam-panel-style')) return;
  const style = doc.createElement('style');
  style.id = 'nnsam-panel-style';
  style.textContent = CSS;
  doc.head.appendChild(style);
}
