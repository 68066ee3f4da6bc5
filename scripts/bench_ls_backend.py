"""Throughput of the Label Studio ML backend: ``POST /predict`` on a batch of
report tasks against ``Tagger.pipe`` on the same texts, same model object,
one process, one run.

Tasks: the paragraphs of the real reports (``$KZNER_REPORTS_DIR``, as
``kzner labelstudio push --split paragraphs`` cuts them), repeated in turn
up to ``--tasks``. The backend runs under uvicorn in a thread of this process
on a free port of 127.0.0.1 and is asked over HTTP with the JSON Label Studio
sends, so its time includes the protocol (HTTP, JSON both ways, the labeling
config check, building the predictions). Each side is timed ``--repeats``
times after a warm-up; the best time counts. Printed: seconds of each, tasks
per second, and the ratio (backend / pipe; the issue's target is at most
1.2). The answers are checked to hold exactly the pipe's spans.

Usage: python scripts/bench_ls_backend.py [--model models/kzner-e5-small] [--tasks 20] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import threading
import time
import urllib.request
from pathlib import Path

import torch
import uvicorn

from kzner.document import LABELS
from kzner.labelstudio import ReadOptions
from kzner.ls_backend import Backend, create_app
from kzner.ls_config import labeling_config
from kzner.ls_tasks import paragraphs
from kzner.predict import Tagger


def report_paragraphs(folder: Path, count: int) -> list[str]:
    pieces = [
        piece.text
        for path in sorted(folder.glob("*.txt"))
        for piece in paragraphs(path.name, path.read_text(encoding="utf-8"))
    ]
    if not pieces:
        raise SystemExit(f"no report paragraphs in {folder}")
    return [pieces[i % len(pieces)] for i in range(count)]


def best_seconds(run, repeats: int) -> float:
    run()  # warm-up: first-call allocations are not throughput
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models/kzner-e5-small")
    parser.add_argument("--reports", default=os.environ.get("KZNER_REPORTS_DIR"))
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = parser.parse_args()
    if not args.reports:
        raise SystemExit("set KZNER_REPORTS_DIR or pass --reports")
    if args.threads:
        torch.set_num_threads(args.threads)

    texts = report_paragraphs(Path(args.reports), args.tasks)
    tagger = Tagger.load(args.model, device="cpu")
    body = json.dumps(
        {
            "tasks": [{"id": i, "data": {"text": text}} for i, text in enumerate(texts)],
            "project": "1.1",
            "label_config": labeling_config(LABELS),
        }
    ).encode()

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(Backend(tagger, ReadOptions())), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)

    answers: list[dict] = []

    def ask_backend() -> None:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/predict", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=600) as response:
            answers[:] = json.load(response)["results"]

    try:
        pipe_seconds = best_seconds(lambda: tagger.pipe(texts), args.repeats)
        backend_seconds = best_seconds(ask_backend, args.repeats)
    finally:
        server.should_exit = True
        thread.join()

    wanted = [[(e.start, e.end, e.label) for e in entities] for entities in tagger.pipe(texts)]
    got = [
        [(r["value"]["start"], r["value"]["end"], r["value"]["labels"][0]) for r in answer["result"]]
        for answer in answers
    ]
    if got != wanted:
        raise SystemExit("the backend's spans differ from Tagger.pipe's")

    characters = sum(map(len, texts))
    print(f"{len(texts)} report paragraphs, {characters:,} characters, model {tagger.version}")
    print(f"best of {args.repeats} runs after a warm-up")
    print(f"Tagger.pipe       {pipe_seconds:8.3f} s  {len(texts) / pipe_seconds:7.2f} tasks/s")
    print(f"POST /predict     {backend_seconds:8.3f} s  {len(texts) / backend_seconds:7.2f} tasks/s")
    print(f"ratio backend/pipe {backend_seconds / pipe_seconds:.3f} (target: at most 1.2)")


if __name__ == "__main__":
    main()
