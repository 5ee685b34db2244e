"""plan.json and dataset.json checked against the schemas the server generates, with their defaults filled in."""

import copy
import json
import os

import pytest
from synthetic import raw_plan, write_folder
from test_training import run_trainer

from nnsam_trainer.contract import InvalidDocument, checked, validator


def test_the_shipped_schemas_are_valid_json_schemas():
    for name in ("plan", "dataset"):
        assert validator(name).schema["type"] == "object"  # check_schema ran on load


def test_a_plan_gets_the_schema_defaults_and_the_input_is_left_as_it_was():
    raw = raw_plan(embedding=False)
    before = copy.deepcopy(raw)
    plan = checked(raw, "plan")
    assert raw == before
    assert plan["training"]["precision"] == "auto"
    assert plan["training"]["selfTraining"]["enabled"] is False and plan["training"]["selfTraining"]["at"] == [0.5]
    assert plan["network"]["inputSlices"] == 1
    assert plan["inference"]["int8"] is False and plan["inference"]["tta"] is None
    assert plan["training"]["augmentation"]["pElastic"] == 0
    # a value the plan has is kept; keys the trainer does not read pass through
    raw["training"]["precision"] = "bf16"
    raw["modality"] = "CT"
    again = checked(raw, "plan")
    assert again["training"]["precision"] == "bf16" and again["modality"] == "CT"


def test_defaults_reach_into_a_nullable_block():
    raw = raw_plan(embedding=True)
    plan = checked(raw, "plan")
    assert plan["embedding"]["stride"] == [2, 2] and plan["embedding"]["channels"] == 8


@pytest.mark.parametrize("change, says", [
    (lambda p: p["network"].pop("batchSize"), "network: 'batchSize' is a required property"),
    (lambda p: p["training"].update(optimizer="Adam"), "training.optimizer: 'Adam' is not one of"),
    (lambda p: p["network"].update(patchSize=[32]), "network.patchSize"),
    (lambda p: p["training"]["semiSupervised"].update(threshold=1.5), "training.semiSupervised.threshold"),
])
def test_a_plan_unlike_the_server_writes_is_refused_naming_the_field(change, says):
    raw = raw_plan(embedding=False)
    change(raw)
    with pytest.raises(InvalidDocument) as e:
        checked(raw, "plan", "data/plan.json")
    assert "data/plan.json does not match what the server writes" in str(e.value)
    assert says in str(e.value)


def test_the_trainer_refuses_a_bad_plan_or_dataset_with_exit_2_and_the_file(tmp_path):
    data = write_folder(str(tmp_path / "data"), n_train=2, n_val=0)
    plan_path = os.path.join(data, "plan.json")
    plan = json.load(open(plan_path))
    del plan["training"]["initialLr"]
    json.dump(plan, open(plan_path, "w"))
    code, lines = run_trainer(data, str(tmp_path / "out"), "--max-iterations", "2", check=False)
    assert code == 2 and lines[-1]["code"] == "invalid_training_data"
    assert plan_path in lines[-1]["message"] and "'initialLr' is a required property" in lines[-1]["message"]

    data = write_folder(str(tmp_path / "data2"), n_train=2, n_val=0)
    meta_path = os.path.join(data, "dataset.json")
    meta = json.load(open(meta_path))
    meta["slices"][1]["split"] = "test"
    json.dump(meta, open(meta_path, "w"))
    code, lines = run_trainer(data, str(tmp_path / "out2"), "--max-iterations", "2", check=False)
    assert code == 2 and lines[-1]["code"] == "invalid_training_data"
    assert "slices.1.split: 'test' is not one of" in lines[-1]["message"]
