# What every environment shares: the image repository (an image is built once and promoted
# from one environment to the next, across accounts where each environment has its own)
# and, where the environments share this account, the account's GitHub OIDC provider,
# ECS's service-linked role and, for the cutover's DMS replication, its dms-vpc-role
# (an account per environment: each environment's root creates those in its account).

provider "aws" {
  region              = var.region
  allowed_account_ids = [var.account_id]

  default_tags {
    tags = { Project = var.project, ManagedBy = "terraform" }
  }
}

# Every environment's roles, in its own account (or all in this one), by the names
# modules/app gives them. The first environment in promotion order builds and pushes; the
# later ones deploy the image it pushed and may not push.
locals {
  deploy_role_arns    = { for env, account in var.environment_account_ids : env => "arn:aws:iam::${account}:role/${var.project}-${env}-deploy" }
  execution_role_arns = [for env, account in var.environment_account_ids : "arn:aws:iam::${account}:role/${var.project}-${env}-execution"]
}

module "ecr" {
  source = "../modules/ecr"
  name   = var.project

  pull_role_arns        = concat(local.execution_role_arns, values(local.deploy_role_arns))
  push_role_arn         = local.deploy_role_arns[var.image_builder]
  push_denied_role_arns = [for env, arn in local.deploy_role_arns : arn if env != var.image_builder]
}

# No thumbprint: AWS verifies GitHub's tokens against its trusted certificate authorities.
resource "aws_iam_openid_connect_provider" "github" {
  count          = var.create_github_oidc_provider ? 1 : 0
  url            = "https://token.actions.githubusercontent.com"
  client_id_list = ["sts.amazonaws.com"]
}

# ECS creates AWSServiceRoleForECS itself on first use, but not always before a new
# account's first capacity-provider attachment ("Unable to assume the service linked
# role"): create it here, applied before any environment. False when it exists already
# (`aws iam get-role --role-name AWSServiceRoleForECS`).
resource "aws_iam_service_linked_role" "ecs" {
  count            = var.create_ecs_service_linked_role ? 1 : 0
  aws_service_name = "ecs.amazonaws.com"
}

# DMS places its network interfaces through a role with exactly this name, one per account.
data "aws_iam_policy_document" "dms_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["dms.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "dms_vpc" {
  count              = var.create_dms_vpc_role ? 1 : 0
  name               = "dms-vpc-role"
  assume_role_policy = data.aws_iam_policy_document.dms_trust.json
}

resource "aws_iam_role_policy_attachment" "dms_vpc" {
  count      = var.create_dms_vpc_role ? 1 : 0
  role       = aws_iam_role.dms_vpc[0].name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonDMSVPCManagementRole"
}
