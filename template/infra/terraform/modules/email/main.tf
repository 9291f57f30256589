# Email through Amazon SES v2 (docs/aws/README.md, the package's docs/email.md): the
# environment's host name as a domain identity signed with Easy DKIM, a MAIL FROM subdomain
# so SPF aligns with it, a configuration set whose bounce, complaint, reject and
# delivery-delay events reach an SQS queue through an encrypted SNS topic, and the task
# role's right to send as that identity only.
#
# SES starts in the sandbox in every account and region: it sends only to verified
# addresses, 200 messages a day. Terraform cannot leave it (the provider has no resource for
# PutAccountDetails); the cutover runbook's step asks AWS once per account and region:
#   aws sesv2 put-account-details --production-access-enabled --mail-type TRANSACTIONAL ...

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

data "aws_route53_zone" "this" {
  name         = var.hosted_zone_name
  private_zone = false
}

locals {
  ses_arn = "arn:aws:ses:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}"
  # SES's documented ARN formats, spelled out so the task role's policy names them exactly.
  identity_arn          = "${local.ses_arn}:identity/${var.domain}"
  configuration_set_arn = "${local.ses_arn}:configuration-set/${var.name}"
  from_address          = "${var.sender}@${var.domain}"
  mail_from_domain      = "mail.${var.domain}"
  # What someone must act on; sends and deliveries would only fill the queue.
  event_types = ["BOUNCE", "COMPLAINT", "REJECT", "DELIVERY_DELAY"]
  dkim_tokens = data.aws_sesv2_email_identity.this.dkim_signing_attributes[0].tokens
}

# ------------------------------------------------------------------ identity and DNS

resource "aws_sesv2_configuration_set" "this" {
  configuration_set_name = var.name

  # Password-reset links never cross the internet in clear: a receiving server without
  # TLS gets no message (SES reports it as a delivery delay, then a bounce).
  delivery_options {
    tls_policy = "REQUIRE"
  }

  # Bounce and complaint rates per configuration set in CloudWatch: the numbers AWS
  # reviews before it pauses an account's sending.
  reputation_options {
    reputation_metrics_enabled = true
  }

  sending_options {
    sending_enabled = true
  }

  suppression_options {
    suppressed_reasons = ["BOUNCE", "COMPLAINT"]
  }
}

# The configuration set is the identity's default too: mail sent without the
# X-SES-CONFIGURATION-SET header still reports its bounces.
resource "aws_sesv2_email_identity" "this" {
  email_identity         = var.domain
  configuration_set_name = aws_sesv2_configuration_set.this.configuration_set_name
}

# The identity as SES reports it once created: its three Easy DKIM tokens.
data "aws_sesv2_email_identity" "this" {
  email_identity = aws_sesv2_email_identity.this.email_identity
}

# Easy DKIM: SES signs with keys it rotates; these three CNAMEs publish them. The identity
# is verified once they resolve.
resource "aws_route53_record" "dkim" {
  count   = 3
  zone_id = data.aws_route53_zone.this.zone_id
  name    = "${local.dkim_tokens[count.index]}._domainkey.${var.domain}"
  type    = "CNAME"
  ttl     = 1800
  records = ["${local.dkim_tokens[count.index]}.dkim.amazonses.com"]
}

# Bounces return to mail.<domain>, which SES receives: SPF then passes for a subdomain of
# the From domain, and DMARC aligns on SPF as well as DKIM.
resource "aws_sesv2_email_identity_mail_from_attributes" "this" {
  email_identity         = aws_sesv2_email_identity.this.email_identity
  mail_from_domain       = local.mail_from_domain
  behavior_on_mx_failure = "USE_DEFAULT_VALUE"
}

resource "aws_route53_record" "mail_from_mx" {
  zone_id = data.aws_route53_zone.this.zone_id
  name    = local.mail_from_domain
  type    = "MX"
  ttl     = 1800
  records = ["10 feedback-smtp.${data.aws_region.current.region}.amazonses.com"]
}

resource "aws_route53_record" "mail_from_spf" {
  zone_id = data.aws_route53_zone.this.zone_id
  name    = local.mail_from_domain
  type    = "TXT"
  ttl     = 1800
  records = ["v=spf1 include:amazonses.com ~all"]
}

