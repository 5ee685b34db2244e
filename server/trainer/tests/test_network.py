"""The nnSAM network: nnU-Net encoder, decoder that concatenates the SAM embedding at the planned stage."""

import pytest
import torch
from synthetic import make_plan

from nnsam_trainer.network import build_network, stage_strides


def test_outputs_per_stage_with_deep_supervision():
    plan = make_plan(embedding=False)
    net = build_network(plan, num_classes=3)
    out = net(torch.randn(2, 1, 32, 40))
    assert [tuple(o.shape) for o in out] == [(2, 3, 32, 40), (2, 3, 16, 20)]
    net.deep_supervision = False
    assert tuple(net(torch.randn(1, 1, 32, 40)).shape) == (1, 3, 32, 40)


@pytest.mark.parametrize("stage", [0, 1])
def test_embedding_enters_the_planned_stage(stage):
    plan = make_plan(embedding=True, stage=stage)
    net = build_network(plan, num_classes=3)
    s = stage_strides(plan["network"])[stage]
    emb = torch.randn(2, 8, 32 // s[0], 40 // s[1])
    out = net(torch.randn(2, 1, 32, 40), emb)
    assert tuple(out[0].shape) == (2, 3, 32, 40)
    # the embedding actually influences the logits
    net.eval()
    with torch.no_grad():
        a = net(torch.zeros(1, 1, 32, 40), emb[:1])[0]
        b = net(torch.zeros(1, 1, 32, 40), emb[:1] * 0)[0]
    assert (a - b).abs().max() > 1e-4
    with pytest.raises(ValueError, match="embedding"):
        net(torch.randn(1, 1, 32, 40))


def test_rejects_an_embedding_stage_outside_the_decoder():
    plan = make_plan(embedding=True, stage=2)
    with pytest.raises(ValueError, match="not a decoder stage"):
        build_network(plan, num_classes=3)
