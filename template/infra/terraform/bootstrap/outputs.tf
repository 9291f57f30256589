output "state_bucket" {
  description = "The bucket named in every backend \"s3\" block."
  value       = aws_s3_bucket.state.id
}
