"""Test-only crash and pause points (no effect unless WINNOW_TEST_HOOK is set)."""

from __future__ import annotations

import os
import signal
import time

TEST_HOOK_ENV = "WINNOW_TEST_HOOK"


def hook_point(point: str) -> None:
    """TEST-ONLY crash/pause hook: with WINNOW_TEST_HOOK="<point>=kill" the process SIGKILLs
    itself when it reaches `point`, "<point>=kill-once:<file>" only if `file` does not exist yet
    (it creates it first: a retried batch then passes); "<point>=sleep:<s>" pauses there. Used by
    tests/flows/test_crash.py and benchmarks/crash_test.py to kill a run at exact places.
    Unset (always, outside those tests) it does nothing.
    """
    spec = os.environ.get(TEST_HOOK_ENV)
    if not spec:
        return
    where, _, action = spec.partition("=")
    if where != point:
        return
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif action.startswith("kill-once:"):
        marker = action.split(":", 1)[1]
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return
        os.kill(os.getpid(), signal.SIGKILL)
    elif action.startswith("sleep:"):
        time.sleep(float(action.split(":", 1)[1]))
