resource "aws_ecr_repository" "this" {
  name = var.name
  # A tag (the commit SHA) always means the same image: deploys and rollbacks are exact.
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "AES256"
  }
  #checkov:skip=CKV_AWS_136:AES256 (AWS-owned key): images hold no secrets, and a customer key adds a KMS permission to every pull.
}

resource "aws_ecr_lifecycle_policy" "this" {
  repository = aws_ecr_repository.this.name
  policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "Untagged layers of interrupted pushes"
        selection    = { tagStatus = "untagged", countType = "sinceImagePushed", countUnit = "days", countNumber = 7 }
        action       = { type = "expire" }
      },
      {
        # An image a rule selects is never expired by a later rule: this keeps the newest
        # image tagged bootstrap (the queue-metrics service and first revisions run it).
        rulePriority = 2
        description  = "Keep the newest bootstrap image"
        selection    = { tagStatus = "tagged", tagPrefixList = ["bootstrap"], countType = "imageCountMoreThan", countNumber = 1 }
        action       = { type = "expire" }
      },
      {
        rulePriority = 3
        description  = "Keep the newest ${var.keep_images} images"
        selection    = { tagStatus = "any", countType = "imageCountMoreThan", countNumber = var.keep_images }
        action       = { type = "expire" }
      },
    ]
  })
}

# Who may pull and who may push, whatever account they are in. Pulling: each
# environment's execution role (ECS, at a task's start) and deploy role (the pipeline looks
# for the commit's image). Pushing: only the role that builds; every other deploy role is
# denied it explicitly, even where its own IAM policy (the same account) would allow it.
# Roles are named by aws:PrincipalArn, so the policy can be applied before they exist.
data "aws_iam_policy_document" "this" {
  dynamic "statement" {
    for_each = length(var.pull_role_arns) > 0 ? [1] : []
    content {
      sid = "PullFromTheEnvironments"
      actions = [
        "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
        "ecr:DescribeImages",
      ]
      principals {
        type        = "AWS"
        identifiers = distinct([for arn in var.pull_role_arns : "arn:aws:iam::${split(":", arn)[4]}:root"])
      }
      condition {
        test     = "ArnLike"
        variable = "aws:PrincipalArn"
        values   = var.pull_role_arns
      }
    }
  }

  dynamic "statement" {
    for_each = var.push_role_arn != null ? [1] : []
    content {
      sid = "PushFromTheBuilder"
      actions = [
        "ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
        "ecr:CompleteLayerUpload", "ecr:PutImage",
      ]
      principals {
        type        = "AWS"
        identifiers = ["arn:aws:iam::${split(":", var.push_role_arn)[4]}:root"]
      }
      condition {
        test     = "ArnEquals"
        variable = "aws:PrincipalArn"
        values   = [var.push_role_arn]
      }
    }
  }

  dynamic "statement" {
    for_each = length(var.push_denied_role_arns) > 0 ? [1] : []
    content {
      sid     = "NoPushFromTheOtherDeployRoles"
      effect  = "Deny"
      actions = ["ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage"]
      principals {
        type        = "AWS"
        identifiers = ["*"]
      }
      condition {
        test     = "ArnEquals"
        variable = "aws:PrincipalArn"
        values   = var.push_denied_role_arns
      }
    }
  }
}

resource "aws_ecr_repository_policy" "this" {
  count      = length(var.pull_role_arns) + length(var.push_denied_role_arns) > 0 || var.push_role_arn != null ? 1 : 0
  repository = aws_ecr_repository.this.name
  policy     = data.aws_iam_policy_document.this.json
}
