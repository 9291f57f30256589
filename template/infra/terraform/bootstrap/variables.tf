variable "project" {
  description = "The project slug."
  type        = string
}

variable "region" {
  description = "The region of the state bucket (the app's region)."
  type        = string
}

variable "account_id" {
  description = "The AWS account that holds the state; Terraform refuses to run in another."
  type        = string
}

variable "terraform_role_arns" {
  description = "Principals (ARN patterns) that may read and write every state file: the roles that run Terraform. Everyone else is denied the objects."
  type        = list(string)

  validation {
    condition     = length(var.terraform_role_arns) > 0 && alltrue([for arn in var.terraform_role_arns : startswith(arn, "arn:aws:iam::")])
    error_message = "Expected at least one IAM principal ARN (patterns with * allowed)."
  }
}

variable "environment_role_arns" {
  description = "Per environment (dev, staging, production): principals that may reach that environment's state only, e.g. a staging-only Terraform role."
  type        = map(list(string))
  default     = {}
}
