{% set n = r.id | snake -%}
{% if section == "resource" %}
resource "aws_dynamodb_table" "{{ n }}" {
  name         = {{ r.name | hcl }}
  billing_mode = {{ p.billing_mode | hcl }}
  hash_key     = {{ p.partition_key.name | hcl }}
  range_key    = {{ p.sort_key.name | hcl }}
  attribute {
    name = {{ p.partition_key.name | hcl }}
    type = {{ p.partition_key.type | hcl }}
  }
  attribute {
    name = {{ p.sort_key.name | hcl }}
    type = {{ p.sort_key.type | hcl }}
  }
  point_in_time_recovery {
    enabled = {{ p.point_in_time_recovery }}
  }
  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.{{ p.kms_key_id | snake }}.arn
  }
}
{%- else %}
output "{{ n }}_name" {
  description = "Detected bots, one item per user and window"
  value       = aws_dynamodb_table.{{ n }}.name
}
{%- endif %}
