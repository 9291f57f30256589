variable "name" {
  description = "Prefix of every name, <project>-<environment> (at most 28 characters)."
  type        = string
}

variable "domain" {
  description = "The environment's host name, served by CloudFront."
  type        = string
}

variable "route_domain" {
  description = "Point var.domain at CloudFront (A/AAAA alias records). False until an app being moved is cut over: the name keeps resolving to the old platform."
  type        = bool
}

variable "hosted_zone_name" {
  description = "The public Route 53 hosted zone that holds var.domain (it must exist already)."
  type        = string
}

variable "vpc_id" {
  description = "The VPC of the load balancer."
  type        = string
}

variable "public_subnet_ids" {
  description = "Subnets of the load balancer."
  type        = list(string)
}

variable "health_check_path" {
  description = "The path the load balancer checks (django_aws_settings.runtime.health.HEALTH_PATH)."
  type        = string
  default     = "/healthz"
}

variable "deregistration_delay" {
  description = "Seconds the load balancer drains a stopping task before ECS sends it SIGTERM; at least gunicorn's request timeout (30 s), so requests in flight finish."
  type        = number
  default     = 30
}

variable "idle_timeout" {
  description = "The load balancer's idle timeout; shorter than gunicorn's keep-alive (GUNICORN_KEEPALIVE, 75 s; the web task definition raises it with WebSockets)."
  type        = number
  default     = 60

  validation {
    condition     = var.idle_timeout >= 1 && var.idle_timeout <= 4000
    error_message = "idle_timeout: expected 1 to 4000 seconds (the load balancer's range)."
  }
}

variable "websocket_path" {
  description = "CloudFront path pattern of the app's WebSocket routes (Django Channels), e.g. /ws/*; null when the app has none."
  type        = string
  default     = null

  validation {
    condition     = var.websocket_path == null || can(regex("^/[A-Za-z0-9_.~/-]+/[*]$", var.websocket_path))
    error_message = "websocket_path: expected a path pattern ending in /* such as /ws/*, or null."
  }
}

variable "stickiness" {
  description = "Pin a client to one task with a load balancer cookie. Off: Channels' Redis layer reaches every task, so a WebSocket needs no stickiness."
  type        = bool
  default     = false
}

variable "bucket_regional_domain_name" {
  description = "The app's bucket, CloudFront's origin for /static/* and /media/* (null when nothing is on S3)."
  type        = string
  default     = null
}

variable "static_on_s3" {
  description = "Serve /static/* from the bucket; false serves it from the app (WhiteNoise), cached."
  type        = bool
}

variable "media_on_s3" {
  description = "Serve /media/* from the bucket to URLs the app signed (a CloudFront key group)."
  type        = bool
}

variable "media_signing_keys" {
  description = "Names of the media signing key pairs CloudFront trusts; the app signs with the last. Append one to rotate, drop the old one once every task runs with the new."
  type        = list(string)
  default     = ["1"]

  validation {
    condition     = length(var.media_signing_keys) >= 1 && length(var.media_signing_keys) <= 5 && length(distinct(var.media_signing_keys)) == length(var.media_signing_keys)
    error_message = "Expected 1 to 5 distinct names (a CloudFront key group holds at most 5 keys)."
  }
}

variable "deletion_protection" {
  description = "Refuse to delete the load balancer."
  type        = bool
}

variable "price_class" {
  description = "CloudFront price class: PriceClass_100 (North America, Europe), PriceClass_200, PriceClass_All."
  type        = string
  default     = "PriceClass_100"
}

variable "waf" {
  description = "Put AWS WAF (managed common rules, known bad inputs, a rate limit per IP) in front of CloudFront."
  type        = bool
  default     = true
}

variable "rate_limit_per_5_minutes" {
  description = "Requests one IP may send to the app (not /static/ or /media/) in 5 minutes before WAF blocks it."
  type        = number
  default     = 2000
}

variable "origin_header_keys" {
  description = "Names of the origin header values the load balancer accepts; CloudFront sends the last. To rotate: [\"1\", \"2\"], apply, wait for CloudFront to deploy, then [\"2\"] and apply."
  type        = list(string)
  default     = ["1"]

  validation {
    condition     = length(var.origin_header_keys) >= 1 && length(var.origin_header_keys) <= 4 && length(distinct(var.origin_header_keys)) == length(var.origin_header_keys)
    error_message = "Expected 1 to 4 distinct names (a listener rule condition holds at most 5 values)."
  }
}

variable "blue_green" {
  description = "The web service deploys blue/green (ECS's BLUE_GREEN strategy): a second target group, and a test listener rule that sends requests carrying the X-Blue-Green-Test secret to the new tasks before production traffic."
  type        = bool
  default     = false
}
