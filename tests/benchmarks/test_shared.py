"""The benchmarks' shared RSS sampler: server processes told apart, a real child's peak seen."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import _shared  # noqa: E402


@pytest.mark.parametrize(
    ("cmdline", "is_server"),
    [
        (["python", "-m", "uvicorn", "--factory", "prefect.server.api.server:create_app"], True),
        (["python", "-m", "flows.server", "serve", "--port", "1"], True),
        (["prefect", "server", "start"], True),
        (["python", "-m", "flows.cli", "run", "x"], False),
        (["python", "-m", "flows.reaper", "12"], False),
    ],
)
def test_server_cmdlines(cmdline: list[str], is_server: bool) -> None:
    """Prefect server processes are told apart from the run's own."""
    assert _shared.is_server_cmdline(cmdline) is is_server


def _sleeper(mib: int) -> list[str]:
    """A child holding `mib` MiB of touched memory for 0.6 s."""
    code = f"import time; x = bytearray({mib} * 2**20); time.sleep(0.6)"
    return [sys.executable, "-c", code]


def test_tree_sampler_sees_children_and_separates_servers() -> None:
    """A child's grandchild is in the tree; an outside 'server' counts only in the whole peak."""
    server = subprocess.Popen(_sleeper(80))
    code = f"import subprocess; subprocess.run({_sleeper(60)!r})"
    proc = subprocess.Popen([sys.executable, "-c", code])
    try:
        with _shared.TreeSampler(proc.pid, server_pids=(server.pid,), interval=0.05) as s:
            proc.wait()
    finally:
        server.wait()
    peak = s.result()
    assert peak.server_processes == 1
    assert 60 <= peak.peak_no_server_mb < 140  # the grandchild's 60 MiB, not the server's 80
    assert peak.peak_mb >= peak.peak_no_server_mb + 80
    assert len(peak.per_process) >= 3
