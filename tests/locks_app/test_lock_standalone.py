"""locks_app depends on Django only (#15): in a project without tokens_app it imports, migrates,
and its commands and panel work on whatever LOCKABLE_MODELS names (here: groups)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def test_locks_app_stands_alone(tmp_path):
    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith(("COUCHDB_", "DATABASE_URL"))},
        "DJANGO_SETTINGS_MODULE": "standalone_settings",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(HERE)]),
        "STANDALONE_DB": str(tmp_path / "standalone.sqlite3"),
        "TEMPLATE_DIR": str(ROOT / "templates"),
    }
    result = subprocess.run(
        [sys.executable, str(HERE / "standalone_run.py")], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["modules"] >= 20
    assert seen["lock"].startswith("Locked reprocessing for operator until")
    header, row = seen["list"].splitlines()
    assert header.split("  ")[0] == "object" and row.split()[:4] == ["reprocessing", "exclusive", "lock", "operator"]
    assert row.endswith("  auth.group:1")
    assert "is now locked until" in seen["extend"]
    assert "at most 1 d 0 h" in seen["capped"]
    assert "Locked by operator until" in seen["panel"] and "Extend by" in seen["panel"]
    assert seen["unlock"] == "Ended the exclusive lock on reprocessing."
    assert seen["cleanup"] == "Removed 0 expired token(s) from the indexes."
    assert seen["tokens_app_imported"] is False
