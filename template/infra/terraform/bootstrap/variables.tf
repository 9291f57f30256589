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
  description = "Per environment (dev, staging, production): principals (ARN patterns, in this or the environment's own account) that may reach that environment's state (<env>/ keys) only, e.g. a staging-only Terraform role."
  type        = map(list(string))
  default     = {}

  validation {
    condition     = alltrue([for env, arns in var.environment_role_arns : contains(["dev", "staging", "production"], env) && length(arns) > 0 && alltrue([for arn in arns : can(regex("^arn:aws:iam::[0-9]{12}:", arn))])])
    error_message = "Expected dev, staging or production, each with at least one IAM principal ARN naming its 12-digit account (patterns with * allowed after it)."
  }
}
