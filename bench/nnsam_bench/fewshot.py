"""The few-shot protocol: which ACDC slices are labelled, and the training manifest every arm consumes.

Rule (docs/benchmarks.md repeats it):
1. The training patients are the distinct patient ids of splits.json "train", sorted (70 patients).
2. A draw with seed s shuffles that list with SplitMix64(s) (Fisher-Yates, rng.py).
3. Walking the shuffled list, each patient gets, from the same generator, a frame (frame01 = end-diastole,
   frame02 = end-systole: index below(2)) and then one slice k chosen uniformly (below(n)) among the
   slices of that volume whose reference label has at least one foreground voxel (RV, MYO or LV):
   a slice that "shows the heart", as an annotator would pick.
4. A training set of N slices is the first N entries: N volumes from N different patients, one labelled
   slice each; every other slice of those volumes is unlabelled. Sets are nested (the 4 slices of seed s
   are among its 8, ...), so curves over N compare like with like.

The manifest is the engine's format: {"classes": {...}, "cases": [{"image", "label", "labeledSlices"}]}
with paths relative to the manifest. Its label files are written here and hold the reference only on
the labelled slices (0 elsewhere), so no arm can see an unlabelled slice's reference even by mistake.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np

from .paths import shared_data_dir
from .rng import SplitMix64

CLASSES = {"1": "RV", "2": "MYO", "3": "LV"}
SIZES = (4, 8, 12, 16, 20)
FRAMES = ("frame01", "frame02")


@dataclass(frozen=True)
class LabelledSlice:
    case: str  # e.g. patient003_frame01
    slice: int  # index along k (0-based)


def acdc_dir() -> Path:
    return shared_data_dir("acdc")


def acdc_split(name: str) -> list[str]:
    """Case ids of splits.json "train" or "val", as listed there."""
    splits = json.loads((acdc_dir() / "splits.json").read_text())
    if name not in splits:
        raise KeyError(f"{acdc_dir() / 'splits.json'} has no split {name!r} (has {sorted(splits)})")
    return list(splits[name])


def acdc_paths(case: str, split: str) -> tuple[Path, Path]:
    """(image, label) NIfTI paths of a case in split "train" (imagesTr) or "val" (imagesVal)."""
    sub = {"train": "Tr", "val": "Val"}[split]
    return acdc_dir() / f"images{sub}" / f"{case}.nii.gz", acdc_dir() / f"labels{sub}" / f"{case}.nii.gz"


def foreground_slices(label: np.ndarray) -> list[int]:
    """Indices k of the slices label[:, :, k] with at least one voxel > 0."""
    if label.ndim != 3:
        raise ValueError(f"expected a 3D label volume, got shape {label.shape}")
    return [int(k) for k in np.flatnonzero(label.reshape(-1, label.shape[2]).max(axis=0) > 0)]


def draw_slices(seed: int, count: int = max(SIZES)) -> list[LabelledSlice]:
    """The first `count` labelled slices of draw `seed` (rule in the module docstring)."""
    patients = sorted({case.split("_")[0] for case in acdc_split("train")})
    if not 1 <= count <= len(patients):
        raise ValueError(f"count must be between 1 and {len(patients)} (one slice per patient), got {count}")
    rng = SplitMix64(seed)
    rng.shuffle(patients)
    drawn: list[LabelledSlice] = []
    for patient in patients[:count]:
        case = f"{patient}_{FRAMES[rng.below(2)]}"
        _, label_path = acdc_paths(case, "train")
        candidates = foreground_slices(np.asarray(nib.load(label_path).dataobj))
        if not candidates:
            raise ValueError(f"{label_path} has no foreground slice to label")
        drawn.append(LabelledSlice(case, candidates[rng.below(len(candidates))]))
    return drawn


def write_manifest(out_dir: Path, slices: list[LabelledSlice], meta: dict | None = None) -> Path:
    """Writes out_dir/manifest.json + out_dir/labels/<case>.nii.gz (reference on labelled slices only)."""
    out_dir = Path(out_dir)
    (out_dir / "labels").mkdir(parents=True, exist_ok=True)
    by_case: dict[str, list[int]] = {}
    for s in slices:
        by_case.setdefault(s.case, []).append(s.slice)
    cases = []
    for case, ks in by_case.items():
        image_path, label_path = acdc_paths(case, "train")
        ref = nib.load(label_path)
        full = np.asarray(ref.dataobj).astype(np.uint8)
        sparse = np.zeros_like(full)
        for k in ks:
            sparse[:, :, k] = full[:, :, k]
        sparse_path = out_dir / "labels" / f"{case}.nii.gz"
        header = ref.header.copy()
        header.set_data_dtype(np.uint8)
        nib.save(nib.Nifti1Image(sparse, ref.affine, header), sparse_path)
        cases.append(
            {
                "image": os.path.relpath(image_path, out_dir),
                "label": os.path.relpath(sparse_path, out_dir),
                "labeledSlices": sorted(ks),
            }
        )
    manifest_path = out_dir / "manifest.json"
    manifest_path.write_text(json.dumps({"classes": CLASSES, "cases": cases}, indent=2) + "\n")
    if meta is not None:
        (out_dir / "draw.json").write_text(json.dumps(meta, indent=2) + "\n")
    return manifest_path


@dataclass(frozen=True)
class ManifestCase:
    image: Path
    label: Path
    labeled_slices: tuple[int, ...]

    @property
    def case_id(self) -> str:
        return self.image.name.removesuffix(".nii.gz").removesuffix(".nii")


@dataclass(frozen=True)
class Manifest:
    path: Path
    classes: dict[int, str]
    cases: tuple[ManifestCase, ...]

    @property
    def slice_count(self) -> int:
        return sum(len(c.labeled_slices) for c in self.cases)


def read_manifest(path: Path) -> Manifest:
    """Reads and checks a training manifest; errors name the manifest and the offending entry."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"cannot read manifest {path}: {e}") from e
    classes_raw = raw.get("classes")
    if not isinstance(classes_raw, dict) or not classes_raw:
        raise ValueError(f"{path}: 'classes' must map label values to names, e.g. {CLASSES}")
    classes: dict[int, str] = {}
    for key, name in classes_raw.items():
        if not key.isdigit() or not 1 <= int(key) <= 254 or not isinstance(name, str):
            raise ValueError(f"{path}: class {key!r}: {name!r} is not '<1..254>': '<name>'")
        classes[int(key)] = name
    cases_raw = raw.get("cases")
    if not isinstance(cases_raw, list) or not cases_raw:
        raise ValueError(f"{path}: 'cases' must be a non-empty list")
    cases = []
    for i, c in enumerate(cases_raw):
        where = f"{path}: cases[{i}]"
        if not isinstance(c, dict) or not isinstance(c.get("image"), str) or not isinstance(c.get("label"), str):
            raise ValueError(f"{where} needs 'image' and 'label' paths")
        ks = c.get("labeledSlices")
        if not isinstance(ks, list) or not ks or not all(isinstance(k, int) and k >= 0 for k in ks):
            raise ValueError(f"{where}: 'labeledSlices' must be a non-empty list of slice indices >= 0")
        if len(set(ks)) != len(ks):
            raise ValueError(f"{where}: 'labeledSlices' lists a slice twice: {ks}")
        image, label = (path.parent / c["image"]).resolve(), (path.parent / c["label"]).resolve()
        for p in (image, label):
            if not p.is_file():
                raise ValueError(f"{where}: file not found: {p}")
        cases.append(ManifestCase(image, label, tuple(ks)))
    return Manifest(path, classes, tuple(cases))


def make_draws(out_root: Path, sizes: tuple[int, ...], seeds: tuple[int, ...]) -> dict[tuple[int, int], Path]:
    """Writes one manifest per (size, seed) under out_root/n<size>-s<seed>/; returns their paths."""
    manifests = {}
    for seed in seeds:
        drawn = draw_slices(seed, max(sizes))
        for n in sizes:
            meta = {
                "protocol": "acdc-fewshot-v1",
                "seed": seed,
                "slices": n,
                "drawn": [{"case": s.case, "slice": s.slice} for s in drawn[:n]],
            }
            manifests[(n, seed)] = write_manifest(Path(out_root) / f"n{n}-s{seed}", drawn[:n], meta)
    return manifests
