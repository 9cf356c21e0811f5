"""Student-service Prometheus metrics, on the app's own registry (next to ``ServiceMetrics``)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from sightsound.contracts.student import StudentAnswerResponse


class StudentMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.answers = Counter(
            "sightsound_student_answers_total", "Answers by model and whether an answer could be read.",
            ["model", "parsed"], registry=registry,
        )
        self.prompt_tokens = Counter(
            "sightsound_student_prompt_tokens_total", "Prompt tokens (audio included).", ["model"], registry=registry
        )
        self.completion_tokens = Counter(
            "sightsound_student_completion_tokens_total", "Generated tokens.", ["model"], registry=registry
        )
        self.generate_seconds = Histogram(
            "sightsound_student_generate_seconds", "Generation time per answer.", registry=registry,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
        )
        self.load_seconds = Histogram(
            "sightsound_student_load_seconds", "Time a request waited for its model to load (loads only).",
            registry=registry, buckets=(0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
        )
        self.loads = Counter(
            "sightsound_student_loads_total", "Students loaded (a cache miss), by model.", ["model"], registry=registry
        )
        self.loaded = Gauge("sightsound_student_models_loaded", "Students held in the cache.", registry=registry)

    def observe(self, response: StudentAnswerResponse) -> None:
        model = response.model.ref
        parsed = "yes" if response.answer_index is not None else "no"
        self.answers.labels(model, parsed).inc()
        self.prompt_tokens.labels(model).inc(response.usage.prompt_tokens)
        self.completion_tokens.labels(model).inc(response.usage.completion_tokens)
        self.generate_seconds.observe(response.timings_ms.generate / 1000)
        if response.timings_ms.load > 0:
            self.load_seconds.observe(response.timings_ms.load / 1000)
