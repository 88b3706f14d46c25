"""The targets of issue #9 and the arithmetic that checks measured figures against them.

Figures are a flat dict of numbers (seconds, bytes) measured in one run; every
target is either an absolute limit on one figure or a limit on the ratio of a
figure to a baseline measured in the same run.
"""

from __future__ import annotations

from dataclasses import dataclass

GB = 1024**3


@dataclass(frozen=True)
class Target:
    """`figure` must stay at or under `limit` (times `baseline`, when one is named)."""

    name: str
    figure: str
    limit: float
    baseline: str | None = None
    unit: str = "s"


@dataclass(frozen=True)
class Check:
    target: Target
    value: float | None
    """The figure, or its ratio to the baseline; None when a figure is missing."""
    held: bool | None

    def describe(self) -> str:
        t = self.target
        if self.value is None:
            return f"{t.name}: not measured"
        verdict = "holds" if self.held else "MISSED"
        if t.baseline:
            return f"{t.name}: {self.value:.3f}x (limit {t.limit:g}x) {verdict}"
        return f"{t.name}: {format_value(self.value, t.unit)} (limit {format_value(t.limit, t.unit)}) {verdict}"


TARGETS = (
    Target("warm HTML-only / cold full", "warm_html_s", 0.10, baseline="cold_full_s"),
    Target("warm HTML-only absolute", "warm_html_s", 1.0),
    Target("cold full / (WeasyPrint alone + Pillow decode)", "cold_full_s", 1.5,
           baseline="baseline_s"),
    Target("watch rebuild after one edit (HTML)", "rebuild_html_s", 1.0),
    Target("same, while report.pdf renders (default watch)", "rebuild_html_pdf_s", 1.0),
    Target("peak memory of any build", "peak_rss_bytes", 1.5 * GB, unit="B"),
    Target("itaoreport --help", "help_s", 0.5),
    Target("itaoreport validate sample_case", "validate_sample_s", 0.5),
)


def ratio(value: float, baseline: float) -> float:
    """value / baseline; a zero baseline makes any positive value infinitely worse."""
    if baseline <= 0:
        return float("inf") if value > 0 else 1.0
    return value / baseline


def check(target: Target, figures: dict[str, float]) -> Check:
    value = figures.get(target.figure)
    if value is None or (target.baseline and figures.get(target.baseline) is None):
        return Check(target, None, None)
    if target.baseline:
        value = ratio(value, figures[target.baseline])
    return Check(target, value, value <= target.limit)


def check_all(figures: dict[str, float], targets: tuple[Target, ...] = TARGETS) -> list[Check]:
    return [check(t, figures) for t in targets]


def format_value(value: float, unit: str) -> str:
    if unit == "B":
        if value >= GB:
            return f"{value / GB:.2f} GiB"
        return f"{value / 1024**2:.1f} MiB"
    return f"{value:.3f} s"
