output "task_role_arn" {
  description = "The role the app runs with."
  value       = aws_iam_role.task.arn
}

output "execution_role_arn" {
  description = "The role ECS starts containers with."
  value       = aws_iam_role.execution.arn
}

output "parameter_names" {
  description = "The SSM parameters the containers read."
  value       = [for p in aws_ssm_parameter.this : p.name]
}

output "app_secret_arn" {
  description = "The app secret (SECRET_KEY, REDIS_URL)."
  value       = aws_secretsmanager_secret.app.arn
}

output "maintenance_parameter_name" {
  description = "The maintenance switch (MAINTENANCE_PARAMETER); flip it with aws ssm put-parameter."
  value       = aws_ssm_parameter.maintenance_mode.name
}
