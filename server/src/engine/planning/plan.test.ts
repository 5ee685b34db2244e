import { describe, expect, it } from 'vitest';

import { NnsamError } from '../../util/errors.js';
import { phantom, python } from '../../../../test/support/engine-fixtures.js';
import type { TrainingCase } from '../types.js';
import { unlabelledSlices } from '../training/train.js';
import {
  CPU_PATCH_RULE,
  CPU_UNET_WIDTH,
  CPU_UNITS_PER_CORE,
  SEMI_SUPERVISED_BY_DEFAULT,
  SPATIAL_AUGMENTATION_P,
  autoValidationSlices,
  chooseEmbeddingStage,
  featureMapUnits,
  MIN_LABELLED_FOR_VALIDATION,
  planFromCases,
  planNetwork,
  poolAndConvProps,
  stageStrides,
} from './plan.js';

const classes = { '1': 'disk', '2': 'square' };

function caseOf(
  dims: [number, number, number],
  spacing: [number, number, number],
  slices: number[],
  seed = 1,
) {
  const { image, labels } = phantom(dims, seed, spacing);
  return { image, labels, labelledSlices: slices } satisfies TrainingCase;
}

describe('planner: nnU-Net topology', () => {
  it('matches nnU-Net v2 (get_pool_and_conv_props, compute_conv_feature_map_size) on several shapes', () => {
    const shapes: [number[], number[]][] = [
      [
        [1, 1],
        [256, 216],
      ],
      [
        [0.7, 0.7],
        [512, 512],
      ],
      [
        [1.5, 0.75],
        [160, 300],
      ],
      [
        [1, 1],
        [37, 91],
      ],
      [
        [2.5, 1],
        [90, 240],
      ],
    ];
    const script = `
import json, sys, torch
from nnunetv2.experiment_planning.experiment_planners.network_topology import get_pool_and_conv_props
from dynamic_network_architectures.architectures.unet import PlainConvUNet
out = []
for spacing, shape in json.loads(sys.argv[1]):
    npool, pools, convs, patch, div = get_pool_and_conv_props(spacing, shape, 4, 999999)
    n = len(pools)
    feats = [min(32 * 2 ** i, 512) for i in range(n)]
    net = PlainConvUNet(1, n, feats, torch.nn.Conv2d, convs, pools, [2] * n, 4, [2] * (n - 1), True,
                        torch.nn.InstanceNorm2d, {}, None, None, torch.nn.LeakyReLU, {}, deep_supervision=True)
    out.append({"pools": [list(p) for p in pools], "convs": [list(c) for c in convs],
                "patch": [int(p) for p in patch], "div": [int(d) for d in div],
                "units": int(net.compute_conv_feature_map_size([int(p) for p in patch]))})
print(json.dumps(out))`;
    const ref = JSON.parse(python(script, [JSON.stringify(shapes)]));
    shapes.forEach(([spacing, shape], n) => {
      const t = poolAndConvProps(spacing, shape);
      expect(t.strides).toEqual(ref[n].pools);
      expect(t.kernelSizes).toEqual(ref[n].convs);
      expect(t.patchSize).toEqual(ref[n].patch);
      expect(t.divisibleBy).toEqual(ref[n].div);
      const k = t.strides.length;
      const feats = [...Array(k).keys()].map((i) => Math.min(32 * 2 ** i, 512));
      const units = featureMapUnits(t.patchSize, t.strides, feats, Array(k).fill(2), Array(k - 1).fill(2), 4);
      expect(units).toBe(ref[n].units);
    });
  });

  it('shrinks the patch until a batch of 2 fits the budget, and caps the batch at 5 % of the labelled data', () => {
    const big = planNetwork([1, 1], [512, 512], 4, { capacity: 1e12, round: true }, 1e9);
    expect(big.network.patchSize).toEqual([512, 512]);
    expect(big.network.batchSize).toBeGreaterThan(2);
    const small = planNetwork([1, 1], [512, 512], 4, { capacity: 2 * CPU_UNITS_PER_CORE, round: false }, 1e9);
    expect(small.network.patchSize[0] * small.network.patchSize[1]).toBeLessThan(512 * 512);
    expect(2 * small.units).toBeLessThanOrEqual(2 * CPU_UNITS_PER_CORE);
    // few labelled slices: the 5 % rule leaves nnU-Net's minimum batch of 2
    const few = planNetwork([1, 1], [512, 512], 4, { capacity: 1e12, round: true }, 8 * 512 * 512);
    expect(few.network.batchSize).toBe(2);
  });

  it('puts the SAM embedding at the decoder stage whose grid is closest to 64x64', () => {
    const { network } = planNetwork([1, 1], [256, 208], 4, { capacity: 1e12, round: true }, 1e6);
    const e = chooseEmbeddingStage(network, [256, 208]);
    expect(stageStrides(network)[e]).toEqual([4, 4]);
    expect(stageStrides(network)[chooseEmbeddingStage(network, [128, 128])]).toEqual([2, 2]);
    const tiny = planNetwork([1, 1], [48, 40], 4, { capacity: 1e12, round: true }, 1e6).network;
    expect(chooseEmbeddingStage(tiny, [48, 40])).toBe(0);
  });
});

