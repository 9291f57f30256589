output "log_group_arn" {
  description = "The containers' log group."
  value       = aws_cloudwatch_log_group.app.arn
}

output "alarm_topic_arn" {
  description = "The SNS topic every alarm notifies."
  value       = aws_sns_topic.alarms.arn
}

output "global_alarm_topic_arn" {
  description = "The us-east-1 topic of the CloudFront and WAF alarms."
  value       = aws_sns_topic.global_alarms.arn
}
