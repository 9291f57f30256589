# One Redis/Valkey primary (plus a replica when multi_az) for the Celery broker, the result
# backend and Django's cache. Not cluster mode: Celery's Redis transport cannot use it.

resource "random_password" "auth_token" {
  length  = 64
  special = false # the token goes into a URL's userinfo
}

resource "aws_elasticache_subnet_group" "this" {
  name       = var.name
  subnet_ids = var.database_subnet_ids
}

resource "aws_security_group" "cache" {
  name        = "${var.name}-cache"
  description = "Redis from the app's tasks only"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "cache_from_app" {
  security_group_id            = aws_security_group.cache.id
  description                  = "Redis from the app's tasks"
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
  referenced_security_group_id = var.app_security_group_id
}

resource "aws_elasticache_replication_group" "this" {
  replication_group_id       = var.name
  description                = "${var.name}: Celery broker, results and Django cache"
  engine                     = var.engine
  engine_version             = var.engine_version
  node_type                  = var.node_type
  port                       = 6379
  num_cache_clusters         = var.multi_az ? 2 : 1
  automatic_failover_enabled = var.multi_az
  multi_az_enabled           = var.multi_az
  cluster_mode               = "disabled"
  subnet_group_name          = aws_elasticache_subnet_group.this.name
  security_group_ids         = [aws_security_group.cache.id]
  transit_encryption_enabled = true
  transit_encryption_mode    = "required"
  at_rest_encryption_enabled = true
  # Write-only: the group's state keeps no copy (the random_password still does). To rotate
  # without downtime: raise auth_token_version (ROTATE: old and new both work), update
  # REDIS_URL, redeploy, then apply with auth_token_update_strategy = "SET".
  auth_token_wo              = random_password.auth_token.result
  auth_token_wo_version      = var.auth_token_version
  auth_token_update_strategy = var.auth_token_update_strategy
  snapshot_retention_limit   = var.snapshot_retention_days
  snapshot_window            = "01:00-02:00"
  maintenance_window         = "sun:04:30-sun:05:30"
  auto_minor_version_upgrade = true
  apply_immediately          = false
  #checkov:skip=CKV_AWS_31:The auth token is set write-only (auth_token_wo), which this check does not read; transit encryption is required.
  #checkov:skip=CKV_AWS_191:At-rest encryption uses the AWS-managed ElastiCache key; a customer key adds cost without a consumer for its audit trail.
}
