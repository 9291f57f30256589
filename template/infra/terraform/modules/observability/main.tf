# Logs and the alarms a small team needs first, all sent to one SNS topic (one more in
# us-east-1, where CloudFront's and WAF's metrics live), and a monthly cost budget.

data "aws_caller_identity" "current" {}

locals {
  actions         = [aws_sns_topic.alarms.arn]
  global_actions  = [aws_sns_topic.global_alarms.arn]
  burstable_cache = startswith(var.cache_node_type, "cache.t")
  database_dimensions = (
    var.db_cluster_identifier != null
    ? { DBClusterIdentifier = var.db_cluster_identifier }
    : { DBInstanceIdentifier = var.db_instance_identifier }
  )
  load_balancer = { LoadBalancer = var.alb_arn_suffix, TargetGroup = var.target_group_arn_suffix }
}

resource "aws_cloudwatch_log_group" "app" {
  name              = var.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  #checkov:skip=CKV_AWS_158:CloudWatch encrypts logs by default; set kms_key_arn for a customer-managed key.
  #checkov:skip=CKV_AWS_338:Retention is var.log_retention_days (90 by default): a cost and compliance choice per environment.
}

resource "aws_sns_topic" "alarms" {
  name = "${var.name}-alarms"
  #checkov:skip=CKV_AWS_26:CloudWatch cannot publish to a topic encrypted with the AWS-managed SNS key, and alarm messages carry no secrets.
}

