# What every environment shares: the image repository (an image is built once and promoted
# from one environment to the next), the account's GitHub OIDC provider and, for the
# cutover's DMS replication, the account's dms-vpc-role.

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
