# What every environment shares: the image repository (an image is built once and promoted
# from one environment to the next) and the account's GitHub OIDC provider.

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
