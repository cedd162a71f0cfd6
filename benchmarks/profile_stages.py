"""cProfile of winnow's stage functions (the task bodies, without Prefect) on one corpus.

Calls the task functions of flows/tasks.py (`task.fn`) in the main thread in flow order,
so cProfile sees every call; prints per-stage seconds and the top functions.

    python benchmarks/profile_stages.py benchmarks/out/corpus-100000 [--top 30]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flows import tasks  # noqa: E402
from flows.plan import RunOptions, plan_batches  # noqa: E402
from flows.readers import discover_inputs  # noqa: E402
from flows.staging import Staging  # noqa: E402
from flows.store import OutputStore  # noqa: E402
from transforms.config import PipelineConfig  # noqa: E402


def run_stages(corpus: Path, output: Path, cpu: dict[str, float] | None = None) -> dict[str, float]:
    """The flow's data path, task bodies only (`task.fn`); returns wall seconds per task kind
    (and fills `cpu` with this process's CPU seconds per task kind)."""
    config, options = PipelineConfig(), RunOptions()
    store = OutputStore(str(output))
    files, _ = discover_inputs([str(corpus)])
    staging = Staging.of(store.root, "00001-profile", 1)
    batches = plan_batches(files, batch_files=options.batch_files)
    t: dict[str, float] = {}
    c = {} if cpu is None else cpu

    def timed(name, fn, *args):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn(*args)
        t[name] = t.get(name, 0.0) + time.perf_counter() - t0
        c[name] = c.get(name, 0.0) + time.process_time() - c0
        return out

    for i, b in enumerate(batches):
        timed("extract", tasks.extract_batch.fn, b, staging, i, config, options, "profile", {})
    keys = timed("count_keys", tasks.count_keys.fn, store, staging, len(batches))
    for i in range(len(batches)):
        timed("flag", tasks.flag_batch.fn, staging, i, keys, config, options, "profile")
    dups = timed("dedup", tasks.dedup_documents.fn, store, staging, len(batches), "profile", config)
    timed("load", tasks.load_documents.fn, staging, len(batches), dups)
    return t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--sort", default="tottime")
    ap.add_argument("--dump", type=Path, default=None, help="also save the pstats file here")
    ap.add_argument(
        "--no-profile", action="store_true", help="stage seconds only, without cProfile"
    )
    args = ap.parse_args(argv)
    if args.no_profile:  # CPU seconds too: on a shared machine they vary less than wall time
        cpu: dict[str, float] = {}
        with tempfile.TemporaryDirectory() as tmp:
            times = run_stages(args.corpus, Path(tmp) / "out", cpu)
        for name, sec in times.items():
            print(f"{name:12s} {sec:8.2f} s  cpu {cpu[name]:8.2f} s")
        print(f"{'total':12s} {sum(times.values()):8.2f} s  cpu {sum(cpu.values()):8.2f} s")
        return 0
    prof = cProfile.Profile()
    with tempfile.TemporaryDirectory() as tmp:
        prof.enable()
        times = run_stages(args.corpus, Path(tmp) / "out")
        prof.disable()
    total = sum(times.values())
    for name, sec in times.items():
        print(f"{name:12s} {sec:8.2f} s  {100 * sec / total:5.1f}%")
    print(f"{'total':12s} {total:8.2f} s")
    if args.dump:
        prof.dump_stats(args.dump)
    pstats.Stats(prof).sort_stats(args.sort).print_stats(args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
