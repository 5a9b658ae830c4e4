"""OpenSearch Dashboards saved objects: the documented export shape, aggregations that run, and the import call."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse

import pytest

from dashboard.dashboards_objects.build import DEFAULT_NDJSON, render_saved_objects, to_ndjson, write_saved_objects
from dashboard.dashboards_objects.importer import SavedObjectsError, ensure_saved_objects, import_saved_objects
from dashboard.dashboards_objects.validate import validate_saved_objects
from dashboard.sample_data import index_window
from wafad.catalogue import CLIENT_IP_FIELD, COUNTRY_FIELD, INDICATOR_FIELDS, URI_FIELD
from wafad.settings import Settings

START = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)


def _by_type(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["type"] == kind]


def test_objects_have_the_documented_shape(settings) -> None:
    text = to_ndjson(render_saved_objects(settings))
    objects = validate_saved_objects(text.splitlines())
    assert text.endswith("\n") and len(text.splitlines()) == len(objects)

    patterns = {o["attributes"]["title"]: o["attributes"]["timeFieldName"] for o in _by_type(objects, "index-pattern")}
    assert patterns == {f"{settings.index_prefix}-*": "@timestamp", f"{settings.results_index}*": "data_end_time"}

    vis = _by_type(objects, "visualization")
    fields = {
        a["params"].get("field") for v in vis for a in json.loads(v["attributes"]["visState"])["aggs"] if a["params"]
    }
    assert set(INDICATOR_FIELDS) <= fields  # the indicator fields over time
    assert {COUNTRY_FIELD, CLIENT_IP_FIELD, URI_FIELD, "@timestamp"} <= fields  # tops, time axis
    assert {"anomaly_grade", "confidence", "detector_id", "data_end_time"} <= fields  # AD results over time
    for v in vis:
        assert v["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"]
        assert all(r["type"] == "index-pattern" for r in v["references"])

    (search,) = _by_type(objects, "search")
    assert URI_FIELD in search["attributes"]["columns"] and search["attributes"]["sort"] == [["@timestamp", "desc"]]
    (dash,) = _by_type(objects, "dashboard")
    panels = json.loads(dash["attributes"]["panelsJSON"])
    assert len(panels) == len(vis) + 1 == len(dash["references"])
    assert {(r["type"], r["id"]) for r in dash["references"]} == {(o["type"], o["id"]) for o in [*vis, search]}
    cells = [(p["gridData"]["x"], p["gridData"]["y"]) for p in panels]
    assert len(set(cells)) == len(cells) and all(p["gridData"]["x"] + p["gridData"]["w"] <= 48 for p in panels)


def test_ids_follow_the_configured_names(settings) -> None:
    a = render_saved_objects(settings)
    other = settings.model_copy(update={"index_prefix": "other-logs"})
    b = render_saved_objects(other)
    assert [o["id"] for o in a] == [o["id"] for o in render_saved_objects(settings)]  # stable: re-import overwrites
    assert not {o["id"] for o in a} & {o["id"] for o in b}
    assert _by_type(b, "index-pattern")[0]["attributes"]["title"] == "other-logs-*"


def test_validator_rejects_broken_objects(settings) -> None:
    objects = render_saved_objects(settings)

    def broken(mutate) -> list[str]:
        objs = copy.deepcopy(objects)
        mutate(objs)
        return to_ndjson(objs).splitlines()

    with pytest.raises(ValueError, match="unresolved"):
        validate_saved_objects(broken(lambda o: o.pop(0)))  # the index pattern the visualisations reference
    with pytest.raises(ValueError, match="no matching reference"):
        validate_saved_objects(broken(lambda o: o[-1]["references"].pop()))
    with pytest.raises(ValueError, match="missing 'references'"):
        validate_saved_objects(broken(lambda o: o[3].pop("references")))
    with pytest.raises(json.JSONDecodeError):
        validate_saved_objects(broken(lambda o: o[3]["attributes"].update(visState="{not json")))
    with pytest.raises(ValueError, match="not a saved-object type"):
        validate_saved_objects(broken(lambda o: o[3].update(type="visualisation")))
    with pytest.raises(ValueError, match="unexpected top-level"):
        validate_saved_objects(broken(lambda o: o[3].update(title="x")))
    with pytest.raises(ValueError, match="duplicate"):
        validate_saved_objects(broken(lambda o: o.append(o[2])))


def test_committed_ndjson_matches_the_default_names() -> None:
    defaults = Settings(_env_file=None, index_prefix="waf-logs", results_index="opensearch-ad-plugin-result-wafad")
    assert DEFAULT_NDJSON.read_text(encoding="utf-8") == to_ndjson(render_saved_objects(defaults))
    validate_saved_objects(DEFAULT_NDJSON.read_text(encoding="utf-8").splitlines())


def _aggs_for(vis_state: dict[str, Any]) -> dict[str, Any]:
    """The OpenSearch aggregation a visualisation asks for (metrics nested inside its bucket aggs)."""
    metrics = {
        a["id"]: {a["type"]: {"field": a["params"]["field"]}}
        for a in vis_state["aggs"]
        if a["schema"] == "metric" and a["type"] != "count"
    }
    inner: dict[str, Any] = metrics
    for a in reversed([a for a in vis_state["aggs"] if a["schema"] != "metric"]):
        p = a["params"]
        if a["type"] == "date_histogram":
            body = {"date_histogram": {"field": p["field"], "fixed_interval": "1m"}}
        elif a["type"] == "terms":
            body = {"terms": {"field": p["field"], "size": p["size"]}}
        elif a["type"] == "range":
            body = {"range": {"field": p["field"], "ranges": p["ranges"]}}
        else:
            raise AssertionError(f"unexpected bucket agg {a['type']}")
        if inner:
            body["aggs"] = inner
        inner = {a["id"]: body}
    return inner


def test_every_visualisation_aggregation_runs_on_real_indices(settings, os_client) -> None:
    index_window(os_client, settings, START, 15, anomalies=[("httpStatus", 8, 12)], per_minute=6)
    objects = render_saved_objects(settings)
    index_of = {o["id"]: o["attributes"]["title"] for o in _by_type(objects, "index-pattern")}
    for vis in _by_type(objects, "visualization"):
        state = json.loads(vis["attributes"]["visState"])
        index = index_of[vis["references"][0]["id"]]
        resp = os_client.search(index=index, body={"size": 0, "aggs": _aggs_for(state)})
        top = next(iter(resp["aggregations"].values()))
        assert top["buckets"], f"{state['title']}: no buckets over {index}"
        if state["type"] == "table":
            assert sum(b["doc_count"] for b in top["buckets"]) > 0


# --- import against a stand-in for the Dashboards HTTP endpoint --------------------------------------
class _FakeDashboards(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []
    answer: ClassVar[tuple[int, dict[str, Any]]] = (200, {})

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        body = self.rfile.read(length)
        message = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + self.headers["Content-Type"].encode() + b"\r\n\r\n" + body
        )
        files = {
            part.get_param("name", header="content-disposition"): (part.get_filename(), part.get_payload(decode=True))
            for part in message.iter_parts()
        }
        self.received.append(
            {
                "path": urlparse(self.path).path,
                "query": parse_qs(urlparse(self.path).query),
                "headers": dict(self.headers),
                "files": files,
            }
        )
        status, payload = self.answer
        if status == 200 and not payload:
            objs = validate_saved_objects(files["file"][1].decode().splitlines())
            payload = {
                "success": True,
                "successCount": len(objs),
                "successResults": [{"type": o["type"], "id": o["id"]} for o in objs],
            }
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def dashboards() -> Iterator[tuple[str, type[_FakeDashboards]]]:
    handler = type("Handler", (_FakeDashboards,), {"received": [], "answer": (200, {})})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/base", handler
    finally:
        server.shutdown()
        server.server_close()


def test_import_posts_the_ndjson_like_the_dashboards_api_wants(settings, dashboards) -> None:
    url, handler = dashboards
    result = import_saved_objects(settings, url + "/")
    (req,) = handler.received
    assert req["path"] == "/base/api/saved_objects/_import"
    assert req["query"] == {"overwrite": ["true"]}
    assert {k.lower(): v for k, v in req["headers"].items()}["osd-xsrf"] == "true"
    filename, content = req["files"]["file"]
    assert filename.endswith(".ndjson")
    assert content.decode() == to_ndjson(render_saved_objects(settings))
    assert result["successCount"] == len(render_saved_objects(settings))


def test_import_errors_are_reported(settings, dashboards) -> None:
    url, handler = dashboards
    handler.answer = (
        200,
        {"success": False, "successCount": 0, "errors": [{"id": "x", "error": {"type": "conflict"}}]},
    )
    with pytest.raises(SavedObjectsError, match="conflict"):
        import_saved_objects(settings, url)
    handler.answer = (400, {"statusCode": 400, "error": "Bad Request", "message": "missing osd-xsrf"})
    with pytest.raises(SavedObjectsError, match="HTTP 400"):
        import_saved_objects(settings, url)
    with pytest.raises(SavedObjectsError, match="cannot reach"):
        import_saved_objects(settings, "http://127.0.0.1:9/", timeout_s=2)


def test_write_saved_objects(settings, tmp_path) -> None:
    path = write_saved_objects(settings, tmp_path / "x" / "objects.ndjson")
    assert len(validate_saved_objects(path.read_text().splitlines())) == len(render_saved_objects(settings))


def test_ensure_saved_objects_locally_writes_and_skips(settings) -> None:
    report = ensure_saved_objects(settings)
    assert "skipped" in report
    assert len(validate_saved_objects(Path(report["file"]).read_text().splitlines())) == len(
        render_saved_objects(settings)
    )


def test_ensure_saved_objects_imports_where_dashboards_runs(settings, dashboards) -> None:
    url, handler = dashboards
    report = ensure_saved_objects(settings, url)
    assert report["imported"] == len(render_saved_objects(settings)) and len(handler.received) == 1
