output "host" {
  description = "Where the app connects (DATABASE_HOST): RDS Proxy, or the instance / cluster writer endpoint; known once the database accepts connections."
  value       = local.database_host
  # The cluster's endpoint exists before its writer instance, the proxy's before its target:
  # whatever reads this (the DATABASE_HOST parameter, so the services) waits for both.
  depends_on = [aws_rds_cluster_instance.this, aws_db_proxy_target.this]
}

output "database_name" {
  description = "The app's database (DATABASE_NAME)."
  value       = var.database_name
}

output "master_secret_arn" {
  description = "The RDS-managed secret with the username and password (DATABASE_SECRET points at it)."
  value       = local.master_secret_arn
}

output "instance_identifier" {
  description = "The RDS instance (null on Aurora)."
  value       = one(aws_db_instance.this[*].identifier)
}

output "cluster_identifier" {
  description = "The Aurora cluster (null on RDS)."
  value       = one(aws_rds_cluster.this[*].cluster_identifier)
}

output "security_group_id" {
  description = "The database's security group (DMS adds its own ingress rule to it)."
  value       = aws_security_group.database.id
}

output "kms_key_arn" {
  description = "The database's customer-managed key (snapshots shared with another account need a grant on it)."
  value       = aws_kms_key.this.arn
}

output "proxy_name" {
  description = "The RDS Proxy (null without one)."
  value       = one(aws_db_proxy.this[*].name)
}
