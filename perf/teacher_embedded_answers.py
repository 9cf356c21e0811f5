"""Benchmark of the embedded teacher on the sample set: are its answers a judgement of the frames?

Runs the embedded backend (EfficientNet-Lite0 tags -> SmolLM2-135M-Instruct) the way the main job does
(16 frames per clip, longest side 448 px, saved as JPEG and read back; K samples at temperature 0.7,
top_p 1, seed 0) on the first ``--clips`` items of ``build_synthetic_set(train=N, test=0)`` and reports,
for the first 8 clips and for all of them:

- ms per sample (the call's wall time / K) and completion tokens per sample;
- the answer letters drawn (a positional bias shows as one letter everywhere);
- accuracy vs gold: per sample, per clip by majority, and of the clips a unanimous vote keeps;
- the share of think texts containing "podium" (a word of the old few-shot example, never in a clip), and
  of each word of the old and the new example (whole words).

Not a test (no thresholds): ``python perf/teacher_embedded_answers.py --out result.json``. To bench
another version of the teacher package, put its folder first on ``PYTHONPATH``.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import re
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from sightsound.answers.tagged import parse_answer
from sightsound.contracts.teacher import ReasonRequest, SamplingParams
from sightsound.media.ingest import extract_frames
from sightsound_devdata.synthetic_set import SyntheticItem, build_synthetic_set, load_synthetic_set
from sightsound_teacher.backends.embedded_backend import EmbeddedBackend

COPY_WORD = "podium"
#: Words of the few-shot examples (v1: a speech at a podium; v2 tags: a train) that no sample-set clip shows.
EXAMPLE_WORDS = ("podium", "microphone", "locomotive", "train")


def sample_items(workdir: Path, clips: int) -> list[SyntheticItem]:
    """The first ``clips`` train items (built once into ``workdir``, reused after)."""
    try:
        items = load_synthetic_set(workdir)
        if len(items) >= clips:
            return items[:clips]
    except (FileNotFoundError, ValueError):
        pass
    return build_synthetic_set(workdir, train=clips, test=0)


def clip_frames(item: SyntheticItem, folder: Path, n: int, side: int) -> list[Image.Image]:
    """``n`` frames as the ingest stage stores them (JPEG), read back."""
    folder.mkdir(parents=True, exist_ok=True)
    frames = []
    for i, frame in enumerate(extract_frames(item.path, n, side)):
        path = folder / f"{i:03d}.jpg"
        frame.save(path, format="JPEG", quality=90)
        with Image.open(path) as image:
            frames.append(image.convert("RGB"))
    return frames


def think_text(text: str) -> str:
    start, end = text.find("<think>"), text.find("</think>")
    return text[start + len("<think>") : end if end >= 0 else None] if start >= 0 else text


def agree(row: dict[str, Any]) -> bool:
    """All K samples parsed and gave the same letter (what a unanimous vote keeps)."""
    answers = [s["answer"] for s in row["samples"]]
    return None not in answers and len(set(answers)) == 1


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    samples = [s for row in rows for s in row["samples"]]
    pictured = [r for r in rows if r["picture_gives_answer"]]
    others = [r for r in rows if not r["picture_gives_answer"]]
    answered = [s for s in samples if s["answer"] is not None]
    majority_right = 0
    kept = kept_right = 0
    for row in rows:
        answers = [s["answer"] for s in row["samples"]]
        counts = collections.Counter(a for a in answers if a is not None)
        if counts:
            top, _ = counts.most_common(1)[0]
            majority_right += int(top == row["gold"])  # ties: the first drawn wins
        if agree(row):
            kept += 1
            kept_right += int(answers[0] == row["gold"])
    return {
        "clips": len(rows),
        "samples": len(samples),
        "ms_per_sample": round(statistics.mean(r["latency_ms"] / len(r["samples"]) for r in rows), 1),
        "completion_tokens_per_sample": round(statistics.mean(s["completion_tokens"] for s in samples), 1),
        "prompt_tokens_mean": round(statistics.mean(s["prompt_tokens"] for s in samples), 1),
        "parsed": len(answered),
        "letters": dict(sorted(collections.Counter("ABCD"[s["answer"]] for s in answered).items())),
        "gold_letters": dict(sorted(collections.Counter("ABCD"[r["gold"]] for r in rows).items())),
        "sample_accuracy": round(sum(s["answer"] == r["gold"] for r in rows for s in r["samples"]) / len(samples), 3),
        "clip_accuracy_majority": round(majority_right / len(rows), 3),
        "unanimous_kept": kept,
        "unanimous_kept_correct": kept_right,
        "picture_clips": len(pictured),
        "picture_clip_sample_accuracy": round(
            sum(s["answer"] == r["gold"] for r in pictured for s in r["samples"])
            / max(1, sum(len(r["samples"]) for r in pictured)),
            3,
        ),
        "agreement_picture_clips": round(sum(agree(r) for r in pictured) / max(1, len(pictured)), 3),
        "agreement_other_clips": round(sum(agree(r) for r in others) / max(1, len(others)), 3),
        "think_contains_podium": round(
            sum(COPY_WORD in think_text(s["text"]).lower() for s in samples) / len(samples), 3
        ),
        "think_contains_example_word": {
            word: round(
                sum(bool(re.search(rf"\b{word}", think_text(s["text"]).lower())) for s in samples) / len(samples), 3
            )
            for word in EXAMPLE_WORDS
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=16)
    parser.add_argument("--k", type=int, default=2)
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--side", type=int, default=448)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/sightsound-synthetic-bench"))
    parser.add_argument("--label", default="")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    items = sample_items(args.workdir / "clips", args.clips)
    with tempfile.TemporaryDirectory() as scratch:  # per run: two runs at once must not share frame files
        frames = [clip_frames(item, Path(scratch) / item.name, args.frames, args.side) for item in items]
    backend = EmbeddedBackend(device="cpu", structured=True)
    backend.load()
    sampling = SamplingParams(
        temperature=args.temperature, top_p=1.0, max_new_tokens=args.max_new_tokens, seed=args.seed
    )

    def request(item: SyntheticItem) -> ReasonRequest:
        return ReasonRequest(
            question=item.question,
            choices=list(item.choices),
            frame_urls=["file:///x.jpg"],
            k=args.k,
            sampling=sampling,
        )

    backend.generate(request(items[0]), frames[0])  # warm-up, not timed
    rows = []
    load_before = os.getloadavg()
    for item, clip in zip(items, frames, strict=True):
        started = time.perf_counter()
        generations = backend.generate(request(item), clip)
        wall_ms = (time.perf_counter() - started) * 1000
        judge = getattr(backend, "judge", None)  # the scored teacher: time its choice scoring on its own
        judge_ms = None
        if judge is not None:
            judged = time.perf_counter()
            judgement = judge(request(item), backend.tags(clip))
            judge_ms = round((time.perf_counter() - judged) * 1000, 1)
        answers = [parse_answer(g.text, item.choices)[0] for g in generations]
        samples = [
            {
                "answer": answer,
                "text": g.text,
                "completion_tokens": g.completion_tokens,
                "prompt_tokens": g.prompt_tokens,
            }
            for g, answer in zip(generations, answers, strict=True)
        ]
        rows.append(
            {
                "name": item.name,
                "photo": item.photo,
                "question": item.question,
                "choices": list(item.choices),
                "gold": item.answer_index,
                "picture_gives_answer": item.picture_gives_answer,
                "tags": backend.frame_tags(clip[:1])[0],
                "latency_ms": round(wall_ms, 1),
                "judge_ms_incl_tagging": judge_ms,
                "choice_probabilities": None if judge is None else [round(p, 3) for p in judgement.probabilities],
                "samples": samples,
            }
        )
        print(
            item.name,
            item.photo,
            "gold",
            "ABCD"[item.answer_index],
            "got",
            "".join("?" if answer is None else "ABCD"[answer] for answer in answers),
            f"{wall_ms:.0f} ms",
            flush=True,
        )
    result = {
        "bench": "embedded-teacher-answers",
        "label": args.label,
        "teacher_module": EmbeddedBackend.__module__,
        "prompt_version": backend.prompt_version,
        "hardware": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores shared with other users",
        "torch_threads": args.threads,
        "load_average_before_after": [list(load_before), list(os.getloadavg())],
        "k": args.k,
        "max_new_tokens": args.max_new_tokens,
        "temperature": args.temperature,
        "frames": args.frames,
        "side": args.side,
        "seed": args.seed,
        "first_8": summarise(rows[:8]),
        "all": summarise(rows),
        "clips": rows,
    }
    print(json.dumps({k: result[k] for k in ("label", "prompt_version", "first_8", "all")}, indent=1))
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
