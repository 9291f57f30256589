# The deploy workflow reads these (docs/aws/infrastructure.md lists them as the GitHub
# environment's variables).

output "deploy_role_arn" {
  description = "The role the deploy workflow assumes through GitHub OIDC."
  value       = module.github_oidc.role_arn
}

output "cluster_name" {
  description = "The ECS cluster."
  value       = module.ecs.cluster_name
}

output "web_service_name" {
  description = "The web service."
  value       = module.ecs.web_service_name
}

output "worker_service_names" {
  description = "Worker service by queue."
  value       = module.ecs.worker_service_names
}

output "beat_service_name" {
  description = "The beat service (null without beat)."
  value       = module.ecs.beat_service_name
}

output "queue_metrics_service_name" {
  description = "The queue depth publisher (null without Celery)."
  value       = module.ecs.queue_metrics_service_name
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
  description = "The distribution to invalidate after publishing static files."
  value       = module.edge.distribution_id
}

output "cloudfront_domain_name" {
  description = "The distribution's own host name."
  value       = module.edge.distribution_domain_name
}

output "app_url" {
  description = "The environment's address."
  value       = "https://${var.domain}"
}

output "private_subnet_ids" {
  description = "Subnets for one-off tasks (the migrate task)."
  value       = module.network.private_subnet_ids
}

output "app_security_group_ids" {
  description = "Security groups for one-off tasks."
  value       = [module.ecs.app_security_group_id]
}
