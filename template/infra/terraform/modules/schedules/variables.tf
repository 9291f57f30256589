variable "name" {
  description = "<project>-<environment>: the schedule group, the role and the dead-letter queue are named after it."
  type        = string
}

variable "export_file" {
  description = "The JSON `python manage.py export_schedule` writes (infra/terraform/schedules.json)."
  type        = string
}

variable "broker" {
  description = "redis: each schedule runs `manage.py enqueue` as a one-off ECS task; sqs: it puts the Celery message on the queue itself."
  type        = string

  validation {
    condition     = contains(["redis", "sqs"], var.broker)
    error_message = "Expected redis or sqs."
  }
}

variable "enabled" {
  description = "Deliver the schedules (background_jobs). False keeps them DISABLED: before the cutover the old platform still runs the jobs."
  type        = bool
}

variable "queue_urls" {
  description = "sqs: Celery queue name -> SQS queue URL (modules/queues)."
  type        = map(string)
  default     = {}
}

variable "queue_arns" {
  description = "sqs: Celery queue name -> SQS queue ARN (modules/queues); the role may send to these only."
  type        = map(string)
  default     = {}
}

variable "cluster_arn" {
  description = "redis: the ECS cluster the enqueue tasks run in."
  type        = string
  default     = null
}

variable "task_family" {
  description = "redis: the task definition family the enqueue tasks run (its latest revision: the deployed image)."
  type        = string
  default     = null
}

variable "celery_app" {
  description = "redis: the module `celery --app` takes, passed to `manage.py enqueue --app`."
  type        = string
  default     = null
}

variable "container_name" {
  description = "redis: the container whose command becomes `python manage.py enqueue <entry>`."
  type        = string
  default     = "worker"
}

variable "subnet_ids" {
  description = "redis: subnets of the enqueue tasks."
  type        = list(string)
  default     = []
}

variable "security_group_ids" {
  description = "redis: security groups of the enqueue tasks (they reach Redis)."
  type        = list(string)
  default     = []
}

variable "pass_role_arns" {
  description = "redis: the task family's task and execution roles, which the Scheduler role passes to ECS."
  type        = list(string)
  default     = []
}

variable "maximum_retry_attempts" {
  description = "Retries of a failed delivery before it goes to the dead-letter queue."
  type        = number
  default     = 3
}

variable "maximum_event_age_in_seconds" {
  description = "How long Scheduler keeps retrying one delivery."
  type        = number
  default     = 3600
}
