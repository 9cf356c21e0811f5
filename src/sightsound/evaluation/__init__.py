"""Evaluations' pure logic: per-question outcomes to results, reports and comparison tables (no I/O)."""

from sightsound.evaluation.compare import NotComparable, comparison_table, render_comparison_markdown
from sightsound.evaluation.report import render_markdown
from sightsound.evaluation.summary import ItemOutcome, summarize

__all__ = ["ItemOutcome", "NotComparable", "comparison_table", "render_comparison_markdown", "render_markdown",
           "summarize"]
