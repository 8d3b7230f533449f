"""Markdown tables for the docs (pandas' ``to_markdown`` needs the optional ``tabulate``)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def markdown_table(frame: pd.DataFrame, float_format: str = "{:.3f}", index: bool = False) -> str:
    """A GitHub markdown table of ``frame``; floats formatted with ``float_format``."""
    if index:
        frame = frame.reset_index()
    header = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in frame.itertuples(index=False):
        cells = [float_format.format(v) if isinstance(v, (float, np.floating)) else str(v)
                 for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
