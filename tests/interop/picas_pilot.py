"""A PiCaS 1.1.2 pilot as users write them, run in its own process beside the tests.

``python picas_pilot.py CONNECTION DESIGN JOB_SECONDS MAX_TASKS FAILING``: CONNECTION is the JSON
object the GRID_LRT drivers take (``url``, ``user``, ``password``, ``database``); DESIGN names the
design document whose ``todo`` view the pilot claims from (``_design/<type>`` for the portal and
GRID_LRT, ``Monitor`` for the PiCaS examples); each job takes JOB_SECONDS; the pilot stops after
MAX_TASKS tasks (0: when ``todo`` is empty); tokens whose id ends with one of the comma-separated
suffixes of FAILING exit with code 1, the others with 0. Prints how many tasks it processed.

The tests pause and resume this process (SIGSTOP/SIGCONT) to read the database at a moment no
write is under way; an operator's reset of a token the pilot holds makes its final save
conflict, which PiCaS logs and passes over, as on a worker node.
"""

import json
import sys
import time

from picas.actors import RunActor
from picas.clients import CouchDB
from picas.iterators import TaskViewIterator


class Pilot(RunActor):
    def __init__(self, client, design, job_seconds, failing):
        super().__init__(client, iterator=TaskViewIterator(client, "todo", design_doc=design))
        self.job_seconds = job_seconds
        self.failing = tuple(suffix for suffix in failing.split(",") if suffix)

    def process_task(self, task):
        time.sleep(self.job_seconds)
        task["exit_code"] = 1 if task["_id"].endswith(self.failing) else 0
        task.done()


if __name__ == "__main__":
    connection, design, job_seconds, max_tasks, failing = sys.argv[1:]
    connection = json.loads(connection)
    client = CouchDB(
        url=connection["url"], db=connection["database"], username=connection["user"],
        password=connection["password"],
    )
    pilot = Pilot(client, design, float(job_seconds), failing)
    pilot.run(max_tasks=int(max_tasks) or None)
    print(pilot.tasks_processed)
