-- Requests per interval by action, source, status class, country and method (long format: one row per value).
-- {{interval_ms}}/{{interval_s}}: the interval; {{in_window}}: the records of the window, on "timestamp" and on the
-- partition column log_time (so that Athena reads only the folders that can hold them).
WITH w AS (
  SELECT
    from_unixtime(floor("timestamp" / {{interval_ms}}) * {{interval_s}}) AS interval_start,
    action,
    httpSourceName AS source,
    CASE WHEN httpStatus IS NULL THEN 'none' ELSE substr(CAST(httpStatus AS varchar), 1, 1) || 'xx' END AS status_class,
    httpRequest.country AS country,
    httpRequest.httpMethod AS method
  FROM waf_logs
  WHERE {{in_window}}
)
SELECT interval_start, field, value, count(*) AS requests
FROM (
  SELECT interval_start, 'action' AS field, coalesce(action, '(missing)') AS value FROM w
  UNION ALL SELECT interval_start, 'httpSourceName', coalesce(source, '(missing)') FROM w
  UNION ALL SELECT interval_start, 'httpStatus', status_class FROM w
  UNION ALL SELECT interval_start, 'country', coalesce(country, '(missing)') FROM w
  UNION ALL SELECT interval_start, 'httpMethod', coalesce(method, '(missing)') FROM w
) AS v
GROUP BY interval_start, field, value
ORDER BY interval_start, field, value
