/**
 * OHIF v3 extension entry: returns the module getters OHIF asks for. The panel, toolbar and commands
 * arrive with issue 8; until then the extension registers nothing, so loading it changes nothing.
 */
export const EXTENSION_ID = '@nnsam/ohif-extension';

const extension = {
  id: EXTENSION_ID,
};

export default extension;
