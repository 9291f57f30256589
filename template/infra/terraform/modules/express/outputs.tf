output "cluster_name" {
  description = "The ECS cluster."
  value       = aws_ecs_cluster.this.name
}

output "web_service_name" {
  description = "The Express Mode web service."
  value       = aws_ecs_express_gateway_service.web.service_name
}

output "web_service_arn" {
  description = "The Express Mode web service's ARN (what `django-aws ecs express-deploy` updates)."
  value       = aws_ecs_express_gateway_service.web.service_arn
}

output "endpoint" {
  description = "The HTTPS host name Express Mode gives the service (<name>.ecs.<region>.on.aws)."
  value       = aws_ecs_express_gateway_service.web.ingress_paths[0].endpoint
}

output "app_security_group_id" {
  description = "The tasks' security group (the database and Redis admit it)."
  value       = aws_security_group.app.id
}
