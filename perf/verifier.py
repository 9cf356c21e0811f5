"""Benchmark of the verifier's acoustic analyzers on the labelled claim set (truth known by construction).

    python perf/verifier.py                 # whole set, writes perf/results/verifier-cpu.json
    python perf/verifier.py --scale 0.3     # a smaller set (each family scaled)
    python perf/verifier.py --set realistic [--split dev|test]   # the realistic set: perf/verifier_realistic.py

The analyzers are loaded and warmed once; every clip is then verified in-process (as the service does,
without HTTP) with all its claims in one trace. Per claim kind it reports:

- precision and recall of "contradicted" as the policy acts on it: a claim counts as flagged when its
  final verdict is contradicted at the reject confidence or more (``verifier_reject_confidence``, 0.6);
- accuracy: the final label equals the truth (an unverifiable verdict counts as wrong);
- the unverifiable rate;

and the seconds per clip on this machine, plus the latency of a 10 s clip with 5 claims (warm).
The set needs Debian's ``sonic-pi-samples`` and ``sound-theme-freedesktop`` and ``espeak-ng``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch

from sightsound.config import Settings
from sightsound.contracts.common import VerdictLabel
from sightsound.contracts.verifier import TraceIn, VerifyRequest
from sightsound_devdata.labelled_claims import (
    RATE,
    SENTENCES,
    SONIC_PI,
    LabelledClip,
    build_labelled_set,
    load_sound,
    place,
    silence,
    speech,
    tile,
)
from sightsound_verifier.app import warm_up_analyzers
from sightsound_verifier.audio import AudioClip
from sightsound_verifier.verification import Verifier

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "bench" / "results" / "verifier-cpu.json"


def ratio(num: int, den: int) -> float | None:
    return round(num / den, 3) if den else None


def kind_metrics(rows: list[dict[str, Any]]) -> dict[str, Any]:
    truth_c = [r for r in rows if r["truth"] == "contradicted"]
    flagged = [r for r in rows if r["flagged"]]
    true_flags = [r for r in flagged if r["truth"] == "contradicted"]
    any_c = [r for r in rows if r["verdict"] == "contradicted"]
    return {
        "claims": len(rows),
        "truly_contradicted": len(truth_c),
        "flagged": len(flagged),
        "precision_contradicted": ratio(len(true_flags), len(flagged)),
        "recall_contradicted": ratio(len(true_flags), len(truth_c)),
        "precision_contradicted_any_confidence": ratio(sum(r["truth"] == "contradicted" for r in any_c), len(any_c)),
        "recall_contradicted_any_confidence": ratio(sum(r["truth"] == "contradicted" for r in any_c), len(truth_c)),
        "accuracy": ratio(sum(r["verdict"] == r["truth"] for r in rows), len(rows)),
        "unverifiable_rate": ratio(sum(r["verdict"] == "unverifiable" for r in rows), len(rows)),
    }


def verify_clip(verifier: Verifier, clip: LabelledClip, reject: float) -> tuple[list[dict[str, Any]], float]:
    request = VerifyRequest(audio_url=None, traces=[TraceIn(trace_index=0, text=clip.trace_text())])
    start = time.perf_counter()
    response = verifier.verify(request, AudioClip(clip.samples, RATE))
    seconds = time.perf_counter() - start
    results = response.traces[0].claims
    if len(results) != len(clip.claims) or response.traces[0].parse_errors:
        raise RuntimeError(f"{clip.name}: claims did not parse as built: {response.traces[0].parse_errors}")
    rows = []
    for labelled, result in zip(clip.claims, results, strict=True):
        final = result.final
        rows.append(
            {
                "clip": clip.name,
                "family": clip.family,
                "line": labelled.line,
                "kind": result.claim.kind.value,
                "truth": labelled.truth,
                "verdict": final.verdict.value,
                "confidence": final.confidence,
                "checker": final.checker,
                "flagged": final.verdict is VerdictLabel.contradicted and final.confidence >= reject,
                "summary": str(final.evidence.get("summary", ""))[:200],
            }
        )
    return rows, seconds


def ten_second_clip() -> tuple[AudioClip, str]:
    """10 s: a sentence, then a drum loop; five claims of five kinds."""
    canvas = silence(10.0)
    spoken = speech(SENTENCES[0], "en-us", 160)
    place(canvas, spoken, 0.3)
    place(canvas, tile(load_sound(SONIC_PI / "loop_tabla.flac"), 5.5), 4.2, 0.6)
    lines = [
        'source=person; event=speech; words="close the kitchen door"',
        "event=music; present=yes",
        'order="speech before music"',
        "source=drums; event=music; tempo=120bpm; time=4-10s",
        "source=man; event=speech; pitch=low",
    ]
    text = "<claims>\n" + "\n".join(lines) + "\n</claims><answer>A</answer>"
    return AudioClip(np.clip(canvas, -1, 1).astype(np.float32), RATE), text


def latency(verifier: Verifier, repeats: int) -> dict[str, Any]:
    clip, text = ten_second_clip()
    request = VerifyRequest(audio_url=None, traces=[TraceIn(trace_index=0, text=text)])
    times, verdicts = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        response = verifier.verify(request, clip)  # a fresh analysis each time: nothing cached but the models
        times.append(time.perf_counter() - start)
        verdicts = [f"{c.final.verdict.value}({c.final.confidence:.2f})" for c in response.traces[0].claims]
    return {
        "clip_s": round(clip.duration_s, 2),
        "claims": 5,
        "seconds_median": round(statistics.median(times), 3),
        "seconds_all": [round(t, 3) for t in times],
        "verdicts": verdicts,
    }


def print_table(per_kind: dict[str, dict[str, Any]], overall: dict[str, Any]) -> None:
    def show(value: Any) -> str:
        return "  -  " if value is None else f"{value:.3f}"

    header = (
        f"{'kind':<16} {'claims':>6} {'C true':>6} {'flagged':>7} {'prec C':>7} {'rec C':>7} {'acc':>7} {'unver':>7}"
    )
    print(header)
    print("-" * len(header))
    for kind, m in [*per_kind.items(), ("ALL", overall)]:
        print(
            f"{kind:<16} {m['claims']:>6} {m['truly_contradicted']:>6} {m['flagged']:>7} "
            f"{show(m['precision_contradicted']):>7} {show(m['recall_contradicted']):>7} "
            f"{show(m['accuracy']):>7} {show(m['unverifiable_rate']):>7}"
        )


def main(argv: list[str] | None = None) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    if "--set" in args_in:
        at = args_in.index("--set")
        chosen = args_in[at + 1] if at + 1 < len(args_in) else ""
        del args_in[at : at + 2]
        if chosen == "realistic":
            sys.path.insert(0, str(Path(__file__).resolve().parent))
            from verifier_realistic import main as realistic_main

            return realistic_main(args_in)
    argv = args_in
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply each family's clip count")
    parser.add_argument("--families", nargs="*", help="only these families")
    parser.add_argument("--threads", type=int, default=2, help="torch and speech-to-text threads")
    parser.add_argument("--repeats", type=int, default=5, help="runs of the 10 s latency check")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    settings = Settings(verifier_cpu_threads=args.threads, verifier_audio_llm="off")
    start = time.perf_counter()
    verifier = Verifier.from_settings(settings)
    warm_up_analyzers(verifier, RATE)
    warm_s = time.perf_counter() - start
    start = time.perf_counter()
    clips = build_labelled_set(args.seed, args.scale, tuple(args.families) if args.families else None)
    build_s = time.perf_counter() - start
    print(
        f"{len(clips)} clips, {sum(len(c.claims) for c in clips)} claims, {sum(c.duration_s for c in clips):.0f} s "
        f"of audio (built in {build_s:.1f} s; analyzers warm in {warm_s:.1f} s)",
        file=sys.stderr,
    )

    rows: list[dict[str, Any]] = []
    clip_seconds: list[float] = []
    slowest: list[tuple[float, str]] = []
    per_second: list[float] = []
    for clip in clips:
        clip_rows, seconds = verify_clip(verifier, clip, settings.verifier_reject_confidence)
        rows += clip_rows
        clip_seconds.append(seconds)
        slowest.append((round(seconds, 3), clip.name))
        per_second.append(seconds / clip.duration_s)

    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_kind[row["kind"]].append(row)
    per_kind = {kind: kind_metrics(by_kind[kind]) for kind in sorted(by_kind)}
    overall = kind_metrics(rows)
    timing = {
        "clips": len(clips),
        "seconds_per_clip_mean": round(statistics.mean(clip_seconds), 3),
        "seconds_per_clip_median": round(statistics.median(clip_seconds), 3),
        "seconds_per_clip_max": round(max(clip_seconds), 3),
        "seconds_per_audio_second_mean": round(statistics.mean(per_second), 3),
        "slowest_clips": sorted(slowest, reverse=True)[:5],
        "ten_second_clip_five_claims": latency(verifier, args.repeats),
    }
    print_table(per_kind, overall)
    t: dict[str, Any] = timing["ten_second_clip_five_claims"]  # type: ignore[assignment]
    print(
        f"\nseconds per clip: mean {timing['seconds_per_clip_mean']}, median {timing['seconds_per_clip_median']}, "
        f"max {timing['seconds_per_clip_max']} (clips of {min(c.duration_s for c in clips):.1f}-"
        f"{max(c.duration_s for c in clips):.1f} s)\n"
        f"10 s clip, 5 claims, warm: median {t['seconds_median']} s over {args.repeats} runs {t['seconds_all']}: "
        f"{t['verdicts']}"
    )
    mistakes = [r for r in rows if r["verdict"] != r["truth"]]
    result = {
        "benchmark": "verifier acoustic analyzers on the labelled claim set",
        "machine": {
            "cpu_count": os.cpu_count(),
            "threads": args.threads,
            "platform": platform.platform(),
            "python": platform.python_version(),
            "torch": torch.__version__,
        },
        "set": {
            "seed": args.seed,
            "scale": args.scale,
            "clips": len(clips),
            "claims": len(rows),
            "audio_seconds": round(sum(c.duration_s for c in clips), 1),
            "families": sorted({c.family for c in clips}),
        },
        "reject_confidence": settings.verifier_reject_confidence,
        "per_kind": per_kind,
        "overall": overall,
        "timing": timing,
        "not_as_built": mistakes,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
