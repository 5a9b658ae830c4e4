"""``wafad capacity``: a capacity and cost model for running wafad in production (quotas and list prices in
:mod:`capacity.prices`, the arithmetic in :mod:`capacity.model`, the command in :mod:`capacity.cli`)."""
