# One private bucket for the app: media under media/ (private: CloudFront serves it only to
# URLs the app signed), static files under static/. Only CloudFront reads either, through
# origin access control; Django's storages use the prefixes.

locals {
  count = var.bucket_name != null ? 1 : 0
  # The prefixes CloudFront may read, matching its /static/* and /media/* behaviours.
  cloudfront_prefixes = concat(var.static_on_s3 ? ["static"] : [], var.media_on_s3 ? ["media"] : [])
}

resource "aws_s3_bucket" "this" {
  count  = local.count
  bucket = var.bucket_name
  #checkov:skip=CKV_AWS_18:Access logging needs a second bucket; CloudTrail data events are the better audit trail when required.
  #checkov:skip=CKV_AWS_144:Cross-region replication is a disaster-recovery choice with its own cost; versioning protects against deletes.
  #checkov:skip=CKV2_AWS_62:Nothing in this stack consumes object events; add a notification when something does.
  #checkov:skip=CKV_AWS_145:SSE-S3 on purpose: CloudFront's origin access control reads static files without a KMS key policy, and no per-request KMS cost.
}

resource "aws_s3_bucket_public_access_block" "this" {
  count                   = local.count
  bucket                  = aws_s3_bucket.this[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# ACLs off: django-storages writes with default_acl=None, access comes from policies only.
resource "aws_s3_bucket_ownership_controls" "this" {
  count  = local.count
  bucket = aws_s3_bucket.this[0].id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  count  = local.count
  bucket = aws_s3_bucket.this[0].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

# Versioning: an overwritten or deleted upload can be restored for 30 days.
resource "aws_s3_bucket_versioning" "this" {
  count  = local.count
  bucket = aws_s3_bucket.this[0].id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  count  = local.count
  bucket = aws_s3_bucket.this[0].id

  rule {
    id     = "old-versions-and-aborted-uploads"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

data "aws_iam_policy_document" "this" {
  count = local.count

  statement {
    sid       = "TlsOnly"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.this[0].arn, "${aws_s3_bucket.this[0].arn}/*"]
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

  dynamic "statement" {
    for_each = length(local.cloudfront_prefixes) > 0 ? [1] : []
    content {
      sid       = "CloudFrontReadsFiles"
      actions   = ["s3:GetObject"]
      resources = [for prefix in local.cloudfront_prefixes : "${aws_s3_bucket.this[0].arn}/${prefix}/*"]
      principals {
        type        = "Service"
        identifiers = ["cloudfront.amazonaws.com"]
      }
      condition {
        test     = "StringEquals"
        variable = "AWS:SourceArn"
        values   = [var.cloudfront_distribution_arn]
      }
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  count  = local.count
  bucket = aws_s3_bucket.this[0].id
  policy = data.aws_iam_policy_document.this[0].json

  depends_on = [aws_s3_bucket_public_access_block.this]
}
