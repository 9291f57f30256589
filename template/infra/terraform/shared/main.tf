# What every environment shares: the image repository (an image is built once and promoted
# from one environment to the next), the account's GitHub OIDC provider, ECS's
# service-linked role and, for the cutover's DMS replication, the account's dms-vpc-role.

provider "aws" {
  region              = var.region
  allowed_account_ids = [var.account_id]

  default_tags {
    tags = { Project = var.project, ManagedBy = "terraform" }
  }
}

module "ecr" {
  source = "../modules/ecr"
  name   = var.project
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
