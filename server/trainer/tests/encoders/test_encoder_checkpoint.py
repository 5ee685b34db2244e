"""Loading MobileSAM checkpoints: full SAM files, encoder-only dicts, and clear errors for everything else."""

import hashlib
import json
import subprocess
import sys

import pytest
import torch

from nnsam_trainer.encoders import EncoderCheckpointError, load_image_encoder, read_checkpoint


@pytest.fixture(scope="module")
def full_state(random_checkpoint) -> dict:
    return torch.load(random_checkpoint["path"], weights_only=True)


def save(tmp_path, name, obj):
    path = tmp_path / name
    torch.save(obj, path)
    return path


def test_random_checkpoint_has_the_full_sam_layout(random_checkpoint, full_state):
    with open(random_checkpoint["path"], "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == random_checkpoint["sha256"]
    encoder_keys = [k for k in full_state if k.startswith("image_encoder.")]
    others = [k for k in full_state if not k.startswith("image_encoder.")]
    assert len(encoder_keys) == 302
    assert others and all(k.startswith(("prompt_encoder.", "mask_decoder.")) for k in others)
    assert full_state["image_encoder.layers.0.blocks.0.conv1.bn.num_batches_tracked"].dtype == torch.int64


def test_full_checkpoint_loads_with_its_weights(random_checkpoint, full_state):
    model = load_image_encoder(random_checkpoint["path"])
    assert not model.training
    state = model.state_dict()
    for key in (
        "neck.2.weight",
        "layers.2.blocks.5.attn.attention_biases",
        "patch_embed.seq.0.bn.running_var",
    ):
        assert torch.equal(state[key], full_state["image_encoder." + key])


def test_encoder_only_and_nested_dicts_load(tmp_path, full_state):
    bare = {k[len("image_encoder.") :]: v for k, v in full_state.items() if k.startswith("image_encoder.")}
    for name, obj in (
        ("bare.pt", bare),
        ("nested.pt", {"model": bare}),
        ("sd.pt", {"state_dict": full_state}),
    ):
        model = load_image_encoder(save(tmp_path, name, obj))
        assert torch.equal(model.state_dict()["head.weight"], bare["head.weight"])


def test_batchnorm_counters_are_optional(tmp_path, full_state):
    trimmed = {k: v for k, v in full_state.items() if not k.endswith("num_batches_tracked")}
    model = load_image_encoder(save(tmp_path, "trimmed.pt", trimmed))
    assert torch.equal(model.state_dict()["neck.0.weight"], full_state["image_encoder.neck.0.weight"])


def test_missing_file(tmp_path):
    with pytest.raises(EncoderCheckpointError, match=r"checkpoint not found: .*nowhere\.pt"):
        load_image_encoder(tmp_path / "nowhere.pt")


def test_file_that_is_not_a_checkpoint(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("this is not a checkpoint\n")
    with pytest.raises(EncoderCheckpointError, match=r"notes\.txt is not a readable PyTorch checkpoint"):
        load_image_encoder(text)


class CodeOnLoad:
    """Unpickling this would call print(): a weights_only load must refuse it instead of running it."""

    def __reduce__(self):
        return (print, ("unpickling ran code",))


def test_checkpoint_with_code_is_refused_not_run(tmp_path, capsys):
    path = save(tmp_path, "object.pt", {"image_encoder.x": CodeOnLoad()})
    with pytest.raises(EncoderCheckpointError, match="not a readable PyTorch checkpoint"):
        read_checkpoint(path)
    assert "unpickling ran code" not in capsys.readouterr().out


def test_tensor_instead_of_state_dict(tmp_path):
    with pytest.raises(EncoderCheckpointError, match="holds a Tensor, not a state dict"):
        load_image_encoder(save(tmp_path, "tensor.pt", torch.zeros(3)))


def test_missing_keys_are_listed(tmp_path, full_state):
    broken = dict(full_state)
    del broken["image_encoder.neck.2.weight"]
    del broken["image_encoder.layers.1.blocks.0.attn.qkv.bias"]
    with pytest.raises(EncoderCheckpointError) as err:
        load_image_encoder(save(tmp_path, "missing.pt", broken))
    message = str(err.value)
    assert "2 missing key(s)" in message
    assert (
        "image_encoder.neck.2.weight" in message
        and "image_encoder.layers.1.blocks.0.attn.qkv.bias" in message
    )


def test_unexpected_keys_are_listed(tmp_path, full_state):
    extra = dict(full_state)
    for i in range(7):
        extra[f"image_encoder.layers.4.blocks.{i}.weight"] = torch.zeros(1)
    with pytest.raises(
        EncoderCheckpointError, match=r"7 unexpected key\(s\): image_encoder\.layers\.4.* and 2 more"
    ):
        load_image_encoder(save(tmp_path, "extra.pt", extra))


def test_shape_mismatch_names_the_key(tmp_path, full_state):
    wrong = dict(full_state)
    wrong["image_encoder.layers.2.blocks.3.attn.attention_biases"] = torch.zeros(5, 49)
    with pytest.raises(EncoderCheckpointError) as err:
        load_image_encoder(save(tmp_path, "shape.pt", wrong))
    assert "image_encoder.layers.2.blocks.3.attn.attention_biases has shape [5, 49]" in str(err.value)
    assert "expects [5, 196]" in str(err.value)


def test_original_sam_vit_checkpoint_gets_a_hint(tmp_path):
    vit = {
        "image_encoder.patch_embed.proj.weight": torch.zeros(768, 3, 16, 16),
        "image_encoder.blocks.0.norm1.weight": torch.zeros(768),
    }
    with pytest.raises(EncoderCheckpointError, match="original SAM ViT"):
        load_image_encoder(save(tmp_path, "sam_vit_b.pth", vit))


def test_sam_checkpoint_without_image_encoder(tmp_path):
    with pytest.raises(EncoderCheckpointError, match="without any image_encoder"):
        load_image_encoder(
            save(tmp_path, "decoder_only.pt", {"mask_decoder.iou_token.weight": torch.zeros(1, 256)})
        )


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "nnsam_trainer", "encoder", *args], capture_output=True, text=True, check=False
    )


def test_random_checkpoints_are_reproducible_per_seed(tmp_path, random_checkpoint):
    same = run_cli("make-random-checkpoint", "--out", str(tmp_path / "a.pt"), "--seed", "7")
    other = run_cli("make-random-checkpoint", "--out", str(tmp_path / "b.pt"), "--seed", "8")
    assert same.returncode == 0 and other.returncode == 0, same.stderr + other.stderr
    same_sha = json.loads(same.stdout.splitlines()[-1])["sha256"]
    other_sha = json.loads(other.stdout.splitlines()[-1])["sha256"]
    assert same_sha == random_checkpoint["sha256"]
    assert other_sha != same_sha
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary files left
