"""Plain-text tables for the terminal: left-aligned columns, two spaces apart."""

from __future__ import annotations


def text_table(header: list[str], rows: list[list[str]], indent: str = "  ") -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        indent + "  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip() for row in [header, *rows]
    )
