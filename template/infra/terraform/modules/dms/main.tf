# AWS DMS, for the database cutover: a full load of the source's `public` schema into the
# app's database, then change data capture (CDC) until the cutover window. Serverless: no
# replication instance to size or patch, capacity scales with the load and is billed only
# while the replication runs; the cutover removes the whole module (dms = false).
#
# The source needs logical replication (wal_level = logical and a user allowed to
# replicate): Heroku Postgres offers neither, so it cannot be a CDC source.

data "aws_region" "current" {}

locals {
  name   = "${var.project}-${var.environment}"
  aurora = var.target_engine != "rds-postgres"
  # Every table of the `public` schema (Django's tables live there).
  table_mappings = {
    rules = [{
      rule-type      = "selection"
      rule-id        = "1"
      rule-name      = "public-schema"
      object-locator = { schema-name = "public", table-name = "%" }
      rule-action    = "include"
    }]
  }
  # The schema comes from `manage.py migrate`, and `manage.py prepare_copy_target` empties it
  # before the load: DMS creates and drops nothing (its default would drop Django's tables
  # and recreate them without defaults, indexes or foreign keys). Django's text and jsonb
  # columns are LOBs to DMS; a value above var.lob_max_size_kb fails the task (the source's
  # fail_tasks_on_lob_truncation) instead of arriving cut. A data error stops the task; an
  # apply conflict is logged to awsdms.awsdms_apply_exceptions (read it before the window).
  # DMS's control tables stay out of public, which verify_copy compares table by table.
  replication_settings = {
    TargetMetadata = {
      SupportLobs        = true
      FullLobMode        = false
      LimitedSizeLobMode = true
      LobMaxSize         = var.lob_max_size_kb
    }
    FullLoadSettings = { TargetTablePrepMode = "DO_NOTHING" }
    Logging          = { EnableLogging = true }
    ErrorBehavior = {
      DataErrorPolicy           = "STOP_TASK"
      DataTruncationErrorPolicy = "STOP_TASK"
      TableErrorPolicy          = "STOP_TASK"
      ApplyErrorInsertPolicy    = "LOG_ERROR"
      ApplyErrorUpdatePolicy    = "LOG_ERROR"
      ApplyErrorDeletePolicy    = "LOG_ERROR"
    }
    ControlTablesSettings = { ControlSchema = "awsdms" }
  }
}

# ---------------------------------------------------------------------------- secrets

# Containers only: the operator puts the connection in (docs/aws/infrastructure.md), so no
# password passes through Terraform state. DMS cannot use the RDS-managed master secret
# (it holds no host or port), hence a target secret for a dedicated DMS user too.
resource "aws_secretsmanager_secret" "source" {
  name                    = "${var.project}/${var.environment}/dms-source"
  description             = "Connection to the database DMS copies from (username, password, host, port)"
  recovery_window_in_days = 7
  #checkov:skip=CKV2_AWS_57:Filled by hand for the weeks of a migration and deleted with it; the source's owner rotates its password.
  #checkov:skip=CKV_AWS_149:The AWS-managed key; DMS's access role then needs no key policy.
}

resource "aws_secretsmanager_secret" "target" {
  name                    = "${var.project}/${var.environment}/dms-target"
  description             = "Connection of the DMS user to the app's database (username, password, host, port)"
  recovery_window_in_days = 7
  #checkov:skip=CKV2_AWS_57:Filled by hand for the weeks of a migration and deleted with it; drop the DMS user after the cutover.
  #checkov:skip=CKV_AWS_149:The AWS-managed key; DMS's access role then needs no key policy.
}

# The role DMS assumes to read the two secrets (DMS requires the regional principal).
data "aws_iam_policy_document" "trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["dms.${data.aws_region.current.region}.amazonaws.com", "dms.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "secrets" {
  name               = "${local.name}-dms-secrets"
  assume_role_policy = data.aws_iam_policy_document.trust.json
}

data "aws_iam_policy_document" "secrets" {
  statement {
    sid       = "EndpointSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.source.arn, aws_secretsmanager_secret.target.arn]
  }
}

