-- The Athena (Glue) table over the raw AWS WAF logs in S3: the ONE definition of the waf_logs columns.
-- `wafad ensure-infrastructure` (target aws) creates it through Glue from this file; `wafad sql` gives DuckDB's
-- waf_logs view the same columns, types and partition column, so a query runs unchanged on both.
-- Field names keep the log's own spelling (Athena lower-cases them; DuckDB's JSON reader needs the exact keys).
-- {{database}} and {{location}} are filled in by wafad (`wafad sql --ddl` prints the result for the console).
CREATE EXTERNAL TABLE IF NOT EXISTS `{{database}}`.`waf_logs` (
  `timestamp` bigint,
  `formatVersion` int,
  `webaclId` string,
  `terminatingRuleId` string,
  `terminatingRuleType` string,
  `action` string,
  `terminatingRuleMatchDetails` array<struct<conditionType:string,sensitivityLevel:string,location:string,matchedData:array<string>,matchedFieldName:string>>,
  `httpSourceName` string,
  `httpSourceId` string,
  `ruleGroupList` array<struct<ruleGroupId:string,terminatingRule:struct<ruleId:string,action:string,ruleMatchDetails:array<struct<conditionType:string,sensitivityLevel:string,location:string,matchedData:array<string>,matchedFieldName:string>>>,nonTerminatingMatchingRules:array<struct<ruleId:string,action:string,overriddenAction:string,ruleMatchDetails:array<struct<conditionType:string,sensitivityLevel:string,location:string,matchedData:array<string>,matchedFieldName:string>>,captchaResponse:struct<responseCode:int,solveTimestamp:bigint,failureReason:string>,challengeResponse:struct<responseCode:int,solveTimestamp:bigint,failureReason:string>>>,excludedRules:array<struct<exclusionType:string,ruleId:string>>,customerConfig:string>>,
  `rateBasedRuleList` array<struct<rateBasedRuleId:string,rateBasedRuleName:string,limitKey:string,maxRateAllowed:int,evaluationWindowSec:string,customValues:array<struct<key:string,name:string,value:string>>,limitValue:string>>,
  `nonTerminatingMatchingRules` array<struct<ruleId:string,action:string,overriddenAction:string,ruleMatchDetails:array<struct<conditionType:string,sensitivityLevel:string,location:string,matchedData:array<string>,matchedFieldName:string>>,captchaResponse:struct<responseCode:int,solveTimestamp:bigint,failureReason:string>,challengeResponse:struct<responseCode:int,solveTimestamp:bigint,failureReason:string>>>,
  `requestHeadersInserted` array<struct<name:string,value:string>>,
  `responseCodeSent` int,
  `httpRequest` struct<clientIp:string,country:string,headers:array<struct<name:string,value:string,myValue:string>>,uri:string,args:string,httpVersion:string,httpMethod:string,requestId:string,fragment:string,scheme:string,host:string>,
  `labels` array<struct<name:string>>,
  `captchaResponse` struct<responseCode:int,solveTimestamp:bigint,failureReason:string>,
  `challengeResponse` struct<responseCode:int,solveTimestamp:bigint,failureReason:string>,
  `ja3Fingerprint` string,
  `ja4Fingerprint` string,
  `oversizeFields` array<string>,
  `requestBodySize` int,
  `requestBodySizeInspectedByWAF` int,
  `httpStatus` int COMMENT 'wafad extension: the origin status for ALLOWed requests, what WAF answered otherwise'
)
PARTITIONED BY (
  `log_time` string COMMENT 'the key date path yyyy/MM/dd/HH/mm (WAF writes an object every 5 minutes)'
)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
STORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION '{{location}}'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.log_time.type' = 'date',
  'projection.log_time.format' = 'yyyy/MM/dd/HH/mm',
  'projection.log_time.range' = '2020/01/01/00/00,NOW',
  'projection.log_time.interval' = '1',
  'projection.log_time.interval.unit' = 'MINUTES',
  'storage.location.template' = '{{location}}${log_time}',
  'classification' = 'json'
)
