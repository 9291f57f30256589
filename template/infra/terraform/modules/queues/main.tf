# The Celery broker on SQS: per Celery queue, <project>-<environment>-<queue> and its
# dead-letter queue <...>-dlq. The app finds them through CELERY_SQS_QUEUE_URLS (kombu's
# predefined_queues), so kombu never lists, looks up or creates a queue, and the task role
# gets exactly the five actions kombu calls (recorded against moto in
# tests/settings/test_celery_sqs.py) on exactly these queues.
#
# Encryption: SQS-managed SSE rather than a customer-managed KMS key. Tasks' arguments
# are encrypted at rest either way; a KMS key would add a key per environment ($1/month
# plus requests), kms:GenerateDataKey/Decrypt for every sender (the task role, and the
# EventBridge Scheduler role that puts scheduled tasks on these queues), and a key policy
# to get right, for no control the app uses (nobody else reads the queues).

locals {
  queues = toset(var.queues)
}

resource "aws_sqs_queue" "dead_letter" {
  for_each                  = local.queues
  name                      = "${var.name}-${each.key}-dlq"
  message_retention_seconds = var.dead_letter_retention_seconds
  sqs_managed_sse_enabled   = true
}

resource "aws_sqs_queue" "this" {
  for_each                   = local.queues
  name                       = "${var.name}-${each.key}"
  visibility_timeout_seconds = var.visibility_timeout_seconds
  message_retention_seconds  = var.message_retention_seconds
  # Long polling at the maximum, as the package's wait_time_seconds.
  receive_wait_time_seconds = 20
  sqs_managed_sse_enabled   = true
  # A message received max_receive_count times without being deleted (rejected, or its
  # worker killed each time) is a poison message: park it instead of looping forever.
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dead_letter[each.key].arn
    maxReceiveCount     = var.max_receive_count
  })
}

# Only this environment's queues may send to its dead-letter queues.
resource "aws_sqs_queue_redrive_allow_policy" "dead_letter" {
  for_each  = local.queues
  queue_url = aws_sqs_queue.dead_letter[each.key].id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.this[each.key].arn]
  })
}

data "aws_iam_policy_document" "task" {
  statement {
    sid = "CeleryBroker"
    actions = [
      "sqs:SendMessage",
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
      "sqs:ChangeMessageVisibility",
      "sqs:GetQueueAttributes",
    ]
    resources = [for queue in aws_sqs_queue.this : queue.arn]
  }
}

resource "aws_iam_role_policy" "task" {
  name   = "celery-broker"
  role   = var.task_role_name
  policy = data.aws_iam_policy_document.task.json
}

# ------------------------------------------------------------------------------ alarms
# On SQS's own metrics (one-minute, free), so no queue-metrics service runs with SQS. An
# idle queue may stop reporting: missing data is not an alarm.

# Any dead-lettered task: it failed max_receive_count times and waits for a person.
resource "aws_cloudwatch_metric_alarm" "dead_letters" {
  for_each            = local.queues
  alarm_name          = "${var.name}-queue-${each.key}-dead-letters"
  alarm_description   = "Tasks in ${aws_sqs_queue.dead_letter[each.key].name}: they were received ${var.max_receive_count} times without success. Inspect them, then redrive or delete them."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dead_letter[each.key].name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "oldest_message" {
  for_each            = local.queues
  alarm_name          = "${var.name}-queue-${each.key}-oldest-message"
  alarm_description   = "A task waited more than ${var.oldest_message_age_threshold} s in ${each.key} for 15 minutes: its workers are stopped, stuck or too few."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = aws_sqs_queue.this[each.key].name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.oldest_message_age_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "depth" {
  for_each            = local.queues
  alarm_name          = "${var.name}-queue-${each.key}-depth"
  alarm_description   = "More than ${var.queue_depth_threshold} messages waiting in ${each.key} for 15 minutes."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.this[each.key].name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.queue_depth_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
}
