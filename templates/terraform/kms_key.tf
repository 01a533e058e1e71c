{% set n = r.id | snake -%}
{% if section == "resource" %}
resource "aws_kms_key" "{{ n }}" {
  description         = {{ p.description | hcl }}
  enable_key_rotation = {{ p.rotation }}
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministers"
        Effect    = "Allow"
        Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "DenyGrantsExceptForAwsServices"
        Effect    = "Deny"
        Principal = { AWS = "*" }
        Action    = ["kms:CreateGrant"]
        Resource  = "*"
        Condition = {
          BoolIfExists = {
            "kms:GrantIsForAWSResource" = "false"
            "aws:PrincipalIsAWSService" = "false"
          }
        }
      },
      {
        Sid       = "ServicesEncrypt"
        Effect    = "Allow"
        Principal = { Service = {{ p.service_principals | hcl(indent=8) }} }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*", "kms:Encrypt", "kms:ReEncrypt*", "kms:DescribeKey"]
        Resource  = "*"
        Condition = {
          StringEquals = {
            "aws:SourceAccount" = data.aws_caller_identity.current.account_id
          }
        }
      },
    ]
  })
}

resource "aws_kms_alias" "{{ n }}" {
  name          = {{ p.alias | hcl }}
  target_key_id = aws_kms_key.{{ n }}.key_id
}
{%- else %}
output "{{ n }}_arn" {
  description = "The environment's KMS key"
  value       = aws_kms_key.{{ n }}.arn
}
{%- endif %}
