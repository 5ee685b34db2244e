"""Few-shot draws on the real ACDC data: the rule in fewshot.py, and manifests in the engine's format."""

import json

import nibabel as nib
import numpy as np
import pytest

from nnsam_bench.fewshot import (
    CLASSES,
    LabelledSlice,
    acdc_paths,
    acdc_split,
    draw_slices,
    foreground_slices,
    read_manifest,
    write_manifest,
)


def test_foreground_slices_finds_slices_with_any_label():
    label = np.zeros((4, 5, 6), dtype=np.uint8)
    label[1, 2, 1] = 3
    label[0, 0, 4] = 1
    assert foreground_slices(label) == [1, 4]
    with pytest.raises(ValueError, match="3D"):
        foreground_slices(label[:, :, 0])


def test_draw_follows_the_rule():
    drawn = draw_slices(0, 20)
    train = set(acdc_split("train"))
    patients = [s.case.split("_")[0] for s in drawn]
    assert len(drawn) == 20 and len(set(patients)) == 20, "one slice per patient"
    for s in drawn:
        assert s.case in train, f"{s.case} is not a training case"
        label = np.asarray(nib.load(acdc_paths(s.case, "train")[1]).dataobj)
        assert label[:, :, s.slice].any(), f"{s} shows no heart"
    assert not set(patients) & {c.split("_")[0] for c in acdc_split("val")}


def test_draws_are_seeded_and_nested():
    assert draw_slices(1, 8) == draw_slices(1, 8)
    assert draw_slices(1, 20)[:8] == draw_slices(1, 8), "smaller sets are prefixes of larger ones"
    assert draw_slices(1, 4) != draw_slices(2, 4)
    with pytest.raises(ValueError, match="count"):
        draw_slices(0, 71)


def test_manifest_has_the_engine_format_and_hides_unlabelled_slices(tmp_path):
    slices = [LabelledSlice("patient003_frame01", 4), LabelledSlice("patient003_frame01", 6),
              LabelledSlice("patient004_frame02", 2)]
    path = write_manifest(tmp_path / "m", slices, {"seed": 0})
    raw = json.loads(path.read_text())
    assert raw["classes"] == CLASSES == {"1": "RV", "2": "MYO", "3": "LV"}
    assert [c["labeledSlices"] for c in raw["cases"]] == [[4, 6], [2]]
    for c in raw["cases"]:
        assert not c["image"].startswith("/") and not c["label"].startswith("/"), "paths relative to the manifest"
    manifest = read_manifest(path)
    assert manifest.slice_count == 3
    case = manifest.cases[0]
    assert case.image == acdc_paths("patient003_frame01", "train")[0].resolve()
    reference = nib.load(acdc_paths("patient003_frame01", "train")[1])
    written = nib.load(case.label)
    assert np.allclose(written.affine, reference.affine)
    ref, got = np.asarray(reference.dataobj), np.asarray(written.dataobj)
    for k in range(ref.shape[2]):
        expected = ref[:, :, k] if k in (4, 6) else np.zeros_like(ref[:, :, k])
        assert np.array_equal(got[:, :, k], expected), f"slice {k}"
    assert ref[:, :, 5].any(), "an unlabelled slice with heart was really hidden"


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda m: m.update(classes={"x": "RV"}), "class 'x'"),
        (lambda m: m.update(cases=[]), "non-empty list"),
        (lambda m: m["cases"][0].update(labeledSlices=[2, 2]), "twice"),
        (lambda m: m["cases"][0].update(labeledSlices=[]), "labeledSlices"),
        (lambda m: m["cases"][0].update(image="missing.nii.gz"), "file not found"),
    ],
)
def test_bad_manifests_are_refused_with_the_place_named(tmp_path, change, message):
    path = write_manifest(tmp_path, [LabelledSlice("patient003_frame01", 4)])
    raw = json.loads(path.read_text())
    change(raw)
    path.write_text(json.dumps(raw))
    with pytest.raises(ValueError, match=message) as err:
        read_manifest(path)
    assert str(path) in str(err.value)
