"""A real S3-compatible HTTP server on 127.0.0.1 for the S3 store's tests: moto's server mode.

moto (PyPI) serves the S3 REST protocol from a thread; the boto3 client under test makes real
HTTP requests, signs them and parses real responses, as it would against MinIO or AWS. Test
modules import the fixtures by name.
"""
from __future__ import annotations

from dataclasses import replace

import pytest

from engine.settings import Settings
from engine.storage import store_for

BUCKET = "sagsgang-test"
REGION = "eu-north-1"


def s3_settings(base: Settings, endpoint: str, prefix: str) -> Settings:
    return replace(base, document_store="s3", s3_bucket=BUCKET, s3_endpoint_url=endpoint, s3_region=REGION,
                   s3_access_key="test", s3_secret_key="test-secret", s3_prefix=prefix)


@pytest.fixture(scope="module")
def s3_server():
    moto_server = pytest.importorskip("moto.server")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_store(s3_server, settings, request):
    """An S3 store on the server, under a prefix of its own (tests share the bucket, never keys)."""
    prefix = "".join(ch if ch.isalnum() else "-" for ch in request.node.name)[:60].strip("-")
    store = store_for(s3_settings(settings, s3_server, prefix))
    try:
        store.client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    except store.client.exceptions.BucketAlreadyOwnedByYou:
        pass
    return store
