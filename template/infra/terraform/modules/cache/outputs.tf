output "url" {
  description = "REDIS_URL: rediss://:<auth token>@<primary endpoint>:6379/0 (sensitive)."
  value       = "rediss://:${random_password.auth_token.result}@${aws_elasticache_replication_group.this.primary_endpoint_address}:6379/0"
  sensitive   = true
}

output "replication_group_id" {
  description = "The replication group (alarms)."
  value       = aws_elasticache_replication_group.this.id
}

# ElastiCache names the nodes <group>-001, -002: known before apply, unlike member_clusters.
output "node_ids" {
  description = "The node ids (per-node alarms)."
  value       = [for i in range(var.multi_az ? 2 : 1) : format("%s-%03d", var.name, i + 1)]
}
