"""How the trainer classifies its failures (the server turns the codes into out_of_memory / disk_full)."""

import errno
import io
import json
import os

from nnsam_trainer.__main__ import is_disk_full, is_out_of_memory
from nnsam_trainer.progress import Progress


def test_out_of_memory_is_recognised():
    assert is_out_of_memory(MemoryError())
    assert is_out_of_memory(RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 8"))
    assert is_out_of_memory(RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    assert is_out_of_memory(ImportError("x.so: failed to map segment from shared object"))
    assert is_out_of_memory(OSError(errno.ENOMEM, "Cannot allocate memory"))
    assert not is_out_of_memory(RuntimeError("shapes do not match"))


def test_disk_full_is_recognised(tmp_path):
    assert is_disk_full(OSError(errno.ENOSPC, "No space left on device"), str(tmp_path))
    # any other failure counts only when the output's file system is (almost) full; tmp_path is not
    assert not is_disk_full(RuntimeError("unexpected pos 42013952 vs 42013840"), str(tmp_path))


def test_progress_survives_a_log_file_that_cannot_be_written(tmp_path):
    out = io.StringIO()
    progress = Progress(str(tmp_path / "log.jsonl"), stream=out)
    progress.log.close()
    progress.log = open(os.devnull, "r")  # writing to it raises OSError, as on a full disk
    progress.emit("error", code="disk_full", message="no space")
    progress.close()
    assert json.loads(out.getvalue().strip().splitlines()[-1])["code"] == "disk_full"
