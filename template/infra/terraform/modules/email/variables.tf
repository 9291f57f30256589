variable "name" {
  description = "<project>-<environment>: names the configuration set, the topic and the queue."
  type        = string
}

variable "domain" {
  description = "The environment's host name: the SES domain identity the app sends as."
  type        = string
}

variable "hosted_zone_name" {
  description = "The public Route 53 zone that holds var.domain (DKIM and MAIL FROM records go there)."
  type        = string
}

variable "task_role_name" {
  description = "The app's task role: it may send as the identity, through the configuration set, and nothing else."
  type        = string
}

variable "sender" {
  description = "The local part of DEFAULT_FROM_EMAIL and SERVER_EMAIL (<sender>@<domain>)."
  type        = string
  default     = "no-reply"

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$", var.sender))
    error_message = "Expected the part of an address before the @, such as no-reply."
  }
}

variable "event_retention_seconds" {
  description = "How long bounce, complaint, reject and delay events wait in the queue (14 days at most)."
  type        = number
  default     = 1209600

  validation {
    condition     = var.event_retention_seconds >= 60 && var.event_retention_seconds <= 1209600
    error_message = "Expected 60 to 1209600 seconds (14 days)."
  }
}
