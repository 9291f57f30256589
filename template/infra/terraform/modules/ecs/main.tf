# The cluster and its services. Task definitions come from the repository's
# deploy/ecs/*.json, the same files the pipeline renders: Terraform registers the first
# revision, and every deploy registers a new one and points the service at it. The
# services therefore ignore changes to task_definition.

# The task definitions' ${account} (where every environment has an account of its own).
data "aws_caller_identity" "current" {}

locals {
  files   = "${path.module}/../../../../deploy/ecs"
  workers = toset(var.queues)
  # The placeholders every file may use (templatefile() ignores those a file does not).
  values = { image = var.image, environment = var.environment, account = data.aws_caller_identity.current.account_id }

  web_request     = jsondecode(templatefile("${local.files}/web.json", local.values))
  migrate_request = jsondecode(templatefile("${local.files}/migrate.json", local.values))
  worker_requests = {
    for queue in local.workers : "worker-${queue}" =>
    jsondecode(templatefile("${local.files}/worker.json", merge(local.values, { queue = queue })))
  }
  beat_requests = var.beat ? {
    beat = jsondecode(templatefile("${local.files}/beat.json", local.values))
  } : {}
  # With SQS (var.sqs_queue_names) the workers scale on SQS's own metric: no publisher.
  sqs = length(var.sqs_queue_names) > 0
  # The queue depth publisher: the worker's definition (same image, secrets, logs) with
  # its own command. Terraform owns it: the pipeline does not roll it, and the publisher
  # needs nothing newer than the package's `django-aws queues publish-depth`.
  metrics_request = length(var.queues) > 0 && !local.sqs ? merge(local.worker_requests["worker-${var.queues[0]}"], {
    family = "${var.name}-queue-metrics"
    cpu    = "256"
    memory = "512"
    containerDefinitions = [
      for container in local.worker_requests["worker-${var.queues[0]}"].containerDefinitions : merge(container, {
        name        = "queue-metrics"
        command     = ["django-aws", "queues", "publish-depth", "--queues", join(",", var.queues), "--namespace", var.metric_namespace]
        stopTimeout = 10
        logConfiguration = merge(container.logConfiguration, {
          options = merge(container.logConfiguration.options, { "awslogs-stream-prefix" = "queue-metrics" })
        })
      })
    ]
  }) : null

  requests = merge(
    { web = local.web_request, migrate = local.migrate_request },
    local.worker_requests,
    local.beat_requests,
  )
  on_demand = [{ capacity_provider = "FARGATE", base = 1, weight = 1 }]
  spot = [
    { capacity_provider = "FARGATE", base = 1, weight = 0 },
    { capacity_provider = "FARGATE_SPOT", base = 0, weight = 1 },
  ]
  strategy = var.use_spot ? local.spot : local.on_demand
  # Before an app's cutover its old platform still runs the jobs: none run here.
  worker_min_count = var.background_jobs ? var.worker_min_count : 0
  worker_max_count = var.background_jobs ? var.worker_max_count : 0
}

resource "aws_ecs_cluster" "this" {
  name = var.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  # A new account's first capacity-provider attachment needs ECS's service-linked role.
  depends_on = [var.cluster_after]
}

resource "aws_ecs_cluster_capacity_providers" "this" {
  cluster_name       = aws_ecs_cluster.this.name
  capacity_providers = ["FARGATE", "FARGATE_SPOT"]
}

