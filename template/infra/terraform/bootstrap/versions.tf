# Local state on purpose: this creates the bucket every other state lives in. Apply once,
# keep terraform.tfstate safe (or import the bucket again: it is the only resource).
terraform {
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }
}
