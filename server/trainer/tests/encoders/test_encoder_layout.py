"""The encoder's state dict has exactly the key/shape layout of `image_encoder.*` in the official
mobile_sam.pt.

The expected table is written out here independently of the implementation, from MobileSAM's published
architecture (TinyViT-5M: widths 64/128/160/320, depths 2/2/6/2, heads 2/4/5/10, windows 7/7/14/7, a
1000-class head kept in the checkpoint, SAM's 256-channel neck). The parameter count was also confirmed
against the reference implementation once (docs/encoders.md).
"""

import itertools

import pytest
import torch

from nnsam_trainer.encoders import MOBILESAM, TinyVitConfig, TinyViTImageEncoder
from nnsam_trainer.encoders.tiny_vit import TinyViTBlock, relative_offset_index


def conv_bn(name: str, cout: int, cin_per_group: int, kernel: int) -> dict:
    return {
        f"{name}.c.weight": (cout, cin_per_group, kernel, kernel),
        f"{name}.bn.weight": (cout,),
        f"{name}.bn.bias": (cout,),
        f"{name}.bn.running_mean": (cout,),
        f"{name}.bn.running_var": (cout,),
        f"{name}.bn.num_batches_tracked": (),
    }


def linear(name: str, cout: int, cin: int) -> dict:
    return {f"{name}.weight": (cout, cin), f"{name}.bias": (cout,)}


def layer_norm(name: str, dim: int) -> dict:
    return {f"{name}.weight": (dim,), f"{name}.bias": (dim,)}


def merge(name: str, cin: int, cout: int) -> dict:
    return {
        **conv_bn(f"{name}.conv1", cout, cin, 1),
        **conv_bn(f"{name}.conv2", cout, 1, 3),
        **conv_bn(f"{name}.conv3", cout, cout, 1),
    }


def vit_block(name: str, dim: int, heads: int, window: int) -> dict:
    return {
        f"{name}.attn.attention_biases": (heads, window * window),
        **layer_norm(f"{name}.attn.norm", dim),
        **linear(f"{name}.attn.qkv", 3 * dim, dim),
        **linear(f"{name}.attn.proj", dim, dim),
        **layer_norm(f"{name}.mlp.norm", dim),
        **linear(f"{name}.mlp.fc1", 4 * dim, dim),
        **linear(f"{name}.mlp.fc2", dim, 4 * dim),
        **conv_bn(f"{name}.local_conv", dim, 1, 3),
    }


def expected_mobilesam_layout() -> dict:
    table = {**conv_bn("patch_embed.seq.0", 32, 3, 3), **conv_bn("patch_embed.seq.2", 64, 32, 3)}
    for b in range(2):  # stage 0: MBConv, expansion 4
        table.update(conv_bn(f"layers.0.blocks.{b}.conv1", 256, 64, 1))
        table.update(conv_bn(f"layers.0.blocks.{b}.conv2", 256, 1, 3))
        table.update(conv_bn(f"layers.0.blocks.{b}.conv3", 64, 256, 1))
    table.update(merge("layers.0.downsample", 64, 128))
    for b in range(2):
        table.update(vit_block(f"layers.1.blocks.{b}", 128, 4, 7))
    table.update(merge("layers.1.downsample", 128, 160))
    for b in range(6):
        table.update(vit_block(f"layers.2.blocks.{b}", 160, 5, 14))
    table.update(merge("layers.2.downsample", 160, 320))
    for b in range(2):
        table.update(vit_block(f"layers.3.blocks.{b}", 320, 10, 7))
    table.update(layer_norm("norm_head", 320))
    table.update(linear("head", 1000, 320))
    table.update({"neck.0.weight": (256, 320, 1, 1), **layer_norm("neck.1", 256)})
    table.update({"neck.2.weight": (256, 256, 3, 3), **layer_norm("neck.3", 256)})
    return {"image_encoder." + k: v for k, v in table.items()}


def test_state_dict_matches_official_layout_exactly():
    model = TinyViTImageEncoder(MOBILESAM)
    got = {"image_encoder." + k: tuple(v.shape) for k, v in model.state_dict().items()}
    want = expected_mobilesam_layout()
    assert sorted(set(want) - set(got)) == []
    assert sorted(set(got) - set(want)) == []
    wrong = {k: (got[k], want[k]) for k in want if got[k] != want[k]}
    assert wrong == {}
    assert len(got) == 302


