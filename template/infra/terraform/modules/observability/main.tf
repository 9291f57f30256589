# Logs and the alarms a small team needs first, all sent to one SNS topic.

locals {
  actions = [aws_sns_topic.alarms.arn]
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

# ---------------------------------------------------------------------- web (ALB)

resource "aws_cloudwatch_metric_alarm" "target_5xx" {
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

# ----------------------------------------------------------------------------- Redis

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
