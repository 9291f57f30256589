variable "project" {
  description = "The project slug; prefixes names and secret paths."
  type        = string
}

variable "environment" {
  description = "dev, staging or production."
  type        = string
}

variable "vpc_id" {
  description = "The VPC DMS runs in."
  type        = string
}

variable "private_subnet_ids" {
  description = "Subnets of the replication (private, with a route to the source through NAT)."
  type        = list(string)
}

variable "database_security_group_id" {
  description = "The target database's security group; DMS is let in on 5432."
  type        = string
}

variable "target_engine" {
  description = "rds-postgres, aurora-postgres or aurora-serverless (the target endpoint's engine)."
  type        = string
}

variable "target_database_name" {
  description = "The app's database on RDS / Aurora."
  type        = string
}

variable "source_database_name" {
  description = "The database to copy on the source server."
  type        = string
}

variable "max_capacity_units" {
  description = "Most DMS capacity units (1 DCU = 2 GB of memory) the serverless replication scales to."
  type        = number
  default     = 16
}

variable "lob_max_size_kb" {
  description = "The largest text, jsonb or bytea value DMS copies, in KB (limited LOB mode); a larger one fails the task. Measure it on the source: SELECT max(octet_length(column)) ..."
  type        = number
  default     = 8192
}

variable "subnet_group_after" {
  description = "What the replication subnet group is created after: the account's dms-vpc-role, where the environment's root creates it (an account per environment)."
  type        = list(string)
  default     = []
}
