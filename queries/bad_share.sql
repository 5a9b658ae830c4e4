-- For each labelled anomaly window of a seed field (ground truth: the simulator's labels file), the share of that
-- field's bad values inside the window and in the rest of the query window. {{windows}}: one VALUES row per window
-- (field, start_ms, end_ms, intensity); {{indicator_records}}: the window's records, ts + 0/1 bad indicators.
WITH windows (field, window_start_ms, window_end_ms, intensity) AS (
  VALUES {{windows}}
),
r AS ({{indicator_records}}),
j AS (
  SELECT
    w.field, w.window_start_ms, w.window_end_ms, w.intensity,
    CASE WHEN r.ts >= w.window_start_ms AND r.ts < w.window_end_ms THEN 1 ELSE 0 END AS inside,
    {{indicator_of_w_field}} AS bad
  FROM windows AS w CROSS JOIN r
)
SELECT
  field,
  from_unixtime(window_start_ms / 1000) AS window_start,
  from_unixtime(window_end_ms / 1000) AS window_end,
  intensity,
  sum(inside) AS requests_inside,
  sum(inside * bad) AS bad_inside,
  round(CAST(sum(inside * bad) AS double) / nullif(sum(inside), 0), 4) AS share_inside,
  sum(1 - inside) AS requests_outside,
  sum((1 - inside) * bad) AS bad_outside,
  round(CAST(sum((1 - inside) * bad) AS double) / nullif(sum(1 - inside), 0), 4) AS share_outside
FROM j
GROUP BY field, window_start_ms, window_end_ms, intensity
ORDER BY window_start_ms, field