resource "aws_ecs_task_definition" "this" {
  for_each                 = local.requests
  family                   = each.value.family
  task_role_arn            = each.value.taskRoleArn
  execution_role_arn       = each.value.executionRoleArn
  network_mode             = each.value.networkMode
  requires_compatibilities = each.value.requiresCompatibilities
  cpu                      = each.value.cpu
  memory                   = each.value.memory
  container_definitions    = jsonencode(each.value.containerDefinitions)
  # Earlier revisions stay registered: the pipeline may roll back to them.
  skip_destroy = true

  runtime_platform {
    cpu_architecture        = each.value.runtimePlatform.cpuArchitecture
    operating_system_family = each.value.runtimePlatform.operatingSystemFamily
  }

  dynamic "volume" {
    for_each = each.value.volumes
    content {
      name = volume.value.name
    }
  }

  lifecycle {
    # Only the first revision is Terraform's; the pipeline registers every later one. A
    # change here (cpu, memory, roles) must never make Terraform register a newer revision
    # with the bootstrap image, which `--task-definition <family>` would then pick.
    ignore_changes = all
    precondition {
      condition     = each.value.taskRoleArn == (each.key == "migrate" ? var.migrate_role_arn : var.task_role_arn) && each.value.executionRoleArn == var.execution_role_arn
      error_message = "deploy/ecs/*.json name other roles than this environment's task (migrate.json: migrate) and execution roles."
    }
  }
}

resource "aws_ecs_task_definition" "queue_metrics" {
  count                    = local.metrics_request != null ? 1 : 0
  family                   = local.metrics_request.family
  task_role_arn            = var.queue_metrics_role_arn
  execution_role_arn       = var.execution_role_arn
  network_mode             = local.metrics_request.networkMode
  requires_compatibilities = local.metrics_request.requiresCompatibilities
  cpu                      = local.metrics_request.cpu
  memory                   = local.metrics_request.memory
  container_definitions    = jsonencode(local.metrics_request.containerDefinitions)

  runtime_platform {
    cpu_architecture        = local.metrics_request.runtimePlatform.cpuArchitecture
    operating_system_family = local.metrics_request.runtimePlatform.operatingSystemFamily
  }

  dynamic "volume" {
    for_each = local.metrics_request.volumes
    content {
      name = volume.value.name
    }
  }
}

# ----------------------------------------------------------------------------- network

