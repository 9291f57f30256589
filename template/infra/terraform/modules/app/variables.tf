# ---- from the template's answers (the same in every environment) --------------------

variable "project" {
  description = "The project slug: prefixes every name (<project>-<environment>-...)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,14}[a-z0-9]$", var.project))
    error_message = "Expected 3-16 lowercase letters, digits or dashes."
  }
}

variable "environment" {
  description = "dev, staging or production."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "production"], var.environment)
    error_message = "Expected dev, staging or production."
  }
}

variable "domain" {
  description = "The environment's host name."
  type        = string
}

variable "hosted_zone_name" {
  description = "The public Route 53 zone that holds var.domain."
  type        = string
}

variable "github_repository" {
  description = "owner/name of the repository that deploys."
  type        = string
}

variable "compute" {
  description = "ecs: ECS services behind our load balancer and CloudFront; express: one ECS Express Mode web service (docs/express.md)."
  type        = string
  default     = "ecs"

  validation {
    condition     = contains(["ecs", "express"], var.compute)
    error_message = "Expected ecs or express."
  }
}

variable "queues" {
  description = "Celery queues, one worker service each (empty without Celery)."
  type        = list(string)
}

variable "beat" {
  description = "Run celery beat."
  type        = bool
}

variable "scheduler" {
  description = "beat: the beat service sends the periodic tasks (var.beat); eventbridge: EventBridge Scheduler does, from infra/terraform/schedules.json (modules/schedules)."
  type        = string
  default     = "beat"

  validation {
    condition     = contains(["beat", "eventbridge"], var.scheduler)
    error_message = "Expected beat or eventbridge."
  }
}

variable "elasticache" {
  description = "Build ElastiCache Redis: the Redis broker, Redis results or Channels need it. Without it the containers get CACHE_URL=locmem:// (a cache per process)."
  type        = bool
  default     = true
}

variable "celery_app" {
  description = "The module `celery --app` takes; EventBridge Scheduler's enqueue tasks pass it on (scheduler eventbridge, broker redis)."
  type        = string
  default     = null
}

variable "broker" {
  description = "The Celery broker: redis (ElastiCache) or sqs (modules/queues)."
  type        = string
  default     = "redis"

  validation {
    condition     = contains(["redis", "sqs"], var.broker)
    error_message = "Expected redis or sqs."
  }
}

variable "static_on_s3" {
  description = "Static files on S3 behind CloudFront (else WhiteNoise in the image)."
  type        = bool
}

variable "media_on_s3" {
  description = "Uploaded files on S3, served by CloudFront to URLs the app signs."
  type        = bool
}

variable "email_on_ses" {
  description = "Send email through Amazon SES as the environment's domain (modules/email); false keeps the app's own email settings."
  type        = bool
  default     = false
}

variable "database_engine" {
  description = "rds-postgres, aurora-postgres or aurora-serverless."
  type        = string
}

variable "rds_proxy" {
  description = "Connect through RDS Proxy (per environment: on Aurora Serverless v2 it bills at least 8 ACUs)."
  type        = bool
}

variable "dms_enabled" {
  description = "AWS DMS (full load and CDC) from the old database, for the cutover; false removes it."
  type        = bool
  default     = false
}

variable "dms_source_database_name" {
  description = "The database DMS copies on the source server (null: the app's database name)."
  type        = string
  default     = null
}

variable "image_tag" {
  description = "Tag of the image in the ECR repository that the first task definition revisions run; the pipeline registers every later revision."
  type        = string
}

# ---- per environment (terraform.tfvars) ---------------------------------------------

variable "route_domain" {
  description = "Point var.domain at CloudFront; false until the cutover's DNS flip."
  type        = bool
}

variable "background_jobs" {
  description = "Run the Celery workers and beat; false until the cutover (the old platform runs them)."
  type        = bool
}

variable "az_count" {
  description = "Availability zones (2 or 3)."
  type        = number
}

variable "nat_gateway_per_az" {
  description = "A NAT gateway per zone (production) or one shared (cheaper)."
  type        = bool
}

variable "vpc_endpoints" {
  description = "Interface endpoints for AWS APIs (less NAT traffic, ~$7/month each per zone)."
  type        = bool
}

variable "multi_az" {
  description = "Database standby and Redis replica in another zone."
  type        = bool
}

variable "deletion_protection" {
  description = "Protect the database and the load balancer from deletion."
  type        = bool
}

variable "db_instance_class" {
  description = "RDS / provisioned Aurora instance class."
  type        = string
}

variable "db_serverless_min_capacity" {
  description = "Aurora Serverless v2: fewest ACUs (each about 2 GiB of memory); the floor is also the warm buffer cache."
  type        = number
  default     = 0.5
}

variable "db_serverless_max_capacity" {
  description = "Aurora Serverless v2: most ACUs."
  type        = number
  default     = 8
}

