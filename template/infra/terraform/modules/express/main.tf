# The web service on ECS Express Mode: one service that brings its own HTTPS load balancer,
# certificate, autoscaling and deployment alarm (docs/express.md). The container is the
# web container of deploy/ecs/web.json, the file the ECS stack registers: the same image,
# command, environment and secrets, so the execution role reads exactly what it names.
# Terraform creates the first revision; every deploy (`django-aws ecs express-deploy`)
# sends the container again, so the service ignores later changes to it.
# The cluster, the tasks' security group and the migrate task definition are the ones the
# ECS stack's modules/ecs makes, here without workers or our load balancer.

data "aws_caller_identity" "current" {}

locals {
  files  = "${path.module}/../../../../deploy/ecs"
  values = { image = var.image, environment = var.environment, account = data.aws_caller_identity.current.account_id }

  web_request     = jsondecode(templatefile("${local.files}/web.json", local.values))
  migrate_request = jsondecode(templatefile("${local.files}/migrate.json", local.values))
  web             = one([for container in local.web_request.containerDefinitions : container if container.name == "web"])
}

resource "aws_ecs_cluster" "this" {
  name = var.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  depends_on = [var.cluster_after]
}

resource "aws_ecs_cluster_capacity_providers" "this" {
  cluster_name       = aws_ecs_cluster.this.name
  capacity_providers = ["FARGATE"]
}

# Express Mode admits its load balancer into this group on the container port; the
# database and Redis admit the group.
resource "aws_security_group" "app" {
  name        = "${var.name}-app"
  description = "ECS tasks: Express Mode adds the rule for its load balancer"
  vpc_id      = var.vpc_id
  #checkov:skip=CKV2_AWS_5:Attached through the Express service's network_configuration (and the migrate task's), which checkov does not follow.
}

resource "aws_vpc_security_group_egress_rule" "app_out" {
  security_group_id = aws_security_group.app.id
  description       = "Anywhere: AWS APIs, the database, Redis and the third-party services the app calls"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

# The one-off migrate task (the deploy workflow runs it before the web service rolls).
resource "aws_ecs_task_definition" "migrate" {
  family                   = local.migrate_request.family
  task_role_arn            = local.migrate_request.taskRoleArn
  execution_role_arn       = local.migrate_request.executionRoleArn
  network_mode             = local.migrate_request.networkMode
  requires_compatibilities = local.migrate_request.requiresCompatibilities
  cpu                      = local.migrate_request.cpu
  memory                   = local.migrate_request.memory
  container_definitions    = jsonencode(local.migrate_request.containerDefinitions)
  skip_destroy             = true

  runtime_platform {
    cpu_architecture        = local.migrate_request.runtimePlatform.cpuArchitecture
    operating_system_family = local.migrate_request.runtimePlatform.operatingSystemFamily
  }

  dynamic "volume" {
    for_each = local.migrate_request.volumes
    content {
      name = volume.value.name
    }
  }

  lifecycle {
    # The pipeline registers every later revision (see modules/ecs).
    ignore_changes = all
    precondition {
      condition     = local.migrate_request.taskRoleArn == var.migrate_role_arn && local.migrate_request.executionRoleArn == var.execution_role_arn
      error_message = "deploy/ecs/migrate.json names other roles than this environment's migrate and execution roles."
    }
  }
}

# ------------------------------------------------------------- infrastructure role

data "aws_iam_policy_document" "infrastructure_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs.amazonaws.com"]
    }
  }
}

# What Express Mode manages for the service: load balancer, listener rules, target groups,
# security group rules, certificate, autoscaling and the deployment alarm.
resource "aws_iam_role" "infrastructure" {
  name               = "${var.name}-express-infrastructure"
  assume_role_policy = data.aws_iam_policy_document.infrastructure_trust.json
}

resource "aws_iam_role_policy_attachment" "infrastructure" {
  role       = aws_iam_role.infrastructure.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonECSInfrastructureRoleforExpressGatewayServices"
}

# ------------------------------------------------------------------------------- web

resource "aws_ecs_express_gateway_service" "web" {
  service_name            = "${var.name}-web"
  cluster                 = aws_ecs_cluster.this.name
  execution_role_arn      = local.web_request.executionRoleArn
  task_role_arn           = local.web_request.taskRoleArn
  infrastructure_role_arn = aws_iam_role.infrastructure.arn
  cpu                     = local.web_request.cpu
  memory                  = local.web_request.memory
  health_check_path       = var.health_check_path

  # Public subnets: Express Mode makes its load balancer internet-facing only there (in
  # private subnets it would be internal).
  network_configuration = [{
    subnets         = var.public_subnet_ids
    security_groups = [aws_security_group.app.id]
  }]

  scaling_target = [{
    min_task_count            = var.web_min_count
    max_task_count            = var.web_max_count
    auto_scaling_metric       = "AVERAGE_CPU"
    auto_scaling_target_value = var.web_cpu_target
  }]

  primary_container {
    image          = local.web.image
    command        = local.web.command
    container_port = local.web.portMappings[0].containerPort

    aws_logs_configuration = [{
      log_group         = local.web.logConfiguration.options["awslogs-group"]
      log_stream_prefix = local.web.logConfiguration.options["awslogs-stream-prefix"]
    }]

    dynamic "environment" {
      for_each = local.web.environment
      content {
        name  = environment.value.name
        value = environment.value.value
      }
    }

    dynamic "secret" {
      for_each = local.web.secrets
      content {
        name       = secret.value.name
        value_from = secret.value.valueFrom
      }
    }
  }

  lifecycle {
    # Every deploy sends the container again (image, environment, secrets).
    ignore_changes = [primary_container]
    precondition {
      condition     = local.web_request.taskRoleArn == var.task_role_arn && local.web_request.executionRoleArn == var.execution_role_arn
      error_message = "deploy/ecs/web.json names other roles than this environment's task and execution roles."
    }
  }

  # The first tasks read what config writes; Express Mode needs its role's policy attached
  # before it builds anything (and keeps it until the service has drained).
  depends_on = [aws_ecs_cluster_capacity_providers.this, aws_iam_role_policy_attachment.infrastructure, var.start_after]
}