resource "aws_iam_role_policy" "secrets" {
  name   = "read-endpoint-secrets"
  role   = aws_iam_role.secrets.id
  policy = data.aws_iam_policy_document.secrets.json
}

# ---------------------------------------------------------------------------- network

resource "aws_dms_replication_subnet_group" "this" {
  replication_subnet_group_id          = local.name
  replication_subnet_group_description = "DMS for ${local.name}: the private subnets"
  subnet_ids                           = var.private_subnet_ids

  # DMS places its network interfaces through the account's dms-vpc-role.
  depends_on = [var.subnet_group_after]
}

resource "aws_security_group" "dms" {
  name        = "${local.name}-dms"
  description = "DMS: out to the source, the app database and AWS APIs; nothing in"
  vpc_id      = var.vpc_id
}

# The source is outside the VPC at an address only its secret knows.
resource "aws_vpc_security_group_egress_rule" "dms_to_postgres" {
  security_group_id = aws_security_group.dms.id
  description       = "PostgreSQL: the source (anywhere) and the app database"
  ip_protocol       = "tcp"
  from_port         = 5432
  to_port           = 5432
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "dms_to_apis" {
  security_group_id = aws_security_group.dms.id
  description       = "HTTPS to AWS APIs (Secrets Manager)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_ingress_rule" "database_from_dms" {
  security_group_id            = var.database_security_group_id
  description                  = "PostgreSQL from DMS"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.dms.id
}

# --------------------------------------------------------------------------- endpoints

resource "aws_dms_endpoint" "source" {
  endpoint_id                     = "${local.name}-source"
  endpoint_type                   = "source"
  engine_name                     = "postgres"
  database_name                   = var.source_database_name
  ssl_mode                        = "require"
  secrets_manager_arn             = aws_secretsmanager_secret.source.arn
  secrets_manager_access_role_arn = aws_iam_role.secrets.arn
  #checkov:skip=CKV_AWS_296:The connection details are in Secrets Manager; DMS's own encryption uses the AWS-managed key.

  postgres_settings {
    fail_tasks_on_lob_truncation = true
    # Keeps the replication slot moving on a quiet source, so its WAL does not pile up.
    heartbeat_enable = true
    # No DDL capture: it installs event triggers on the source (superuser), and Django's
    # schema changes are frozen for the cutover anyway.
    capture_ddls = false
  }
}

resource "aws_dms_endpoint" "target" {
  endpoint_id                     = "${local.name}-target"
  endpoint_type                   = "target"
  engine_name                     = local.aurora ? "aurora-postgresql" : "postgres"
  database_name                   = var.target_database_name
  ssl_mode                        = "require"
  secrets_manager_arn             = aws_secretsmanager_secret.target.arn
  secrets_manager_access_role_arn = aws_iam_role.secrets.arn
  #checkov:skip=CKV_AWS_296:The connection details are in Secrets Manager; DMS's own encryption uses the AWS-managed key.

  # DMS loads tables in parallel, in no order: foreign keys (triggers in PostgreSQL) must
  # not fire during the load. Needs the DMS user to hold rds_superuser.
  postgres_settings {
    after_connect_script = "SET session_replication_role = replica"
  }
}

# ------------------------------------------------------------------------- replication

resource "aws_dms_replication_config" "this" {
  replication_config_identifier = local.name
  replication_type              = "full-load-and-cdc"
  source_endpoint_arn           = aws_dms_endpoint.source.endpoint_arn
  target_endpoint_arn           = aws_dms_endpoint.target.endpoint_arn
  table_mappings                = jsonencode(local.table_mappings)
  replication_settings          = jsonencode(local.replication_settings)
  # Started by the operator once the secrets are filled (docs/aws/infrastructure.md).
  start_replication = false

  compute_config {
    replication_subnet_group_id  = aws_dms_replication_subnet_group.this.replication_subnet_group_id
    vpc_security_group_ids       = [aws_security_group.dms.id]
    max_capacity_units           = var.max_capacity_units
    multi_az                     = false
    preferred_maintenance_window = "sun:03:30-sun:04:30"
  }
}
