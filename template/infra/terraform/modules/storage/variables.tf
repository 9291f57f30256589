variable "bucket_name" {
  description = "The bucket to create; null when the app stores nothing on S3."
  type        = string
}

variable "static_on_s3" {
  description = "Static files live under static/ and CloudFront reads them (origin access control)."
  type        = bool
}

variable "media_on_s3" {
  description = "Uploads live under media/ and CloudFront reads them for signed URLs (origin access control)."
  type        = bool
}

variable "cloudfront_distribution_arn" {
  description = "The distribution allowed to read static/ and media/ (origin access control)."
  type        = string
}