resource "aws_sns_topic_subscription" "email" {
  count     = var.alarm_email != null ? 1 : 0
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

# CloudWatch alarms and AWS Budgets of this account publish; the account manages the topic.
data "aws_iam_policy_document" "alarms" {
  statement {
    sid       = "AlarmsAndBudgets"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms.arn]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com", "budgets.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }

  statement {
    sid       = "AccountManages"
    actions   = ["sns:*"]
    resources = [aws_sns_topic.alarms.arn]
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
}

resource "aws_sns_topic_policy" "alarms" {
  arn    = aws_sns_topic.alarms.arn
  policy = data.aws_iam_policy_document.alarms.json
}

resource "aws_sns_topic" "global_alarms" {
  provider = aws.us_east_1
  name     = "${var.name}-alarms"
  #checkov:skip=CKV_AWS_26:CloudWatch cannot publish to a topic encrypted with the AWS-managed SNS key, and alarm messages carry no secrets.
}

resource "aws_sns_topic_subscription" "global_email" {
  count     = var.alarm_email != null ? 1 : 0
  provider  = aws.us_east_1
  topic_arn = aws_sns_topic.global_alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

# ----------------------------------------------------------------------------- cost

# Costs tagged Environment = this environment (activate the Project and Environment cost
# allocation tags once in the Billing console; in an account of its own, they are all of it).
resource "aws_budgets_budget" "monthly" {
  name         = "${var.name}-monthly"
  budget_type  = "COST"
  limit_amount = tostring(var.monthly_budget_usd)
  limit_unit   = "USD"
  time_unit    = "MONTHLY"

  cost_filter {
    name   = "TagKeyValue"
    values = [join("$", ["user:Environment", var.environment])]
  }

  notification {
    comparison_operator       = "GREATER_THAN"
    threshold                 = 80
    threshold_type            = "PERCENTAGE"
    notification_type         = "ACTUAL"
    subscriber_sns_topic_arns = local.actions
  }

  notification {
    comparison_operator       = "GREATER_THAN"
    threshold                 = 100
    threshold_type            = "PERCENTAGE"
    notification_type         = "FORECASTED"
    subscriber_sns_topic_arns = local.actions
  }

  depends_on = [aws_sns_topic_policy.alarms]
}

# ---------------------------------------------------------------------- web (ALB)

# None on ECS Express Mode (var.edge_metrics false): its load balancer is its own, watched by
# the deployment alarm Express Mode makes.
moved {
  from = aws_cloudwatch_metric_alarm.target_5xx
  to   = aws_cloudwatch_metric_alarm.target_5xx[0]
}

moved {
  from = aws_cloudwatch_metric_alarm.alb_5xx
  to   = aws_cloudwatch_metric_alarm.alb_5xx[0]
}

moved {
  from = aws_cloudwatch_metric_alarm.latency
  to   = aws_cloudwatch_metric_alarm.latency[0]
}

moved {
  from = aws_cloudwatch_metric_alarm.unhealthy_hosts
  to   = aws_cloudwatch_metric_alarm.unhealthy_hosts[0]
}

moved {
  from = aws_cloudwatch_metric_alarm.cloudfront_5xx
  to   = aws_cloudwatch_metric_alarm.cloudfront_5xx[0]
}

resource "aws_cloudwatch_metric_alarm" "target_5xx" {
  count               = var.edge_metrics ? 1 : 0
  alarm_name          = "${var.name}-web-5xx"
  alarm_description   = "The app answered more than 10 5xx responses in 5 minutes."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "HTTPCode_Target_5XX_Count"
  dimensions          = local.load_balancer
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 10
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
}

resource "aws_cloudwatch_metric_alarm" "alb_5xx" {
  count               = var.edge_metrics ? 1 : 0
  alarm_name          = "${var.name}-alb-5xx"
  alarm_description   = "The load balancer itself answered 5xx (no healthy task, timeouts) more than 10 times in 5 minutes."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "HTTPCode_ELB_5XX_Count"
  dimensions          = { LoadBalancer = var.alb_arn_suffix }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 10
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
}

resource "aws_cloudwatch_metric_alarm" "latency" {
  count               = var.edge_metrics ? 1 : 0
  alarm_name          = "${var.name}-web-latency"
  alarm_description   = "p95 response time above ${var.latency_threshold_seconds} s for 5 minutes."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "TargetResponseTime"
  dimensions          = local.load_balancer
  extended_statistic  = "p95"
  period              = 60
  evaluation_periods  = 5
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.latency_threshold_seconds
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
}

resource "aws_cloudwatch_metric_alarm" "unhealthy_hosts" {
  count               = var.edge_metrics ? 1 : 0
  alarm_name          = "${var.name}-web-unhealthy"
  alarm_description   = "A web task failed its health check for 3 minutes."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "UnHealthyHostCount"
  dimensions          = local.load_balancer
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
}

# ------------------------------------------------------------------ CloudFront and WAF

resource "aws_cloudwatch_metric_alarm" "cloudfront_5xx" {
  count               = var.edge_metrics ? 1 : 0
  provider            = aws.us_east_1
  alarm_name          = "${var.name}-cloudfront-5xx"
  alarm_description   = "More than ${var.cloudfront_5xx_percent} % of viewer requests answered 5xx for 10 minutes (the app, the ALB or the origin connection)."
  namespace           = "AWS/CloudFront"
  metric_name         = "5xxErrorRate"
  dimensions          = { DistributionId = var.distribution_id, Region = "Global" }
  statistic           = "Average"
  period              = 300
  evaluation_periods  = 2
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.cloudfront_5xx_percent
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.global_actions
  ok_actions          = local.global_actions
}

# Many blocks are an attack, or a managed rule refusing real users' requests.
resource "aws_cloudwatch_metric_alarm" "waf_blocks" {
  count               = var.web_acl_name != null ? 1 : 0
  provider            = aws.us_east_1
  alarm_name          = "${var.name}-waf-blocks"
  alarm_description   = "WAF blocked more than ${var.waf_blocks_threshold} requests in 5 minutes: an attack, or a rule refusing real users (see the sampled requests)."
  namespace           = "AWS/WAFV2"
  metric_name         = "BlockedRequests"
  dimensions          = { WebACL = var.web_acl_name, Rule = "ALL" }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.waf_blocks_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.global_actions
  ok_actions          = local.global_actions
}

# -------------------------------------------------------------------------- database

resource "aws_cloudwatch_metric_alarm" "db_cpu" {
  alarm_name          = "${var.name}-db-cpu"
  alarm_description   = "Database CPU above 80 % for 15 minutes."
  namespace           = "AWS/RDS"
  metric_name         = "CPUUtilization"
  dimensions          = local.database_dimensions
  statistic           = "Average"
  period              = 300
  evaluation_periods  = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = 80
  alarm_actions       = local.actions
  ok_actions          = local.actions
}

resource "aws_cloudwatch_metric_alarm" "db_connections" {
  alarm_name          = "${var.name}-db-connections"
  alarm_description   = "More than ${var.db_connections_threshold} database connections for 10 minutes."
  namespace           = "AWS/RDS"
  metric_name         = "DatabaseConnections"
  dimensions          = local.database_dimensions
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 2
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.db_connections_threshold
  alarm_actions       = local.actions
  ok_actions          = local.actions
}

# Aurora storage grows by itself; an RDS instance can fill up.
resource "aws_cloudwatch_metric_alarm" "db_free_storage" {
  count               = var.db_instance_identifier != null ? 1 : 0
  alarm_name          = "${var.name}-db-free-storage"
  alarm_description   = "Less than ${var.db_free_storage_threshold_bytes} bytes of free database storage."
  namespace           = "AWS/RDS"
  metric_name         = "FreeStorageSpace"
  dimensions          = local.database_dimensions
  statistic           = "Minimum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "LessThanThreshold"
  threshold           = var.db_free_storage_threshold_bytes
  alarm_actions       = local.actions
  ok_actions          = local.actions
}

# Serverless v2 at its ceiling: queries queue for CPU and memory (raise the max capacity).
resource "aws_cloudwatch_metric_alarm" "db_acu" {
  count               = var.db_serverless ? 1 : 0
  alarm_name          = "${var.name}-db-acu"
  alarm_description   = "Aurora Serverless v2 above 90 % of its maximum capacity for 15 minutes."
  namespace           = "AWS/RDS"
  metric_name         = "ACUUtilization"
  dimensions          = local.database_dimensions
  statistic           = "Average"
  period              = 300
  evaluation_periods  = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = 90
  alarm_actions       = local.actions
  ok_actions          = local.actions
}

# The proxy waits for a free database connection (the pool is exhausted)...
resource "aws_cloudwatch_metric_alarm" "proxy_borrow_latency" {
  count               = var.db_proxy_name != null ? 1 : 0
  alarm_name          = "${var.name}-proxy-borrow-latency"
  alarm_description   = "RDS Proxy took over 50 ms on average to hand out a database connection for 10 minutes: the pool is exhausted."
  namespace           = "AWS/RDS"
  metric_name         = "DatabaseConnectionsBorrowLatency"
  dimensions          = { ProxyName = var.db_proxy_name }
  statistic           = "Average"
  period              = 300
  evaluation_periods  = 2
  comparison_operator = "GreaterThanThreshold"
  threshold           = 50000 # microseconds
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
}

# ...or refuses a login (a password rotated in one place only, the app role not created).
resource "aws_cloudwatch_metric_alarm" "proxy_failed_logins" {
  count               = var.db_proxy_name != null ? 1 : 0
  alarm_name          = "${var.name}-proxy-failed-logins"
  alarm_description   = "RDS Proxy refused client logins: a secret and the database disagree on a password."
  namespace           = "AWS/RDS"
  metric_name         = "ClientConnectionsSetupFailedAuth"
  dimensions          = { ProxyName = var.db_proxy_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
}

# ----------------------------------------------------------------------------- Redis

# An evicted key may be a queued Celery task: it is lost.
resource "aws_cloudwatch_metric_alarm" "cache_evictions" {
  for_each            = toset(var.cache_node_ids)
  alarm_name          = "${each.key}-evictions"
  alarm_description   = "Redis evicted keys: it is out of memory, and queued tasks may be lost."
  namespace           = "AWS/ElastiCache"
  metric_name         = "Evictions"
  dimensions          = { CacheClusterId = each.key }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
}

# Burstable nodes (cache.t*) slow to their baseline once the credits are spent.
resource "aws_cloudwatch_metric_alarm" "cache_cpu_credits" {
  for_each            = local.burstable_cache ? toset(var.cache_node_ids) : toset([])
  alarm_name          = "${each.key}-cpu-credits"
  alarm_description   = "Redis node below ${var.cache_cpu_credits_threshold} CPU credits: it will soon run at its baseline (choose a larger or non-burstable node)."
  namespace           = "AWS/ElastiCache"
  metric_name         = "CPUCreditBalance"
  dimensions          = { CacheClusterId = each.key }
  statistic           = "Minimum"
  period              = 300
  evaluation_periods  = 2
  comparison_operator = "LessThanThreshold"
  threshold           = var.cache_cpu_credits_threshold
  alarm_actions       = local.actions
  ok_actions          = local.actions
}

resource "aws_cloudwatch_metric_alarm" "cache_memory" {
  for_each            = toset(var.cache_node_ids)
  alarm_name          = "${each.key}-memory"
  alarm_description   = "Redis memory above 80 %: the broker may start refusing tasks."
  namespace           = "AWS/ElastiCache"
  metric_name         = "DatabaseMemoryUsagePercentage"
  dimensions          = { CacheClusterId = each.key }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 2
  comparison_operator = "GreaterThanThreshold"
  threshold           = 80
  alarm_actions       = local.actions
  ok_actions          = local.actions
}

# -------------------------------------------------------------------------- queues

# Missing data counts as breaching: a silent queue-metrics service is an alarm too.
resource "aws_cloudwatch_metric_alarm" "queue_depth" {
  for_each            = toset(var.queues)
  alarm_name          = "${var.name}-queue-${each.key}-depth"
  alarm_description   = "More than ${var.queue_depth_threshold} messages waiting in ${each.key} for 15 minutes (or no depth published)."
  namespace           = var.metric_namespace
  metric_name         = "QueueDepth"
  dimensions          = { Queue = each.key }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.queue_depth_threshold
  treat_missing_data  = "breaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
}

# ---------------------------------------------------------------------------- services

# A service short of its tasks for 10 minutes: crash loops after a deploy that went
# "stable", a beat that keeps dying, capacity Fargate could not find. Queue depth cannot
# tell: a dead beat leaves the queues empty.
resource "aws_cloudwatch_metric_alarm" "tasks_missing" {
  for_each            = toset(var.service_names)
  alarm_name          = "${each.key}-tasks-missing"
  alarm_description   = "${each.key} ran fewer tasks than desired for 10 minutes."
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  evaluation_periods  = 2
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions

  metric_query {
    id          = "missing"
    expression  = "desired - running"
    label       = "Tasks missing"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = { desired = "DesiredTaskCount", running = "RunningTaskCount" }
    content {
      id = metric_query.key
      metric {
        namespace   = "ECS/ContainerInsights"
        metric_name = metric_query.value
        dimensions  = { ClusterName = var.cluster_name, ServiceName = each.key }
        stat        = "Minimum"
        period      = 300
      }
    }
  }
}
