/**
 * OHIF v3 mode "nnSAM": layout, tools and the nnSAM panel. Built in issue 8; until then it only names itself.
 */
export const MODE_ID = '@nnsam/ohif-mode';

const mode = {
  id: MODE_ID,
};

export default mode;
