# PostgreSQL on RDS or Aurora: encrypted with the database's own customer-managed key (its
# snapshots can be shared or copied to another account), TLS forced, master password
# generated and kept (and rotated) by RDS in Secrets Manager, never in Terraform state.

locals {
  aurora     = var.engine != "rds-postgres"
  serverless = var.engine == "aurora-serverless"
  major      = split(".", var.postgres_version)[0]
  username   = "app"
  # The app's connection: the proxy when there is one, else the (writer) endpoint.
  database_host = (
    var.rds_proxy ? aws_db_proxy.this[0].endpoint :
    local.aurora ? aws_rds_cluster.this[0].endpoint : aws_db_instance.this[0].address
  )
  master_secret_arn = (
    local.aurora ? aws_rds_cluster.this[0].master_user_secret[0].secret_arn :
    aws_db_instance.this[0].master_user_secret[0].secret_arn
  )
  # RDS writes the exported logs here; created first, with a retention, so RDS does not
  # create them without one.
  log_groups = toset([
    for log in(local.aurora ? ["postgresql"] : ["postgresql", "upgrade"]) :
    "/aws/rds/${local.aurora ? "cluster" : "instance"}/${var.name}/${log}"
  ])
  # Fixed windows (UTC), so AWS never picks one at random: backups, then maintenance.
  backup_window      = "02:00-03:00"
  maintenance_window = "sun:03:30-sun:04:30"
}

data "aws_caller_identity" "current" {}

# A customer-managed key from day one: switching keys later means restoring a snapshot.
data "aws_iam_policy_document" "key" {
  #checkov:skip=CKV_AWS_111:In a key policy "*" means this key; the account statement delegates to IAM, as AWS's default key policy does.
  #checkov:skip=CKV_AWS_356:In a key policy "*" means this key, the only resource a key policy can name.
  #checkov:skip=CKV_AWS_109:The account administers its own key through IAM (AWS's default key policy); nobody outside it is named.
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "${var.name} database, its snapshots and Performance Insights"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.key.json
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}-database"
  target_key_id = aws_kms_key.this.key_id
}

# Final snapshots get a suffix made once per database: a later database of the same name
# (a re-created staging) never collides with an earlier one's final snapshot.
resource "random_id" "final_snapshot" {
  byte_length = 4
}

resource "aws_cloudwatch_log_group" "postgresql" {
  for_each          = local.log_groups
  name              = each.key
  retention_in_days = var.log_retention_days
  #checkov:skip=CKV_AWS_158:CloudWatch encrypts logs by default; the database key would need a grant for the logs service.
  #checkov:skip=CKV_AWS_338:Retention is var.log_retention_days, the same per-environment choice as the container logs.
}

resource "aws_db_subnet_group" "this" {
  name       = var.name
  subnet_ids = var.database_subnet_ids
}

resource "aws_security_group" "database" {
  name        = "${var.name}-database"
  description = "PostgreSQL from the app's tasks (and RDS Proxy) only"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "database_from_app" {
  security_group_id            = aws_security_group.database.id
  description                  = "PostgreSQL from the app's tasks"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = var.app_security_group_id
}

# RDS Proxy sits in the same group and connects on to the database.
resource "aws_vpc_security_group_ingress_rule" "database_from_proxy" {
  count                        = var.rds_proxy ? 1 : 0
  security_group_id            = aws_security_group.database.id
  description                  = "PostgreSQL from RDS Proxy"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.database.id
}

resource "aws_vpc_security_group_egress_rule" "proxy_to_database" {
  count                        = var.rds_proxy ? 1 : 0
  security_group_id            = aws_security_group.database.id
  description                  = "RDS Proxy to the database"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.database.id
}

# Enhanced monitoring: OS metrics every minute.
data "aws_iam_policy_document" "monitoring_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "monitoring" {
  name               = "${var.name}-rds-monitoring"
  assume_role_policy = data.aws_iam_policy_document.monitoring_trust.json
}

