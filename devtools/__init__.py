"""Development tooling: what ``make run``, the test session, the demo and the benchmarks use, and
production never does.

- ``localcouch``: ``LocalCouchServer``, the bundled pouchdb-server (``couchdb/``) started on
  loopback with its own data folder, and ``free_port``;
- ``pilots``: simulated PiCaS pilots (processes claiming and finishing tokens), for the demo, the
  soak tests and the benchmarks;
- the commands ``runportal`` (the development server ``make run`` starts), ``seed_demo`` and
  ``simulate_pilots``.

It is a Django app, not a plain package, because those three commands belong with the code they
run: ``runportal`` starts ``LocalCouchServer``, ``simulate_pilots`` runs ``pilots``, ``seed_demo``
is the demo's first step. Kept in ``tokens_app`` they made the production app import development
tooling; here the dependency goes one way only: devtools uses tokens_app (its gateway, services and
command base classes), tokens_app never imports devtools. The app has no models, URLs or
templates, so installing it everywhere (the README's first steps run its commands with the
production settings too) adds only the three commands.
"""
