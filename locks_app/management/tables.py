"""The tables the commands print: a header row, then columns aligned by two spaces."""


def aligned(header: list[str], rows: list[list[str]], *, left: int | None = None) -> str:
    """``header`` and ``rows`` in aligned columns: the first ``left`` columns (all by default)
    flush left, the rest (numbers) flush right."""
    left = len(header) if left is None else left
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) if i < left else cell.rjust(width) for i, (cell, width) in enumerate(zip(row, widths))).rstrip()
        for row in [header, *rows]
    )
