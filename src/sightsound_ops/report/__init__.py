"""The run report: :class:`ReportData` in, one self-contained HTML page and a Markdown summary out.

Pure: it reads no database and calls no service. The job that runs the pipeline collects the numbers
(``GET /v1/stats``, training-run progress, evaluations, its own stage timings) into :class:`ReportData`.
"""

from sightsound_ops.report.data import (
    CategoryScore,
    Environment,
    Funnel,
    ModelEvaluation,
    ModelUsed,
    PairedDifference,
    ReportData,
    Robustness,
    StageTiming,
    TrainingCurve,
    VerdictCounts,
)
from sightsound_ops.report.html import render_html
from sightsound_ops.report.markdown import render_markdown_summary

__all__ = [
    "CategoryScore",
    "Environment",
    "Funnel",
    "ModelEvaluation",
    "ModelUsed",
    "PairedDifference",
    "ReportData",
    "Robustness",
    "StageTiming",
    "TrainingCurve",
    "VerdictCounts",
    "render_html",
    "render_markdown_summary",
]
