output "replication_config_arn" {
  description = "Start and stop the replication with this ARN (aws dms start-replication / stop-replication)."
  value       = aws_dms_replication_config.this.arn
}

output "source_secret_arn" {
  description = "The secret the operator fills with the source's connection (username, password, host, port)."
  value       = aws_secretsmanager_secret.source.arn
}

output "target_secret_arn" {
  description = "The secret the operator fills with the target's DMS user (username, password, host, port)."
  value       = aws_secretsmanager_secret.target.arn
}
