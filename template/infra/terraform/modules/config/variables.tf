variable "project" {
  description = "The project slug; prefixes names and parameter paths."
  type        = string
}

variable "environment" {
  description = "dev, staging or production."
  type        = string
}

variable "domain" {
  description = "The environment's host name (ALLOWED_HOSTS, and CloudFront's domain for static and media files)."
  type        = string
}

variable "redis_url" {
  description = "REDIS_URL, stored in the app secret (null without ElastiCache)."
  type        = string
  sensitive   = true
  default     = null
}

variable "sqs_queue_urls" {
  description = "Celery queue -> SQS queue URL, the CELERY_SQS_QUEUE_URLS parameter (null without the SQS broker)."
  type        = map(string)
  default     = null
}

variable "database_host" {
  description = "DATABASE_HOST."
  type        = string
}

variable "database_name" {
  description = "DATABASE_NAME."
  type        = string
}

variable "database_secret_arn" {
  description = "The RDS-managed master secret; DATABASE_MASTER_SECRET points at it and only the migrate role may read it."
  type        = string
}

variable "database_app_username" {
  description = "The least-privilege PostgreSQL role the app connects as (the db-app secret's username)."
  type        = string
}

variable "database_proxy" {
  description = "DATABASE_PROXY: the app connects through RDS Proxy."
  type        = bool
}

variable "bucket_name" {
  description = "AWS_STORAGE_BUCKET_NAME (null when nothing is stored on S3); known before apply."
  type        = string
  default     = null
}

variable "static_on_s3" {
  description = "Static files are served from S3 through CloudFront at var.domain (AWS_S3_CUSTOM_DOMAIN)."
  type        = bool
}

variable "media_on_s3" {
  description = "Uploads are on S3 and served by CloudFront to signed URLs (AWS_CLOUDFRONT_KEY_ID, AWS_CLOUDFRONT_KEY)."
  type        = bool
}

variable "media_signing_key_id" {
  description = "The CloudFront public key id (AWS_CLOUDFRONT_KEY_ID); null without media on S3."
  type        = string
  default     = null
}

variable "media_signing_private_key" {
  description = "The PEM private key of that public key (AWS_CLOUDFRONT_KEY); null without media on S3."
  type        = string
  default     = null
  sensitive   = true
}

variable "log_group_arn" {
  description = "The containers' log group."
  type        = string
}

variable "ecr_repository_arn" {
  description = "The repository the execution role pulls from."
  type        = string
}

variable "cluster_name" {
  description = "The ECS cluster the tasks run in; a worker may protect only its tasks from scale-in."
  type        = string
}

variable "metric_namespace" {
  description = "The only CloudWatch namespace the task role may put metrics to."
  type        = string
}

variable "kms_key_arn" {
  description = "A customer-managed key for the app secret (null: the AWS-managed key)."
  type        = string
  default     = null
}

variable "enable_execute_command" {
  description = "Let the task role open ECS Exec sessions."
  type        = bool
  default     = false
}

variable "extra_allowed_hosts" {
  description = "Host names ALLOWED_HOSTS admits besides var.domain (ECS Express Mode's own, .ecs.<region>.on.aws)."
  type        = list(string)
  default     = []
}

variable "email_parameters" {
  description = "Email settings the containers read (DEFAULT_FROM_EMAIL, SERVER_EMAIL, AWS_SES_CONFIGURATION_SET from modules/email); empty without SES."
  type        = map(string)
  default     = {}
}
