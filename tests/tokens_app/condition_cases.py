"""Tokens as GRID_LRT and picas pilots leave them, and the conditions they write with the tokens
each selects: shared by the condition language's unit tests and the tests of its views on the
server (a module, so that both import it by name)."""

TYPE = "cond"
LOCK, DONE = 1700000000, 1700000500

# Tokens as GRID_LRT (``output``) and picas (``exit_code``, ``error``) pilots leave them.
DOCS = {
    "todo": {"lock": 0, "done": 0, "status": "todo", "output": "", "scrub_count": 0, "OBSID": "L229507",
             "cores": 1, "PIPELINE_STEP": "pref_cal1", "config.json": {"container": "lofar"}, "data-set": "a"},
    "downloading": {"lock": LOCK, "done": 0, "status": "downloading", "output": "", "scrub_count": 1,
                    "OBSID": "L229507", "cores": 4},
    "launched": {"lock": LOCK, "done": 0, "status": "launched", "cores": 1, "OBSID": "L111111"},
    "done_ok": {"lock": LOCK, "done": DONE, "status": "done", "output": 0, "exit_code": 0, "cores": 1},
    "done_text_zero": {"lock": LOCK, "done": DONE, "status": "done", "output": "0", "exit_code": "0"},
    "failed": {"lock": LOCK, "done": DONE, "status": "error", "output": 1, "exit_code": 1, "scrub_count": 3,
               "error": [{"message": "boom"}]},
    "picas_error": {"lock": 99, "done": 99, "exit_code": "", "error": [{"message": "x"}]},
    "bare": {},
    "nested": {"lock": 0, "done": 0, "meta": {"site": {"name": "sara"}}, "tags": ["a", "b"]},
    "flat_meta": {"lock": 0, "done": 0, "meta": "flat"},
}
EVERY = sorted(DOCS)


def every_but(*ids):
    return sorted(set(EVERY) - set(ids))


# (condition, the tokens JavaScript selects). The first block is GRID_LRT's (TokenHandler.add_view
# and add_status_views, the overview map) and picas' (createViews.py, its autopilot appendix)
# conditions as they write them; the selections follow JavaScript's == (undefined != 0, "" == 0).
ACCEPTED = [
    ("doc.lock ==  0 && doc.done == 0 ", ["flat_meta", "nested", "todo"]),
    ("doc.lock == 0 && doc.done == 0", ["flat_meta", "nested", "todo"]),
    ("doc.lock > 0 && doc.done == 0 ", ["downloading", "launched"]),
    ('doc.status == "done" ', ["done_ok", "done_text_zero"]),
    ("doc.output != 0 ", ["bare", "failed", "flat_meta", "launched", "nested", "picas_error"]),
    ("doc.lock > 0 && doc.done > 0 && doc.output > 0", ["failed"]),
    ("doc.lock > 0 && doc.done > 0 && doc.output == 0 ", ["done_ok", "done_text_zero"]),
    ("doc.lock > 0 && doc.status == 'downloading' ", ["downloading"]),
    ("doc.lock > 0  && doc.done==0 && doc.status!='downloading' ", ["launched"]),
    ('doc.lock > 0 && doc.output != 0 && doc.output != "" ', ["failed", "launched", "picas_error"]),
    ('doc.PIPELINE_STEP == "pref_cal1" ', ["todo"]),
    ('doc.OBSID == "L229507"', ["downloading", "todo"]),
    ("doc.lock > 0 && doc.done > 0 && doc.exit_code == 0", ["done_ok", "done_text_zero", "picas_error"]),
    ("doc.lock > 0 && doc.done > 0 && doc.exit_code != 0", ["failed"]),
    ("doc.lock == 0 && doc.done == 0 && doc.cores == 1", ["todo"]),
    ("doc.status == 'todo'", ["todo"]),
    # The rest of the language.
    ('doc.scrub_count > 2 && doc.status == "error"', ["failed"]),
    ("!doc.error", every_but("failed", "picas_error")),
    ("doc.error && doc.error.length > 0", ["failed", "picas_error"]),
    ('doc.error[0].message == "boom"', ["failed"]),
    ('doc.meta.site.name === "sara"', ["nested"]),
    ("doc[\"config.json\"]['container'] == 'lofar'", ["todo"]),
    ('doc["data-set"] === "a"', ["todo"]),
    ('doc.tags[1] == "b"', ["nested"]),
    ("doc.exit_code == null", ["bare", "downloading", "flat_meta", "launched", "nested", "todo"]),
    ("doc.exit_code === undefined", ["bare", "downloading", "flat_meta", "launched", "nested", "todo"]),
    ("doc.lock > -1 && doc.done >= 0 && doc.done <= 99",
     ["downloading", "flat_meta", "launched", "nested", "picas_error", "todo"]),
    ('!(doc.lock > 0) || doc.status === "launched"', ["bare", "flat_meta", "launched", "nested", "todo"]),
    ("doc.lock > 0\n  && doc.done == 0", ["downloading", "launched"]),
    ('doc.status == "done" || doc.status == "error"', ["done_ok", "done_text_zero", "failed"]),
    ("doc.cores >= 4 || doc.cores < 1", ["downloading"]),
    ("doc.x == 'it\\'s' || doc.status == \"\\u0074o\\x64o\"", ["todo"]),
    ("(doc.lock === 1700000000) == true && doc.done === 1.7000005e9", ["done_ok", "done_text_zero", "failed"]),
    ("doc.toString === undefined && doc.hasOwnProperty === undefined", EVERY),
    ("true", EVERY),
    ("false", []),
]
