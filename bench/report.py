"""Result tables (text for the terminal, markdown for docs/benchmarks.md) and the machine they ran on."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DOCS_FILE = BASE_DIR / "docs" / "benchmarks.md"
COLUMNS = ("case", "portal", "baseline", "ratio", "target", "met")


@dataclass
class Row:
    """One comparison: the portal's figure, the baseline's, their ratio and whether the target holds.

    ``met`` is None where a row has no target (information only).
    """

    case: str
    portal: str
    baseline: str = "—"
    ratio: str = "—"
    target: str = "—"
    met: bool | None = None

    def cells(self) -> tuple[str, ...]:
        met = {True: "yes", False: "**NO**", None: "—"}[self.met]
        return (self.case, self.portal, self.baseline, self.ratio, self.target, met)


@dataclass
class Table:
    title: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Print each row as it is measured: a long benchmark stopped midway still tells what it found.
    echo: bool = False

    def add(self, *args, **kwargs) -> Row:
        row = Row(*args, **kwargs)
        self.rows.append(row)
        if self.echo:
            print("  " + " | ".join(row.cells()), flush=True)
        return row

    @property
    def misses(self) -> list[Row]:
        return [row for row in self.rows if row.met is False]

    def text(self) -> str:
        cells = [COLUMNS] + [row.cells() for row in self.rows]
        widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
        lines = [self.title, "=" * len(self.title)]
        for number, line in enumerate(cells):
            lines.append("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip())
            if number == 0:
                lines.append("  ".join("-" * width for width in widths))
        lines.extend(f"  * {note}" for note in self.notes)
        return "\n".join(lines)

    def markdown(self) -> str:
        lines = [f"### {self.title}", "", "| " + " | ".join(COLUMNS) + " |", "|" + " --- |" * len(COLUMNS)]
        lines.extend("| " + " | ".join(cell.replace("|", "\\|") for cell in row.cells()) + " |" for row in self.rows)
        if self.notes:
            lines.append("")
            lines.extend(f"- {note}" for note in self.notes)
        return "\n".join(lines)


def ratio(portal: float, baseline: float) -> str:
    return f"{portal / baseline:.2f}×" if baseline else "—"


def machine() -> dict[str, str]:
    """What the figures depend on: CPU, cores, memory, Python, pouchdb-server, ORM engines."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import psutil

        memory = f"{psutil.virtual_memory().total / 2**30:.1f} GiB"
    except ImportError:
        memory = "unknown"
    return {
        "CPU": cpu,
        "cores": str(os.cpu_count()),
        "memory": memory,
        "OS": platform.platform(),
        "Python": sys.version.split()[0],
        "pouchdb-server": _pouchdb_server_version(),
    }


def _pouchdb_server_version() -> str:
    package = BASE_DIR / "couchdb" / "node_modules" / "pouchdb-server" / "package.json"
    try:
        version = json.loads(package.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return "unknown"
    try:
        node = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
    except OSError:
        node = ""
    return f"{version} (node {node})" if node else version


def write_docs(tables: list[Table], *, facts: dict[str, str], command: str, elapsed: float) -> Path:
    """Replace docs/benchmarks.md's results section with these tables."""
    text = DOCS_FILE.read_text() if DOCS_FILE.exists() else ""
    marker = "## Latest results"
    head = text.split(marker)[0].rstrip() if marker in text else text.rstrip()
    body = [marker, "", f"`{command}`, {elapsed / 60:.1f} minutes, on:", ""]
    body.extend(f"- {name}: {value}" for name, value in facts.items())
    body.append("")
    for table in tables:
        body.extend([table.markdown(), ""])
    DOCS_FILE.write_text((head + "\n\n" if head else "") + "\n".join(body))
    return DOCS_FILE
