output "queue_arns" {
  description = "Celery queue name -> SQS queue ARN."
  value       = { for queue, q in aws_sqs_queue.this : queue => q.arn }
}

output "queue_urls" {
  description = "Celery queue name -> SQS queue URL (the app's CELERY_SQS_QUEUE_URLS)."
  value       = { for queue, q in aws_sqs_queue.this : queue => q.url }
}

output "queue_names" {
  description = "Celery queue name -> SQS queue name (CloudWatch's QueueName dimension)."
  value       = { for queue, q in aws_sqs_queue.this : queue => q.name }
}

output "dead_letter_queue_arns" {
  description = "Celery queue name -> its dead-letter queue's ARN."
  value       = { for queue, q in aws_sqs_queue.dead_letter : queue => q.arn }
}

output "dead_letter_queue_names" {
  description = "Celery queue name -> its dead-letter queue's name."
  value       = { for queue, q in aws_sqs_queue.dead_letter : queue => q.name }
}
