# What the containers read at start: one Secrets Manager secret (SECRET_KEY, REDIS_URL), the
# media signing key's secret, and SSM parameters under /<project>/<environment>/. The execution
# role reads exactly those (ECS injects them); the task role is what the running app may do,
# the migrate role what the migrate task (and the cutover's one-off commands) may do on top.
# The app connects as a least-privilege role (the db-app secret, which the migrate task
# creates in PostgreSQL); only the migrate task reads the master secret.

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

locals {
  name    = "${var.project}-${var.environment}"
  prefix  = "/${var.project}/${var.environment}"
  ssm_arn = "arn:aws:ssm:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:parameter"
  parameters = merge(
    {
      # The app resolves these references itself (with its task role), so a rotated
      # password is picked up without a deploy. Web, workers and beat read DATABASE_SECRET
      # (the app role); the migrate task reads DATABASE_MASTER_SECRET as its DATABASE_SECRET.
      DATABASE_SECRET        = "secretsmanager:${aws_secretsmanager_secret.db_app.arn}"
      DATABASE_MASTER_SECRET = "secretsmanager:${var.database_secret_arn}"
      DATABASE_HOST          = var.database_host
      DATABASE_NAME          = var.database_name
      DATABASE_PROXY         = tostring(var.database_proxy)
      ALLOWED_HOSTS          = join(",", concat([var.domain], var.extra_allowed_hosts))
    },
    var.bucket_name != null ? { AWS_STORAGE_BUCKET_NAME = var.bucket_name } : {},
    # Static and signed media URLs point at CloudFront on the app's own domain.
    var.static_on_s3 || var.media_on_s3 ? { AWS_S3_CUSTOM_DOMAIN = var.domain } : {},
    var.media_on_s3 ? { AWS_CLOUDFRONT_KEY_ID = var.media_signing_key_id } : {},
    # Email through SES (modules/email): the senders and the configuration set.
    var.email_parameters,
    # The SQS broker's queues (modules/queues), kombu's predefined_queues.
    var.sqs_queue_urls != null ? { CELERY_SQS_QUEUE_URLS = jsonencode(var.sqs_queue_urls) } : {},
  )
  secret_arns = concat(
    [aws_secretsmanager_secret.app.arn, aws_secretsmanager_secret.db_app.arn],
    aws_secretsmanager_secret.media_signing[*].arn,
  )
}

resource "random_password" "secret_key" {
  length  = 64
  special = true
}

# The app role's password: letters and digits only, so it needs no quoting anywhere.
resource "random_password" "db_app" {
  length  = 40
  special = false
}

resource "aws_secretsmanager_secret" "app" {
  name                    = "${var.project}/${var.environment}/app"
  description             = "SECRET_KEY and REDIS_URL of ${local.name}"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = 7
  #checkov:skip=CKV2_AWS_57:SECRET_KEY rotation signs everyone out and the Redis token rotates with ElastiCache; rotate both deliberately (docs/aws/infrastructure.md).
  #checkov:skip=CKV_AWS_149:The AWS-managed key by default; set kms_key_arn to use a customer-managed key.
}

# Terraform seeds the app secret once; after that operators add keys to it
# (`django-aws config import` merges), so an apply must never write it back. Write-only:
# the secret version keeps no copy in the state (the inputs still do, see
# docs/aws/infrastructure.md); raise the version to write it again.
resource "aws_secretsmanager_secret_version" "app" {
  secret_id = aws_secretsmanager_secret.app.id
  secret_string_wo = jsonencode(merge(
    { SECRET_KEY = random_password.secret_key.result },
    var.redis_url != null ? { REDIS_URL = var.redis_url } : {}, # none without ElastiCache
  ))
  secret_string_wo_version = 1
}

# The app's database role: RDS Proxy and the app log in with it; the migrate task creates
# it in PostgreSQL (`manage.py ensure_app_role`) with DML rights only. Same shape as the
# RDS-managed master secret.
resource "aws_secretsmanager_secret" "db_app" {
  name                    = "${var.project}/${var.environment}/db-app"
  description             = "The least-privilege PostgreSQL role ${local.name}'s processes connect as"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = 7
  #checkov:skip=CKV2_AWS_57:Rotate by raising secret_string_wo_version and running the migrate task, which sets the new password (docs/aws/infrastructure.md).
  #checkov:skip=CKV_AWS_149:The AWS-managed key by default; set kms_key_arn to use a customer-managed key.
}

