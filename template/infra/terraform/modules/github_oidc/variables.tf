variable "name" {
  description = "Prefix of every name, <project>-<environment>."
  type        = string
}

variable "environment" {
  description = "The GitHub environment allowed to assume the role (named like this environment)."
  type        = string
}

variable "github_repository" {
  description = "owner/name of the repository that deploys."
  type        = string
}

variable "oidc_provider_arn" {
  description = "The account's token.actions.githubusercontent.com provider (infra/terraform/shared)."
  type        = string
}

variable "ecr_repository_arn" {
  description = "The repository the pipeline pushes to."
  type        = string
}

variable "cluster_name" {
  description = "The environment's ECS cluster."
  type        = string
}

variable "task_role_arns" {
  description = "The task and execution roles the pipeline may pass to ECS."
  type        = list(string)
}

variable "parameter_path_arn" {
  description = "The environment's SSM path; ecs register lists the config parameters under it."
  type        = string
}

variable "log_group_arn" {
  description = "The log group the pipeline reads the migrate task's output from."
  type        = string
}

variable "push_images" {
  description = "The deploy role may push images (build one the repository lacks); false: it deploys only images already pushed."
  type        = bool
  default     = true
}
