"""OpenSearch sizing for ``wafad capacity``: daily index size, primary shards, data nodes per instance type, and the
Anomaly Detection plugin's limits (detectors, HC entities that fit in AD's share of the heap).

Storage follows AWS's bp-storage guidance (index overhead, Linux and service reservations), filled to OpenSearch's
low disk watermark; shards follow bp-sharding (at most 50 GiB each, at most 25 per GiB of heap). The entity model
size is AD's own estimate (``MemoryTracker.estimateTRCFModelSize``), ported below.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from capacity import prices as p


@dataclass
class NodeOption:
    instance: str
    nodes: int
    nodes_by_storage: int
    nodes_by_shards: int
    nodes_by_ad: int
    volume_gib: int
    heap_gib: float
    cost_month: float


@dataclass
class OpenSearchPlan:
    doc_bytes: float
    primary_gib_per_day: float
    primaries_per_index: int
    shard_gib: float
    indices_kept: int  # retention days + today's index
    shards_total: int
    store_gib: float  # primaries and replicas of every index kept
    instance: str
    data_nodes: int
    volume_gib: int
    master_nodes: int
    cost_month: float
    options: list[NodeOption] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def ceil_exact(x: float) -> int:
    """``math.ceil`` that reads 2.0000000001 (float noise) as 2."""
    return math.ceil(round(x, 9))


def heap_gib(ram_gib: float) -> float:
    return min(ram_gib * p.QUOTAS["os_heap_fraction"], p.QUOTAS["os_heap_max_gib"])


def usable_gib(volume_gib: float) -> float:
    """What a data node's volume holds for indices: less Linux's 5 % and the service's 20 % (at most 20 GiB)."""
    reserved = min(volume_gib * p.QUOTAS["os_service_reserved"], p.QUOTAS["os_service_reserved_max_gib"])
    return volume_gib * (1 - p.QUOTAS["os_linux_reserved"]) - reserved


def volume_for(needed_gib: float) -> int:
    """The smallest volume whose usable space, filled to the low watermark, holds ``needed_gib``."""
    target = needed_gib / p.QUOTAS["os_disk_watermark_low"]
    lin, svc, cap = (
        p.QUOTAS["os_linux_reserved"],
        p.QUOTAS["os_service_reserved"],
        p.QUOTAS["os_service_reserved_max_gib"],
    )
    small = target / (1 - lin - svc)  # while 20 % of the volume is under the 20 GiB cap
    vol = small if small * svc <= cap else (target + cap) / (1 - lin)
    return max(10, ceil_exact(vol))


def trcf_model_bytes(
    features: int, *, trees: int = 50, samples: int = 256, shingle: int = 8, cache: float = 0.0
) -> int:
    """AD's estimate of one entity model's heap (MemoryTracker.estimateTRCFModelSize in opensearch-project/
    anomaly-detection, src/main/java/org/opensearch/timeseries/MemoryTracker.java), for ``features`` x ``shingle``."""
    dimension = features * shingle
    base = dimension / shingle
    constants = {1: 1.0, 2: 0.53, 4: 0.27, 8: 0.18, 16: 0.13, 32: 0.07, 64: 0.05, 128: 0.05}
    point_store = next(c for s, c in constants.items() if shingle <= s)
    capacity = max(samples * trees + 1, 2 * samples)
    point_type = 4 if shingle * capacity >= 0xFFFF else 2
    box_exists = 1 if cache > 0 else 0
    if samples - 1 < 256 and dimension <= 256:
        node_store = 10 * samples + 208
    elif samples - 1 < 65535 and dimension <= 65535:
        node_store = 16 * samples + 202
    else:
        node_store = 20 * samples + 198
    return int(
        152 * base
        + 4 * dimension * point_store * samples * trees
        + 64 * dimension
        + point_type * samples * trees
        + 4 * shingle
        + samples * trees
        + trees
        * (32 * box_exists + 8 * cache * dimension * samples + 8 * cache * samples + node_store + 8 * samples + 352)
        + 3944
    )


def _option(instance: str, store_gib: float, shards_total: int, min_nodes: int, ad_bytes: float) -> NodeOption:
    price, ram, max_volume = p.INSTANCES[instance]
    heap = heap_gib(ram)
    by_storage = ceil_exact(store_gib / (usable_gib(max_volume) * p.QUOTAS["os_disk_watermark_low"]))
    by_shards = ceil_exact(shards_total / (p.QUOTAS["os_shards_per_heap_gib"] * heap))
    by_ad = ceil_exact(ad_bytes / (heap * p.GIB * p.QUOTAS["ad_model_max_size_percent"]))
    nodes = max(min_nodes, by_storage, by_shards, by_ad)
    volume = volume_for(store_gib / nodes)
    cost = nodes * (price * p.HOURS_PER_MONTH + volume * p.PRICES["os_gp3_gb_month"])
    return NodeOption(instance, nodes, by_storage, by_shards, by_ad, volume, heap, cost)


