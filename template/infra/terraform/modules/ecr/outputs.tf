output "repository_url" {
  description = "<account>.dkr.ecr.<region>.amazonaws.com/<name>"
  value       = aws_ecr_repository.this.repository_url
}

output "repository_arn" {
  description = "The repository's ARN."
  value       = aws_ecr_repository.this.arn
}

output "push_role_arn" {
  description = "The role that pushes images (null: IAM in this account decides)."
  value       = var.push_role_arn
}
