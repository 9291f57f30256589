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
