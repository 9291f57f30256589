variable "name" {
  description = "Prefix of every name, <project>-<environment>."
  type        = string
}

variable "log_group_name" {
  description = "The containers' log group, /ecs/<project>/<environment> (deploy/ecs/*.json)."
  type        = string
}

variable "log_retention_days" {
  description = "Days to keep container logs."
  type        = number
  default     = 90
}

variable "kms_key_arn" {
  description = "A customer-managed key for the logs (null: CloudWatch's own encryption)."
  type        = string
  default     = null
}

variable "alarm_email" {
  description = "An address subscribed to the alarm topic (null: subscribe later)."
  type        = string
  default     = null
}

variable "edge_metrics" {
  description = "Alarm on our load balancer and CloudFront (modules/edge); false on ECS Express Mode."
  type        = bool
  default     = true
}

variable "alb_arn_suffix" {
  description = "The load balancer's CloudWatch dimension."
  type        = string
}

variable "target_group_arn_suffix" {
  description = "The web target group's CloudWatch dimension."
  type        = string
}

variable "latency_threshold_seconds" {
  description = "Alarm when the web's p95 response time stays above this."
  type        = number
  default     = 2
}

variable "db_instance_identifier" {
  description = "The RDS instance (null on Aurora)."
  type        = string
  default     = null
}

variable "db_cluster_identifier" {
  description = "The Aurora cluster (null on RDS)."
  type        = string
  default     = null
}

variable "db_connections_threshold" {
  description = "Alarm when the database holds more connections than this: about 80 % of max_connections, which RDS sets from the instance's memory (SHOW max_connections)."
  type        = number
}

variable "db_free_storage_threshold_bytes" {
  description = "Alarm when the RDS instance has less free storage than this."
  type        = number
  default     = 5368709120 # 5 GiB
}

variable "cache_node_ids" {
  description = "The ElastiCache nodes."
  type        = list(string)
}

variable "metric_namespace" {
  description = "Namespace of the QueueDepth metric."
  type        = string
}

variable "queues" {
  description = "Celery queues (one depth alarm each)."
  type        = list(string)
}

variable "queue_depth_threshold" {
  description = "Alarm when a queue holds more messages than this for 15 minutes."
  type        = number
  default     = 1000
}

variable "cluster_name" {
  description = "The ECS cluster of var.service_names."
  type        = string
}

variable "service_names" {
  description = "ECS services that alarm when they run fewer tasks than desired."
  type        = list(string)
}

variable "environment" {
  description = "dev, staging or production: the Environment tag the budget counts."
  type        = string
}

variable "monthly_budget_usd" {
  description = "Monthly cost (USD) the budget warns about (80 % actual, 100 % forecast)."
  type        = number
}

variable "cache_node_type" {
  description = "The ElastiCache node type (burstable cache.t* nodes get a CPU credit alarm)."
  type        = string
}

variable "cache_cpu_credits_threshold" {
  description = "Alarm when a burstable Redis node has fewer CPU credits than this."
  type        = number
  default     = 20
}

variable "db_serverless" {
  description = "Aurora Serverless v2 (an ACU utilization alarm)."
  type        = bool
}

variable "db_proxy_name" {
  description = "The RDS Proxy (null without one)."
  type        = string
  default     = null
}

variable "distribution_id" {
  description = "The CloudFront distribution (its 5xx rate alarms)."
  type        = string
}

variable "cloudfront_5xx_percent" {
  description = "Alarm when more than this percentage of viewer requests get a 5xx."
  type        = number
  default     = 5
}

variable "web_acl_name" {
  description = "The WAF web ACL (null without WAF)."
  type        = string
  default     = null
}

variable "waf_blocks_threshold" {
  description = "Alarm when WAF blocks more requests than this in 5 minutes."
  type        = number
  default     = 1000
}
