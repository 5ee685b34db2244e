"""Training manifest -> nnU-Net v2 raw dataset with sparse annotations (ignore label on unlabelled slices)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np

from ..fewshot import Manifest

DATASET_ID = 1
DATASET_NAME = "Dataset001_FewShot"


def ignore_value(manifest: Manifest) -> int:
    """nnU-Net wants the ignore label to be the highest label value: one above the highest class."""
    return max(manifest.classes) + 1


def manifest_to_nnunet_raw(manifest: Manifest, raw_root: Path, channel_name: str = "MRI") -> Path:
    """Writes raw_root/Dataset001_FewShot/{imagesTr,labelsTr,dataset.json}; returns the dataset folder.

    Images are linked (or copied where links are not possible), named <case>_0000.nii.gz. Labels keep
    the manifest's label on its labelled slices and hold the ignore value on every other slice, so
    nnU-Net learns from exactly the slices the manifest names.
    """
    dataset = Path(raw_root) / DATASET_NAME
    if dataset.exists():
        shutil.rmtree(dataset)
    (dataset / "imagesTr").mkdir(parents=True)
    (dataset / "labelsTr").mkdir()
    ignore = ignore_value(manifest)
    seen: set[str] = set()
    for case in manifest.cases:
        cid = case.case_id
        if cid in seen:
            raise ValueError(f"{manifest.path}: two cases share the id {cid}; nnU-Net needs unique names")
        seen.add(cid)
        image_dst = dataset / "imagesTr" / f"{cid}_0000.nii.gz"
        try:
            os.symlink(case.image, image_dst)
        except OSError:
            shutil.copyfile(case.image, image_dst)
        ref = nib.load(case.label)
        label = np.asarray(ref.dataobj)
        depth = label.shape[2] if label.ndim == 3 else 0
        bad = [k for k in case.labeled_slices if not k < depth]
        if bad:
            raise ValueError(f"{manifest.path}: {cid}: labelled slices {bad} outside the volume ({depth} slices)")
        unknown = sorted(set(np.unique(label).tolist()) - {0, *manifest.classes})
        if unknown:
            raise ValueError(f"{case.label}: label values {unknown} are not classes of {manifest.path}")
        sparse = np.full(label.shape, ignore, dtype=np.uint8)
        for k in case.labeled_slices:
            sparse[:, :, k] = label[:, :, k]
        header = ref.header.copy()
        header.set_data_dtype(np.uint8)
        nib.save(nib.Nifti1Image(sparse, ref.affine, header), dataset / "labelsTr" / f"{cid}.nii.gz")
    labels = {"background": 0, **{name: value for value, name in sorted(manifest.classes.items())}}
    labels["ignore"] = ignore
    dataset_json = {
        "channel_names": {"0": channel_name},
        "labels": labels,
        "numTraining": len(manifest.cases),
        "file_ending": ".nii.gz",
        "name": "FewShot",
        "description": f"nnSAM benchmark: sparse slices from {manifest.path}",
    }
    (dataset / "dataset.json").write_text(json.dumps(dataset_json, indent=2) + "\n")
    return dataset
