"""One module per dashboard section: each turns :class:`~dashboard.data.loader.DashboardData` into plain data
for its template (``dashboard/templates/<section>.html.j2``); charts are registered as
:class:`~dashboard.chartspec.TimeChart` specs for the page's script."""
