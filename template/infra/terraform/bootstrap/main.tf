# The S3 bucket that holds every environment's Terraform state (one key each, locked with
# S3-native lock files). Versioned, so a damaged state can be restored. The state holds
# secrets (docs/aws/infrastructure.md lists them): encrypted with a key of its own, and only
# the roles that run Terraform may read or write the objects, whatever else IAM allows
# (ReadOnlyAccess includes s3:GetObject).

provider "aws" {
  region              = var.region
  allowed_account_ids = [var.account_id]

  default_tags {
    tags = { Project = var.project, ManagedBy = "terraform" }
  }
}

resource "aws_s3_bucket" "state" {
  bucket = "${var.project}-terraform-state-${var.account_id}"
  #checkov:skip=CKV_AWS_18:Access logging needs a second bucket; CloudTrail records who changed the state objects.
  #checkov:skip=CKV_AWS_144:Cross-region replication is optional; versioning keeps every earlier state.
  #checkov:skip=CKV2_AWS_62:Nothing in this stack consumes object events; add a notification when something does.

  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_s3_bucket_public_access_block" "state" {
  bucket                  = aws_s3_bucket.state.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "state" {
  bucket = aws_s3_bucket.state.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "state" {
  bucket = aws_s3_bucket.state.id
  versioning_configuration {
    status = "Enabled"
  }
}

data "aws_iam_policy_document" "key" {
  #checkov:skip=CKV_AWS_111:In a key policy "*" means this key; the account statement delegates to IAM, as AWS's default key policy does.
  #checkov:skip=CKV_AWS_356:In a key policy "*" means this key, the only resource a key policy can name.
  #checkov:skip=CKV_AWS_109:The account administers its own key through IAM (AWS's default key policy); nobody outside it is named.
  # The account (its IAM policies) administers and uses the key; the bucket policy below
  # is what keeps everyone but the Terraform roles from the objects.
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::${var.account_id}:root"]
    }
  }

  # Each environment's roles (in its own account, or in this one) encrypt and decrypt
  # their state with the key; the bucket policy keeps them to their own state.
  dynamic "statement" {
    for_each = var.environment_role_arns
    content {
      sid       = "UseForState${title(statement.key)}"
      actions   = ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
      resources = ["*"]
      principals {
        type        = "AWS"
        identifiers = local.environment_accounts[statement.key]
      }
      condition {
        test     = "ArnLike"
        variable = "aws:PrincipalArn"
        values   = statement.value
      }
    }
  }
}

locals {
  # The accounts of the environment roles, for the grants other accounts need (a
  # principal in another account reaches the state only if this bucket and key say so).
  environment_accounts = { for env, arns in var.environment_role_arns : env => distinct([for arn in arns : "arn:aws:iam::${split(":", arn)[4]}:root"]) }
}

resource "aws_kms_key" "state" {
  description             = "${var.project} Terraform state"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.key.json

  lifecycle {
    prevent_destroy = true
  }
}

# The backends name the key by this alias.
resource "aws_kms_alias" "state" {
  name          = "alias/${var.project}-terraform-state"
  target_key_id = aws_kms_key.state.key_id
}

resource "aws_s3_bucket_server_side_encryption_configuration" "state" {
  bucket = aws_s3_bucket.state.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.state.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    id     = "old-state-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = 90
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

data "aws_iam_policy_document" "state" {
  statement {
    sid       = "TlsOnly"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.state.arn, "${aws_s3_bucket.state.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  # The objects (every state file) to the Terraform roles only. Bucket settings and this
  # policy stay with IAM, so an administrator can always repair a wrong role list.
  statement {
    sid       = "StateToTerraformRolesOnly"
    effect    = "Deny"
    actions   = ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"]
    resources = ["${aws_s3_bucket.state.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "ArnNotLike"
      variable = "aws:PrincipalArn"
      values   = concat(var.terraform_role_arns, flatten(values(var.environment_role_arns)))
    }
  }

  # A role listed for one environment reaches only that environment's state (not the
  # others', nor shared/'s), even where its IAM policies allow more.
  dynamic "statement" {
    for_each = var.environment_role_arns
    content {
      sid       = "OnlyOwnState${title(statement.key)}"
      effect    = "Deny"
      actions   = ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"]
      resources = concat(["${aws_s3_bucket.state.arn}/shared/*"], [for key, _ in var.environment_role_arns : "${aws_s3_bucket.state.arn}/${key}/*" if key != statement.key])
      principals {
        type        = "AWS"
        identifiers = ["*"]
      }
      condition {
        test     = "ArnLike"
        variable = "aws:PrincipalArn"
        values   = statement.value
      }
    }
  }

  # What an environment's roles need of the bucket when they are in another account (in
  # this account their IAM policies grant it): list the keys, and use their own state.
  dynamic "statement" {
    for_each = var.environment_role_arns
    content {
      sid       = "ListState${title(statement.key)}"
      actions   = ["s3:ListBucket"]
      resources = [aws_s3_bucket.state.arn]
      principals {
        type        = "AWS"
        identifiers = local.environment_accounts[statement.key]
      }
      condition {
        test     = "ArnLike"
        variable = "aws:PrincipalArn"
        values   = statement.value
      }
    }
  }

  dynamic "statement" {
    for_each = var.environment_role_arns
    content {
      sid       = "OwnState${title(statement.key)}"
      actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
      resources = ["${aws_s3_bucket.state.arn}/${statement.key}/*"]
      principals {
        type        = "AWS"
        identifiers = local.environment_accounts[statement.key]
      }
      condition {
        test     = "ArnLike"
        variable = "aws:PrincipalArn"
        values   = statement.value
      }
    }
  }
}

resource "aws_s3_bucket_policy" "state" {
  bucket = aws_s3_bucket.state.id
  policy = data.aws_iam_policy_document.state.json
}