resource "aws_secretsmanager_secret_version" "db_app" {
  secret_id = aws_secretsmanager_secret.db_app.id
  secret_string_wo = jsonencode({
    username = var.database_app_username
    password = random_password.db_app.result
  })
  secret_string_wo_version = 1
}

# The private key media URLs are signed with (the edge module makes the pair). Terraform
# owns this secret: a replaced key pair reaches it on the same apply.
resource "aws_secretsmanager_secret" "media_signing" {
  count                   = var.media_on_s3 ? 1 : 0
  name                    = "${var.project}/${var.environment}/media-signing-key"
  description             = "AWS_CLOUDFRONT_KEY of ${local.name}: signs media URLs for CloudFront"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = 7
  #checkov:skip=CKV2_AWS_57:Rotated by replacing the key pair in Terraform (docs/aws/infrastructure.md); a rotation Lambda could not update CloudFront's key group.
  #checkov:skip=CKV_AWS_149:The AWS-managed key by default; set kms_key_arn to use a customer-managed key.
}

resource "aws_secretsmanager_secret_version" "media_signing" {
  count         = var.media_on_s3 ? 1 : 0
  secret_id     = aws_secretsmanager_secret.media_signing[0].id
  secret_string = jsonencode({ AWS_CLOUDFRONT_KEY = var.media_signing_private_key })
}

resource "aws_ssm_parameter" "this" {
  for_each = local.parameters
  name     = "${local.prefix}/${each.key}"
  type     = "String"
  value    = each.value
  #checkov:skip=CKV2_AWS_34:Configuration, not secrets (host names, bucket names, a secret's ARN); secrets live in Secrets Manager.
}

# The maintenance switch every task definition names in MAINTENANCE_PARAMETER; each process
# re-reads it. Operators flip it during the cutover (aws ssm put-parameter ... --value on),
# so Terraform creates it once and never resets it.
resource "aws_ssm_parameter" "maintenance_mode" {
  name  = "${local.prefix}/MAINTENANCE_MODE"
  type  = "String"
  value = "off"
  #checkov:skip=CKV2_AWS_34:A switch (off, on or read-only) the app polls, not a secret; encryption would only add a KMS call per poll.

  lifecycle {
    ignore_changes = [value]
  }
}

# ------------------------------------------------------------------- execution role

data "aws_iam_policy_document" "ecs_tasks_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "execution" {
  name               = "${local.name}-execution"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_trust.json
}