resource "aws_security_group" "app" {
  name        = "${var.name}-app"
  description = "ECS tasks: the container port from the load balancer only"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "app_from_alb" {
  security_group_id            = aws_security_group.app.id
  description                  = "The container port from the load balancer"
  ip_protocol                  = "tcp"
  from_port                    = 8000
  to_port                      = 8000
  referenced_security_group_id = var.alb_security_group_id
}

resource "aws_vpc_security_group_egress_rule" "alb_to_app" {
  security_group_id            = var.alb_security_group_id
  description                  = "To the tasks' container port"
  ip_protocol                  = "tcp"
  from_port                    = 8000
  to_port                      = 8000
  referenced_security_group_id = aws_security_group.app.id
}

resource "aws_vpc_security_group_egress_rule" "app_out" {
  security_group_id = aws_security_group.app.id
  description       = "Anywhere: AWS APIs, the database, Redis and the third-party services the app calls"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

# ------------------------------------------------------------------------------- web

resource "aws_ecs_service" "web" {
  name                               = "${var.name}-web"
  cluster                            = aws_ecs_cluster.this.arn
  task_definition                    = aws_ecs_task_definition.this["web"].arn
  desired_count                      = var.web_min_count
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  health_check_grace_period_seconds  = 60
  enable_execute_command             = var.enable_execute_command
  propagate_tags                     = "SERVICE"
  # var.use_spot changes the capacity provider strategy: with this, ECS rolls the running
  # task definition (the pipeline's, task_definition is ignored) onto the new capacity
  # instead of Terraform replacing the service (an outage, on the first revision).
  force_new_deployment = true

  dynamic "capacity_provider_strategy" {
    for_each = local.strategy
    content {
      capacity_provider = capacity_provider_strategy.value.capacity_provider
      base              = capacity_provider_strategy.value.base
      weight            = capacity_provider_strategy.value.weight
    }
  }

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.app.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = var.target_group_arn
    container_name   = "web"
    container_port   = 8000

    # Blue/green: ECS starts the new revision in the other target group, sends it the test
    # rule's traffic, then moves the production rule's weights (docs/aws/deploy.md).
    dynamic "advanced_configuration" {
      for_each = var.blue_green ? [1] : []
      content {
        alternate_target_group_arn = var.alternate_target_group_arn
        production_listener_rule   = var.production_listener_rule_arn
        test_listener_rule         = var.test_listener_rule_arn
        role_arn                   = aws_iam_role.blue_green[0].arn
      }
    }
  }

  dynamic "deployment_configuration" {
    for_each = var.blue_green ? [1] : []
    content {
      strategy             = "BLUE_GREEN"
      bake_time_in_minutes = var.bake_time_in_minutes

      dynamic "lifecycle_hook" {
        for_each = var.blue_green_hook_function_arn == null ? [] : [var.blue_green_hook_function_arn]
        content {
          hook_target_arn  = lifecycle_hook.value
          role_arn         = aws_iam_role.blue_green[0].arn
          lifecycle_stages = ["POST_TEST_TRAFFIC_SHIFT"]
        }
      }
    }
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  lifecycle {
    # The pipeline registers revisions; autoscaling sets the count.
    ignore_changes = [task_definition, desired_count]
  }

  depends_on = [aws_ecs_cluster_capacity_providers.this, var.start_after]
}

# Blue/green: the role ECS assumes to move the listener rules' weights (AWS's managed policy
# for load balancers) and to call the lifecycle hook, if there is one.
data "aws_iam_policy_document" "ecs_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "blue_green" {
  count              = var.blue_green ? 1 : 0
  name               = "${var.name}-ecs-blue-green"
  assume_role_policy = data.aws_iam_policy_document.ecs_trust.json
}

resource "aws_iam_role_policy_attachment" "blue_green" {
  count      = var.blue_green ? 1 : 0
  role       = aws_iam_role.blue_green[0].name
  policy_arn = "arn:aws:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers"
}

data "aws_iam_policy_document" "blue_green_hook" {
  count = var.blue_green && var.blue_green_hook_function_arn != null ? 1 : 0
  statement {
    actions   = ["lambda:InvokeFunction"]
    resources = [var.blue_green_hook_function_arn]
  }
}

resource "aws_iam_role_policy" "blue_green_hook" {
  count  = var.blue_green && var.blue_green_hook_function_arn != null ? 1 : 0
  name   = "invoke-lifecycle-hook"
  role   = aws_iam_role.blue_green[0].id
  policy = data.aws_iam_policy_document.blue_green_hook[0].json
}

resource "aws_appautoscaling_target" "web" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.web.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.web_min_count
  max_capacity       = var.web_max_count
}

