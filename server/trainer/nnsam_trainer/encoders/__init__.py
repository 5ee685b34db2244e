"""Frozen SAM image encoders: MobileSAM's TinyViT in PyTorch, checkpoint loading, ONNX export and the
SAM input preprocessing. See docs/encoders.md."""

from .checkpoint import EncoderCheckpointError, load_image_encoder, make_random_checkpoint, read_checkpoint
from .export import ENCODER_NAME, INPUT_NAME, OUTPUT_NAME, export_encoder_onnx
from .frozen import FrozenSamEncoder
from .preprocess import PIXEL_MEAN, PIXEL_STD, SAM_INPUT_SIZE, sam_preprocess
from .tiny_vit import MOBILESAM, TinyVitConfig, TinyViTImageEncoder

__all__ = [
    "ENCODER_NAME",
    "INPUT_NAME",
    "MOBILESAM",
    "OUTPUT_NAME",
    "PIXEL_MEAN",
    "PIXEL_STD",
    "SAM_INPUT_SIZE",
    "EncoderCheckpointError",
    "FrozenSamEncoder",
    "TinyViTImageEncoder",
    "TinyVitConfig",
    "export_encoder_onnx",
    "load_image_encoder",
    "make_random_checkpoint",
    "read_checkpoint",
    "sam_preprocess",
]
