"""The trainer's pinned environment imports the nnU-Net building blocks it is built on."""

import json
import subprocess
import sys


def test_env_command_reports_torch():
    out = subprocess.run([sys.executable, "-m", "nnsam_trainer", "env"], capture_output=True, text=True, check=True)
    info = json.loads(out.stdout)
    assert info["torch"].startswith("2.13.0")
    assert isinstance(info["cuda"], bool)


def test_nnunet_building_blocks_import():
    from dynamic_network_architectures.architectures.unet import PlainConvUNet  # noqa: F401
    from nnunetv2.training.loss.compound_losses import DC_and_CE_loss  # noqa: F401
    from batchgeneratorsv2.transforms.intensity.gamma import GammaTransform  # noqa: F401
