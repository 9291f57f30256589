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
