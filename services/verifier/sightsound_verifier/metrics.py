"""Verifier-specific Prometheus metrics, on the app's own registry (next to ``ServiceMetrics``)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from sightsound.contracts.verifier import VerifyResponse


class VerifierMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.claims = Counter(
            "sightsound_verifier_claims_total",
            "Checked claims by kind and final verdict.",
            ["kind", "verdict"],
            registry=registry,
        )
        self.traces = Counter(
            "sightsound_verifier_traces_total",
            "Verified traces by decision.",
            ["decision"],
            registry=registry,
        )
        self.parse_errors = Counter(
            "sightsound_verifier_parse_errors_total", "Claim parse errors reported.", registry=registry
        )
        self.analysis_seconds = Histogram(
            "sightsound_verifier_analysis_seconds",
            "Audio loading and analysis time per request.",
            registry=registry,
        )

    def observe(self, response: VerifyResponse) -> None:
        for trace in response.traces:
            self.traces.labels(trace.decision.value).inc()
            self.parse_errors.inc(len(trace.parse_errors))
            for result in trace.claims:
                self.claims.labels(result.claim.kind.value, result.final.verdict.value).inc()
