output "host" {
  description = "Where the app connects (DATABASE_HOST): RDS Proxy, or the instance / cluster writer endpoint."
  value       = local.database_host
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
