"""The Apache CouchDB release the test session and the benchmarks start (``TEST_COUCHDB=apache``)."""

import pytest

from devtools import apachecouch
from devtools.localcouch import LocalCouchError

pytestmark = pytest.mark.unit


def test_a_missing_release_is_one_sentence_naming_the_file_and_the_setting(monkeypatch, tmp_path):
    monkeypatch.setenv("APACHE_COUCHDB_TARBALL", str(tmp_path / "absent.tar.gz"))
    with pytest.raises(LocalCouchError) as raised:
        apachecouch.release()
    assert str(raised.value) == (
        f"the Apache CouchDB release is missing: no {tmp_path / 'absent.tar.gz'} (set APACHE_COUCHDB_TARBALL to it)"
    )


def test_the_release_is_found_beside_the_repository_unless_the_setting_names_it(monkeypatch):
    monkeypatch.delenv("APACHE_COUCHDB_TARBALL", raising=False)
    assert apachecouch.tarball() == apachecouch.BASE_DIR.parent / "shared" / "couchdb" / apachecouch.TARBALL_NAME