# ----------------------------------------------------------------------------- events

# SES publishes to an encrypted topic only with a customer-managed key it may use: the
# AWS-managed SNS key's policy cannot name SES.
data "aws_iam_policy_document" "events_key" {
  #checkov:skip=CKV_AWS_111:In a key policy "*" means this key; the account statement delegates to IAM, as AWS's default key policy does.
  #checkov:skip=CKV_AWS_356:In a key policy "*" means this key, the only resource a key policy can name.
  #checkov:skip=CKV_AWS_109:The account administers its own key through IAM (AWS's default key policy); nobody outside it is named.
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }

  statement {
    sid       = "SesPublishesEvents"
    actions   = ["kms:GenerateDataKey*", "kms:Decrypt"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["ses.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [local.configuration_set_arn]
    }
  }
}

resource "aws_kms_key" "events" {
  description             = "${var.name} email events (SNS topic)"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.events_key.json
}

resource "aws_kms_alias" "events" {
  name          = "alias/${var.name}-email-events"
  target_key_id = aws_kms_key.events.key_id
}

resource "aws_sns_topic" "events" {
  name              = "${var.name}-email-events"
  kms_master_key_id = aws_kms_key.events.arn
}

# Only this configuration set, in this account, publishes.
data "aws_iam_policy_document" "topic" {
  statement {
    sid       = "SesPublishes"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.events.arn]
    principals {
      type        = "Service"
      identifiers = ["ses.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [local.configuration_set_arn]
    }
  }
}

resource "aws_sns_topic_policy" "events" {
  arn    = aws_sns_topic.events.arn
  policy = data.aws_iam_policy_document.topic.json
}

# No dead-letter queue: this queue is where events wait, not a worker's input. Nothing in
# the stack consumes it yet; operators read it (docs/email.md), and whatever later
# processes it (a suppression task, a CRM sync) brings its redrive policy with it.
resource "aws_sqs_queue" "events" {
  name                      = "${var.name}-email-events"
  message_retention_seconds = var.event_retention_seconds
  # SQS-managed keys: SNS delivers to it without a KMS grant of its own.
  sqs_managed_sse_enabled = true
}

# Only this topic may send to the queue.
data "aws_iam_policy_document" "queue" {
  statement {
    sid       = "TopicDelivers"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.events.arn]
    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_sns_topic.events.arn]
    }
  }
}

resource "aws_sqs_queue_policy" "events" {
  queue_url = aws_sqs_queue.events.id
  policy    = data.aws_iam_policy_document.queue.json
}

# Raw delivery: each message body is SES's event JSON itself, not wrapped in SNS's envelope.
resource "aws_sns_topic_subscription" "queue" {
  topic_arn            = aws_sns_topic.events.arn
  protocol             = "sqs"
  endpoint             = aws_sqs_queue.events.arn
  raw_message_delivery = true
  depends_on           = [aws_sqs_queue_policy.events]
}

resource "aws_sesv2_configuration_set_event_destination" "events" {
  configuration_set_name = aws_sesv2_configuration_set.this.configuration_set_name
  event_destination_name = "events-to-sqs"

  event_destination {
    enabled              = true
    matching_event_types = local.event_types
    sns_destination {
      topic_arn = aws_sns_topic.events.arn
    }
  }

  # SES checks that it may publish (and use the key) when the destination is created.
  depends_on = [aws_sns_topic_policy.events, aws_kms_key.events]
}

# -------------------------------------------------------------------------- task role

# Send as the identity, through its configuration set, from an address of the domain; no
# other SES action (django-aws-settings turns off django-ses's throttle, which would need
# ses:GetAccount on "*"). SendEmail is API v2 (the package's choice), SendRawEmail v1.
data "aws_iam_policy_document" "send" {
  statement {
    sid       = "SendAsTheIdentity"
    actions   = ["ses:SendEmail", "ses:SendRawEmail"]
    resources = [local.identity_arn, local.configuration_set_arn]
    condition {
      test     = "StringLike"
      variable = "ses:FromAddress"
      values   = ["*@${var.domain}"]
    }
  }
}

resource "aws_iam_role_policy" "send" {
  name   = "email"
  role   = var.task_role_name
  policy = data.aws_iam_policy_document.send.json
}
