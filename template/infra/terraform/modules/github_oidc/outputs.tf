output "role_arn" {
  description = "The role the deploy workflow assumes (AWS_ROLE_ARN)."
  value       = aws_iam_role.deploy.arn
}
