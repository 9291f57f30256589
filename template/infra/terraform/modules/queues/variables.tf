variable "name" {
  description = "<project>-<environment>: every queue is named <name>-<celery queue>, the prefix the app's CELERY_SQS_QUEUE_PREFIX names."
  type        = string
}

variable "queues" {
  description = "Celery queue names as the app knows them (default, emails, ...): one SQS queue and one dead-letter queue each."
  type        = list(string)
}

variable "task_role_name" {
  description = "The app's task role (web, workers, beat): it sends, receives and deletes the queues' messages."
  type        = string
}

variable "visibility_timeout_seconds" {
  description = "Seconds a received message stays hidden: the package's CELERY_VISIBILITY_TIMEOUT default, above CELERY_TASK_TIME_LIMIT (300)."
  type        = number
  default     = 3600
}

variable "max_receive_count" {
  description = "Receives before SQS moves a message to the dead-letter queue (a task rejected, or whose worker died, this many times)."
  type        = number
  default     = 5
}

variable "message_retention_seconds" {
  description = "Seconds a queued task waits for a worker before SQS drops it (4 days, SQS's default)."
  type        = number
  default     = 345600
}

variable "dead_letter_retention_seconds" {
  description = "Seconds a dead-lettered task is kept for inspection or redrive (14 days, SQS's maximum)."
  type        = number
  default     = 1209600
}

variable "alarm_actions" {
  description = "SNS topics the queue alarms notify (modules/observability's alarm topic)."
  type        = list(string)
}

variable "queue_depth_threshold" {
  description = "Alarm when a queue holds more visible messages than this for 15 minutes (as the Redis broker's depth alarm)."
  type        = number
  default     = 1000
}

variable "oldest_message_age_threshold" {
  description = "Alarm when a queue's oldest message has waited longer than this many seconds for 15 minutes: workers are stuck, or too few."
  type        = number
  default     = 900
}
