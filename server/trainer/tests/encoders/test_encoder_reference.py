"""Our encoder computes what MobileSAM's reference implementation computes.

The expected numbers below were produced once by the reference TinyViT of the MobileSAM repository (its
tiny_vit_sam.py, run outside this project with the same random checkpoint and input); they are not
outputs of the code under test. The checkpoint is the seed-7 random one of conftest.py, so they hold as
long as torch's seeded generator and save format (pinned torch 2.13.0) stay the same.
"""

import pytest
import torch

from nnsam_trainer.encoders import load_image_encoder

CHECKPOINT_SHA256 = "3dd60c7282685b2bb2da499aeae1303037a30e299e83c5c30ff5e7785817574b"
REFERENCE = {  # (channel, row, column) -> embedding value for input randn(1, 3, 1024, 1024), seed 2024
    (0, 0, 0): -0.181044,
    (5, 63, 63): -1.265858,
    (17, 31, 62): 0.003069,
    (100, 7, 56): 0.031864,
    (255, 63, 0): 1.510904,
    (128, 40, 41): 1.072044,
    (200, 13, 27): -0.6063,
    (64, 56, 7): 0.175317,
}
REFERENCE_MEAN, REFERENCE_STD = 0.0071307, 1.0282291


def test_full_size_embedding_matches_the_reference_implementation(random_checkpoint):
    if random_checkpoint["sha256"] != CHECKPOINT_SHA256:
        pytest.fail(
            "the seed-7 random checkpoint changed (torch's generator or save format?): "
            "the reference numbers in this file must be regenerated"
        )
    model = load_image_encoder(random_checkpoint["path"])
    x = torch.randn(1, 3, 1024, 1024, generator=torch.Generator().manual_seed(2024))
    with torch.no_grad():
        y = model(x)
    got = {pos: round(y[0][pos].item(), 6) for pos in REFERENCE}
    assert got == pytest.approx(REFERENCE, abs=1e-4)
    assert y.mean().item() == pytest.approx(REFERENCE_MEAN, abs=1e-5)
    assert y.std().item() == pytest.approx(REFERENCE_STD, abs=1e-5)
