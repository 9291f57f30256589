variable "name" {
  description = "Prefix of every name, <project>-<environment>."
  type        = string
}

variable "cidr_block" {
  description = "The VPC's address range; split into public, private and database subnets."
  type        = string
  default     = "10.0.0.0/16"

  validation {
    condition     = can(cidrsubnet(var.cidr_block, 4, 15))
    error_message = "Expected an IPv4 CIDR block of /24 or larger, such as 10.0.0.0/16."
  }
}

variable "az_count" {
  description = "Availability zones to spread subnets over (2 or 3)."
  type        = number
  default     = 2

  validation {
    condition     = contains([2, 3], var.az_count)
    error_message = "Expected 2 or 3."
  }
}

variable "nat_gateway_per_az" {
  description = "One NAT gateway per zone (survives a zone outage) instead of a single shared one."
  type        = bool
}

variable "vpc_endpoints" {
  description = "Interface endpoints for ECR, CloudWatch Logs/metrics, Secrets Manager, SSM and STS, so that AWS API traffic skips the NAT gateway."
  type        = bool
  default     = false
}

variable "secrets_manager_endpoint" {
  description = "An interface endpoint for Secrets Manager even without var.vpc_endpoints (DMS Serverless needs one)."
  type        = bool
  default     = false
}

variable "flow_log_retention_days" {
  description = "Days to keep VPC flow logs (rejected connections only)."
  type        = number
  default     = 30
}
