"""The run report as one self-contained HTML page: charts inline as PNG data URIs, tables with the numbers.

Everything that comes from data (titles, model names, categories, notes) is HTML-escaped.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from html import escape

from sightsound_ops.report import plots
from sightsound_ops.report.cost import DATASET_HEADER, cost_rows, dataset_rows
from sightsound_ops.report.data import (
    ROBUSTNESS_HEADER,
    ROBUSTNESS_NOTE,
    ReportData,
    TrainingCurve,
    noise_statement,
    robustness_rows,
)

NO_DATA = '<p class="no-data">no data</p>'
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #212121; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.8em 0; } th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; }
th { background: #f5f5f5; text-align: left; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 100%; } .no-data { color: #757575; font-style: italic; }
.warning { background: #fff3e0; border-left: 4px solid #ef6c00; padding: 0.6em 1em; }
"""


def percent(value: float | None) -> str:
    """An accuracy in [0, 1] as a percentage ("–" for none).

    >>> percent(0.625), percent(None)
    ('62.5%', '–')
    """
    return "–" if value is None else f"{100 * value:.1f}%"


def _cell(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"<td>{escape(str(value))}</td>"
    text = f"{value:.6g}" if isinstance(value, float) else str(value)
    return f'<td class="num">{text}</td>'


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """An HTML table; numbers are right-aligned, everything else escaped."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def image(png: bytes | None, alt: str) -> str:
    if png is None:
        return ""
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{escape(title)}</h2>{body or NO_DATA}</section>'


def funnel_section(data: ReportData) -> str:
    funnel = data.funnel
    if funnel is None:
        return ""
    parts = [
        image(plots.funnel_png(funnel), "acceptance funnel bar chart"),
        table(["step", "count"], [*funnel.steps(), ("traces rejected", funnel.traces_rejected)]),
    ]
    if funnel.questions_by_split:
        parts.append(table(["split", "questions"], funnel.split_counts()))
    if funnel.jobs_by_state:
        parts.append(table(["job state", "jobs"], list(funnel.jobs_by_state.items())))
    return "".join(parts)


def verdicts_section(data: ReportData) -> str:
    verdicts = data.verdicts_by_kind
    if not verdicts:
        return ""
    rows = [(k, v.supported, v.contradicted, v.unverifiable, v.total) for k, v in sorted(verdicts.items())]
    return image(plots.verdicts_png(verdicts), "claim verdicts by kind, stacked bars") + table(
        ["claim kind", "supported", "contradicted", "unverifiable", "total"], rows
    )


def _ends(values: list[float | None]) -> str:
    logged = [v for v in values if v is not None]
    return f"{logged[0]:.4g} → {logged[-1]:.4g}" if logged else "–"


def training_section(curves: list[TrainingCurve]) -> str:
    if not curves:
        return ""
    rows = [(c.run, c.stage, len(c.steps), _ends(c.loss), _ends(c.reward), _ends(c.accuracy)) for c in curves]
    header = ["run", "stage", "logged steps", "loss (first → last)", "reward", "accuracy"]
    return image(plots.training_png(curves), "training curves") + table(header, rows)


def evaluation_section(data: ReportData) -> str:
    if not data.evaluations:
        return ""
    categories = data.categories()
    rows = []
    for e in data.evaluations:
        cells = [
            f"{percent(e.per_category[c].accuracy)} ({e.per_category[c].n})" if c in e.per_category else "–"
            for c in categories
        ]
        rows.append([e.model_label, e.paper_row, _with_bounds(e.strict_accuracy, e.strict_interval),
                     _with_bounds(e.overall_accuracy, e.interval), e.n, *cells])
    header = ["model", "paper's row", "strict [95%]", "lenient [95%]", "n", *[f"{c} (n)" for c in categories]]
    parts = [image(plots.accuracy_png(data.evaluations), "accuracy per category, grouped bars per model"),
             table(header, rows)]
    if data.interval_method:
        parts.append(f"<p>Intervals: {escape(data.interval_method)}. Strict: only a well-formed "
                     "<code>&lt;answer&gt;X&lt;/answer&gt;</code> counts.</p>")
    if data.pairs:
        pair_rows = [(p.a, p.b, p.measure, p.n, "–" if p.difference is None else f"{100 * p.difference:+.1f}",
                      "" if p.interval is None else f"[{100 * p.interval[0]:+.1f}, {100 * p.interval[1]:+.1f}]",
                      f"{p.p_value:.3g}", "beyond the noise" if p.significant else "within the noise")
                     for p in data.pairs]
        parts.append(table(["a", "b", "measure", "n shared", "b − a (points)", "95% interval", "McNemar p",
                            "verdict"], pair_rows))
        parts.append("".join(f"<p>{escape(line)}</p>" for line in noise_statement(data)))
    shortcuts = robustness_rows(data, _with_bounds)
    if shortcuts:
        parts += [table(ROBUSTNESS_HEADER, shortcuts), f"<p>{escape(ROBUSTNESS_NOTE)}</p>"]
    return "".join(parts)


def _with_bounds(accuracy: float | None, interval: tuple[float, float] | None) -> str:
    if accuracy is None:
        return "–"
    text = percent(accuracy)
    return text if interval is None else f"{text} [{100 * interval[0]:.1f}, {100 * interval[1]:.1f}]"


def timings_section(data: ReportData) -> str:
    if not data.stage_timings:
        return ""
    rows = [(t.stage, round(t.seconds, 2), t.note) for t in data.stage_timings]
    total = sum(t.seconds for t in data.stage_timings)
    return table(["stage", "seconds", "note"], [*rows, ("total", round(total, 2), "")])


def environment_section(data: ReportData) -> str:
    env = data.environment
    facts = [
        ("CPU", env.cpu),
        ("torch", env.torch_version),
        ("Python", env.python_version),
        ("date", env.date.isoformat(timespec="seconds") if env.date else ""),
        *sorted(env.extra.items()),
    ]
    facts = [(k, v) for k, v in facts if v]
    parts = [table(["fact", "value"], facts)] if facts else []
    if env.models:
        parts.append(table(["role", "model", "weights"], [(m.role, m.name, m.weights) for m in env.models]))
    return "".join(parts)


def _banner(data: ReportData) -> str:
    random = data.random_models()
    if not random:
        return ""
    names = ", ".join(f"{escape(m.role)} <code>{escape(m.name)}</code>" for m in random)
    return (
        f'<p class="warning">Random weights: {names}. Their answers and accuracies test that every stage runs; '
        "they say nothing about the method.</p>"
    )


def cost_section(data: ReportData) -> str:
    rows = cost_rows(data.cost)
    if not rows:
        return ""
    datasets = dataset_rows(data.cost)
    return table(["what", "value"], rows) + (table(DATASET_HEADER, datasets) if datasets else "")


def render_html(data: ReportData) -> str:
    """The whole report as one HTML page (no external resources)."""
    title = escape(data.title)
    notes = "".join(f"<li>{escape(n)}</li>" for n in data.notes)
    sections = [
        _section("funnel", "Acceptance funnel", funnel_section(data)),
        _section("verdicts", "Claim verdicts by kind", verdicts_section(data)),
        _section("training", "Training curves", training_section(data.training_curves)),
        _section("evaluation", "Accuracy per category", evaluation_section(data)),
        _section("timings", "Stage timings", timings_section(data)),
        # only when the stats had cost data (older APIs do not)
        *([_section("cost", "Cost", cost_section(data))] if data.cost else []),
        _section("environment", "Environment", environment_section(data)),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>'
        f"<style>{STYLE}</style></head><body><h1>{title}</h1>{_banner(data)}"
        f"{f'<ul>{notes}</ul>' if notes else ''}{''.join(sections)}</body></html>\n"
    )
