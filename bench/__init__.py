"""Benchmarks of tokenportal, each measured against its baseline in the same run.

``python -m bench`` (``make bench``) runs them all; see ``docs/benchmarks.md``. Each benchmark
starts its own pouchdb-server in a temporary directory and uses the ORM database named by
``DATABASE_URL`` (default: a temporary SQLite file), never ``var/``.

- ``creation``: ``create_tokenset`` vs one request per token and vs raw ``_bulk_docs``.
- ``counting``: the read model's counts (``token_reads.counts_many``) vs the raw grouped view query;
  the dashboard's CouchDB requests (none).
- ``locks``: ``TokenUtility`` on SQLite and PostgreSQL vs zope.locking's in-memory utility.
- ``memory``: peak resident memory while creating a large campaign, in a child process.
- ``operations``: queue-to-start latency of an idle task worker; a push on a worker vs in-process.
- ``shared_file``: a campaign whose every token carries a large file: memory and time.
- ``scale``: creation, dashboard counts and pilots as the campaigns in one database grow.
- ``local_server``: the bundled pouchdb-server's preloads against it as shipped.
- ``read_model``: the follower's backfill vs a raw ``_changes`` read, its memory, its lag behind pilots.
- ``pages``: the dashboard and a campaign page (every tab, the status API's map, searches) vs the
  raw CouchDB reads of the same data.
"""
