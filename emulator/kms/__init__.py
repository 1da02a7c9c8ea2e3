"""KMS (2016-01-20): DescribeKey over the keys ECS knows."""
