"""A database set up the way the PiCaS examples set one up, with picas 1.1.2 and couchdb-python.

``python picas_example.py CONNECTION STEP [ARGS...]`` (CONNECTION as for picas_pilot.py):

- ``push COUNT``: COUNT tokens as the examples' ``pushTokens.py`` makes them: ``Task`` documents
  of type ``token`` with ids ``token_<n>`` and an ``input`` line, saved with the picas client (a
  new ``Task`` takes PiCaS's defaults: ``lock``/``done`` 0, ``exit_code`` "", ``output`` {},
  ``error`` [] ...).
- ``views DESIGN``: the views of the examples' ``createViews.py`` in ``_design/DESIGN`` (the
  examples name it ``Monitor``), each synced with couchdb-python's ``ViewDefinition``: ``todo``,
  ``locked``, ``done``, ``error`` emitting ``(doc._id, doc._id)`` for the tokens whose
  ``lock``/``done``/``exit_code`` match, and ``overview_total``, their names counted by a reduce.

Prints one JSON value.
"""

import json
import sys

import couchdb
from couchdb.design import ViewDefinition
from picas.clients import CouchDB
from picas.documents import Task

# The examples' conditions, each view's and the overview's alike.
CONDITIONS = {
    "todo": "doc.lock == 0 && doc.done == 0",
    "locked": "doc.lock > 0 && doc.done == 0",
    "done": "doc.lock > 0 && doc.done > 0 && parseInt(doc.exit_code) == 0",
    "error": "doc.lock > 0 && doc.done > 0 && parseInt(doc.exit_code) != 0",
}


def push(connection, count):
    client = CouchDB(
        url=connection["url"], db=connection["database"], username=connection["user"],
        password=connection["password"],
    )
    tasks = [
        Task({"_id": f"token_{number}", "type": "token", "input": f"echo {number}"}) for number in range(int(count))
    ]
    client.save_documents(tasks)
    return len(tasks)


def views(connection, design):
    server = couchdb.Server(connection["url"])
    server.resource.credentials = (connection["user"], connection["password"])
    database = server[connection["database"]]
    for name, condition in CONDITIONS.items():
        code = f'function(doc) {{ if (doc.type == "token") {{ if ({condition}) {{ emit(doc._id, doc._id); }} }} }}'
        ViewDefinition(design, name, code).sync(database)
    tallies = "\n".join(f"    if ({condition}) {{ emit('{name}', 1); }}" for name, condition in CONDITIONS.items())
    overview = f'function(doc) {{\n  if (doc.type == "token") {{\n{tallies}\n  }}\n}}'
    total = "function (key, values, rereduce) { return sum(values); }"
    ViewDefinition(design, "overview_total", overview, total).sync(database)
    return sorted(database["_design/" + design]["views"])


STEPS = {"push": push, "views": views}

if __name__ == "__main__":
    connection, step, *arguments = sys.argv[1:]
    print(json.dumps(STEPS[step](json.loads(connection), *arguments)))
