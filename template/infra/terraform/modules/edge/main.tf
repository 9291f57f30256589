# Viewers reach CloudFront only. CloudFront reaches the ALB over HTTPS at origin.<domain>
# with a secret header; the ALB's security group admits CloudFront's origin-facing
# addresses only, and a listener rule forwards only requests that carry the header.
# /static/* and /media/* come from the app's bucket through origin access control; media
# only with a URL the app signed (CloudFront key group), so private uploads stay private.

data "aws_route53_zone" "this" {
  name         = var.hosted_zone_name
  private_zone = false
}

data "aws_ec2_managed_prefix_list" "cloudfront" {
  name = "com.amazonaws.global.cloudfront.origin-facing"
}

data "aws_cloudfront_cache_policy" "disabled" {
  name = "Managed-CachingDisabled"
}

data "aws_cloudfront_cache_policy" "optimized" {
  name = "Managed-CachingOptimized"
}

data "aws_cloudfront_origin_request_policy" "all_viewer" {
  name = "Managed-AllViewer"
}

data "aws_cloudfront_response_headers_policy" "security_headers" {
  name = "Managed-SecurityHeadersPolicy"
}

locals {
  origin_domain = "origin.${var.domain}"
  origin_header = "X-Origin-Verify"
  # Blue/green: requests through CloudFront with this header and its secret value reach the
  # new (green) tasks while production traffic still goes to the old (blue) ones.
  test_header   = "X-Blue-Green-Test"
  bucket_origin = var.static_on_s3 || var.media_on_s3
}

# The secret header CloudFront sends and the listener checks: one value per name in
# var.origin_header_keys; CloudFront sends the last, the listener accepts every one, so a
# rotation never rejects a request (docs/aws/infrastructure.md).
resource "random_password" "origin_header" {
  for_each = toset(var.origin_header_keys)
  length   = 40
  special  = false
}

moved {
  from = random_password.origin_header
  to   = random_password.origin_header["1"]
}

# ---------------------------------------------------------------- certificates (DNS)

resource "aws_acm_certificate" "alb" {
  domain_name               = var.domain
  subject_alternative_names = [local.origin_domain]
  validation_method         = "DNS"

  lifecycle {
    create_before_destroy = true
  }
}

# CloudFront only uses certificates from us-east-1.
resource "aws_acm_certificate" "cloudfront" {
  provider          = aws.us_east_1
  domain_name       = var.domain
  validation_method = "DNS"

  lifecycle {
    create_before_destroy = true
  }
}

# ACM gives one validation record per domain name and account, whichever certificate or
# region asks: the ALB's certificate names every domain, so one record each serves both.
resource "aws_route53_record" "validation" {
  for_each = { for o in aws_acm_certificate.alb.domain_validation_options : o.domain_name => o }
  zone_id  = data.aws_route53_zone.this.zone_id
  name     = each.value.resource_record_name
  type     = each.value.resource_record_type
  records  = [each.value.resource_record_value]
  ttl      = 300
  # An earlier certificate for the same name (by hand, or a previous stack) left this record.
  allow_overwrite = true
}

resource "aws_acm_certificate_validation" "alb" {
  certificate_arn         = aws_acm_certificate.alb.arn
  validation_record_fqdns = [for r in aws_route53_record.validation : r.fqdn]
}

resource "aws_acm_certificate_validation" "cloudfront" {
  provider                = aws.us_east_1
  certificate_arn         = aws_acm_certificate.cloudfront.arn
  validation_record_fqdns = [aws_route53_record.validation[var.domain].fqdn]
}

# ---------------------------------------------------------------------- load balancer

resource "aws_security_group" "alb" {
  name        = "${var.name}-alb"
  description = "HTTPS from CloudFront only"
  vpc_id      = var.vpc_id
}

# The prefix list counts as ~55 rules against the security group's quota of 60: one
# port only. CloudFront redirects viewers from HTTP to HTTPS, so the ALB needs no port 80.
resource "aws_vpc_security_group_ingress_rule" "alb_from_cloudfront" {
  security_group_id = aws_security_group.alb.id
  description       = "HTTPS from CloudFront's origin-facing addresses"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  prefix_list_id    = data.aws_ec2_managed_prefix_list.cloudfront.id
}

resource "aws_lb" "this" {
  name                       = var.name
  load_balancer_type         = "application"
  internal                   = false
  subnets                    = var.public_subnet_ids
  security_groups            = [aws_security_group.alb.id]
  idle_timeout               = var.idle_timeout
  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection
  #checkov:skip=CKV_AWS_91:Every request is logged by the app (gunicorn's JSON access log with the X-Amzn-Trace-Id) in CloudWatch; ALB access logs need a log bucket with a delivery policy, add one when required.
  #checkov:skip=CKV2_AWS_28:WAF sits on CloudFront (var.waf); the ALB admits only CloudFront's addresses carrying the origin secret.
  #checkov:skip=CKV2_AWS_20:No HTTP listener: CloudFront redirects viewers to HTTPS and reaches the ALB over HTTPS only.
}

