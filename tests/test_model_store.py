"""The model store's version check against the real moto server's S3: conditional writes (IfNoneMatch / IfMatch),
two writers from one base version (one wins, the other gets the conflict), and the re-read-and-retry loop."""

from __future__ import annotations

import pytest

from offline_rcf.model_store import FolderModelStore, VersionConflict, model_store, update


@pytest.fixture(params=["s3", "folder"])
def store(request, settings, tmp_path):
    return model_store(settings) if request.param == "s3" else FolderModelStore(tmp_path / "models")


def test_two_writers_from_one_base_version_one_wins(store) -> None:
    key = "models/det/single.json.gz"
    assert store.get(key) is None
    v1 = store.put(key, b"base", version=None)
    with pytest.raises(VersionConflict):  # creating what exists: refused
        store.put(key, b"other base", version=None)
    a, b = store.get(key), store.get(key)
    assert a.version == b.version == v1 and a.data == b"base"
    v2 = store.put(key, b"writer A", version=a.version)  # A wins
    with pytest.raises(VersionConflict, match="changed by another writer"):
        store.put(key, b"writer B", version=b.version)  # B's base is stale: refused, nothing interleaved
    now = store.get(key)
    assert (now.data, now.version) == (b"writer A", v2) and v2 != v1
    # B re-reads and retries: its change applies on top of A's
    update(store, key, lambda old: old + b" + writer B")
    assert store.get(key).data == b"writer A + writer B"


def test_s3_writes_are_conditional_on_the_etag(settings) -> None:
    """What the store relies on, asked of the S3 API directly: moto honours If-None-Match: * and If-Match."""
    from botocore.exceptions import ClientError

    from wafad.clients import aws_client

    s3 = aws_client("s3", settings)
    s3.create_bucket(Bucket=settings.bucket)
    etag = s3.put_object(Bucket=settings.bucket, Key="k", Body=b"1", IfNoneMatch="*")["ETag"]
    with pytest.raises(ClientError) as exists:
        s3.put_object(Bucket=settings.bucket, Key="k", Body=b"2", IfNoneMatch="*")
    assert exists.value.response["Error"]["Code"] == "PreconditionFailed"
    s3.put_object(Bucket=settings.bucket, Key="k", Body=b"3", IfMatch=etag)
    with pytest.raises(ClientError) as stale:
        s3.put_object(Bucket=settings.bucket, Key="k", Body=b"4", IfMatch=etag)
    assert stale.value.response["Error"]["Code"] == "PreconditionFailed"
    assert s3.get_object(Bucket=settings.bucket, Key="k")["Body"].read() == b"3"


def test_a_series_model_saved_meanwhile_is_not_overwritten(settings) -> None:
    """The local engine saves a model only over the version it read: a stale save raises, the stored one stays."""
    from detectors.engine_models import load_model, model_key, save_model
    from offline_rcf import TRCFDetector

    store = model_store(settings)
    key = model_key("det-x", {"httpRequest.country": "FR"}, settings.results_index)
    det = TRCFDetector(seed=1)
    for i in range(40):
        det.learn_one({"n": float(i % 5)})
    v1 = save_model(store, key, det, None)
    mine, version = load_model(store, key)
    theirs, _ = load_model(store, key)
    assert version == v1 and mine.to_dict() == det.to_dict()
    theirs.learn_one({"n": 9.0})
    save_model(store, key, theirs, version)
    mine.learn_one({"n": 1.0})
    with pytest.raises(VersionConflict):
        save_model(store, key, mine, version)
    assert load_model(store, key)[0].n_processed_ == theirs.n_processed_


def test_count_sees_the_models_under_a_prefix(store) -> None:
    assert store.count("models/det/") == 0  # nothing yet (for S3: not even the bucket)
    store.put("models/det/single.json.gz", b"a", version=None)
    store.put("models/det/entity-1.json.gz", b"b", version=None)
    store.put("models/other/single.json.gz", b"c", version=None)
    assert store.count("models/det/") == 2
    assert store.count("models/") == 3
