"""Manifest -> nnU-Net raw dataset: sparse slices become nnU-Net's ignore label, and nnU-Net accepts it."""

import json

import nibabel as nib
import numpy as np
import pytest

from nnsam_bench.arms.nnunet_convert import DATASET_NAME, manifest_to_nnunet_raw
from nnsam_bench.fewshot import LabelledSlice, acdc_paths, read_manifest, write_manifest


@pytest.fixture()
def manifest(tmp_path):
    slices = [LabelledSlice("patient003_frame01", 3), LabelledSlice("patient003_frame01", 7),
              LabelledSlice("patient010_frame02", 5)]
    return read_manifest(write_manifest(tmp_path / "draw", slices))


def test_unlabelled_slices_become_the_ignore_label(tmp_path, manifest):
    dataset = manifest_to_nnunet_raw(manifest, tmp_path / "raw")
    assert dataset.name == DATASET_NAME
    meta = json.loads((dataset / "dataset.json").read_text())
    assert meta["labels"] == {"background": 0, "RV": 1, "MYO": 2, "LV": 3, "ignore": 4}
    assert meta["numTraining"] == 2 and meta["file_ending"] == ".nii.gz"
    assert sorted(p.name for p in (dataset / "imagesTr").iterdir()) == [
        "patient003_frame01_0000.nii.gz", "patient010_frame02_0000.nii.gz"]
    ref = np.asarray(nib.load(acdc_paths("patient003_frame01", "train")[1]).dataobj)
    got = np.asarray(nib.load(dataset / "labelsTr" / "patient003_frame01.nii.gz").dataobj)
    assert got.dtype == np.uint8 and got.shape == ref.shape
    for k in range(ref.shape[2]):
        if k in (3, 7):
            assert np.array_equal(got[:, :, k], ref[:, :, k])
        else:
            assert (got[:, :, k] == 4).all(), f"slice {k} must be ignored"
    image = nib.load(dataset / "imagesTr" / "patient003_frame01_0000.nii.gz")
    assert np.array_equal(np.asarray(image.dataobj),
                          np.asarray(nib.load(acdc_paths("patient003_frame01", "train")[0]).dataobj))


def test_nnunet_verifies_the_converted_dataset(tmp_path, manifest, monkeypatch):
    dataset = manifest_to_nnunet_raw(manifest, tmp_path / "raw")
    from nnunetv2.experiment_planning.verify_dataset_integrity import verify_dataset_integrity

    verify_dataset_integrity(str(dataset), num_processes=1)  # raises on any inconsistency


def test_bad_slices_and_labels_are_refused(tmp_path, manifest):
    bad = json.loads(manifest.path.read_text())
    bad["cases"][0]["labeledSlices"] = [3, 40]
    manifest.path.write_text(json.dumps(bad))
    with pytest.raises(ValueError, match=r"labelled slices \[40\] outside the volume"):
        manifest_to_nnunet_raw(read_manifest(manifest.path), tmp_path / "raw")
    bad["cases"][0]["labeledSlices"] = [3]
    bad["classes"] = {"1": "RV", "2": "MYO"}
    manifest.path.write_text(json.dumps(bad))
    with pytest.raises(ValueError, match=r"label values \[3\] are not classes"):
        manifest_to_nnunet_raw(read_manifest(manifest.path), tmp_path / "raw")
