"""Tables and the interactive explorer of the SLM-vs-LLM chapter.

These only lay out what :mod:`costmodel.tradeoff` computed: the six-row
table and the fact check as MyST Markdown (so a ``{ref}`` role in a cell
links to the section that derives it), and the explorer as an Altair text
table whose menus (``alt.param`` bound to selects) pick the device, weight
format, batch and latency target in the browser, with no kernel.
Defined in :ref:`sec_slm_vs_llm`.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
from IPython.display import Markdown

from ..tradeoff import BATCHES, DTYPES, EXPLORER_COLUMNS, LATENCY_DEVICES, LLM_MODELS, SLM_MODELS

__all__ = ["summary_markdown", "fact_check_markdown", "explorer_chart"]


def _cell(text) -> str:
    """A cell's text for MyST: pipes and dollar signs (currency, not math) escaped."""
    return str(text).replace("|", "\\|").replace("$", "\\$").replace("\n", " ")


def summary_markdown(table: pd.DataFrame) -> Markdown:
    """The six-row table (:func:`costmodel.tradeoff.summary_table`) as a
    Markdown table: the aspect (a link to the section that derives the row),
    SLMs, open LLMs, closed models. Defined in :ref:`sec_slm_vs_llm`."""
    n_slm, n_llm = len(SLM_MODELS), len(LLM_MODELS)
    lines = [f"| | SLMs ({n_slm} open models) | LLMs ({n_llm} open models) | GPT-4, Gemini 1.5 Pro |",
             "|---|---|---|---|"]
    for r in table.itertuples(index=False):
        lines.append(f"| {{ref}}`{_cell(r.aspect)} <{r.section}>` | {_cell(r.slm)} | {_cell(r.llm)} | "
                     f"{_cell(r.closed)} |")
    return Markdown("\n".join(lines))


_VERDICT_MARK = {"holds": "holds", "partly holds": "partly holds", "does not hold": "**does not hold**",
                 "cannot be checked": "*cannot be checked*"}


def fact_check_markdown(table: pd.DataFrame) -> Markdown:
    """The fact check (:func:`costmodel.tradeoff.fact_check`) as one Markdown
    table: claim number, the claim, its verdict, the evidence and a link to
    the section that derives it. Defined in :ref:`sec_slm_vs_llm`."""
    lines = ["| # | claim | verdict | evidence |", "|---|---|---|---|"]
    for r in table.itertuples(index=False):
        lines.append(f"| {r.claim} | {_cell(r.claim_text)} | {_VERDICT_MARK[r.verdict]} | {_cell(r.evidence)} "
                     f"({{ref}}`{r.section}`) |")
    return Markdown("\n".join(lines))


def explorer_chart(data: pd.DataFrame, *, device: str = "h100-sxm", dtype: str = "bf16", batch: int = 1,
                   target: str = "MLPerf", device_names: dict | None = None, column_width: int = 88,
                   row_height: int = 20) -> alt.Chart:
    """The interactive table: one row per model, one column per
    :data:`~costmodel.tradeoff.EXPLORER_COLUMNS`, the cells of
    :func:`costmodel.tradeoff.explorer_data` filtered by four menus
    (device, weight format, batch, latency target). Cells that are a reason
    (does not fit, unknown) are drawn in red. Defined in :ref:`sec_slm_vs_llm`."""
    devices = [d for d in LATENCY_DEVICES if d in set(data["device"])]
    dtypes = [d for d in DTYPES if d in set(data["dtype"])]
    batches = [str(b) for b in BATCHES if str(b) in set(data["batch"])]
    targets = list(dict.fromkeys(t for t in data["target"] if t != "*"))
    names = device_names or {d: d for d in devices}
    p_dev = alt.param(name="device", value=device,
                      bind=alt.binding_select(options=devices, labels=[names[d] for d in devices], name="Device "))
    p_dt = alt.param(name="dtype", value=dtype, bind=alt.binding_select(options=dtypes, name="Weight format "))
    p_b = alt.param(name="batch", value=str(batch), bind=alt.binding_select(options=batches, name="Batch "))
    p_t = alt.param(name="target", value=target,
                    bind=alt.binding_select(options=targets, name="Latency target (TPOT) "))
    order = list(dict.fromkeys(data.sort_values("kind", key=lambda k: k.map({"slm": 0, "llm": 1, "closed": 2}),
                                                kind="stable")["name"]))
    cols = [c for c in EXPLORER_COLUMNS if c in set(data["column"])]
    records = data[["name", "kind", "column", "device", "dtype", "batch", "target", "cell", "value"]]
    records = records.astype(object).where(records.notna(), None).to_dict(orient="records")
    chart = (
        alt.Chart(alt.InlineData(values=records))
        .transform_filter("(datum.device == device || datum.device == '*') && datum.dtype == dtype && "
                          "(datum.batch == batch || datum.batch == '*') && "
                          "(datum.target == target || datum.target == '*')")
        .mark_text(fontSize=11, align="center", baseline="middle")
        .encode(
            x=alt.X("column:N", sort=cols, title=None,
                    axis=alt.Axis(orient="top", labelAngle=0, labelFontWeight="bold", domain=False, ticks=False,
                                  labelFontSize=11)),
            y=alt.Y("name:N", sort=order, title=None, axis=alt.Axis(domain=False, ticks=False, labelFontSize=11)),
            text="cell:N",
            color=alt.condition("datum.value === null", alt.value("#b2182b"), alt.value("#222222")),
            tooltip=[alt.Tooltip("name:N", title="model"), alt.Tooltip("column:N", title="column"),
                     alt.Tooltip("cell:N", title="value")],
        )
        .add_params(p_dev, p_dt, p_b, p_t)
        .properties(
            width=column_width * len(cols), height=row_height * len(order),
            title=alt.TitleParams(
                "The trade-off, cell by cell",
                subtitle=["Devices, TTFT, TPOT: on the chosen device, format and batch.",
                          "$/1M out: cheapest priced device meeting the target, TTFT within MLPerf's.",
                          "Red: does not fit, not met, or unknown."],
                anchor="start"),
        )
        .configure_view(stroke=None)
    )
    return chart
