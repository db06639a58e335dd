"""Compatibility: campaigns made by the portal are worked by real pilots, and read back right.

The PiCaS client (``picas`` 1.1.2 from PyPI, couchdb-python underneath) runs as a pilot in its
own process, as on a worker node: its view iterator claims tokens from the campaign's ``todo``
view of ``_design/<type>``, its actor processes and finishes them, and ``token_status`` must
then report every token in the right state. Tokens finished the GRID_LRT way (``done`` set,
``output`` zero or not) must land in done or error too.
"""

import io
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from tokens_app.models import Campaign

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TYPE = "pref_cal1"
FAILING_SUBBANDS = ("008", "040", "120")

# A PiCaS pilot as users write them: a RunActor whose process_task runs the job and records
# the exit code. Subbands in FAILING_SUBBANDS fail with exit code 1.
PILOT = """
import sys
from picas.actors import RunActor
from picas.clients import CouchDB
from picas.iterators import TaskViewIterator

url, user, password, database, token_type, failing = sys.argv[1:]

class Pilot(RunActor):
    def process_task(self, task):
        task["exit_code"] = 1 if task["STARTSB"] in failing.split(",") else 0
        task.done()

client = CouchDB(url=url, db=database, username=user, password=password)
pilot = Pilot(client, iterator=TaskViewIterator(client, "todo", design_doc=token_type))
pilot.run()
print(pilot.tasks_processed)
"""

pytestmark = pytest.mark.django_db


def token_status(database):
    out = io.StringIO()
    call_command("token_status", "--type", TYPE, "--database", database, "--json", stdout=out)
    return json.loads(out.getvalue())


@pytest.fixture
def campaign(couch_db, superuser):
    """The whole example list in slices of 8, made by the create_tokenset command as an operator
    does from the shell (not the shared factory's twelve tokens through the services): what
    PiCaS pilots are pointed at in production."""
    call_command(
        "create_tokenset", "--config", EXAMPLES / "pref_cal1.yaml", "--srmlist", EXAMPLES / "L229507.srmlist",
        "--database", couch_db, "--slice-size", "8", stdout=io.StringIO(), stderr=io.StringIO(),
    )
    return Campaign.objects.get(token_type=TYPE, database=couch_db)


def test_a_picas_pilot_works_a_portal_campaign(campaign, couch_db, gateway):
    couch = settings.COUCHDB
    pilot = subprocess.run(
        [sys.executable, "-c", PILOT, couch["URL"], couch["USER"], couch["PASSWORD"], couch_db, TYPE,
         ",".join(FAILING_SUBBANDS)],
        capture_output=True, text=True, timeout=300,
    )
    assert pilot.returncode == 0, pilot.stderr
    assert int(pilot.stdout.split()[-1]) == campaign.token_count

    status = token_status(couch_db)
    assert status["counts"] == {
        "todo": 0, "locked": 0, "done": campaign.token_count - len(FAILING_SUBBANDS), "error": len(FAILING_SUBBANDS),
    }
    errors = [row["id"] for row in gateway.iter_view(couch_db, TYPE, "error")]
    assert sorted(gateway.get_doc(couch_db, token_id)["STARTSB"] for token_id in errors) == list(FAILING_SUBBANDS)
    finished = gateway.get_doc(couch_db, errors[0])
    assert finished["lock"] > 0 and finished["done"] >= finished["lock"] and finished["hostname"]


def test_tokens_finished_the_grid_lrt_way(campaign, couch_db, gateway):
    ids = [row["id"] for row in gateway.iter_view(couch_db, TYPE, "todo", limit=6)]
    docs = gateway.fetch_docs(couch_db, ids)
    now = int(time.time())
    outputs = [0, "0", 1, "-1", "killed", None]
    finished = [{**docs[token_id], "lock": now, "done": now, "output": output} for token_id, output in zip(ids, outputs)]
    finished[-1].pop("output")
    gateway.bulk_docs(couch_db, finished)

    counts = token_status(couch_db)["counts"]
    assert counts == {"todo": campaign.token_count - 6, "locked": 0, "done": 3, "error": 3}
