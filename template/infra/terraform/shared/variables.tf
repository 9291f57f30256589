variable "project" {
  description = "The project slug (the ECR repository's name)."
  type        = string
}

variable "region" {
  description = "The app's region."
  type        = string
}

variable "account_id" {
  description = "The AWS account; Terraform refuses to run in another."
  type        = string
}

variable "create_github_oidc_provider" {
  description = "Create the account's GitHub OIDC provider (false when the account already has one: there can be only one per URL)."
  type        = bool
  default     = true
}

variable "create_ecs_service_linked_role" {
  description = "Create AWSServiceRoleForECS (false when `aws iam get-role --role-name AWSServiceRoleForECS` finds it: one per account)."
  type        = bool
  default     = true
}

variable "create_dms_vpc_role" {
  description = "Create the account-wide dms-vpc-role DMS needs (false without DMS, or when `aws iam get-role --role-name dms-vpc-role` finds it already)."
  type        = bool
  default     = false
}

variable "environment_account_ids" {
  description = "Each environment's AWS account (the same one for all when they share this account): its execution and deploy roles may pull images."
  type        = map(string)

  validation {
    condition     = length(var.environment_account_ids) > 0 && alltrue([for account in values(var.environment_account_ids) : can(regex("^[0-9]{12}$", account))])
    error_message = "Expected at least one environment, each with a 12-digit account id."
  }
}

variable "image_builder" {
  description = "The environment whose deploy role builds and pushes images (the first in promotion order); the others' deploy roles may only pull."
  type        = string

  validation {
    condition     = contains(keys(var.environment_account_ids), var.image_builder)
    error_message = "Expected one of the environments in environment_account_ids."
  }
}
