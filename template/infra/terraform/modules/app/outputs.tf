# The deploy workflow reads these (docs/aws/infrastructure.md lists them as the GitHub
# environment's variables).

output "deploy_role_arn" {
  description = "The role the deploy workflow assumes through GitHub OIDC."
  value       = module.github_oidc.role_arn
}

output "cluster_name" {
  description = "The ECS cluster."
  value       = local.cluster_name
}

output "web_service_name" {
  description = "The web service (on ECS Express Mode, the Express service)."
  value       = local.service_names[0]
}

output "worker_service_names" {
  description = "Worker service by queue."
  value       = local.express ? {} : module.ecs[0].worker_service_names
}

output "beat_service_name" {
  description = "The beat service (null without beat)."
  value       = local.express ? null : module.ecs[0].beat_service_name
}

output "queue_metrics_service_name" {
  description = "The queue depth publisher (null without Celery)."
  value       = local.express ? null : module.ecs[0].queue_metrics_service_name
}

output "ecr_repository_url" {
  description = "Where images are pushed."
  value       = local.ecr_repository_url
}

output "static_bucket_name" {
  description = "Where collectstatic uploads (null: static files are in the image)."
  value       = var.static_on_s3 ? module.storage.bucket_name : null
}

output "media_bucket_name" {
  description = "Where uploads are stored (null: no media on S3)."
  value       = var.media_on_s3 ? module.storage.bucket_name : null
}

output "cloudfront_distribution_id" {
  description = "The distribution to invalidate after publishing static files (null on ECS Express Mode)."
  value       = local.express ? null : module.edge[0].distribution_id
}

output "cloudfront_domain_name" {
  description = "The distribution's own host name (null on ECS Express Mode)."
  value       = local.express ? null : module.edge[0].distribution_domain_name
}

output "app_url" {
  description = "The environment's address (on ECS Express Mode, the host name Express Mode gave the service)."
  value       = local.express ? "https://${module.express[0].endpoint}" : "https://${var.domain}"
}

output "private_subnet_ids" {
  description = "Subnets for one-off tasks (the migrate task)."
  value       = module.network.private_subnet_ids
}

output "app_security_group_ids" {
  description = "Security groups for one-off tasks."
  value       = [local.app_security_group_id]
}
