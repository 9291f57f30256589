output "task_role_arn" {
  description = "The role the app runs with."
  value       = aws_iam_role.task.arn
}

output "migrate_role_arn" {
  description = "The role the migrate task runs with (the task role's rights and the master secret)."
  value       = aws_iam_role.migrate.arn
}

output "queue_metrics_role_arn" {
  description = "The queue depth publisher's role: PutMetricData into its namespace only."
  value       = aws_iam_role.queue_metrics.arn
}

output "db_app_secret_arn" {
  description = "The app role's secret (username, password): RDS Proxy's second login."
  value       = aws_secretsmanager_secret.db_app.arn
}

output "startup_dependencies" {
  description = "Every parameter and secret version the containers read: the services start after them."
  value = concat(
    [for p in aws_ssm_parameter.this : p.arn],
    [aws_ssm_parameter.maintenance_mode.arn, aws_secretsmanager_secret_version.app.version_id],
    [aws_secretsmanager_secret_version.db_app.version_id],
    aws_secretsmanager_secret_version.media_signing[*].version_id,
  )
}

output "execution_role_arn" {
  description = "The role ECS starts containers with."
  value       = aws_iam_role.execution.arn
}

output "parameter_names" {
  description = "The SSM parameters the containers read."
  value       = [for p in aws_ssm_parameter.this : p.name]
}

output "parameter_path_arn" {
  description = "The ARN of this environment's SSM path (its config parameters live under it)."
  value       = "${local.ssm_arn}${local.prefix}"
}

output "app_secret_arn" {
  description = "The app secret (SECRET_KEY, REDIS_URL)."
  value       = aws_secretsmanager_secret.app.arn
}

output "maintenance_parameter_name" {
  description = "The maintenance switch (MAINTENANCE_PARAMETER); flip it with aws ssm put-parameter."
  value       = aws_ssm_parameter.maintenance_mode.name
}
