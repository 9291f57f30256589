variable "name" {
  description = "Prefix of every name, <project>-<environment>; also the cluster's name."
  type        = string
}

variable "environment" {
  description = "Fills $${environment} in deploy/ecs/*.json."
  type        = string
}

variable "image" {
  description = "The image of the first task definition revisions; the pipeline registers every later one."
  type        = string
}

variable "queues" {
  description = "Celery queues; one worker service each (empty without Celery)."
  type        = list(string)
}

variable "sqs_queue_names" {
  description = "Celery queue -> SQS queue name with the SQS broker (empty with Redis): workers scale on SQS's metric, and no queue-metrics service runs."
  type        = map(string)
  default     = {}
}

variable "beat" {
  description = "Run one celery beat task."
  type        = bool
}

variable "background_jobs" {
  description = "Run the Celery workers and beat. False keeps them at 0 tasks: before an app's cutover its old platform still runs the jobs, against its own database."
  type        = bool
}

variable "vpc_id" {
  description = "The VPC of the tasks."
  type        = string
}

variable "private_subnet_ids" {
  description = "Subnets of the tasks."
  type        = list(string)
}

variable "alb_security_group_id" {
  description = "The load balancer's security group, admitted on the container port."
  type        = string
}

variable "target_group_arn" {
  description = "The web service's target group."
  type        = string
}

variable "task_role_arn" {
  description = "The role the containers run with; must equal taskRoleArn in deploy/ecs/*.json."
  type        = string
}

variable "migrate_role_arn" {
  description = "The role the migrate task runs with; must equal taskRoleArn in deploy/ecs/migrate.json."
  type        = string
}

variable "queue_metrics_role_arn" {
  description = "The queue depth publisher's own minimal role."
  type        = string
}

variable "start_after" {
  description = "What the containers read at start (parameters, secret versions): every service is created after them, so its first tasks find them."
  type        = list(string)
  default     = []
}

variable "execution_role_arn" {
  description = "The role ECS starts the containers with; must equal executionRoleArn in deploy/ecs/*.json."
  type        = string
}

variable "metric_namespace" {
  description = "CloudWatch namespace of the QueueDepth metric, <project>/<environment>."
  type        = string
}

variable "web_min_count" {
  description = "Fewest web tasks (also the first desired count)."
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

variable "worker_min_count" {
  description = "Fewest tasks per worker service."
  type        = number
}

variable "worker_max_count" {
  description = "Most tasks per worker service."
  type        = number
}

variable "worker_backlog_per_task" {
  description = "Waiting messages per worker task that autoscaling aims for."
  type        = number
  default     = 100
}

variable "use_spot" {
  description = "Run web tasks above the first, and worker tasks, on Fargate Spot (beat never)."
  type        = bool
}

variable "enable_execute_command" {
  description = "Allow `aws ecs execute-command` into running tasks."
  type        = bool
  default     = false
}

variable "cluster_after" {
  description = "What the cluster is created after: ECS's service-linked role, where the environment's root creates it (an account per environment)."
  type        = list(string)
  default     = []
}

variable "blue_green" {
  description = "Deploy the web service blue/green (ECS's BLUE_GREEN strategy) instead of rolling; workers and beat always roll."
  type        = bool
  default     = false
}

variable "bake_time_in_minutes" {
  description = "Blue/green: how long the old tasks stay ready to take production traffic back after the shift."
  type        = number
  default     = 10

  validation {
    condition     = var.bake_time_in_minutes >= 0 && var.bake_time_in_minutes <= 1440
    error_message = "bake_time_in_minutes: expected 0 to 1440 minutes."
  }
}

variable "alternate_target_group_arn" {
  description = "Blue/green: the second target group (modules/edge)."
  type        = string
  default     = null
}

variable "production_listener_rule_arn" {
  description = "Blue/green: the listener rule whose weights ECS moves for production traffic."
  type        = string
  default     = null
}

variable "test_listener_rule_arn" {
  description = "Blue/green: the listener rule for test traffic (the X-Blue-Green-Test header)."
  type        = string
  default     = null
}

variable "blue_green_hook_function_arn" {
  description = "Blue/green: a Lambda function ECS calls after test traffic reaches the new tasks (POST_TEST_TRAFFIC_SHIFT); it answers SUCCEEDED, FAILED (roll back) or IN_PROGRESS. null: no hook."
  type        = string
  default     = null
}