describe('planFromCases', () => {
  it('takes the median spacing and resampled shape, z-scores MR and plans validation slices', () => {
    const cases = [
      caseOf([40, 30, 6], [1, 1, 5], [1, 2, 3]),
      caseOf([50, 40, 6], [0.8, 0.8, 5], [0, 4, 5], 2),
      caseOf([44, 36, 6], [1.2, 1.2, 5], [2, 3], 3),
    ];
    const plan = planFromCases(cases, { classes, modality: 'MR', cores: 2 });
    expect(plan.targetSpacing).toEqual([1, 1]);
    // resampled shapes [rows, cols]: [30, 40], [32, 40], [43, 53] -> median
    expect(plan.medianShape).toEqual([32, 40]);
    expect(plan.normalization.scheme).toBe('ZScoreNormalization');
    expect(plan.numClasses).toBe(3);
    // 8 labelled slices: all train (an eighth is held out only from MIN_LABELLED_FOR_VALIDATION)
    expect(plan.training.validationSlices).toBe(0);
    expect(autoValidationSlices(MIN_LABELLED_FOR_VALIDATION - 1)).toBe(0);
    expect(autoValidationSlices(MIN_LABELLED_FOR_VALIDATION)).toBe(5);
    expect(plan.network.batchSize).toBeGreaterThanOrEqual(2);
    expect(plan.embedding).toBeNull();
    expect(plan.fingerprint.labelledSlices).toBe(8);
  });

  it('normalizes CT with the foreground percentiles and statistics', () => {
    const c = caseOf([40, 30, 4], [1, 1, 5], [0, 1]);
    const plan = planFromCases([c], { classes, modality: 'ct', cores: 2 });
    expect(plan.normalization.scheme).toBe('CTNormalization');
    if (plan.normalization.scheme !== 'CTNormalization') return;
    // foreground intensities: disk ~180, square ~40
    expect(plan.normalization.lower).toBeGreaterThan(30);
    expect(plan.normalization.lower).toBeLessThan(50);
    expect(plan.normalization.upper).toBeGreaterThan(170);
    expect(plan.normalization.upper).toBeLessThan(190);
    const fg = plan.fingerprint.foreground!;
    expect(plan.normalization.mean).toBe(fg.mean);
  });

  it('records the encoder and where its embedding enters', () => {
    const c = caseOf([200, 256, 3], [1, 1, 5], [0, 1]);
    const encoder = {
      id: 'tiny:0123456789abcdef',
      kind: 'onnx' as const,
      name: 'tiny',
      source: 'file' as const,
      sha256: '0123456789abcdef',
      path: '/x/tiny.onnx',
    };
    const plan = planFromCases([c], { classes, encoder, cores: 2 });
    expect(plan.embedding).toMatchObject({
      encoder: encoder.id,
      channels: 256,
      grid: [64, 64],
      stride: [4, 4],
    });
  });

  it('rejects bad input with errors that say where', () => {
    const c = caseOf([20, 20, 4], [1, 1, 5], [1]);
    expect(() => planFromCases([{ ...c, labelledSlices: [7] }], { classes })).toThrow(
      /slice 7 is outside 0..3/,
    );
    const bad = caseOf([20, 20, 4], [1, 1, 5], [1]);
    bad.labels.data[20 * 20 + 5] = 7;
    expect(() => planFromCases([{ ...bad, name: 'a.nii.gz' }], { classes })).toThrow(
      /a.nii.gz: slice 1 holds label value 7/,
    );
    const other = phantom([21, 20, 4]).labels;
    expect(() => planFromCases([{ ...c, labels: other }], { classes })).toThrow(NnsamError);
    expect(() => planFromCases([c], { classes: {} })).toThrow(/Classes must be keyed/);
    expect(() => planFromCases([], { classes })).toThrow(/No training cases/);
  });

  it('accepts image-only cases and negatives, and refuses cases it cannot use with a clear message', () => {
    const labelled = caseOf([30, 30, 5], [1, 1, 5], [1, 2]);
    const imageOnly = { image: phantom([30, 30, 6], 4).image, labelledSlices: [], name: 'new.nii.gz' };
    // a labelled slice whose labels are all 0 says "none of the classes here"
    const negative = caseOf([30, 30, 5], [1, 1, 5], [0], 5);
    negative.labels.data.fill(0, 0, 30 * 30);
    const plan = planFromCases([labelled, imageOnly, negative], { classes, cores: 2 });
    expect(plan.fingerprint.cases).toBe(3);
    expect(plan.fingerprint.labelledSlices).toBe(3);
    expect(plan.training.semiSupervised.enabled).toBe(SEMI_SUPERVISED_BY_DEFAULT);
    for (const on of [true, false]) {
      expect(planFromCases([labelled], { classes, semiSupervised: on }).training.semiSupervised.enabled).toBe(
        on,
      );
    }
    expect(() => planFromCases([imageOnly], { classes })).toThrow(/No case has a labelled slice/);
    expect(() => planFromCases([labelled, { ...imageOnly, labelledSlices: [1] }], { classes })).toThrow(
      /new.nii.gz: labelled slices are listed but no label volume is given/,
    );
    const flat = phantom([30, 30, 6], 4).image;
    const noGeometry = {
      image: { ...flat, geometry: { ...flat.geometry, spacing: [0, 1, 5] as [number, number, number] } },
      labelledSlices: [],
      name: 'flat.nii.gz',
    };
    expect(() => planFromCases([labelled, noGeometry], { classes })).toThrow(
      /flat.nii.gz: the image has no usable geometry \(dims 30x30x6, spacing 0 x 1 x 5 mm\)/,
    );
  });

  it('plans a 2D network (one input slice) whatever the slice spacing: 2.5D is opt-in', () => {
    for (const gap of [1, 2, 5]) {
      expect(planFromCases([caseOf([32, 32, 5], [1, 1, gap], [1])], { classes }).network.inputSlices).toBe(1);
    }
  });

  it("sizes the network to the device: half nnU-Net's width on CPU, nnU-Net's on CUDA", () => {
    const c = caseOf([64, 64, 3], [1, 1, 5], [0, 1]);
    const cpu = planFromCases([c], { classes, device: 'cpu', cores: 2 }).network.featuresPerStage;
    const cuda = planFromCases([c], { classes, device: 'cuda' }).network.featuresPerStage;
    expect(cpu[0]).toBe(CPU_UNET_WIDTH.base);
    expect(Math.max(...cpu)).toBeLessThanOrEqual(CPU_UNET_WIDTH.max);
    expect(cuda[0]).toBe(32);
    cpu.forEach((f, i) => expect(f).toBe(Math.min(CPU_UNET_WIDTH.base * 2 ** i, CPU_UNET_WIDTH.max)));
  });

  it('trains on CPU with about half the median slice at batch 4, and on CUDA with the whole slice', () => {
    // ACDC's median slice at 1 mm: half its area is 165x165, nearer 160 than nnU-Net's padded 192
    const acdc = planNetwork(
      [1, 1],
      [256, 212],
      4,
      { capacity: 2 * CPU_UNITS_PER_CORE, round: false },
      20 * 256 * 212,
      CPU_UNET_WIDTH,
      CPU_PATCH_RULE,
    );
    expect(acdc.network.patchSize).toEqual([160, 160]);
    expect(acdc.network.batchSize).toBe(CPU_PATCH_RULE.minBatch);
    const whole = planNetwork([1, 1], [256, 212], 4, { capacity: 1e12, round: true }, 20 * 256 * 212);
    expect(whole.network.patchSize).toEqual([256, 224]);
    expect(whole.network.batchSize).toBe(2);
    // anisotropic spacing keeps nnU-Net's shape (longer in voxels along the finer axis)
    const aniso = planNetwork(
      [0.5, 1],
      [400, 200],
      4,
      { capacity: 1e12, round: false },
      1e6,
      CPU_UNET_WIDTH,
      CPU_PATCH_RULE,
    ).network.patchSize;
    expect(aniso[0]).toBeGreaterThan(aniso[1]);
    expect(aniso[0] * aniso[1]).toBeLessThan(0.75 * 400 * 200);
    // a budget too small for 4 whole half-slices shrinks the patch, never the batch below 4
    const ct = planNetwork(
      [1, 1],
      [512, 512],
      4,
      { capacity: 2 * CPU_UNITS_PER_CORE, round: false },
      1e5,
      CPU_UNET_WIDTH,
      CPU_PATCH_RULE,
    );
    expect(ct.network.batchSize).toBe(4);
    expect(4 * ct.units).toBeLessThanOrEqual(2 * CPU_UNITS_PER_CORE);
    const cpuPlan = planFromCases([caseOf([64, 64, 3], [1, 1, 5], [0, 1])], {
      classes,
      device: 'cpu',
      cores: 2,
    });
    expect(cpuPlan.network.batchSize).toBeGreaterThanOrEqual(4);
    expect(cpuPlan.training.augmentation.pRotation).toBe(SPATIAL_AUGMENTATION_P);
  });
});

describe('unlabelledSlices', () => {
  it('lists every slice no one labelled, and spreads a capped selection over all cases', () => {
    const a = caseOf([10, 10, 6], [1, 1, 5], [1, 4]);
    const b = { image: phantom([10, 10, 4], 2).image, labelledSlices: [] };
    const all = unlabelledSlices([a, b], 100);
    expect(all.map((r) => `${r.caseIndex}:${r.k}`)).toEqual([
      '0:0',
      '0:2',
      '0:3',
      '0:5',
      '1:0',
      '1:1',
      '1:2',
      '1:3',
    ]);
    const few = unlabelledSlices([a, b], 4);
    expect(few.map((r) => `${r.caseIndex}:${r.k}`)).toEqual(['0:0', '0:3', '1:0', '1:2']);
    expect(unlabelledSlices([a], 0)).toEqual([]);
  });
});
