"""Both document stores behave alike: on disk, and against a real S3-compatible HTTP server
(moto's server mode on 127.0.0.1, tests/integration/s3_server.py)."""
from __future__ import annotations

import stat
from datetime import timedelta

import pytest

from engine.db import utcnow
from engine.settings import Settings, SettingsError
from engine.storage import FileStore, StorageError
from tests.integration.s3_server import s3_server, s3_store  # noqa: F401 - fixtures


@pytest.fixture(params=["file", "s3"])
def store(request, tmp_path):
    if request.param == "file":
        return FileStore(tmp_path / "documents")
    return request.getfixturevalue("s3_store")


def test_put_get_list_and_delete(store):
    store.put("7/12/1-abc", b"version one")
    store.put("7/12/2-def", b"version two")
    store.put("8/13/1-ghi", b"other case")
    assert store.get("7/12/1-abc") == b"version one"
    store.put("7/12/1-abc", b"replaced")
    assert store.get("7/12/1-abc") == b"replaced"
    listed = list(store.list())
    assert sorted(item.key for item in listed) == ["7/12/1-abc", "7/12/2-def", "8/13/1-ghi"]
    assert all(abs(item.modified_at - utcnow()) < timedelta(minutes=5) for item in listed)
    assert sorted(item.key for item in store.list("7")) == ["7/12/1-abc", "7/12/2-def"]
    store.delete("7/12/1-abc")
    store.delete("7/12/1-abc")  # twice is once
    store.delete("9/99/1-never")
    assert sorted(item.key for item in store.list()) == ["7/12/2-def", "8/13/1-ghi"]
    with pytest.raises(StorageError, match="no file for 7/12/1-abc"):
        store.get("7/12/1-abc")


@pytest.mark.parametrize("key", ["../secret", "/etc/passwd", "7/../../x", "", "7//1", ".hidden/1", "a b", 7])
def test_keys_cannot_leave_the_store(store, key):
    with pytest.raises(StorageError, match="not a valid document key"):
        store.put(key, b"x")


def test_files_on_disk_are_private_and_leave_no_empty_folders(tmp_path):
    store = FileStore(tmp_path / "documents")
    store.put("7/12/1-abc", b"x")
    path = tmp_path / "documents" / "7" / "12" / "1-abc"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["1-abc"]  # the temporary name is gone
    store.delete("7/12/1-abc")
    assert list((tmp_path / "documents").iterdir()) == []


def test_settings_choose_and_check_the_store(tmp_path):
    env = {"SAGSGANG_INSTANCE_PATH": str(tmp_path)}
    settings = Settings.from_env(env)
    assert (settings.document_store, settings.document_path) == ("file", tmp_path / "documents")
    assert settings.document_max_bytes == 25 * 1024 * 1024
    s3 = Settings.from_env({**env, "SAGSGANG_DOCUMENT_STORE": "s3", "SAGSGANG_S3_BUCKET": "dokumenter",
                            "SAGSGANG_S3_ENDPOINT_URL": "https://s3.example.dk", "SAGSGANG_S3_ACCESS_KEY": "a",
                            "SAGSGANG_S3_SECRET_KEY": "hemmelig-nøgle", "SAGSGANG_DOCUMENT_MAX_BYTES": "1000"})
    assert (s3.document_store, s3.s3_bucket, s3.document_max_bytes) == ("s3", "dokumenter", 1000)
    assert "hemmelig-nøgle" not in repr(s3)
    for bad, message in [({"SAGSGANG_DOCUMENT_STORE": "ftp"}, "file or s3"),
                         ({"SAGSGANG_DOCUMENT_STORE": "s3"}, "SAGSGANG_S3_BUCKET"),
                         ({"SAGSGANG_S3_ACCESS_KEY": "a"}, "together"),
                         ({"SAGSGANG_DOCUMENT_MAX_BYTES": "0"}, "at least 1"),
                         ({"SAGSGANG_DOCUMENT_MAX_BYTES": "many"}, "a number")]:
        with pytest.raises(SettingsError, match=message):
            Settings.from_env({**env, **bad})
