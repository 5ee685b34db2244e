"""nnSAM benchmarks: few-shot accuracy against nnU-Net v2, speed and memory (issue 6).

Run through `npm run bench -- <target>` (scripts/bench.sh), which calls `python -m nnsam_bench`.
"""

__version__ = "0.1.0"
