"""What the harness reads from `nnsam train --json` (the contract the engine's arms must keep)."""

from nnsam_bench.arms.nnsam import not_built, read_train_events


def test_curve_snapshots_and_result_are_read_from_json_lines():
    events = [
        {"event": "progress", "message": "planning"},
        {"event": "iteration", "iteration": 1, "seconds": 0.5, "loss": 1.2},
        {"iteration": 2, "seconds": 1.0, "loss": 1.0, "mean_pseudo_dice": 0.1},
        {"event": "snapshot", "model": "/m/s1", "seconds": 1.0, "iteration": 2},
        {"event": "snapshot", "seconds": 1.5},  # no model: not predictable, left out
        {"event": "result", "iterations": 3, "seconds": 1.6},
    ]
    got = read_train_events(events, wall_seconds=9.0)
    assert [e["iteration"] for e in got["curve"]] == [1, 2]
    assert got["snapshots"] == [{"model": "/m/s1", "seconds": 1.0, "iteration": 2}]
    assert (got["iterations"], got["seconds"]) == (3, 1.6)


def test_missing_result_falls_back_to_the_curve_then_the_wall_time():
    got = read_train_events([{"iteration": 7, "seconds": 4.0, "loss": 0.3}], wall_seconds=9.0)
    assert (got["iterations"], got["seconds"]) == (7, 4.0)
    assert read_train_events([], wall_seconds=9.0)["seconds"] == 9.0


def test_not_built_is_recognised_from_the_planned_command_message():
    assert not_built(1, "nnsam: `nnsam train` is not built yet (tracked in issue 4).\n")
    assert not not_built(0, "not built yet")
    assert not not_built(1, "nnsam: manifest not found")
