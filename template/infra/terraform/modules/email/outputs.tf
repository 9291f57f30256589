output "identity_arn" {
  description = "The SES domain identity the app sends as."
  value       = aws_sesv2_email_identity.this.arn
}

output "configuration_set_name" {
  description = "The configuration set (AWS_SES_CONFIGURATION_SET): reputation metrics and event routing."
  value       = aws_sesv2_configuration_set.this.configuration_set_name
}

output "configuration_set_arn" {
  description = "The configuration set's ARN (the task role may send through it)."
  value       = local.configuration_set_arn
}

output "from_address" {
  description = "DEFAULT_FROM_EMAIL and SERVER_EMAIL: an address of the identity's domain."
  value       = local.from_address
}

output "parameters" {
  description = "What the containers read (config parameters under /<project>/<environment>/)."
  value = {
    DEFAULT_FROM_EMAIL        = local.from_address
    SERVER_EMAIL              = local.from_address
    AWS_SES_CONFIGURATION_SET = aws_sesv2_configuration_set.this.configuration_set_name
  }
}

output "events_topic_arn" {
  description = "The encrypted SNS topic SES publishes bounces, complaints, rejects and delivery delays to."
  value       = aws_sns_topic.events.arn
}

output "events_queue_url" {
  description = "The SQS queue those events wait in (aws sqs receive-message --queue-url ...)."
  value       = aws_sqs_queue.events.id
}

output "events_queue_arn" {
  description = "The events queue's ARN."
  value       = aws_sqs_queue.events.arn
}
