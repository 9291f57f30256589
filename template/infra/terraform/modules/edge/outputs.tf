output "alb_security_group_id" {
  description = "The load balancer's security group (the app admits it on port 8000)."
  value       = aws_security_group.alb.id
}

output "target_group_arn" {
  description = "The web service's target group (ready once a listener forwards to it)."
  value       = aws_lb_target_group.web.arn
  # ECS refuses a service whose target group no load balancer uses yet.
  depends_on = [aws_lb_listener_rule.from_cloudfront]
}

output "alb_arn_suffix" {
  description = "The load balancer's CloudWatch dimension."
  value       = aws_lb.this.arn_suffix
}

output "target_group_arn_suffix" {
  description = "The target group's CloudWatch dimension."
  value       = aws_lb_target_group.web.arn_suffix
}

output "distribution_id" {
  description = "The CloudFront distribution (the pipeline invalidates it)."
  value       = aws_cloudfront_distribution.this.id
}

output "distribution_domain_name" {
  description = "The distribution's own host name (dxxxx.cloudfront.net): test through it before the DNS flip."
  value       = aws_cloudfront_distribution.this.domain_name
}

output "distribution_arn" {
  description = "The CloudFront distribution's ARN (bucket policy, deploy role)."
  value       = aws_cloudfront_distribution.this.arn
}

output "media_signing_key_id" {
  description = "The CloudFront public key id media URLs are signed with (AWS_CLOUDFRONT_KEY_ID; null without media on S3)."
  value       = var.media_on_s3 ? aws_cloudfront_public_key.media_signing[local.signing_key].id : null
}

output "media_signing_private_key" {
  description = "The private key the app signs media URLs with (AWS_CLOUDFRONT_KEY; null without media on S3)."
  value       = var.media_on_s3 ? tls_private_key.media_signing[local.signing_key].private_key_pem : null
  sensitive   = true
}

output "web_acl_name" {
  description = "The WAF web ACL in front of CloudFront (null without WAF)."
  value       = one(aws_wafv2_web_acl.this[*].name)
}

output "alternate_target_group_arn" {
  description = "Blue/green: the second target group (null on rolling deploys)."
  value       = one(aws_lb_target_group.alternate[*].arn)
  depends_on  = [aws_lb_listener_rule.test]
}

output "production_listener_rule_arn" {
  description = "The listener rule that forwards CloudFront's requests to the web service."
  value       = aws_lb_listener_rule.from_cloudfront.arn
}

output "test_listener_rule_arn" {
  description = "Blue/green: the rule for requests carrying the X-Blue-Green-Test secret (null on rolling deploys)."
  value       = one(aws_lb_listener_rule.test[*].arn)
}

output "test_header_value" {
  description = "Blue/green: the X-Blue-Green-Test header value that reaches the new tasks before production traffic (null on rolling deploys)."
  value       = one(random_password.test_header[*].result)
  sensitive   = true
}