variable "db_connections_alarm" {
  description = "Alarm above this many database connections (about 80 % of the instance's max_connections)."
  type        = number
}

variable "db_performance_insights" {
  description = "Performance Insights (not available on db.t4g.micro/small)."
  type        = bool
}

variable "postgres_version" {
  description = "PostgreSQL version: a major (RDS, e.g. 17) or major.minor (Aurora, e.g. 17.4); null picks one."
  type        = string
  default     = null
}

variable "cache_node_type" {
  description = "ElastiCache node type."
  type        = string
}

variable "web_min_count" {
  description = "Fewest web tasks."
  type        = number
}

variable "web_max_count" {
  description = "Most web tasks."
  type        = number
}

variable "worker_min_count" {
  description = "Fewest tasks per worker service."
  type        = number
}

variable "worker_max_count" {
  description = "Most tasks per worker service."
  type        = number
}

variable "use_spot" {
  description = "Web tasks above the first, and workers, on Fargate Spot (beat never)."
  type        = bool
}

variable "waf" {
  description = "AWS WAF in front of CloudFront."
  type        = bool
}

variable "log_retention_days" {
  description = "Days to keep container logs."
  type        = number
}

variable "alarm_email" {
  description = "Where alarms and the budget are mailed (confirm the subscription email); required in production, null elsewhere subscribes later."
  type        = string
  default     = null

  validation {
    condition     = var.environment != "production" || can(regex("^[^@\\s]+@[^@\\s]+$", var.alarm_email))
    error_message = "Production needs alarm_email in terraform.tfvars: alarms nobody receives protect nobody."
  }
}

variable "monthly_budget_usd" {
  description = "Monthly AWS cost (USD) of this environment's resources that mails alarm_email at 80 % actual and 100 % forecast."
  type        = number
}

variable "redis_auth_token_version" {
  description = "Raise to send a new Redis auth token (docs/aws/infrastructure.md, rotation)."
  type        = number
  default     = 1
}

variable "redis_auth_token_update_strategy" {
  description = "ROTATE while old and new Redis tokens must both work, then SET."
  type        = string
  default     = "ROTATE"
}

variable "enable_execute_command" {
  description = "ECS Exec into the tasks (and SSM port forwarding through them, e.g. to the database during a cutover)."
  type        = bool
  default     = false
}

variable "media_signing_keys" {
  description = "Names of the media signing key pairs CloudFront trusts; the app signs with the last (see modules/edge)."
  type        = list(string)
  default     = ["1"]
}

variable "origin_header_keys" {
  description = "Names of the origin header values the load balancer accepts; CloudFront sends the last (see modules/edge)."
  type        = list(string)
  default     = ["1"]
}

variable "push_images" {
  description = "This environment's deploy role may push images; false: it deploys only images another environment built."
  type        = bool
  default     = true
}

variable "image_account_id" {
  description = "The account that holds the image repository (infra/terraform/shared): this one, or the shared account where each environment has an account of its own."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.image_account_id))
    error_message = "Expected a 12-digit AWS account id."
  }
}

variable "github_oidc_provider_arn" {
  description = "The account's GitHub OIDC provider, where the environment's root creates it (an account per environment); null: look up the one infra/terraform/shared made."
  type        = string
  default     = null
}

variable "account_dependencies" {
  description = "What the account needs before the environment (ECS's service-linked role, DMS's dms-vpc-role), where the environment's root creates them: the cluster and the DMS subnet group wait for them."
  type        = list(string)
  default     = []
}

variable "websocket_path" {
  description = "CloudFront path pattern of the app's WebSocket routes (the channels answer), e.g. /ws/*; null: no WebSockets."
  type        = string
  default     = null
}

variable "websocket_idle_timeout" {
  description = "The load balancer's idle timeout when the app serves WebSockets; below the web task's GUNICORN_KEEPALIVE (deploy/ecs/web.json)."
  type        = number
  default     = 3600
}

variable "stickiness" {
  description = "Pin each client to one web task with a load balancer cookie (off: Channels' Redis layer needs none)."
  type        = bool
  default     = false
}

variable "deploy_strategy" {
  description = "How the web service deploys: rolling, or blue_green (ECS's BLUE_GREEN: the new revision in a second target group, test traffic first, production shifted at once, then a bake time with instant rollback). Workers and beat always roll."
  type        = string
  default     = "rolling"

  validation {
    condition     = contains(["rolling", "blue_green"], var.deploy_strategy)
    error_message = "deploy_strategy: expected rolling or blue_green."
  }
}

variable "bake_time_in_minutes" {
  description = "Blue/green: how long the old tasks stay ready to take production traffic back after the shift."
  type        = number
  default     = 10
}

variable "blue_green_hook_function_arn" {
  description = "Blue/green: a Lambda function ECS calls once test traffic reaches the new tasks; null: none."
  type        = string
  default     = null
}
