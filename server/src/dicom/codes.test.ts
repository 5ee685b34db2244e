// Segment codes by class name, the classes JSON, and colours through DICOM CIELab.
import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { dicomLabToRgb, parseClasses, rgbToDicomLab } from './classes.js';
import { codingForName, USER_DEFINED_SCHEME } from './codes.js';
import { parseSeg } from './seg-read.js';
import { fixture } from '../../../test/support/dicom-tools.js';

describe('segment codes and classes', () => {
  it('codes liver like the dcmqi Label Map SEG does, and tissues like the highdicom SEGs', async () => {
    const dcmqi = await parseSeg(readFileSync(fixture('dcmqi', 'sparse-labelmap-noppv.dcm')));
    const liver = dcmqi.segments.find((s) => s.label === 'Liver')!;
    expect(codingForName('Liver').type).toEqual(liver.type);
    const highdicom = await parseSeg(
      readFileSync(fixture('highdicom_seg_fixtures', 'seg_image_ct_binary.dcm')),
    );
    expect(codingForName('bone').category).toEqual(highdicom.segments[0]!.category); // SCT 85756007 Tissue
    // (highdicom's example types it 272673000 "Bone structure"; CID 7166 lists bone tissue as 3138006)
    expect(codingForName('Bone').type).toEqual({ value: '3138006', scheme: 'SCT', meaning: 'Bone' });
  });

  it('maps synonyms and laterality, and gives unknown names a stable user-defined code', () => {
    expect(codingForName('LV').type.value).toBe('87878005');
    expect(codingForName('MYO').type).toEqual({
      value: '49848007',
      scheme: 'SCT',
      meaning: 'Left Ventricle Myocardium',
    });
    expect(codingForName('right_ventricle').type.value).toBe('53085002');
    const left = codingForName('Left Kidney');
    expect([left.type.value, left.typeModifier?.value]).toEqual(['64033007', '7771000']);
    const unknown = codingForName('Tumour bed margin');
    expect(unknown.type.scheme).toBe(USER_DEFINED_SCHEME);
    expect(unknown.type.meaning).toBe('Tumour bed margin');
    expect(codingForName('tumour_bed  margin').type.value).toBe(unknown.type.value);
    expect(codingForName('Other thing').type.value).not.toBe(unknown.type.value);
  });

  it('validates the classes JSON and keeps colours through CIELab', () => {
    const classes = parseClasses({ '2': { name: 'Spleen', color: [10, 200, 30] }, '1': 'Liver' });
    expect(classes.map((c) => [c.value, c.name])).toEqual([
      [1, 'Liver'],
      [2, 'Spleen'],
    ]);
    expect(dicomLabToRgb(rgbToDicomLab([10, 200, 30]))).toEqual([10, 200, 30]);
    expect(() => parseClasses({ '0': 'Background' })).toThrow(/classes: "0"/);
    expect(() => parseClasses({ '1': { name: 'Liver', colour: [1, 2, 3] } })).toThrow(/classes: "1"/);
    expect(() => parseClasses({})).toThrow(/lists no classes/);
  });
});
