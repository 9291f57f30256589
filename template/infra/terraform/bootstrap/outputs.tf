output "state_bucket" {
  description = "The bucket named in every backend \"s3\" block."
  value       = aws_s3_bucket.state.id
}

output "state_key_alias" {
  description = "The KMS key every backend encrypts the state with (kms_key_id)."
  value       = aws_kms_alias.state.arn
}
