"""OpenSearch Dashboards saved objects for wafad, rendered for the configured index names, and their import.

The objects follow the saved-objects export format (one JSON object per ndjson line:
``{"type", "id", "attributes", "references", "migrationVersion"}``; ``visState``, ``uiStateJSON``,
``panelsJSON``, ``optionsJSON`` and ``kibanaSavedObjectMeta.searchSourceJSON`` are JSON *strings*; index
patterns and panels are linked through ``references`` with ``indexRefName`` / ``panelRefName``):

* index pattern ``<index_prefix>-*`` (time field ``@timestamp``) and one for the AD results (``data_end_time``);
* visualisations: requests and the five indicator fields over time, requests by action (the seed's historical
  block view), HTTP status classes and unknown countries over time (the seed's live trends), top countries /
  client IPs / URIs, AD anomaly grade and confidence per detector over time, anomalies per detector;
* a saved search of suspicious requests (Discover columns: action, status, client IP, country, method, uri, args);
* one dashboard with all of them.

Modules: :mod:`.aggs` (aggregation and chart parameter pieces), :mod:`.build` (the objects, ndjson),
:mod:`.validate` (the export shape check), :mod:`.importer` (``/api/saved_objects/_import?overwrite=true``,
multipart, header ``osd-xsrf: true``; ``ensure_saved_objects`` for ensure-infrastructure). The committed default
rendering is ``dashboard/saved_objects/wafad.ndjson``.
"""