resource "aws_iam_role_policy_attachment" "monitoring" {
  role       = aws_iam_role.monitoring.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

# ------------------------------------------------------------------------ RDS instance

resource "aws_db_parameter_group" "this" {
  count  = local.aurora ? 0 : 1
  name   = "${var.name}-postgres${local.major}"
  family = "postgres${local.major}"

  # TLS only; slow queries (over 1 s) and schema changes in the log.
  parameter {
    name         = "rds.force_ssl"
    value        = "1"
    apply_method = "pending-reboot"
  }
  parameter {
    name         = "log_min_duration_statement"
    value        = "1000"
    apply_method = "pending-reboot"
  }
  parameter {
    name         = "log_statement"
    value        = "ddl"
    apply_method = "pending-reboot"
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_db_instance" "this" {
  count                               = local.aurora ? 0 : 1
  identifier                          = var.name
  engine                              = "postgres"
  engine_version                      = var.postgres_version
  instance_class                      = var.instance_class
  allocated_storage                   = var.allocated_storage
  max_allocated_storage               = var.max_allocated_storage
  storage_type                        = "gp3"
  storage_encrypted                   = true
  kms_key_id                          = aws_kms_key.this.arn
  db_name                             = var.database_name
  username                            = local.username
  manage_master_user_password         = true
  multi_az                            = var.multi_az
  db_subnet_group_name                = aws_db_subnet_group.this.name
  vpc_security_group_ids              = [aws_security_group.database.id]
  parameter_group_name                = aws_db_parameter_group.this[0].name
  ca_cert_identifier                  = "rds-ca-rsa2048-g1"
  backup_retention_period             = var.backup_retention_days
  backup_window                       = local.backup_window
  maintenance_window                  = local.maintenance_window
  delete_automated_backups            = !var.keep_backups_after_delete
  auto_minor_version_upgrade          = true
  copy_tags_to_snapshot               = true
  deletion_protection                 = var.deletion_protection
  skip_final_snapshot                 = false
  final_snapshot_identifier           = "${var.name}-final-${random_id.final_snapshot.hex}"
  iam_database_authentication_enabled = true
  enabled_cloudwatch_logs_exports     = ["postgresql", "upgrade"]
  performance_insights_enabled        = var.performance_insights
  performance_insights_kms_key_id     = var.performance_insights ? aws_kms_key.this.arn : null
  monitoring_interval                 = 60
  monitoring_role_arn                 = aws_iam_role.monitoring.arn

  depends_on = [aws_cloudwatch_log_group.postgresql]
}

# ---------------------------------------------------------------------------- Aurora

resource "aws_rds_cluster_parameter_group" "this" {
  count  = local.aurora ? 1 : 0
  name   = "${var.name}-aurora-postgresql${local.major}"
  family = "aurora-postgresql${local.major}"

  # TLS only; slow queries (over 1 s) and schema changes in the log.
  parameter {
    name         = "rds.force_ssl"
    value        = "1"
    apply_method = "pending-reboot"
  }
  parameter {
    name         = "log_min_duration_statement"
    value        = "1000"
    apply_method = "pending-reboot"
  }
  parameter {
    name         = "log_statement"
    value        = "ddl"
    apply_method = "pending-reboot"
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_rds_cluster" "this" {
  count                               = local.aurora ? 1 : 0
  cluster_identifier                  = var.name
  engine                              = "aurora-postgresql"
  engine_mode                         = "provisioned"
  engine_version                      = var.postgres_version
  database_name                       = var.database_name
  master_username                     = local.username
  manage_master_user_password         = true
  storage_encrypted                   = true
  kms_key_id                          = aws_kms_key.this.arn
  db_subnet_group_name                = aws_db_subnet_group.this.name
  vpc_security_group_ids              = [aws_security_group.database.id]
  db_cluster_parameter_group_name     = aws_rds_cluster_parameter_group.this[0].name
  backup_retention_period             = var.backup_retention_days
  preferred_backup_window             = local.backup_window
  preferred_maintenance_window        = local.maintenance_window
  delete_automated_backups            = !var.keep_backups_after_delete
  copy_tags_to_snapshot               = true
  deletion_protection                 = var.deletion_protection
  skip_final_snapshot                 = false
  final_snapshot_identifier           = "${var.name}-final-${random_id.final_snapshot.hex}"
  iam_database_authentication_enabled = true
  enabled_cloudwatch_logs_exports     = ["postgresql"]
  #checkov:skip=CKV2_AWS_8:Automated backups with point-in-time recovery (backup_retention_days); add AWS Backup for cross-account copies or vault lock.

  dynamic "serverlessv2_scaling_configuration" {
    for_each = local.serverless ? [1] : []
    content {
      min_capacity = var.serverless_min_capacity
      max_capacity = var.serverless_max_capacity
    }
  }

  depends_on = [aws_cloudwatch_log_group.postgresql]

  lifecycle {
    # Aurora versions are major.minor and AWS applies minor upgrades itself
    # (auto_minor_version_upgrade): a plan must not try to go back to the version written
    # here. Upgrade on purpose with `aws rds modify-db-cluster --engine-version ...`.
    ignore_changes = [engine_version]
  }
}

# One writer, plus a reader in another zone when multi_az (Aurora fails over to it).
resource "aws_rds_cluster_instance" "this" {
  count                           = local.aurora ? (var.multi_az ? 2 : 1) : 0
  identifier                      = "${var.name}-${count.index}"
  cluster_identifier              = aws_rds_cluster.this[0].id
  engine                          = aws_rds_cluster.this[0].engine
  instance_class                  = local.serverless ? "db.serverless" : var.instance_class
  db_subnet_group_name            = aws_db_subnet_group.this.name
  auto_minor_version_upgrade      = true
  preferred_maintenance_window    = local.maintenance_window
  performance_insights_enabled    = var.performance_insights
  performance_insights_kms_key_id = var.performance_insights ? aws_kms_key.this.arn : null
  monitoring_interval             = 60
  monitoring_role_arn             = aws_iam_role.monitoring.arn
}

# ------------------------------------------------------------------------- RDS Proxy

data "aws_iam_policy_document" "proxy_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["rds.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "proxy" {
  count              = var.rds_proxy ? 1 : 0
  name               = "${var.name}-rds-proxy"
  assume_role_policy = data.aws_iam_policy_document.proxy_trust.json
}

data "aws_iam_policy_document" "proxy" {
  statement {
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [local.master_secret_arn, var.app_secret_arn]
  }
}

resource "aws_iam_role_policy" "proxy" {
  count  = var.rds_proxy ? 1 : 0
  name   = "read-login-secrets"
  role   = aws_iam_role.proxy[0].id
  policy = data.aws_iam_policy_document.proxy.json
}

resource "aws_db_proxy" "this" {
  count                  = var.rds_proxy ? 1 : 0
  name                   = var.name
  engine_family          = "POSTGRESQL"
  role_arn               = aws_iam_role.proxy[0].arn
  vpc_subnet_ids         = var.database_subnet_ids
  vpc_security_group_ids = [aws_security_group.database.id]
  require_tls            = true
  idle_client_timeout    = 1800

  # One login per secret: the master (the migrate task) and the app role (everything else).
  dynamic "auth" {
    for_each = { master = local.master_secret_arn, app = var.app_secret_arn }
    content {
      description               = auth.key
      auth_scheme               = "SECRETS"
      secret_arn                = auth.value
      iam_auth                  = "DISABLED"
      client_password_auth_type = "POSTGRES_SCRAM_SHA_256"
    }
  }
}

resource "aws_db_proxy_default_target_group" "this" {
  count         = var.rds_proxy ? 1 : 0
  db_proxy_name = aws_db_proxy.this[0].name

  connection_pool_config {
    max_connections_percent = 90
  }
}

resource "aws_db_proxy_target" "this" {
  count                  = var.rds_proxy ? 1 : 0
  db_proxy_name          = aws_db_proxy.this[0].name
  target_group_name      = aws_db_proxy_default_target_group.this[0].name
  db_instance_identifier = local.aurora ? null : aws_db_instance.this[0].identifier
  db_cluster_identifier  = local.aurora ? aws_rds_cluster.this[0].cluster_identifier : null
}
