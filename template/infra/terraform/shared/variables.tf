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
