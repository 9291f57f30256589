# Celery beat's schedule on EventBridge Scheduler: no beat service. The schedule stays in
# the app (CELERY_BEAT_SCHEDULE); `python manage.py export_schedule` writes it to
# infra/terraform/schedules.json with everything decided (expressions, queues, the Celery
# message), and this module copies each entry into one schedule.
#
# Delivery, per broker:
# - sqs: Scheduler's universal target calls sqs:SendMessage with the Celery message the
#   export built; its task id is Scheduler's execution id, new for every attempt.
# - redis: Scheduler cannot write to Redis; it runs a one-off ECS task (the worker's task
#   definition, latest revision) whose command is `python manage.py enqueue <entry>`.
# Scheduler delivers at least once: a task may run twice (docs/background-jobs.md).
#
# Encryption: Scheduler encrypts schedules with an AWS owned key; the input holds task
# names and arguments from the repository, no secret, so no customer managed key.

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

locals {
  export    = jsondecode(file(var.export_file))
  schedules = local.export.schedules
  sqs       = var.broker == "sqs"
  queues    = distinct([for schedule in local.schedules : schedule.queue])
  group_arn = "arn:aws:scheduler:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:schedule-group/${var.name}"
  # RunTask of the family's latest ACTIVE revision: what the last deploy registered.
  run_task = {
    cluster        = var.cluster_arn
    taskDefinition = var.task_family
    launchType     = "FARGATE"
    count          = 1
    startedBy      = "eventbridge-scheduler"
    networkConfiguration = {
      awsvpcConfiguration = { subnets = var.subnet_ids, securityGroups = var.security_group_ids, assignPublicIp = "DISABLED" }
    }
  }
  enqueue = {
    for key, schedule in local.schedules : key =>
    concat(["python", "manage.py", "enqueue", schedule.name], var.celery_app == null ? [] : ["--app", var.celery_app])
  }
  # Each target's request, in the API's own shape: SendMessage's (the export's message,
  # copied) or RunTask's. jsonencode writes < and > as \u003c and \u003e: the execution
  # id's keyword goes back to the literal text Scheduler replaces.
  inputs = local.sqs ? {
    for key, schedule in local.schedules : key => replace(jsonencode({
      QueueUrl    = var.queue_urls[schedule.queue]
      MessageBody = schedule.sqs_message_body
    }), "\\u003caws.scheduler.execution-id\\u003e", "<aws.scheduler.execution-id>")
    } : {
    for key, schedule in local.schedules : key => jsonencode(merge(local.run_task, {
      overrides = { containerOverrides = [{ name = var.container_name, command = local.enqueue[key] }] }
    }))
  }
}

resource "aws_scheduler_schedule_group" "this" {
  name = var.name

  lifecycle {
    precondition {
      condition     = local.export.generated_by != null
      error_message = "infra/terraform/schedules.json is the template's placeholder: run `python manage.py export_schedule` and commit what it writes."
    }
  }
}

# Deliveries that failed every retry (the target refused, the role was wrong).
resource "aws_sqs_queue" "dead_letter" {
  name                      = "${var.name}-schedules-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
}

data "aws_iam_policy_document" "trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["${local.group_arn}/*"]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = "${var.name}-scheduler"
  assume_role_policy = data.aws_iam_policy_document.trust.json
}

# Exactly what the target needs: SendMessage on the queues the entries name (sqs), or
# RunTask of one family in one cluster and passing its two roles to ECS (redis); and
# SendMessage on the dead-letter queue.
data "aws_iam_policy_document" "deliver" {
  statement {
    sid       = "DeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dead_letter.arn]
  }

  dynamic "statement" {
    for_each = local.sqs ? [1] : []
    content {
      sid       = "CeleryQueues"
      actions   = ["sqs:SendMessage"]
      resources = [for queue in local.queues : var.queue_arns[queue]]
    }
  }

  dynamic "statement" {
    for_each = local.sqs ? [] : [1]
    content {
      sid       = "EnqueueTask"
      actions   = ["ecs:RunTask"]
      resources = ["arn:aws:ecs:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:task-definition/${var.task_family}:*"]
      condition {
        test     = "ArnEquals"
        variable = "ecs:cluster"
        values   = [var.cluster_arn]
      }
    }
  }

  dynamic "statement" {
    for_each = local.sqs ? [] : [1]
    content {
      sid       = "EnqueueTaskRoles"
      actions   = ["iam:PassRole"]
      resources = var.pass_role_arns
      condition {
        test     = "StringEquals"
        variable = "iam:PassedToService"
        values   = ["ecs-tasks.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "deliver" {
  name   = "deliver"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.deliver.json
}

resource "aws_scheduler_schedule" "this" {
  #checkov:skip=CKV_AWS_297:The input holds task names and arguments from the repository, no secret; Scheduler's AWS owned key encrypts it, and a customer managed key would add a key and kms:Decrypt for no control the app uses.
  for_each                     = local.schedules
  name                         = each.key
  group_name                   = aws_scheduler_schedule_group.this.name
  description                  = "${each.value.task} (beat entry ${each.value.name})"
  schedule_expression          = each.value.expression
  schedule_expression_timezone = local.export.timezone
  state                        = var.enabled ? "ENABLED" : "DISABLED"

  # At the minute, as beat: no window.
  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = local.sqs ? "arn:aws:scheduler:::aws-sdk:sqs:sendMessage" : "arn:aws:scheduler:::aws-sdk:ecs:runTask"
    role_arn = aws_iam_role.this.arn
    input    = local.inputs[each.key]

    dead_letter_config {
      arn = aws_sqs_queue.dead_letter.arn
    }

    retry_policy {
      maximum_retry_attempts       = var.maximum_retry_attempts
      maximum_event_age_in_seconds = var.maximum_event_age_in_seconds
    }
  }

  lifecycle {
    precondition {
      condition     = !local.sqs || contains(keys(var.queue_urls), each.value.queue)
      error_message = "A beat entry sends to a queue with no SQS queue: add it to celery_queues or route the task to one that exists."
    }
  }

  depends_on = [aws_iam_role_policy.deliver]
}
