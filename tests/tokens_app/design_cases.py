"""Tokens as pilots leave them, each with the state the portal gives it: shared by the unit tests
of the design rules and the tests of the views on the server (a module, so that both import it
by name)."""

TYPE = "pref_cal1"

# (token id, fields, expected state): both the GRID_LRT ``output`` and the PiCaS ``exit_code``
# conventions, pilot statuses, and the odd values pilots have been seen to write.
CASES = [
    ("fresh", {"lock": 0, "done": 0}, "todo"),
    ("no_bookkeeping", {}, "todo"),
    ("running", {"lock": 1700000000, "done": 0, "status": "running"}, "locked"),
    ("downloading", {"lock": 1700000000, "done": 0, "status": "downloading"}, "locked"),
    ("launched", {"lock": 1700000000, "done": 0, "status": "launched"}, "locked"),
    ("lock_as_text", {"lock": "1700000000", "done": 0}, "locked"),
    ("output_zero", {"lock": 1700000000, "done": 1700000500, "output": 0}, "done"),
    ("output_zero_text", {"lock": 1700000000, "done": 1700000500, "output": "0"}, "done"),
    ("output_empty", {"lock": 1700000000, "done": 1700000500, "output": ""}, "done"),
    ("exit_code_zero", {"lock": 1700000000, "done": 1700000500, "exit_code": 0}, "done"),
    ("done_without_lock", {"lock": 0, "done": 1700000500}, "done"),
    ("output_nonzero", {"lock": 1700000000, "done": 1700000500, "output": 1}, "error"),
    ("output_text", {"lock": 1700000000, "done": 1700000500, "output": "segfault"}, "error"),
    ("exit_code_text_one", {"lock": 1700000000, "done": 1700000500, "exit_code": "1"}, "error"),
    ("exit_code_while_running", {"lock": 1700000000, "done": 0, "exit_code": 137}, "error"),
    ("status_error", {"lock": 1700000000, "done": 0, "status": "error"}, "error"),
    ("status_error_no_lock", {"lock": 0, "done": 0, "status": "error"}, "todo"),
    ("exit_code_null", {"lock": 1700000000, "done": 1700000500, "exit_code": None}, "done"),
    ("exit_code_false", {"lock": 1700000000, "done": 1700000500, "exit_code": False}, "done"),
    ("output_list", {"lock": 1700000000, "done": 1700000500, "output": ["oops"]}, "error"),
    ("output_object", {"lock": 1700000000, "done": 1700000500, "output": {"log": "oops"}}, "error"),
    # picas gives every new Task ``output: {}``: empty, it reports nothing.
    ("picas_output_empty_object", {"lock": 1700000000, "done": 1700000500, "exit_code": 0, "output": {}}, "done"),
    ("picas_running_empty_object", {"lock": 1700000000, "done": 0, "output": {}}, "locked"),
    ("output_empty_list", {"lock": 1700000000, "done": 1700000500, "output": []}, "done"),
    # picas 1.x Task.error(): lock = done = 99, the message appended to ``error``, no exit code.
    ("picas_task_error", {"lock": 99, "done": 99, "exit_code": "", "error": [{"message": "boom"}]}, "error"),
    ("picas_no_errors", {"lock": 1700000000, "done": 1700000500, "exit_code": "", "error": []}, "done"),
    # Text exit codes at the edge of "reads as zero": a plain decimal zero with an optional sign,
    # point and zeros on either side; anything else (spaces, exponents, hex, other digits) fails.
    *((f"exit_code_zero_{n}", {"lock": 1700000000, "done": 1700000500, "exit_code": text}, "done")
      for n, text in enumerate(["00", "-0", "+0", "0.", ".0", "-.0", "+.00", "0.00", "000.000", "0" * 3000])),
    *((f"exit_code_not_zero_{n}", {"lock": 1700000000, "done": 1700000500, "exit_code": text}, "error")
      for n, text in enumerate([".", "-", "+", "-.", "0x0", " 0", "0 ", "0\n", "0e0", "0.0.", "..0", "--0",
                                "+-0", "0-", "\u0660", "０", "0" * 3000 + "x", "0" * 3000 + ".x", "." + "0" * 3000 + "1"])),
    # Lock times as text: only a plain unsigned decimal number counts.
    ("lock_text_point", {"lock": "1700000000.", "done": 0}, "locked"),
    ("lock_text_fraction_only", {"lock": ".5", "done": 0}, "todo"),
    ("lock_text_signed", {"lock": "+1700000000", "done": 0}, "todo"),
    ("lock_text_digits_then_letter", {"lock": "1" * 3000 + "x", "done": 0}, "todo"),
]
