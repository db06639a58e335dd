"""The load run's options: garbage is refused by argparse in one line, before anything starts."""

import pytest

from bench.loadtest import parse_args

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("argv, words", [
    (["--duration", "0"], "--duration and --baseline must be positive"),
    (["--baseline", "-5"], "--duration and --baseline must be positive"),
    (["--duration", "nan"], "--duration and --baseline must be positive"),
    (["--readers", "-1"], "--readers and --operators must be 0 or more"),
    (["--web-threads", "0"], "--pilots, --web-workers and --web-threads must be 1 or more"),
    (["--web-workers", "0"], "--pilots, --web-workers and --web-threads must be 1 or more"),
    (["--web-threads", "many"], "invalid int value"),
    (["--fault", "meteor"], "invalid choice"),
])
def test_garbage_options_are_refused_in_one_line(argv, words, capsys):
    with pytest.raises(SystemExit) as exited:
        parse_args(argv)
    assert exited.value.code == 2 and words in capsys.readouterr().err


def test_the_defaults_are_the_issues_shape():
    args = parse_args([])
    assert (args.readers, args.operators, args.pilots, args.web_workers, args.web_threads, args.duration) == (
        20, 5, 4, 4, 1, 180.0)