resource "aws_appautoscaling_policy" "web_cpu" {
  name               = "${var.name}-web-cpu"
  service_namespace  = aws_appautoscaling_target.web.service_namespace
  resource_id        = aws_appautoscaling_target.web.resource_id
  scalable_dimension = aws_appautoscaling_target.web.scalable_dimension
  policy_type        = "TargetTrackingScaling"

  target_tracking_scaling_policy_configuration {
    target_value       = var.web_cpu_target
    scale_in_cooldown  = 300
    scale_out_cooldown = 60

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

# --------------------------------------------------------------------------- workers

resource "aws_ecs_service" "worker" {
  for_each                           = local.workers
  name                               = "${var.name}-worker-${each.key}"
  cluster                            = aws_ecs_cluster.this.arn
  task_definition                    = aws_ecs_task_definition.this["worker-${each.key}"].arn
  desired_count                      = local.worker_min_count
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  enable_execute_command             = var.enable_execute_command
  propagate_tags                     = "SERVICE"
  # See the web service: a use_spot flip rolls the running revision, never replaces.
  force_new_deployment = true

  dynamic "capacity_provider_strategy" {
    for_each = local.strategy
    content {
      capacity_provider = capacity_provider_strategy.value.capacity_provider
      base              = capacity_provider_strategy.value.base
      weight            = capacity_provider_strategy.value.weight
    }
  }

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.app.id]
    assign_public_ip = false
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  lifecycle {
    ignore_changes = [task_definition, desired_count]
  }

  depends_on = [aws_ecs_cluster_capacity_providers.this, var.start_after]
}

resource "aws_appautoscaling_target" "worker" {
  for_each           = local.workers
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.worker[each.key].name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = local.worker_min_count
  max_capacity       = local.worker_max_count
}

# Backlog per task: the queue's depth (published by the queue-metrics service; with SQS,
# its ApproximateNumberOfMessagesVisible) divided by the service's running tasks, kept
# near var.worker_backlog_per_task.
resource "aws_appautoscaling_policy" "worker_backlog" {
  for_each           = local.workers
  name               = "${var.name}-worker-${each.key}-backlog"
  service_namespace  = aws_appautoscaling_target.worker[each.key].service_namespace
  resource_id        = aws_appautoscaling_target.worker[each.key].resource_id
  scalable_dimension = aws_appautoscaling_target.worker[each.key].scalable_dimension
  policy_type        = "TargetTrackingScaling"

  target_tracking_scaling_policy_configuration {
    target_value       = var.worker_backlog_per_task
    scale_in_cooldown  = 300
    scale_out_cooldown = 60

    customized_metric_specification {
      metrics {
        id          = "depth"
        return_data = false
        metric_stat {
          stat = "Maximum"
          metric {
            namespace   = local.sqs ? "AWS/SQS" : var.metric_namespace
            metric_name = local.sqs ? "ApproximateNumberOfMessagesVisible" : "QueueDepth"
            dimensions {
              name  = local.sqs ? "QueueName" : "Queue"
              value = local.sqs ? var.sqs_queue_names[each.key] : each.key
            }
          }
        }
      }

      metrics {
        id          = "tasks"
        return_data = false
        metric_stat {
          stat = "Average"
          metric {
            namespace   = "ECS/ContainerInsights"
            metric_name = "RunningTaskCount"
            dimensions {
              name  = "ClusterName"
              value = aws_ecs_cluster.this.name
            }
            dimensions {
              name  = "ServiceName"
              value = aws_ecs_service.worker[each.key].name
            }
          }
        }
      }

      metrics {
        id          = "backlog_per_task"
        label       = "Messages waiting per task"
        expression  = "depth / IF(tasks > 0, tasks, 1)"
        return_data = true
      }
    }
  }
}

# ------------------------------------------------------------------------------ beat

# Exactly one scheduler: the old task stops before the new one starts (min 0 %, max 100 %),
# and never on Spot, whose interruptions would skip schedules.
resource "aws_ecs_service" "beat" {
  count                              = var.beat ? 1 : 0
  name                               = "${var.name}-beat"
  cluster                            = aws_ecs_cluster.this.arn
  task_definition                    = aws_ecs_task_definition.this["beat"].arn
  desired_count                      = var.background_jobs ? 1 : 0
  deployment_minimum_healthy_percent = 0
  deployment_maximum_percent         = 100
  enable_execute_command             = var.enable_execute_command
  propagate_tags                     = "SERVICE"

  capacity_provider_strategy {
    capacity_provider = "FARGATE"
    weight            = 1
  }

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.app.id]
    assign_public_ip = false
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  lifecycle {
    ignore_changes = [task_definition]
  }

  depends_on = [aws_ecs_cluster_capacity_providers.this, var.start_after]
}

# ---------------------------------------------------------------------- queue metrics

# One small task that puts each queue's depth to CloudWatch every minute (ElastiCache has
# no per-list metric). It runs outside the workers, so a backlog never delays it.
# `terraform apply -var image_tag=<sha>` moves it to a newer image.
resource "aws_ecs_service" "queue_metrics" {
  count                              = local.metrics_request != null ? 1 : 0
  name                               = "${var.name}-queue-metrics"
  cluster                            = aws_ecs_cluster.this.arn
  task_definition                    = aws_ecs_task_definition.queue_metrics[0].arn
  desired_count                      = 1
  deployment_minimum_healthy_percent = 0
  deployment_maximum_percent         = 100
  propagate_tags                     = "SERVICE"

  capacity_provider_strategy {
    capacity_provider = "FARGATE"
    weight            = 1
  }

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.app.id]
    assign_public_ip = false
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  depends_on = [aws_ecs_cluster_capacity_providers.this, var.start_after]
}