resource "aws_lb_target_group" "web" {
  name                 = "${var.name}-web"
  port                 = 8000
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = var.deregistration_delay
  #checkov:skip=CKV_AWS_378:TLS ends at the load balancer; from there to the task the traffic stays inside the VPC, limited by security groups.

  # Only if asked (var.stickiness): a WebSocket stays on its task for its whole life anyway.
  stickiness {
    enabled         = var.stickiness
    type            = "lb_cookie"
    cookie_duration = 86400
  }

  health_check {
    path                = var.health_check_path
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

# Blue/green: the target group the next revision's tasks start in; ECS swaps the roles of
# the two groups on every deploy.
resource "aws_lb_target_group" "alternate" {
  count                = var.blue_green ? 1 : 0
  name                 = "${var.name}-alt"
  port                 = 8000
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = var.deregistration_delay
  #checkov:skip=CKV_AWS_378:TLS ends at the load balancer; from there to the task the traffic stays inside the VPC, limited by security groups.

  stickiness {
    enabled         = var.stickiness
    type            = "lb_cookie"
    cookie_duration = 86400
  }

  health_check {
    path                = var.health_check_path
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

resource "random_password" "test_header" {
  count   = var.blue_green ? 1 : 0
  length  = 40
  special = false
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"
  certificate_arn   = aws_acm_certificate_validation.alb.certificate_arn

  # Anything that did not come through CloudFront.
  default_action {
    type = "fixed-response"
    fixed_response {
      content_type = "text/plain"
      message_body = "Forbidden"
      status_code  = "403"
    }
  }
}

resource "aws_lb_listener_rule" "from_cloudfront" {
  listener_arn = aws_lb_listener.https.arn
  # Blue/green: the test rule (a narrower match) must come first.
  priority = var.blue_green ? 2 : 1

  condition {
    http_header {
      http_header_name = local.origin_header
      values           = [for key in var.origin_header_keys : random_password.origin_header[key].result]
    }
  }

  # Weighted, so ECS's blue/green deployments can move production traffic between the two
  # target groups; ECS owns the weights from then on.
  action {
    type = "forward"
    forward {
      target_group {
        arn    = aws_lb_target_group.web.arn
        weight = 100
      }
      dynamic "target_group" {
        for_each = aws_lb_target_group.alternate
        content {
          arn    = target_group.value.arn
          weight = 0
        }
      }
    }
  }

  lifecycle {
    ignore_changes = [action]
  }
}

# Blue/green test traffic: through CloudFront (the origin header) and with the test secret;
# ECS points it at the new tasks before it shifts production traffic.
resource "aws_lb_listener_rule" "test" {
  count        = var.blue_green ? 1 : 0
  listener_arn = aws_lb_listener.https.arn
  priority     = 1

  condition {
    http_header {
      http_header_name = local.origin_header
      values           = [for key in var.origin_header_keys : random_password.origin_header[key].result]
    }
  }

  condition {
    http_header {
      http_header_name = local.test_header
      values           = [random_password.test_header[0].result]
    }
  }

  action {
    type = "forward"
    forward {
      target_group {
        arn    = aws_lb_target_group.web.arn
        weight = 100
      }
      target_group {
        arn    = aws_lb_target_group.alternate[0].arn
        weight = 0
      }
    }
  }

  lifecycle {
    ignore_changes = [action]
  }
}

# ------------------------------------------------------------------------- CloudFront

resource "aws_cloudfront_origin_access_control" "files" {
  count                             = local.bucket_origin ? 1 : 0
  name                              = "${var.name}-files"
  description                       = "CloudFront reads static/ and media/ from the app's bucket"
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

# The key pairs that sign media URLs: CloudFront trusts every public key listed in
# var.media_signing_keys, the app signs with the last one's private key (the config
# module's secret). Rotating without broken links: append a name and apply, roll the
# services, remove the old name and apply again (docs/aws/infrastructure.md).
locals {
  signing_keys = var.media_on_s3 ? toset(var.media_signing_keys) : toset([])
  signing_key  = var.media_signing_keys[length(var.media_signing_keys) - 1]
}

resource "tls_private_key" "media_signing" {
  for_each  = local.signing_keys
  algorithm = "RSA" # CloudFront signs with RSA-SHA1 (django-storages' signer); 2048 bits
  rsa_bits  = 2048
}

resource "aws_cloudfront_public_key" "media_signing" {
  for_each    = local.signing_keys
  name_prefix = "${var.name}-media-${each.key}-"
  comment     = "Verifies the media URLs ${var.name} signs (key ${each.key})"
  encoded_key = tls_private_key.media_signing[each.key].public_key_pem

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_cloudfront_key_group" "media_signing" {
  count = var.media_on_s3 ? 1 : 0
  name  = "${var.name}-media"
  items = [for key in var.media_signing_keys : aws_cloudfront_public_key.media_signing[key].id]
}

# Uploads are user content served from the app's own domain: an uploaded HTML or SVG file
# must not run script with the app's cookies. The sandbox CSP makes such a document an
# opaque origin without scripts; nosniff stops content-type guessing.
resource "aws_cloudfront_response_headers_policy" "media" {
  count   = var.media_on_s3 ? 1 : 0
  name    = "${var.name}-media"
  comment = "Security headers for user uploads"

  security_headers_config {
    content_security_policy {
      content_security_policy = "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; sandbox"
      override                = true
    }
    content_type_options {
      override = true
    }
    frame_options {
      frame_option = "SAMEORIGIN"
      override     = true
    }
    referrer_policy {
      referrer_policy = "strict-origin-when-cross-origin"
      override        = true
    }
    # The same as the app's own responses (django_aws_settings.settings.security's SECURE_HSTS_*).
    strict_transport_security {
      access_control_max_age_sec = 31536000
      include_subdomains         = true
      preload                    = true
      override                   = true
    }
  }
}

# What a WebSocket handshake needs at the origin, named rather than AllViewer's "every
# header", so the behaviour says what it relies on.
resource "aws_cloudfront_origin_request_policy" "websocket" {
  count   = var.websocket_path == null ? 0 : 1
  name    = "${var.name}-websocket"
  comment = "WebSocket handshakes: upgrade headers, Host, Origin, cookies, query string"

  headers_config {
    header_behavior = "whitelist"
    headers {
      items = ["Host", "Origin", "Sec-WebSocket-Key", "Sec-WebSocket-Version", "Sec-WebSocket-Protocol", "Sec-WebSocket-Extensions"]
    }
  }
  cookies_config {
    cookie_behavior = "all"
  }
  query_strings_config {
    query_string_behavior = "all"
  }
}

resource "aws_cloudfront_distribution" "this" {
  enabled         = true
  is_ipv6_enabled = true
  http_version    = "http2and3"
  aliases         = [var.domain]
  price_class     = var.price_class
  web_acl_id      = var.waf ? aws_wafv2_web_acl.this[0].arn : null
  comment         = var.name
  #checkov:skip=CKV_AWS_86:Standard logs need a log bucket with ACLs enabled; the app logs every request itself.
  #checkov:skip=CKV_AWS_310:One origin per path; origin failover has no second copy of the app to fail over to.
  #checkov:skip=CKV_AWS_374:No geo restriction: the audience is decided by the app, not by this template.
  #checkov:skip=CKV_AWS_305:Django answers / itself; there is no index document.
  #checkov:skip=CKV2_AWS_47:KnownBadInputs (the Log4j rules) is attached; the AnonymousIpList group this check also demands blocks VPN users, so that is the app owner's call.

  origin {
    origin_id   = "app"
    domain_name = local.origin_domain

    custom_origin_config {
      http_port                = 80
      https_port               = 443
      origin_protocol_policy   = "https-only"
      origin_ssl_protocols     = ["TLSv1.2"]
      origin_read_timeout      = 60
      origin_keepalive_timeout = 5
    }

    custom_header {
      name  = local.origin_header
      value = random_password.origin_header[var.origin_header_keys[length(var.origin_header_keys) - 1]].result
    }
  }

  dynamic "origin" {
    for_each = local.bucket_origin ? [var.bucket_regional_domain_name] : []
    content {
      origin_id                = "files"
      domain_name              = origin.value
      origin_access_control_id = aws_cloudfront_origin_access_control.files[0].id
    }
  }

  # The app: nothing cached, every header (Host included), cookie and query string passed.
  default_cache_behavior {
    target_origin_id           = "app"
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
    cached_methods             = ["GET", "HEAD"]
    cache_policy_id            = data.aws_cloudfront_cache_policy.disabled.id
    origin_request_policy_id   = data.aws_cloudfront_origin_request_policy.all_viewer.id
    response_headers_policy_id = data.aws_cloudfront_response_headers_policy.security_headers.id
    compress                   = true
  }

  # WebSockets (Django Channels): never cached; the handshake's Upgrade and Sec-WebSocket-*
  # headers, Host and Origin (Channels' AllowedHostsOriginValidator), cookies (the session)
  # and the query string reach the app.
  dynamic "ordered_cache_behavior" {
    for_each = var.websocket_path == null ? [] : [var.websocket_path]
    content {
      path_pattern             = ordered_cache_behavior.value
      target_origin_id         = "app"
      viewer_protocol_policy   = "https-only"
      allowed_methods          = ["GET", "HEAD"]
      cached_methods           = ["GET", "HEAD"]
      cache_policy_id          = data.aws_cloudfront_cache_policy.disabled.id
      origin_request_policy_id = aws_cloudfront_origin_request_policy.websocket[0].id
      compress                 = false
    }
  }

  # Static files: hashed names, cached for a year (from S3, or from WhiteNoise in the app).
  ordered_cache_behavior {
    path_pattern               = "/static/*"
    target_origin_id           = var.static_on_s3 ? "files" : "app"
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["GET", "HEAD"]
    cached_methods             = ["GET", "HEAD"]
    cache_policy_id            = data.aws_cloudfront_cache_policy.optimized.id
    origin_request_policy_id   = var.static_on_s3 ? null : data.aws_cloudfront_origin_request_policy.all_viewer.id
    response_headers_policy_id = data.aws_cloudfront_response_headers_policy.security_headers.id
    compress                   = true
  }

  # Uploads: only with a URL the app signed (Expires, Signature, Key-Pair-Id). CloudFront
  # checks the signature, then caches without the query string, so every signed URL of an
  # object shares one cached copy.
  dynamic "ordered_cache_behavior" {
    for_each = var.media_on_s3 ? [1] : []
    content {
      path_pattern               = "/media/*"
      target_origin_id           = "files"
      viewer_protocol_policy     = "redirect-to-https"
      allowed_methods            = ["GET", "HEAD"]
      cached_methods             = ["GET", "HEAD"]
      cache_policy_id            = data.aws_cloudfront_cache_policy.optimized.id
      response_headers_policy_id = aws_cloudfront_response_headers_policy.media[0].id
      trusted_key_groups         = [aws_cloudfront_key_group.media_signing[0].id]
      compress                   = true
    }
  }

  viewer_certificate {
    acm_certificate_arn      = aws_acm_certificate_validation.cloudfront.certificate_arn
    ssl_support_method       = "sni-only"
    minimum_protocol_version = "TLSv1.2_2021"
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }
}

# ------------------------------------------------------------------------------- WAF

resource "aws_wafv2_web_acl" "this" {
  count    = var.waf ? 1 : 0
  provider = aws.us_east_1
  name     = var.name
  scope    = "CLOUDFRONT"
  #checkov:skip=CKV2_AWS_31:WAF logging needs an aws-waf-logs- destination in us-east-1; sampled requests are kept for 3 hours.

  default_action {
    allow {}
  }

  rule {
    name     = "common"
    priority = 1
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesCommonRuleSet"
        # The rule set blocks request bodies over 8 KB: file uploads. Count them instead.
        rule_action_override {
          name = "SizeRestrictions_BODY"
          action_to_use {
            count {}
          }
        }
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name}-common"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "known-bad-inputs"
    priority = 2
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesKnownBadInputsRuleSet"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name}-known-bad-inputs"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "rate-limit"
    priority = 3
    action {
      block {}
    }
    statement {
      rate_based_statement {
        limit              = var.rate_limit_per_5_minutes
        aggregate_key_type = "IP"
        # WAF sees cache hits too: count only requests for the app, not the dozens of
        # static and media files a page pulls in.
        scope_down_statement {
          not_statement {
            statement {
              regex_match_statement {
                regex_string = "^/(static|media)/"
                field_to_match {
                  uri_path {}
                }
                text_transformation {
                  priority = 0
                  type     = "NONE"
                }
              }
            }
          }
        }
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name}-rate-limit"
      sampled_requests_enabled   = true
    }
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = var.name
    sampled_requests_enabled   = true
  }
}

# -------------------------------------------------------------------------------- DNS

# The host name itself, only once var.route_domain says so: for an app being moved, that is
# the cutover's flip (docs/aws/cutover-runbook.md). allow_overwrite replaces an A/AAAA
# record the old platform left in one atomic UPSERT.
resource "aws_route53_record" "app" {
  for_each        = var.route_domain ? toset(["A", "AAAA"]) : toset([])
  zone_id         = data.aws_route53_zone.this.zone_id
  name            = var.domain
  type            = each.key
  allow_overwrite = true

  alias {
    name                   = aws_cloudfront_distribution.this.domain_name
    zone_id                = aws_cloudfront_distribution.this.hosted_zone_id
    evaluate_target_health = false
  }
}

resource "aws_route53_record" "origin" {
  zone_id = data.aws_route53_zone.this.zone_id
  name    = local.origin_domain
  type    = "A"

  alias {
    name                   = aws_lb.this.dns_name
    zone_id                = aws_lb.this.zone_id
    evaluate_target_health = true
  }
}
