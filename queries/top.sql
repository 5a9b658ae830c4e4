-- The busiest client IPs and the most requested URIs in the window (--limit of each), with the requests WAF did not allow.
WITH r AS (
  SELECT httpRequest.clientIp AS client_ip, httpRequest.uri AS uri, CASE WHEN action = 'ALLOW' THEN 0 ELSE 1 END AS not_allowed
  FROM waf_logs
  WHERE {{in_window}}
),
g AS (
  SELECT 'client_ip' AS dimension, client_ip AS value, count(*) AS requests, sum(not_allowed) AS not_allowed,
    count(DISTINCT uri) AS distinct_others
  FROM r GROUP BY client_ip
  UNION ALL
  SELECT 'uri', uri, count(*), sum(not_allowed), count(DISTINCT client_ip)
  FROM r GROUP BY uri
)
SELECT dimension, place, value, requests, not_allowed, distinct_others
FROM (SELECT g.*, row_number() OVER (PARTITION BY dimension ORDER BY requests DESC, value) AS place FROM g) AS ranked
WHERE place <= {{limit}}
ORDER BY dimension, place
