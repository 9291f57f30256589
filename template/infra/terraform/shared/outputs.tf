output "ecr_repository_url" {
  description = "Where the pipeline pushes images."
  value       = module.ecr.repository_url
}

output "github_oidc_provider_arn" {
  description = "The provider every environment's deploy role trusts (null when it existed already)."
  value       = one(aws_iam_openid_connect_provider.github[*].arn)
}

output "image_builder_role_arn" {
  description = "The only deploy role that may push images."
  value       = module.ecr.push_role_arn
}
