# The role GitHub Actions assumes with OIDC (no stored AWS keys): only jobs of this
# repository that run in the GitHub environment named like this environment, and only
# what a deploy needs.

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

locals {
  ecs = "arn:aws:ecs:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}"
}

data "aws_iam_policy_document" "trust" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [var.oidc_provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:aud"
      values   = ["sts.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:sub"
      values   = ["repo:${var.github_repository}:environment:${var.environment}"]
    }
  }
}

resource "aws_iam_role" "deploy" {
  name                 = "${var.name}-deploy"
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "deploy" {
  # No resource-level permissions for these three: AWS requires "*".
  statement {
    sid       = "RegistryLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid       = "TaskDefinitions"
    actions   = ["ecs:RegisterTaskDefinition", "ecs:DescribeTaskDefinition"]
    resources = ["*"]
  }

  # Every deploy finds its image; only an environment allowed to push builds a missing one
  # (var.push_images false: it deploys only images another environment built).
  statement {
    sid = "ReadImages"
    actions = [
      "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
      "ecr:DescribeImages",
    ]
    resources = [var.ecr_repository_arn]
  }

  dynamic "statement" {
    for_each = var.push_images ? [1] : []
    content {
      sid       = "PushImage"
      actions   = ["ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage"]
      resources = [var.ecr_repository_arn]
    }
  }

  statement {
    sid       = "RunMigrations"
    actions   = ["ecs:RunTask"]
    resources = ["${local.ecs}:task-definition/${var.name}-migrate:*"]
    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = ["${local.ecs}:cluster/${var.cluster_name}"]
    }
  }

  statement {
    sid = "RollServices"
    # The Express actions: the web service on ECS Express Mode (`django-aws ecs express-deploy`).
    actions = [
      "ecs:UpdateService", "ecs:DescribeServices",
      "ecs:UpdateExpressGatewayService", "ecs:ListServiceDeployments",
    ]
    resources = ["${local.ecs}:service/${var.cluster_name}/${var.name}-*"]
  }

  # Following an Express Mode deployment to its end (it has no deployment list of its own).
  statement {
    sid       = "WatchServiceDeployments"
    actions   = ["ecs:DescribeServiceDeployments"]
    resources = ["${local.ecs}:service-deployment/${var.cluster_name}/${var.name}-*"]
  }

  statement {
    sid       = "WatchTasks"
    actions   = ["ecs:DescribeTasks", "ecs:StopTask"]
    resources = ["${local.ecs}:task/${var.cluster_name}/*"]
  }

  statement {
    sid       = "PassTaskRoles"
    actions   = ["iam:PassRole"]
    resources = var.task_role_arns
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }

  # `django-aws ecs register` turns the parameters under the environment's path into
  # secrets entries of the task definitions it registers (it reads names and ARNs only).
  statement {
    sid       = "ListAppConfiguration"
    actions   = ["ssm:GetParametersByPath"]
    resources = [var.parameter_path_arn]
  }

  statement {
    sid       = "ReadTaskLogs"
    actions   = ["logs:GetLogEvents"]
    resources = ["${var.log_group_arn}:log-stream:*"]
  }
}

resource "aws_iam_role_policy" "deploy" {
  name   = "deploy"
  role   = aws_iam_role.deploy.id
  policy = data.aws_iam_policy_document.deploy.json
}
