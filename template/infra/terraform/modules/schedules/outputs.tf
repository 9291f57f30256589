output "schedule_group_name" {
  description = "The schedule group: one schedule per beat entry."
  value       = aws_scheduler_schedule_group.this.name
}

output "schedule_names" {
  description = "Beat entry name -> schedule name."
  value       = { for key, schedule in local.schedules : schedule.name => aws_scheduler_schedule.this[key].name }
}

output "role_arn" {
  description = "The role Scheduler delivers with."
  value       = aws_iam_role.this.arn
}

output "dead_letter_queue_arn" {
  description = "Deliveries that failed every retry."
  value       = aws_sqs_queue.dead_letter.arn
}
