output "bucket_name" {
  description = "The app's bucket (null when nothing is stored on S3)."
  value       = one(aws_s3_bucket.this[*].id)
}

output "bucket_arn" {
  description = "The app's bucket ARN (null when nothing is stored on S3)."
  value       = one(aws_s3_bucket.this[*].arn)
}

output "bucket_regional_domain_name" {
  description = "The name CloudFront's S3 origin uses (null when nothing is stored on S3)."
  value       = one(aws_s3_bucket.this[*].bucket_regional_domain_name)
}
