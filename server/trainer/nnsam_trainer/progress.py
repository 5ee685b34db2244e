"""Progress as JSON lines: one object per line on stdout (read by Node) and in training_log.jsonl."""

from __future__ import annotations

import json
import math
import sys
from typing import Any, TextIO


def _clean(v: Any) -> Any:
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    return v


class Progress:
    def __init__(self, log_path: str | None = None, stream: TextIO = sys.stdout):
        self.stream = stream
        self.log = open(log_path, "a", encoding="utf8") if log_path else None

    def emit(self, type_: str, **fields: Any) -> None:
        line = json.dumps(_clean({"type": type_, **fields}), separators=(",", ":"))
        self.stream.write(line + "\n")
        self.stream.flush()
        if self.log:
            try:
                self.log.write(line + "\n")
                self.log.flush()
            except OSError:
                # the file copy is a convenience (disk full): stdout, which the server reads, still works
                self.log = None

    def close(self) -> None:
        if self.log:
            try:
                self.log.close()
            except OSError:
                pass
            self.log = None
