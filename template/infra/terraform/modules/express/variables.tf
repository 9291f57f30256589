variable "name" {
  description = "Prefix of every name, <project>-<environment>; also the cluster's name."
  type        = string
}

variable "environment" {
  description = "Fills $${environment} in deploy/ecs/*.json."
  type        = string
}

variable "image" {
  description = "The image of the first revision; every deploy sends a later one."
  type        = string
}

variable "vpc_id" {
  description = "The VPC of the tasks."
  type        = string
}

variable "public_subnet_ids" {
  description = "Subnets of the service and of the load balancer Express Mode makes (at least two)."
  type        = list(string)
}

variable "task_role_arn" {
  description = "The role the web container runs with; must equal taskRoleArn in deploy/ecs/web.json."
  type        = string
}

variable "migrate_role_arn" {
  description = "The role the migrate task runs with; must equal taskRoleArn in deploy/ecs/migrate.json."
  type        = string
}

variable "execution_role_arn" {
  description = "The role ECS starts the containers with; must equal executionRoleArn in deploy/ecs/*.json."
  type        = string
}

variable "health_check_path" {
  description = "The path Express Mode's load balancer checks (django_aws_settings.runtime.health.HEALTH_PATH), as modules/edge's target group does."
  type        = string
  default     = "/healthz"
}

variable "web_min_count" {
  description = "Fewest web tasks."
  type        = number
}

variable "web_max_count" {
  description = "Most web tasks."
  type        = number
}

variable "web_cpu_target" {
  description = "Average CPU (percent) autoscaling keeps the web tasks at."
  type        = number
  default     = 60
}

variable "start_after" {
  description = "What the containers read at start (parameters, secret versions): the service is created after them."
  type        = list(string)
  default     = []
}

variable "cluster_after" {
  description = "What the cluster is created after: ECS's service-linked role, where the environment's root creates it."
  type        = list(string)
  default     = []
}