def test_parameter_count():
    model = TinyViTImageEncoder(MOBILESAM)
    learned = {
        k: v for k, v in expected_mobilesam_layout().items() if "running_" not in k and "num_batches" not in k
    }
    total = sum(torch.Size(s).numel() for s in learned.values())
    assert sum(p.numel() for p in model.parameters()) == total == 6_065_532
    # the classifier head (norm_head + head) is in the checkpoint but not used for the embedding
    assert model.encoder_parameter_count() == total - (320 * 2 + 1000 * 320 + 1000) == 5_743_892


def test_forward_shapes_on_a_small_configuration():
    config = TinyVitConfig(img_size=128)
    model = TinyViTImageEncoder(config).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 128, 128))
    assert config.embedding_size == 8
    assert out.shape == (2, 256, 8, 8)
    assert torch.isfinite(out).all()
    assert MOBILESAM.embedding_size == 64
    assert [MOBILESAM.stage_resolution(i) for i in range(4)] == [256, 128, 64, 64]


def test_bad_configurations_are_rejected():
    with pytest.raises(ValueError, match="multiple of 16"):
        TinyVitConfig(img_size=1000)
    with pytest.raises(ValueError, match="divisible"):
        TinyVitConfig(num_heads=(2, 3, 5, 10))


def test_relative_offset_index_numbers_offsets_in_order_of_first_appearance():
    # TinyViT's definition: walk all (token, token) pairs of the window in row-major order and give each
    # new (|d row|, |d col|) the next free number
    for window in (1, 3, 7):
        points = list(itertools.product(range(window), range(window)))
        numbering: dict = {}
        expected = []
        for p in points:
            for q in points:
                offset = (abs(p[0] - q[0]), abs(p[1] - q[1]))
                numbering.setdefault(offset, len(numbering))
                expected.append(numbering[offset])
        n = window * window
        assert relative_offset_index(window).tolist() == torch.tensor(expected).view(n, n).tolist()


def test_windowed_attention_equals_attention_window_by_window():
    torch.manual_seed(0)
    config = TinyVitConfig(img_size=128)
    block = TinyViTBlock(dim=20, num_heads=4, window=4, resolution=10, config=config).eval()
    x = torch.randn(2, 10, 10, 20)
    # reference: zero-pad to 12x12, run the attention on each 4x4 window separately, crop back
    padded = torch.zeros(2, 12, 12, 20)
    padded[:, :10, :10] = x
    out = torch.zeros_like(padded)
    with torch.no_grad():
        for r in range(0, 12, 4):
            for c in range(0, 12, 4):
                tokens = padded[:, r : r + 4, c : c + 4].reshape(2, 16, 20)
                out[:, r : r + 4, c : c + 4] = block.attn(tokens).reshape(2, 4, 4, 20)
        got = block._windowed_attention(x)
    assert got.shape == (2, 10, 10, 20)
    torch.testing.assert_close(got, out[:, :10, :10], rtol=1e-5, atol=1e-5)


def test_attention_splits_qkv_per_head():
    # the checkpoint's qkv projection is laid out per head as [q | k | v]: check against a direct formula
    torch.manual_seed(1)
    config = TinyVitConfig(img_size=128)
    block = TinyViTBlock(dim=8, num_heads=2, window=2, resolution=2, config=config).eval()
    with torch.no_grad():
        block.attn.attention_biases.normal_()
        x = torch.randn(3, 4, 8)
        got = block.attn(x)
        h = block.attn.qkv(block.attn.norm(x)).view(3, 4, 2, 12)
        heads = []
        for head in range(2):
            q, k, v = h[:, :, head, 0:4], h[:, :, head, 4:8], h[:, :, head, 8:12]
            bias = block.attn.attention_biases[head][relative_offset_index(2)]
            weights = torch.softmax(q @ k.transpose(1, 2) / 2.0 + bias, dim=-1)
            heads.append(weights @ v)
        want = block.attn.proj(torch.cat(heads, dim=-1))
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
