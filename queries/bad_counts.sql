-- Per interval: requests and the number of "bad" values per seed field, the features the detectors sum
-- (bad = outside the catalogue's allow-list, missing included). {{indicator_records}}: the window's records as ts +
-- the 0/1 indicator columns, generated from wafad/catalogue.py.
SELECT
  from_unixtime(floor(ts / {{interval_ms}}) * {{interval_s}}) AS interval_start,
  count(*) AS requests,
  {{indicator_sums}}
FROM ({{indicator_records}}) AS r
GROUP BY 1
ORDER BY 1
