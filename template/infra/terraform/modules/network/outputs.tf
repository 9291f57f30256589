output "vpc_id" {
  description = "The VPC."
  value       = aws_vpc.this.id
}

output "public_subnet_ids" {
  description = "Subnets of the load balancer and the NAT gateways."
  value       = aws_subnet.public[*].id
}

output "private_subnet_ids" {
  description = "Subnets of the ECS tasks (outbound through NAT)."
  value       = aws_subnet.private[*].id
}

output "database_subnet_ids" {
  description = "Subnets of RDS and ElastiCache (no route out of the VPC)."
  value       = aws_subnet.database[*].id
}
