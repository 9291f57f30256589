# One environment of the app: every module wired together. The environment folders call
# this module with their own values; names follow <project>-<environment>-<role>, as the
# task definitions in deploy/ecs/ and the deploy workflow expect.

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

# The account's GitHub OIDC provider: made by infra/terraform/shared, or given by the
# environment's root where the environment has an account of its own.
data "aws_iam_openid_connect_provider" "github" {
  count = var.github_oidc_provider_arn == null ? 1 : 0
  url   = "https://token.actions.githubusercontent.com"
}

locals {
  name             = "${var.project}-${var.environment}"
  metric_namespace = "${var.project}/${var.environment}"
  # One bucket: media under media/, static files under static/ (django_aws_settings.settings.storages).
  bucket_name      = var.media_on_s3 || var.static_on_s3 ? "${local.name}-files-${data.aws_caller_identity.current.account_id}" : null
  postgres_version = coalesce(var.postgres_version, var.database_engine == "rds-postgres" ? "17" : "17.4")
  database_name    = replace(var.project, "-", "_")
  production       = var.environment == "production"
  # The image repository (infra/terraform/shared), in this account or in the shared one.
  ecr_repository_arn = "arn:aws:ecr:${data.aws_region.current.region}:${var.image_account_id}:repository/${var.project}"
  ecr_repository_url = "${var.image_account_id}.dkr.ecr.${data.aws_region.current.region}.amazonaws.com/${var.project}"
  # ECS Express Mode (docs/express.md): one web service with its own load balancer, in
  # modules/express; no modules/edge (load balancer, CloudFront) and no modules/ecs.
  express = var.compute == "express"
  # One output at a time (module.ecs[0].x, not module.ecs[*]): the database and Redis read
  # the security group, and the services wait for what config writes from them.
  cluster_name          = local.express ? module.express[0].cluster_name : module.ecs[0].cluster_name
  app_security_group_id = local.express ? module.express[0].app_security_group_id : module.ecs[0].app_security_group_id
  service_names = local.express ? [module.express[0].web_service_name] : concat(
    [module.ecs[0].web_service_name],
    values(module.ecs[0].worker_service_names),
    compact([module.ecs[0].beat_service_name, module.ecs[0].queue_metrics_service_name]),
  )
}

# Both stacks keep their addresses from before var.compute existed.
moved {
  from = module.edge
  to   = module.edge[0]
}

moved {
  from = module.ecs
  to   = module.ecs[0]
}

module "network" {
  source             = "../network"
  name               = local.name
  az_count           = var.az_count
  nat_gateway_per_az = var.nat_gateway_per_az
  vpc_endpoints      = var.vpc_endpoints
  # DMS Serverless reads its endpoints' secrets through a VPC endpoint only.
  secrets_manager_endpoint = var.dms_enabled
}

module "edge" {
  source = "../edge"
  count  = local.express ? 0 : 1
  providers = {
    aws           = aws
    aws.us_east_1 = aws.us_east_1
  }
  name                        = local.name
  domain                      = var.domain
  route_domain                = var.route_domain
  hosted_zone_name            = var.hosted_zone_name
  vpc_id                      = module.network.vpc_id
  public_subnet_ids           = module.network.public_subnet_ids
  bucket_regional_domain_name = module.storage.bucket_regional_domain_name
  static_on_s3                = var.static_on_s3
  media_on_s3                 = var.media_on_s3
  media_signing_keys          = var.media_signing_keys
  origin_header_keys          = var.origin_header_keys
  deletion_protection         = var.deletion_protection
  waf                         = var.waf
  websocket_path              = var.websocket_path
  blue_green                  = var.deploy_strategy == "blue_green"
  idle_timeout                = var.websocket_path == null ? 60 : var.websocket_idle_timeout
  stickiness                  = var.stickiness
}

module "storage" {
  source                      = "../storage"
  bucket_name                 = local.bucket_name
  static_on_s3                = var.static_on_s3
  media_on_s3                 = var.media_on_s3 && !local.express # Express: no CloudFront, presigned S3 URLs
  cloudfront_distribution_arn = local.express ? null : module.edge[0].distribution_arn
}

module "data" {
  source                  = "../data"
  name                    = local.name
  engine                  = var.database_engine
  database_name           = local.database_name
  vpc_id                  = module.network.vpc_id
  database_subnet_ids     = module.network.database_subnet_ids
  app_security_group_id   = local.app_security_group_id
  multi_az                = var.multi_az
  deletion_protection     = var.deletion_protection
  instance_class          = var.db_instance_class
  serverless_min_capacity = var.db_serverless_min_capacity
  serverless_max_capacity = var.db_serverless_max_capacity
  performance_insights    = var.db_performance_insights
  postgres_version        = local.postgres_version
  rds_proxy               = var.rds_proxy
  app_secret_arn          = module.config.db_app_secret_arn
  # Production keeps point-in-time recovery even if the database itself is deleted.
  keep_backups_after_delete = local.production
  log_retention_days        = var.log_retention_days
}