def catalogue_detector_counts() -> tuple[int, int]:
    """(single-stream, high-cardinality) detectors in wafad's catalogue."""
    from wafad.catalogue import DETECTORS

    hc = sum(1 for d in DETECTORS if d.is_high_cardinality)
    return len(DETECTORS) - hc, hc


def ad_model_bytes(hc_entities: int, features: int) -> int:
    """Heap for every entity model of the catalogue's HC detectors (each sees ``hc_entities`` entities)."""
    return hc_entities * max(1, catalogue_detector_counts()[1]) * trcf_model_bytes(features)


def opensearch_plan(
    records_per_second: float, doc_bytes: float, retention_days: int, replicas: int, ad_bytes: float
) -> OpenSearchPlan:
    """Daily indices kept ``retention_days`` (ISM) plus today's, ``replicas`` copies of each primary; enough heap
    for ``ad_bytes`` of entity models in AD's share."""
    primary_day = records_per_second * 86400 * doc_bytes * (1 + p.QUOTAS["os_index_overhead"]) / p.GIB
    primaries = max(1, ceil_exact(primary_day / p.QUOTAS["os_shard_gib_max"]))
    kept = retention_days + 1
    shards_total = primaries * (1 + replicas) * kept
    store = primary_day * (1 + replicas) * kept
    options = [_option(name, store, shards_total, replicas + 1, ad_bytes) for name in p.INSTANCES]
    within = [o for o in options if o.nodes <= p.QUOTAS["os_max_data_nodes"]] or options
    best = min(within, key=lambda o: (o.cost_month, o.nodes))
    masters = p.MASTER_COUNT
    master_cost = masters * p.INSTANCES[p.MASTER_INSTANCE][0] * p.HOURS_PER_MONTH
    warnings = []
    if best.nodes > p.QUOTAS["os_max_data_nodes"]:
        warnings.append(f"OpenSearch: {best.nodes} data nodes is over the default 80 per domain; ask for more")
    if primary_day / primaries < p.QUOTAS["os_shard_gib_min"] and primaries > 1:
        warnings.append(f"shards of {primary_day / primaries:.1f} GiB are under the 10 GiB guidance")
    return OpenSearchPlan(
        doc_bytes,
        primary_day,
        primaries,
        primary_day / primaries,
        kept,
        shards_total,
        store,
        best.instance,
        best.nodes,
        best.volume_gib,
        masters,
        best.cost_month + master_cost,
        options,
        warnings,
    )


@dataclass
class ADPlan:
    catalogue_detectors: int
    catalogue_hc_detectors: int
    max_detectors: int
    max_hc_detectors: int
    model_bytes_per_entity: int
    ad_heap_share: float
    models_per_node: int
    hc_entities_fit: int  # over all data nodes, for every HC detector together
    hc_entities_needed: int
    dedicated_cache_size: int
    warnings: list[str] = field(default_factory=list)


def ad_plan(os_plan: OpenSearchPlan, hc_entities: int, features: int) -> ADPlan:
    """Which AD limits bite: detectors against the plugin's caps, entity models against AD's share of the heap."""
    single, hc = catalogue_detector_counts()
    model = trcf_model_bytes(features)
    heap = heap_gib(p.INSTANCES[os_plan.instance][1])
    per_node = int(heap * p.GIB * p.QUOTAS["ad_model_max_size_percent"] // model)
    fit = per_node * os_plan.data_nodes
    needed = hc_entities * max(hc, 1)
    warnings = []
    if needed > fit:
        warnings.append(f"AD: {needed:,} entity models need more than the {fit:,} that fit in 10 % of the heap")
    if hc > p.QUOTAS["ad_max_hc_detectors"]:
        warnings.append(f"AD: {hc} HC detectors exceed max_multi_entity_anomaly_detectors (10)")
    return ADPlan(
        single,
        hc,
        int(p.QUOTAS["ad_max_detectors"]),
        int(p.QUOTAS["ad_max_hc_detectors"]),
        model,
        p.QUOTAS["ad_model_max_size_percent"],
        per_node,
        fit,
        needed,
        int(p.QUOTAS["ad_dedicated_cache_size"]),
        warnings,
    )
