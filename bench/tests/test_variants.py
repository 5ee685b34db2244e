"""nnsam_bench/variants.py: comparisons of predictions of one model (Dice change, voxels changed, the rule)."""

import nibabel as nib
import numpy as np

from nnsam_bench.variants import COMPARISONS, VARIANTS, compare


def test_every_comparison_names_known_variants():
    for _, a, b in COMPARISONS:
        assert a in VARIANTS and b in VARIANTS


def test_compares_dice_and_voxels_and_checks_the_precision_rule(tmp_path):
    folders = {}
    for name, flip in (("cpu", 0), ("int8", 3), ("tta", 50)):
        folders[name] = tmp_path / name
        folders[name].mkdir()
        labels = np.zeros((10, 10, 10), np.uint8)
        labels.flat[:flip] = 1
        nib.save(nib.Nifti1Image(labels, np.eye(4)), folders[name] / "case.nii.gz")

    def summary(mean):
        return {"mean": {"dice": {"mean": mean}}, "RV": {"dice": {"mean": None}}, "cases": 1}

    results = {"cpu": {"summary": summary(0.800), "seconds": 10.0},
               "int8": {"summary": summary(0.797), "seconds": 8.0},
               "tta": {"summary": summary(0.810), "seconds": 40.0}}
    rows = {r["variant"]: r for r in compare(results, folders, ["case"])}
    assert set(rows) == {"int8", "tta"}  # comparisons whose variants did not run are left out
    assert abs(rows["int8"]["diceDelta"]["mean"] + 0.003) < 1e-9 and rows["int8"]["diceDelta"]["RV"] is None
    assert rows["int8"]["changedVoxels"] == 0.003 and rows["int8"]["meetsRule"] is True
    assert rows["tta"]["changedVoxels"] == 0.05 and rows["tta"]["secondsRatio"] == 4.0
    assert "meetsRule" not in rows["tta"]
    results["int8"]["summary"] = summary(0.790)
    assert compare(results, folders, ["case"])[-1]["meetsRule"] is False
