output "cluster_name" {
  description = "The ECS cluster."
  value       = aws_ecs_cluster.this.name
}

output "cluster_arn" {
  description = "The ECS cluster's ARN."
  value       = aws_ecs_cluster.this.arn
}

output "web_service_name" {
  description = "The web service."
  value       = aws_ecs_service.web.name
}

output "worker_service_names" {
  description = "Worker service by queue."
  value       = { for queue, service in aws_ecs_service.worker : queue => service.name }
}

output "beat_service_name" {
  description = "The beat service (null without beat)."
  value       = one(aws_ecs_service.beat[*].name)
}

output "queue_metrics_service_name" {
  description = "The queue depth publisher (null without Celery)."
  value       = one(aws_ecs_service.queue_metrics[*].name)
}

output "app_security_group_id" {
  description = "The tasks' security group (the database and Redis admit it)."
  value       = aws_security_group.app.id
}
