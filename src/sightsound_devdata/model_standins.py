"""Stand-ins for the teacher and verifier services that answer in a set time and batch like vLLM.

For throughput benchmarks and scale tests of the pipeline (``perf/pipeline.py``, ``tests/e2e``): the workers,
PostgreSQL, Redis and the API are real; the two model services are replaced by this one small server, which
answers ``POST /v1/reason`` and ``POST /v1/verify`` with well-formed responses after a delay that grows slowly
with the requests in flight, as a batching server's does::

    latency(n) = base_s * (1 + slope * (n - 1))      # n: that route's requests in flight, this one included

With ``slope`` 0.001, 128 requests in flight take 13% longer each than one alone, so the throughput of a route
is ``n / latency(n)``: nearly linear in ``n``, the ideal the pipeline is measured against.

- The teacher's K traces agree (consensus) unless the question's hash says otherwise (``--no-consensus``);
  every trace carries a claims block and token counts.
- The verifier answers per trace with one supported claim (accepted) or a contradicted one (``--reject``), and
  its ``usage`` (seconds, audio-LLM seconds and tokens).
- ``GET /stats`` returns every answered request (route, key, arrival and departure in Unix seconds, model seconds,
  in flight at arrival) and the most requests ever in flight per route; ``POST /stats/reset`` clears them.

``python -m sightsound_devdata.model_standins --port 8101 --teacher-s 1.5 --verifier-s 1.5 --slope 0.001``
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

ANSWERS = "ABCD"


@dataclass
class RouteLoad:
    """Requests in flight on one route, and what was answered."""

    base_s: float
    slope: float
    in_flight: int = 0
    peak: int = 0
    answered: list[dict[str, Any]] = field(default_factory=list)

    def latency(self, n: int) -> float:
        return self.base_s * (1.0 + self.slope * max(0, n - 1))


def _share(text: str, salt: str) -> float:
    """A stable number in [0, 1) from ``text``: decides consensus and rejection the same way every run."""
    return int.from_bytes(hashlib.sha256(f"{salt}:{text}".encode()).digest()[:4], "big") / 2**32


def reason_answer(body: dict[str, Any], no_consensus: float, seconds: float) -> dict[str, Any]:
    question = str(body.get("question", ""))
    k = int(body.get("k", 4))
    agree = _share(question, "consensus") >= no_consensus
    answer = int(_share(question, "answer") * 4)
    traces = []
    for index in range(k):
        chosen = answer if agree or index == 0 else (answer + index) % 4
        text = (f"<think>Frames suggest a source for: {question[:200]}</think>\n<claims>\n"
                f"source=person; event=speech; present=yes\n</claims>\n<answer>{ANSWERS[chosen]}</answer>")
        traces.append({"index": index, "text": text, "answer_index": chosen, "parse_error": None,
                       "latency_ms": round(seconds * 1000, 3), "prompt_tokens": 1200, "completion_tokens": 180})
    reached = agree or k == 1
    return {
        "model": "stand-in-teacher", "backend": "stand-in", "prompt_version": "stand-in",
        "sampling": body.get("sampling") or {"temperature": 0.7, "top_p": 1.0, "max_new_tokens": 256, "seed": 0},
        "traces": traces,
        "consensus": {"policy": "unanimous", "reached": reached, "answer_index": answer if reached else None,
                      "agreement": 1.0 if agree else 1.0 / k, "traces_used": k, "traces_parsed": k},
        "k_requested": k, "rounds": 1,
    }


def verify_answer(body: dict[str, Any], reject: float, seconds: float) -> dict[str, Any]:
    traces = []
    for trace in body.get("traces", []):
        rejected = _share(str(trace.get("text", "")) + str(trace.get("trace_index")), "reject") < reject
        verdict = "contradicted" if rejected else "supported"
        final = {"checker": "stand-in", "verdict": verdict, "confidence": 0.9, "evidence": {}}
        traces.append({
            "trace_index": trace["trace_index"],
            "claims": [{"claim": {"index": 0, "kind": "speech_presence", "text": "source=person; event=speech; "
                                  "present=yes", "attributes": {"present": True}},
                        "verdicts": [final], "final": final}],
            "parse_errors": [], "decision": "rejected" if rejected else "accepted",
            "reasons": ["contradicted claim 0"] if rejected else [],
            "claims_verified": 1, "claims_unverifiable": 0,
        })
    return {
        "policy": "stand-in", "audio": {"has_audio": True, "duration_s": 3.0, "note": None}, "traces": traces,
        "usage": {"seconds": round(seconds, 6), "checker_seconds": round(seconds, 6), "checker_calls": 1,
                  "prompt_tokens": 300, "completion_tokens": 40},
    }


def create_app(teacher_s: float = 1.5, verifier_s: float = 1.5, slope: float = 0.001, no_consensus: float = 0.0,
               reject: float = 0.0) -> Starlette:
    loads = {"reason": RouteLoad(teacher_s, slope), "verify": RouteLoad(verifier_s, slope)}

    async def serve(request: Request, route: str) -> Response:
        body = json.loads(await request.body())
        load = loads[route]
        load.in_flight += 1
        load.peak = max(load.peak, load.in_flight)
        arrived = time.time()
        n = load.in_flight
        seconds = load.latency(n)
        try:
            await asyncio.sleep(seconds)
        finally:
            load.in_flight -= 1
        if route == "reason":
            answer = reason_answer(body, no_consensus, seconds)
            key = str(body.get("question", ""))
        else:
            answer = verify_answer(body, reject, seconds)
            key = str(body.get("audio_url", ""))
        load.answered.append({"key": key, "arrived": arrived, "left": time.time(), "model_s": seconds,
                              "in_flight": n})
        return JSONResponse(answer)

    async def reason(request: Request) -> Response:
        return await serve(request, "reason")

    async def verify(request: Request) -> Response:
        return await serve(request, "verify")

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def stats(_: Request) -> Response:
        return JSONResponse({route: {"peak_in_flight": load.peak, "answered": load.answered}
                             for route, load in loads.items()})

    async def reset(_: Request) -> Response:
        for load in loads.values():
            load.answered.clear()
            load.peak = load.in_flight
        return JSONResponse({"status": "reset"})

    return Starlette(routes=[
        Route("/v1/reason", reason, methods=["POST"]),
        Route("/v1/verify", verify, methods=["POST"]),
        Route("/healthz", health),
        Route("/readyz", health),
        Route("/stats", stats),
        Route("/stats/reset", reset, methods=["POST"]),
    ])


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--teacher-s", type=float, default=1.5, help="a reason request's time alone, in seconds")
    parser.add_argument("--verifier-s", type=float, default=1.5, help="a verify request's time alone, in seconds")
    parser.add_argument("--slope", type=float, default=0.001, help="latency growth per extra request in flight")
    parser.add_argument("--no-consensus", type=float, default=0.0, help="share of questions without consensus")
    parser.add_argument("--reject", type=float, default=0.0, help="share of traces the verifier rejects")
    args = parser.parse_args(argv)
    app = create_app(args.teacher_s, args.verifier_s, args.slope, args.no_consensus, args.reject)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False, backlog=4096,
                timeout_keep_alive=120)


if __name__ == "__main__":
    main()
