variable "name" {
  description = "The repository's name (the project slug): one repository for every environment, so an image is built once and promoted."
  type        = string
}

variable "keep_images" {
  description = "Tagged images to keep; older ones expire (deployed revisions are far fewer)."
  type        = number
  default     = 200
}

variable "pull_role_arns" {
  description = "Roles, in any account, that may pull images and look them up: every environment's execution and deploy roles."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.pull_role_arns : can(regex("^arn:aws:iam::[0-9]{12}:role/", arn))])
    error_message = "Expected IAM role ARNs (arn:aws:iam::<12-digit account>:role/<name>)."
  }
}

variable "push_role_arn" {
  description = "The one role, in any account, that pushes images: the deploy role of the environment that builds (the first in promotion order). Null: none besides IAM in this account."
  type        = string
  default     = null

  validation {
    condition     = var.push_role_arn == null || can(regex("^arn:aws:iam::[0-9]{12}:role/", var.push_role_arn))
    error_message = "Expected an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)."
  }
}

variable "push_denied_role_arns" {
  description = "Roles explicitly denied pushing (uploading layers, putting images): the deploy roles of the environments that only deploy images the builder pushed."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.push_denied_role_arns : can(regex("^arn:aws:iam::[0-9]{12}:role/", arn))])
    error_message = "Expected IAM role ARNs (arn:aws:iam::<12-digit account>:role/<name>)."
  }
}
