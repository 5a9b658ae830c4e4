"""The executive page: one printable page of KPIs per period (``wafad report``), as HTML and PDF.

:mod:`.period` (the period and the one a week earlier), :mod:`.queries` (traffic KPIs from the raw indices and
anomalous intervals from the results index), :mod:`.incidents` (incidents from the alert messages, or replayed from
the detector results with the alert policy), :mod:`.kpis` (one period's figures), :mod:`.view` (the view model:
formatted figures and week-over-week changes), :mod:`.render` (Jinja2, autoescaped), :mod:`.pdf` (headless
chromium's print-to-PDF), :mod:`.report` (all of it for ``wafad report`` and the demo).
"""
