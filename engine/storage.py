"""Where case documents' bytes are kept: one interface, a directory or an S3-compatible bucket.

A key names exactly one version of one document of one case (`<case>/<document>/<version>-<random>`,
made by engine.services.documents): personal data belongs to one case, so nothing is shared
between cases or versions, and deleting a case's keys deletes all of its files. The random part
makes a key unguessable and never reused, even where the database reuses a rolled-back id
(SQLite), so the orphan sweep cannot mistake a new file for an old one.

The store knows nothing of rows or transactions; engine.services.documents writes a file before
the row that names it commits, and removes files only after the rows are gone.
"""
from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from .settings import Settings, SettingsError

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}(/[A-Za-z0-9][A-Za-z0-9._-]{0,99}){0,7}$")
_TEMP_PREFIX = ".incoming-"


class StorageError(RuntimeError):
    """The document store failed, or lacks a key a row names: a fault of the installation, not of
    the user's input (HTTP 500, not a domain error). Names the key, never the content."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    modified_at: datetime  # aware UTC


class DocumentStore(Protocol):
    """put/get/delete bytes by key, and list keys for the orphan sweep."""

    name: str

    def put(self, key: str, content: bytes) -> None:
        """Store `content` under `key`, durably, before returning (replaces what was there)."""

    def get(self, key: str) -> bytes:
        """The bytes under `key`; StorageError when there are none."""

    def delete(self, key: str) -> None:
        """Remove `key`; a key that is not there is no error (deleting twice is deleting once)."""

    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        """Every stored key under `prefix`, with when it was written."""


def check_key(key: str) -> str:
    """A key is path segments of letters, digits, dot, dash and underscore: no '..', no absolute path."""
    if not isinstance(key, str) or not _KEY.match(key) or ".." in key:
        raise StorageError(f"not a valid document key: {key!r}")
    return key


class FileStore:
    """Files under one directory (the embedded default: instance/documents/).

    A file is written to a temporary name in its final directory, flushed to disk and renamed,
    so a reader never sees half a file and a crash leaves at most a temporary file, which the
    sweep lists (and removes) like any other key without a row.
    """

    name = "file"

    def __init__(self, root: Path):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))

    def put(self, key: str, content: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temp = path.with_name(f"{_TEMP_PREFIX}{path.name}-{secrets.token_hex(4)}")
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
            _fsync_dir(path.parent)
        except OSError as err:
            temp.unlink(missing_ok=True)
            raise StorageError(f"cannot write document {key}: {err.strerror}") from err

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise StorageError(f"the document store has no file for {key}") from None
        except OSError as err:
            raise StorageError(f"cannot read document {key}: {err.strerror}") from err

    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        # Empty directories name a case and a document id; take them away with the last file.
        parent = path.parent
        while parent != self.root and parent.is_relative_to(self.root):
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent

    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        start = self._path(prefix) if prefix else self.root
        if not start.is_dir():
            return
        for directory, _dirs, files in os.walk(start):
            for name in files:
                path = Path(directory) / name
                try:
                    modified = path.stat().st_mtime
                except FileNotFoundError:  # removed while we walked
                    continue
                yield StoredObject(path.relative_to(self.root).as_posix(),
                                   datetime.fromtimestamp(modified, timezone.utc))


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable (the directory entry), where the platform allows it."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class S3Store:
    """Objects in an S3-compatible bucket (AWS S3, MinIO, Ceph, a municipality's own object store).

    boto3 is an optional dependency (`pip install sagsgang[s3]`); it is imported when an S3 store
    is made, so installations on disk never load it.
    """

    name = "s3"

    def __init__(self, bucket: str, endpoint_url: str = "", region: str = "", access_key: str = "",
                 secret_key: str = "", prefix: str = "", client=None):
        self.bucket = bucket
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        if client is None:
            try:
                import boto3  # noqa: PLC0415 - optional: only installations that store in S3 need it
                from botocore.config import Config  # noqa: PLC0415
            except ImportError as err:
                raise SettingsError("SAGSGANG_DOCUMENT_STORE=s3 needs boto3: pip install 'sagsgang[s3]'") from err
            options = {"config": Config(retries={"mode": "standard", "max_attempts": 5},
                                        s3={"addressing_style": "path"} if endpoint_url else {})}
            if endpoint_url:
                options["endpoint_url"] = endpoint_url
            if region:
                options["region_name"] = region
            if access_key:
                options.update(aws_access_key_id=access_key, aws_secret_access_key=secret_key)
            client = boto3.client("s3", **options)
        self.client = client

    def _object(self, key: str) -> str:
        return self.prefix + check_key(key)

    def put(self, key: str, content: bytes) -> None:
        name = self._object(key)
        try:
            self.client.put_object(Bucket=self.bucket, Key=name, Body=content)
        except Exception as err:  # noqa: BLE001 - botocore's errors have no common root we can import
            raise StorageError(f"cannot write document {key} to bucket {self.bucket}: {_reason(err)}") from err

    def get(self, key: str) -> bytes:
        name = self._object(key)
        try:
            return self.client.get_object(Bucket=self.bucket, Key=name)["Body"].read()
        except Exception as err:  # noqa: BLE001
            if _code(err) in {"NoSuchKey", "404"}:
                raise StorageError(f"the document store has no file for {key}") from None
            raise StorageError(f"cannot read document {key} from bucket {self.bucket}: {_reason(err)}") from err

    def delete(self, key: str) -> None:
        name = self._object(key)
        try:
            self.client.delete_object(Bucket=self.bucket, Key=name)
        except Exception as err:  # noqa: BLE001
            if _code(err) not in {"NoSuchKey", "404"}:
                raise StorageError(f"cannot delete document {key} from bucket {self.bucket}: {_reason(err)}") from err

    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        paginator = self.client.get_paginator("list_objects_v2")
        start = self.prefix + (check_key(prefix) + "/" if prefix else "")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=start):
            for item in page.get("Contents", []):
                modified = item["LastModified"]
                yield StoredObject(item["Key"][len(self.prefix):], modified.astimezone(timezone.utc))


def _code(err: Exception) -> str:
    return str(getattr(err, "response", {}).get("Error", {}).get("Code", ""))


def _reason(err: Exception) -> str:
    return _code(err) or type(err).__name__


def store_for(settings: Settings) -> DocumentStore:
    """The store the settings name (SAGSGANG_DOCUMENT_STORE), one per configuration and process
    (a boto3 client is costly to make and safe to share between threads)."""
    if settings.document_store == "s3":
        return _s3_store(settings.s3_bucket, settings.s3_endpoint_url, settings.s3_region,
                         settings.s3_access_key, settings.s3_secret_key, settings.s3_prefix)
    return _file_store(str(settings.document_path))


@lru_cache(maxsize=8)
def _file_store(root: str) -> FileStore:
    return FileStore(Path(root))


@lru_cache(maxsize=8)
def _s3_store(bucket: str, endpoint_url: str, region: str, access_key: str, secret_key: str,
              prefix: str) -> S3Store:
    return S3Store(bucket, endpoint_url, region, access_key, secret_key, prefix)