data "aws_iam_policy_document" "execution" {
  statement {
    sid       = "Configuration"
    actions   = ["ssm:GetParameters"]
    resources = [for name in keys(local.parameters) : "${local.ssm_arn}${local.prefix}/${name}"]
  }

  # `django-aws ecs register` adds the app's own config keys (what config import writes
  # under the prefix) to the task definitions as secrets entries: their names are not
  # known here, only that they live directly under this environment's prefix.
  statement {
    sid       = "AppConfiguration"
    actions   = ["ssm:GetParameters"]
    resources = ["${local.ssm_arn}${local.prefix}/*"]
  }

  statement {
    sid       = "Secrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = local.secret_arns
  }

  dynamic "statement" {
    for_each = var.kms_key_arn != null ? [1] : []
    content {
      sid       = "SecretsKey"
      actions   = ["kms:Decrypt"]
      resources = [var.kms_key_arn]
    }
  }

  statement {
    sid       = "PullImage"
    actions   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
    resources = [var.ecr_repository_arn]
  }

  # GetAuthorizationToken has no resource-level permissions: AWS requires "*".
  statement {
    sid       = "RegistryLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${var.log_group_arn}:log-stream:*"]
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "start-containers"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

# ------------------------------------------------------------------------- task role

resource "aws_iam_role" "task" {
  name               = "${local.name}-task"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_trust.json
}

data "aws_iam_policy_document" "task" {
  statement {
    sid       = "DatabaseSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.db_app.arn]
  }

  # One-off tasks resolve secretsmanager:<project>/<environment>/app#KEY references at run
  # time (the cutover runbook's verification task reads SOURCE_DATABASE_URL from it).
  statement {
    sid       = "AppSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.app.arn]
  }

  dynamic "statement" {
    for_each = var.kms_key_arn != null ? [1] : []
    content {
      sid       = "AppSecretKey"
      actions   = ["kms:Decrypt"]
      resources = [var.kms_key_arn]
    }
  }

  # The maintenance middleware polls exactly this parameter (MAINTENANCE_PARAMETER).
  statement {
    sid       = "MaintenanceSwitch"
    actions   = ["ssm:GetParameter"]
    resources = [aws_ssm_parameter.maintenance_mode.arn]
  }

  # The environment bridge reads the app's own config keys (django-aws config import writes
  # them under the prefix) at process start: DJANGO_AWS_CONFIG_PATH, one call per 10 keys.
  statement {
    sid       = "AppConfig"
    actions   = ["ssm:GetParametersByPath"]
    resources = ["${local.ssm_arn}${local.prefix}"]
  }

  # The package reads references in one BatchGetSecretValue call. That action has no
  # resource-level permissions (AWS requires "*"); it returns only the secrets that
  # GetSecretValue above allows.
  statement {
    sid       = "BatchReadSecrets"
    actions   = ["secretsmanager:BatchGetSecretValue"]
    resources = ["*"]
  }

  dynamic "statement" {
    for_each = var.bucket_name != null ? [1] : []
    content {
      sid       = "Objects"
      actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
      resources = ["arn:aws:s3:::${var.bucket_name}/*"]
    }
  }

  dynamic "statement" {
    for_each = var.bucket_name != null ? [1] : []
    content {
      sid       = "ListObjects"
      actions   = ["s3:ListBucket"]
      resources = ["arn:aws:s3:::${var.bucket_name}"]
    }
  }

  # A busy Celery worker protects its own task from scale-in and deployments through the
  # ECS agent (django_aws_settings.runtime.task_protection), which calls these with the task role.
  statement {
    sid       = "TaskProtection"
    actions   = ["ecs:UpdateTaskProtection", "ecs:GetTaskProtection"]
    resources = ["arn:aws:ecs:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:task/${var.cluster_name}/*"]
  }

  # PutMetricData has no resource-level permissions; the namespace condition confines it.
  statement {
    sid       = "Metrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = [var.metric_namespace]
    }
  }

  dynamic "statement" {
    for_each = var.enable_execute_command ? [1] : []
    content {
      sid = "ExecuteCommand"
      actions = [
        "ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel",
      ]
      resources = ["*"]
    }
  }
}

resource "aws_iam_role_policy" "task" {
  name   = "app"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task.json
}

# ------------------------------------------------------------------------ migrate role

# The migrate task (and the cutover's one-off commands, which run its task definition):
# everything the app may do, plus the master secret it migrates and creates the app role with.
resource "aws_iam_role" "migrate" {
  name               = "${local.name}-migrate"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_trust.json
}

resource "aws_iam_role_policy" "migrate_app" {
  name   = "app"
  role   = aws_iam_role.migrate.id
  policy = data.aws_iam_policy_document.task.json
}

data "aws_iam_policy_document" "migrate" {
  statement {
    sid       = "MasterSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [var.database_secret_arn]
  }
}

resource "aws_iam_role_policy" "migrate" {
  name   = "database-owner"
  role   = aws_iam_role.migrate.id
  policy = data.aws_iam_policy_document.migrate.json
}

# --------------------------------------------------------------- queue-metrics role

# The queue depth publisher reads REDIS_URL (injected by ECS) and puts one metric.
resource "aws_iam_role" "queue_metrics" {
  name               = "${local.name}-queue-metrics"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_trust.json
}

# PutMetricData has no resource-level permissions; the namespace condition confines it.
data "aws_iam_policy_document" "queue_metrics" {
  statement {
    sid       = "Metrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = [var.metric_namespace]
    }
  }
}

resource "aws_iam_role_policy" "queue_metrics" {
  name   = "put-queue-depth"
  role   = aws_iam_role.queue_metrics.id
  policy = data.aws_iam_policy_document.queue_metrics.json
}
