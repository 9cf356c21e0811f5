"""The report's cost section: ``GET /v1/stats``'s ``cost`` (tokens and model seconds per accepted trace and per
dataset, the share spent on questions without consensus, training accelerator seconds) as table rows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _n(value: Any, digits: int = 1) -> str:
    return "" if value is None else f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"


def _pct(value: Any) -> str:
    return "" if value is None else f"{100 * value:.1f}%"


def cost_rows(cost: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """(what, value) rows; empty without cost data."""
    if not cost:
        return []
    total, per = cost.get("total") or {}, cost.get("per_accepted_trace") or {}
    none = cost.get("no_consensus_share") or {}
    return [
        ("jobs", _n(total.get("jobs"))),
        ("tokens (teacher + audio LLM)", _n(total.get("tokens"))),
        ("model seconds (teacher + verifier)", _n(total.get("model_seconds"), 2)),
        ("accepted traces", _n(cost.get("accepted_traces"))),
        ("tokens per accepted trace", _n(per.get("tokens"))),
        ("model seconds per accepted trace", _n(per.get("model_seconds"), 3)),
        ("share of tokens on questions without consensus", _pct(none.get("tokens"))),
        ("share of model seconds on questions without consensus", _pct(none.get("model_seconds"))),
        ("training accelerator seconds", _n(cost.get("training_accelerator_seconds"), 1)),
    ]


def dataset_rows(cost: Mapping[str, Any] | None) -> list[tuple[str, str, str, str, str]]:
    """(dataset, traces, tokens per trace, model seconds per trace, training accelerator seconds) rows."""
    rows = []
    for d in (cost or {}).get("datasets") or []:
        per = d.get("per_trace") or {}
        rows.append((f"{d['name']} v{d['version']} ({d['variant']})", _n(d.get("traces")), _n(per.get("tokens")),
                     _n(per.get("model_seconds"), 3), _n(d.get("training_accelerator_seconds"), 1)))
    return rows


DATASET_HEADER = ["dataset", "traces", "tokens per trace", "model s per trace", "training accelerator s"]
