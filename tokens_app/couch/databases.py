"""The server and its databases: version, databases listed, created, deleted, looked up."""

from __future__ import annotations

from .errors import CouchAuthFailed, shown
from .paths import database_path
from .transport import Transport


class Databases(Transport):
    """Server-wide requests and whole databases. Creating and deleting check the session first:
    an anonymous database creation crashes pouchdb-server."""

    def server_info(self) -> dict:
        """The server's welcome document (has ``version``)."""
        return self.request("GET", (), what="read the server version").json()

    def list_databases(self) -> list[str]:
        return [
            name
            for name in self.request("GET", ("_all_dbs",), what="list the databases").json()
            if not name.startswith("_")
        ]

    def database_exists(self, db: str) -> bool:
        response = self.request("HEAD", database_path(db), what=f"look up database {shown(db)}", ok_statuses=(404,))
        return response.status_code == 200

    def create_database(self, db: str, *, exist_ok: bool = True) -> bool:
        """Create ``db``; returns False when it existed already (and ``exist_ok``).

        Apache CouchDB refuses the creation to a user who is not a server admin even where the
        database exists: with ``exist_ok`` such a user's existing database is found, not refused.
        """
        self._renew_stale_session()
        try:
            response = self.request(
                "PUT", database_path(db), what=f"create database {shown(db)}", ok_statuses=(412,) if exist_ok else ()
            )
        except CouchAuthFailed:
            if exist_ok and self.database_exists(db):
                return False
            raise
        return response.status_code != 412

    def delete_database(self, db: str) -> None:
        self._renew_stale_session()
        self.request("DELETE", database_path(db), what=f"delete database {shown(db)}", db=db)

    def database_info(self, db: str, *, timeout: float | None = None) -> dict:
        """The database's info document (``doc_count``, ``update_seq``)."""
        return self.request(
            "GET", database_path(db), what=f"read database {shown(db)}", db=db, timeout=timeout
        ).json()

    def active_tasks(self) -> list[dict]:
        """CouchDB's running tasks (index builds among them); [] where the server keeps none
        (pouchdb-server answers a stub) or this user may not see them (server admins only)."""
        response = self.request("GET", ("_active_tasks",), what="read the active tasks", ok_statuses=(401, 403))
        return response.json() if response.status_code == 200 else []
