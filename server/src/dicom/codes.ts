/**
 * Coded concepts for SEG segments: what a class name means in SNOMED CT, so that viewers and archives can
 * tell a liver from a spleen without reading labels. The table is small on purpose and every code in it was
 * checked against the DICOM context groups (PS3.16): categories from CID 7150, anatomy from CID 7152
 * (cardiac), 7153 (CNS), 7154 (abdominal), 7155 (thoracic), 7160 (pelvic), 7166 (tissues), 12305 (left
 * ventricle myocardium), lesions from CID 7159, laterality modifiers from CID 2/247. A name that is not in
 * the table gets a user-defined code in the private scheme 99NNSAM (never a guessed SNOMED code).
 */
import { createHash } from 'node:crypto';

export interface CodedConcept {
  /** CodeValue */
  value: string;
  /** CodingSchemeDesignator */
  scheme: string;
  /** CodeMeaning */
  meaning: string;
}

export interface SegmentCoding {
  category: CodedConcept;
  type: CodedConcept;
  /** e.g. Left / Right for paired organs */
  typeModifier?: CodedConcept;
}

/** Coding scheme of the codes we make up for names we do not know ("99" = private, PS3.16 8.2). */
export const USER_DEFINED_SCHEME = '99NNSAM';

const sct = (value: string, meaning: string): CodedConcept => ({ value, scheme: 'SCT', meaning });

export const CATEGORY = {
  tissue: sct('85756007', 'Tissue'),
  anatomicalStructure: sct('91723000', 'Anatomical Structure'),
  morphologicallyAbnormal: sct('49755003', 'Morphologically Abnormal Structure'),
} as const;

const LEFT = sct('7771000', 'Left');
const RIGHT = sct('24028007', 'Right');

/** Dimension-free type codes; keys are normalized names (see normalizeName). */
const ANATOMY: Record<string, CodedConcept> = {
  liver: sct('10200004', 'Liver'),
  spleen: sct('78961009', 'Spleen'),
  kidney: sct('64033007', 'Kidney'),
  pancreas: sct('15776009', 'Pancreas'),
  gallbladder: sct('28231008', 'Gallbladder'),
  'adrenal gland': sct('23451007', 'Adrenal gland'),
  stomach: sct('69695003', 'Stomach'),
  'small intestine': sct('30315005', 'Small Intestine'),
  colon: sct('71854001', 'Colon'),
  'inferior vena cava': sct('64131007', 'Inferior vena cava'),
  aorta: sct('15825003', 'Aorta'),
  'abdominal aorta': sct('7832008', 'Abdominal aorta'),
  heart: sct('80891009', 'Heart'),
  'left ventricle': sct('87878005', 'Left ventricle'),
  'right ventricle': sct('53085002', 'Right ventricle'),
  'left atrium': sct('82471001', 'Left atrium'),
  'right atrium': sct('73829009', 'Right atrium'),
  'left ventricle myocardium': sct('49848007', 'Left Ventricle Myocardium'),
  pericardium: sct('76848001', 'Pericardium'),
  lung: sct('39607008', 'Lung'),
  trachea: sct('44567001', 'Trachea'),
  esophagus: sct('32849002', 'Esophagus'),
  brain: sct('12738006', 'Brain'),
  bladder: sct('89837001', 'Bladder'),
  prostate: sct('41216001', 'Prostate'),
  rectum: sct('34402009', 'Rectum'),
  uterus: sct('35039007', 'Uterus'),
};

const TISSUE: Record<string, CodedConcept> = {
  bone: sct('3138006', 'Bone'),
  fat: sct('55603005', 'Fat'),
  muscle: sct('91727004', 'Muscle'),
  artery: sct('51114001', 'Artery'),
  vein: sct('29092000', 'Vein'),
  'blood vessel': sct('59820001', 'Blood vessel'),
};

const ABNORMAL: Record<string, CodedConcept> = {
  lesion: sct('52988006', 'Lesion'),
  neoplasm: sct('108369006', 'Neoplasm'),
  mass: sct('4147007', 'Mass'),
  nodule: sct('27925004', 'Nodule'),
  cyst: sct('367643001', 'Cyst'),
  edema: sct('79654002', 'Edema'),
  necrosis: sct('6574001', 'Necrosis'),
  hemorrhage: sct('50960005', 'Hemorrhage'),
};

/** Other spellings (normalized) -> table key. ACDC's "RV", "MYO", "LV" are the cavity/myocardium labels. */
const SYNONYMS: Record<string, string> = {
  'gall bladder': 'gallbladder',
  'urinary bladder': 'bladder',
  oesophagus: 'esophagus',
  ivc: 'inferior vena cava',
  lv: 'left ventricle',
  rv: 'right ventricle',
  la: 'left atrium',
  ra: 'right atrium',
  'left ventricle cavity': 'left ventricle',
  'left ventricular cavity': 'left ventricle',
  'lv cavity': 'left ventricle',
  'right ventricle cavity': 'right ventricle',
  'right ventricular cavity': 'right ventricle',
  'rv cavity': 'right ventricle',
  myo: 'left ventricle myocardium',
  myocardium: 'left ventricle myocardium',
  'lv myocardium': 'left ventricle myocardium',
  'left ventricular myocardium': 'left ventricle myocardium',
  tumor: 'neoplasm',
  tumour: 'neoplasm',
  oedema: 'edema',
  haemorrhage: 'hemorrhage',
  vessel: 'blood vessel',
};

/** Lower case, separators to spaces, single spaces ("Left_Kidney " -> "left kidney"). */
export function normalizeName(name: string): string {
  return name
    .toLowerCase()
    .replace(/[_\-./]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The coding for a class name: SNOMED CT when the table knows it, a user-defined code otherwise. */
export function codingForName(name: string): SegmentCoding {
  const n = normalizeName(name);
  const lateral = /^(left|right) (kidney|lung|adrenal gland)$/.exec(n);
  if (lateral) {
    return {
      category: CATEGORY.anatomicalStructure,
      type: ANATOMY[lateral[2]!]!,
      typeModifier: lateral[1] === 'left' ? LEFT : RIGHT,
    };
  }
  const key = SYNONYMS[n] ?? n;
  if (ANATOMY[key]) return { category: CATEGORY.anatomicalStructure, type: ANATOMY[key]! };
  if (TISSUE[key]) return { category: CATEGORY.tissue, type: TISSUE[key]! };
  if (ABNORMAL[key]) return { category: CATEGORY.morphologicallyAbnormal, type: ABNORMAL[key]! };
  return userDefinedCoding(name);
}

/**
 * A code of our private scheme for a name we cannot map: the value is a hash of the normalized name (so
 * the same name always gets the same code), the meaning is the name itself.
 */
export function userDefinedCoding(name: string): SegmentCoding {
  const hash = createHash('sha256').update(normalizeName(name)).digest('hex').slice(0, 10).toUpperCase();
  return {
    category: { value: 'C-CLASS', scheme: USER_DEFINED_SCHEME, meaning: 'Segmentation class' },
    type: { value: `N${hash}`, scheme: USER_DEFINED_SCHEME, meaning: name.slice(0, 64) },
  };
}

/** True when the table maps this name to a standard code. */
export function isKnownName(name: string): boolean {
  return codingForName(name).type.scheme !== USER_DEFINED_SCHEME;
}
