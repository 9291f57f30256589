variable "name" {
  description = "Prefix of every name, <project>-<environment>."
  type        = string
}

variable "engine" {
  description = "valkey (cheaper, the default) or redis."
  type        = string
  default     = "valkey"

  validation {
    condition     = contains(["valkey", "redis"], var.engine)
    error_message = "Expected valkey or redis."
  }
}

variable "engine_version" {
  description = "Engine version, e.g. 8.0 (Valkey) or 7.1 (Redis)."
  type        = string
  default     = "8.0"
}

variable "node_type" {
  description = "Node type of each replica."
  type        = string
  default     = "cache.t4g.small"
}

variable "multi_az" {
  description = "A replica in another zone with automatic failover."
  type        = bool
}

variable "vpc_id" {
  description = "The VPC of the cache."
  type        = string
}

variable "database_subnet_ids" {
  description = "Subnets of the cache (no route out of the VPC)."
  type        = list(string)
}

variable "app_security_group_id" {
  description = "The tasks' security group, admitted on 6379."
  type        = string
}

variable "snapshot_retention_days" {
  description = "Days of daily snapshots (0 turns them off)."
  type        = number
  default     = 3
}

variable "auth_token_version" {
  description = "Raise to send the auth token again (after replacing random_password.auth_token): the rotation's first step."
  type        = number
  default     = 1
}

variable "auth_token_update_strategy" {
  description = "ROTATE keeps the old token working next to the new one; SET (after every client moved) drops it."
  type        = string
  default     = "ROTATE"

  validation {
    condition     = contains(["ROTATE", "SET"], var.auth_token_update_strategy)
    error_message = "Expected ROTATE or SET."
  }
}