# Redis only where something needs it (var.elasticache): not for an SQS broker alone.
module "cache" {
  source                = "../cache"
  count                 = var.elasticache ? 1 : 0
  name                  = local.name
  node_type             = var.cache_node_type
  multi_az              = var.multi_az
  vpc_id                = module.network.vpc_id
  database_subnet_ids   = module.network.database_subnet_ids
  app_security_group_id = local.app_security_group_id

  auth_token_version         = var.redis_auth_token_version
  auth_token_update_strategy = var.redis_auth_token_update_strategy
}

module "observability" {
  source = "../observability"
  providers = {
    aws           = aws
    aws.us_east_1 = aws.us_east_1
  }
  name                     = local.name
  environment              = var.environment
  log_group_name           = "/ecs/${var.project}/${var.environment}"
  log_retention_days       = var.log_retention_days
  alarm_email              = var.alarm_email
  edge_metrics             = !local.express
  alb_arn_suffix           = local.express ? null : module.edge[0].alb_arn_suffix
  target_group_arn_suffix  = local.express ? null : module.edge[0].target_group_arn_suffix
  db_instance_identifier   = module.data.instance_identifier
  db_cluster_identifier    = module.data.cluster_identifier
  db_connections_threshold = var.db_connections_alarm
  cache_node_ids           = var.elasticache ? one(module.cache[*].node_ids) : []
  cache_node_type          = var.cache_node_type
  db_serverless            = var.database_engine == "aurora-serverless"
  db_proxy_name            = module.data.proxy_name
  distribution_id          = local.express ? null : module.edge[0].distribution_id
  web_acl_name             = local.express ? null : module.edge[0].web_acl_name
  monthly_budget_usd       = var.monthly_budget_usd
  cluster_name             = local.cluster_name
  service_names            = local.service_names
  metric_namespace         = local.metric_namespace
  queues                   = var.broker == "sqs" ? [] : var.queues # SQS: modules/queues alarms on its own metrics
}

module "config" {
  source                 = "../config"
  project                = var.project
  environment            = var.environment
  domain                 = var.domain
  redis_url              = one(module.cache[*].url)
  sqs_queue_urls         = one(module.queues[*].queue_urls)
  database_host          = module.data.host
  database_name          = module.data.database_name
  database_secret_arn    = module.data.master_secret_arn
  database_app_username  = "${local.database_name}_app"
  database_proxy         = var.rds_proxy
  bucket_name            = local.bucket_name
  static_on_s3           = var.static_on_s3
  media_on_s3            = var.media_on_s3 && !local.express # Express: no CloudFront domain or signing key
  log_group_arn          = module.observability.log_group_arn
  ecr_repository_arn     = local.ecr_repository_arn
  cluster_name           = local.name # what module.ecs (module.express) names the cluster
  metric_namespace       = local.metric_namespace
  enable_execute_command = var.enable_execute_command

  email_parameters          = var.email_on_ses ? module.email[0].parameters : {}
  media_signing_key_id      = local.express ? null : module.edge[0].media_signing_key_id
  media_signing_private_key = local.express ? null : module.edge[0].media_signing_private_key
  # Express Mode's own host name, <service>.ecs.<region>.on.aws (its load balancer
  # forwards only that name to the service).
  extra_allowed_hosts = local.express ? [".ecs.${data.aws_region.current.region}.on.aws"] : []
}

module "ecs" {
  source                 = "../ecs"
  count                  = local.express ? 0 : 1
  name                   = local.name
  environment            = var.environment
  image                  = "${local.ecr_repository_url}:${var.image_tag}"
  queues                 = var.queues
  sqs_queue_names        = var.broker == "sqs" ? one(module.queues[*].queue_names) : {} # SQS: scale on its own metric, no publisher
  beat                   = var.beat
  background_jobs        = var.background_jobs
  vpc_id                 = module.network.vpc_id
  private_subnet_ids     = module.network.private_subnet_ids
  alb_security_group_id  = local.express ? null : module.edge[0].alb_security_group_id
  target_group_arn       = local.express ? null : module.edge[0].target_group_arn
  task_role_arn          = module.config.task_role_arn
  migrate_role_arn       = module.config.migrate_role_arn
  queue_metrics_role_arn = module.config.queue_metrics_role_arn
  execution_role_arn     = module.config.execution_role_arn
  # The first tasks need DATABASE_HOST (written once the database and proxy are up) and
  # REDIS_URL (once Redis is): no service starts before what it reads exists.
  start_after            = module.config.startup_dependencies
  metric_namespace       = local.metric_namespace
  web_min_count          = var.web_min_count
  web_max_count          = var.web_max_count
  worker_min_count       = var.worker_min_count
  worker_max_count       = var.worker_max_count
  use_spot               = var.use_spot
  enable_execute_command = var.enable_execute_command
  cluster_after          = var.account_dependencies

