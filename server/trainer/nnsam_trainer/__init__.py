"""nnSAM trainer: trains the nnU-Net part of an nnSAM model from preprocessed slices and exports ONNX.

Node prepares the data (plan, preprocessing, SAM embeddings); this package only trains. See
docs/engine.md for the files it reads and the JSON lines it prints.
"""

__version__ = "0.1.0"
