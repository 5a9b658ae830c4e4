-- Requests and bad values of each seed field per ground-truth segment: {{segments}} has one VALUES row per
-- (field, segment) where the labelled intensity is constant (field, segment_start_ms, segment_end_ms).
-- `wafad sql --saved distribution` compares each row with the bad rate the simulator was asked for.
WITH segments (field, segment_start_ms, segment_end_ms) AS (
  VALUES {{segments}}
),
r AS ({{indicator_records}})
SELECT
  w.field, w.segment_start_ms, w.segment_end_ms,
  count(r.ts) AS requests,
  coalesce(sum({{indicator_of_w_field}}), 0) AS bad
FROM segments AS w
LEFT JOIN r ON r.ts >= w.segment_start_ms AND r.ts < w.segment_end_ms
GROUP BY w.field, w.segment_start_ms, w.segment_end_ms
ORDER BY w.field, w.segment_start_ms
