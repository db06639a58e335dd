"""Benchmarks of tokenportal, each measured against its baseline in the same run.

``python -m bench`` (``make bench``) runs them all; see ``docs/benchmarks.md``. Each benchmark
starts its own pouchdb-server in a temporary directory and uses the ORM database named by
``DATABASE_URL`` (default: a temporary SQLite file), never ``var/``.

- ``creation``: ``create_tokenset`` vs one request per token and vs raw ``_bulk_docs``.
- ``counting``: ``overview_counts`` vs the raw grouped view query; requests of the dashboard.
- ``locks``: ``TokenUtility`` on SQLite and PostgreSQL vs zope.locking's in-memory utility.
- ``memory``: peak resident memory while creating a large campaign, in a child process.
- ``operations``: queue-to-start latency of an idle task worker; a push on a worker vs in-process.
"""
