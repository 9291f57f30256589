variable "name" {
  description = "Prefix of every name, <project>-<environment>."
  type        = string
}

variable "engine" {
  description = "rds-postgres (one RDS instance, Multi-AZ standby in production), aurora-postgres (provisioned Aurora) or aurora-serverless (Aurora Serverless v2)."
  type        = string

  validation {
    condition     = contains(["rds-postgres", "aurora-postgres", "aurora-serverless"], var.engine)
    error_message = "Expected rds-postgres, aurora-postgres or aurora-serverless."
  }
}

variable "database_name" {
  description = "The database the app uses (DATABASE_NAME)."
  type        = string
}

variable "vpc_id" {
  description = "The VPC of the database."
  type        = string
}

variable "database_subnet_ids" {
  description = "Subnets of the database (no route out of the VPC)."
  type        = list(string)
}

variable "app_security_group_id" {
  description = "The tasks' security group, admitted on 5432."
  type        = string
}

variable "multi_az" {
  description = "A standby (RDS) or a second instance (Aurora) in another zone."
  type        = bool
}

variable "deletion_protection" {
  description = "Refuse to delete the database."
  type        = bool
}

variable "backup_retention_days" {
  description = "Days of automated backups (point-in-time recovery)."
  type        = number
  default     = 14
}

variable "instance_class" {
  description = "Instance class of RDS or provisioned Aurora (ignored by Aurora Serverless v2)."
  type        = string
  default     = "db.t4g.medium"
}

variable "allocated_storage" {
  description = "RDS storage in GB at creation; grows by itself up to max_allocated_storage."
  type        = number
  default     = 20
}

variable "max_allocated_storage" {
  description = "RDS storage autoscaling ceiling in GB."
  type        = number
  default     = 200
}

variable "postgres_version" {
  description = "PostgreSQL major version (RDS) or major.minor (Aurora, e.g. 17.4)."
  type        = string
  default     = "17"
}

variable "serverless_min_capacity" {
  description = "Aurora Serverless v2 minimum ACUs (0 pauses when idle)."
  type        = number
  default     = 0.5
}

variable "serverless_max_capacity" {
  description = "Aurora Serverless v2 maximum ACUs."
  type        = number
  default     = 8
}

variable "performance_insights" {
  description = "Performance Insights (7 days free; not on db.t4g.micro/small)."
  type        = bool
  default     = true
}

variable "rds_proxy" {
  description = "Put RDS Proxy between the app and the database (the app then connects to the proxy)."
  type        = bool
  default     = false
}

variable "app_secret_arn" {
  description = "The app role's secret (db-app): RDS Proxy's second login."
  type        = string
}

variable "keep_backups_after_delete" {
  description = "Keep the automated backups (point-in-time recovery) when the database is deleted."
  type        = bool
}

variable "log_retention_days" {
  description = "Days to keep the PostgreSQL logs RDS exports."
  type        = number
}
