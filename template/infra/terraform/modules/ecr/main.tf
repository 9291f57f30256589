resource "aws_ecr_repository" "this" {
  name = var.name
  # A tag (the commit SHA) always means the same image: deploys and rollbacks are exact.
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "AES256"
  }
  #checkov:skip=CKV_AWS_136:AES256 (AWS-owned key): images hold no secrets, and a customer key adds a KMS permission to every pull.
}

resource "aws_ecr_lifecycle_policy" "this" {
  repository = aws_ecr_repository.this.name
  policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "Untagged layers of interrupted pushes"
        selection    = { tagStatus = "untagged", countType = "sinceImagePushed", countUnit = "days", countNumber = 7 }
        action       = { type = "expire" }
      },
      {
        # An image a rule selects is never expired by a later rule: this keeps the newest
        # image tagged bootstrap (the queue-metrics service and first revisions run it).
        rulePriority = 2
        description  = "Keep the newest bootstrap image"
        selection    = { tagStatus = "tagged", tagPrefixList = ["bootstrap"], countType = "imageCountMoreThan", countNumber = 1 }
        action       = { type = "expire" }
      },
      {
        rulePriority = 3
        description  = "Keep the newest ${var.keep_images} images"
        selection    = { tagStatus = "any", countType = "imageCountMoreThan", countNumber = var.keep_images }
        action       = { type = "expire" }
      },
    ]
  })
}