  # Blue/green (the web service only): the second target group and the two listener rules.
  blue_green                   = var.deploy_strategy == "blue_green"
  bake_time_in_minutes         = var.bake_time_in_minutes
  blue_green_hook_function_arn = var.blue_green_hook_function_arn
  alternate_target_group_arn   = local.express ? null : module.edge[0].alternate_target_group_arn
  production_listener_rule_arn = local.express ? null : module.edge[0].production_listener_rule_arn
  test_listener_rule_arn       = local.express ? null : module.edge[0].test_listener_rule_arn
}

module "express" {
  source             = "../express"
  count              = local.express ? 1 : 0
  name               = local.name
  environment        = var.environment
  image              = "${local.ecr_repository_url}:${var.image_tag}"
  vpc_id             = module.network.vpc_id
  public_subnet_ids  = module.network.public_subnet_ids
  task_role_arn      = module.config.task_role_arn
  migrate_role_arn   = module.config.migrate_role_arn
  execution_role_arn = module.config.execution_role_arn
  web_min_count      = var.web_min_count
  web_max_count      = var.web_max_count
  start_after        = module.config.startup_dependencies
  cluster_after      = var.account_dependencies
}

# The Celery broker on SQS (docs/background-jobs.md): a queue and a dead-letter queue per
# Celery queue, the task role's access to them, and their alarms.
module "queues" {
  source         = "../queues"
  count          = var.broker == "sqs" && length(var.queues) > 0 ? 1 : 0
  name           = local.name
  queues         = var.queues
  task_role_name = split("/", module.config.task_role_arn)[1]
  alarm_actions  = [module.observability.alarm_topic_arn]
}

moved {
  from = module.cache
  to   = module.cache[0]
}

# Email through SES (docs/email.md): the domain identity, its DKIM and MAIL FROM records,
# the configuration set's events, and the task role's right to send as the identity.
module "email" {
  source           = "../email"
  count            = var.email_on_ses ? 1 : 0
  name             = local.name
  domain           = var.domain
  hosted_zone_name = var.hosted_zone_name
  task_role_name   = element(split("/", module.config.task_role_arn), 1)
}

# Celery beat's schedule on EventBridge Scheduler (docs/background-jobs.md): no beat service.
module "schedules" {
  source      = "../schedules"
  count       = var.scheduler == "eventbridge" ? 1 : 0
  name        = local.name
  export_file = "${path.module}/../../schedules.json"
  broker      = var.broker
  enabled     = var.background_jobs
  # sqs: Scheduler puts the Celery message on the queue (module.queues).
  queue_urls = var.broker == "sqs" ? one(module.queues[*].queue_urls) : {}
  queue_arns = var.broker == "sqs" ? one(module.queues[*].queue_arns) : {}
  # redis: a one-off task of the first queue's worker family runs `manage.py enqueue`.
  cluster_arn        = local.express ? null : module.ecs[0].cluster_arn
  task_family        = length(var.queues) > 0 ? "${local.name}-worker-${var.queues[0]}" : null
  celery_app         = var.celery_app
  subnet_ids         = module.network.private_subnet_ids
  security_group_ids = [local.app_security_group_id]
  pass_role_arns     = [module.config.task_role_arn, module.config.execution_role_arn]
}

# The cutover's replication (off by default; off again after the cutover).
module "dms" {
  source                     = "../dms"
  count                      = var.dms_enabled ? 1 : 0
  project                    = var.project
  environment                = var.environment
  vpc_id                     = module.network.vpc_id
  private_subnet_ids         = module.network.private_subnet_ids
  database_security_group_id = module.data.security_group_id
  target_engine              = var.database_engine
  target_database_name       = module.data.database_name
  source_database_name       = coalesce(var.dms_source_database_name, module.data.database_name)
  subnet_group_after         = var.account_dependencies
}

module "github_oidc" {
  source             = "../github_oidc"
  name               = local.name
  environment        = var.environment
  github_repository  = var.github_repository
  oidc_provider_arn  = coalesce(var.github_oidc_provider_arn, one(data.aws_iam_openid_connect_provider.github[*].arn))
  ecr_repository_arn = local.ecr_repository_arn
  push_images        = var.push_images
  cluster_name       = local.cluster_name
  task_role_arns     = [module.config.task_role_arn, module.config.migrate_role_arn, module.config.execution_role_arn]
  log_group_arn      = module.observability.log_group_arn
  parameter_path_arn = module.config.parameter_path_arn
}
