{% set n = r.id | snake -%}
{% if section == "resource" %}
resource "aws_kinesis_stream" "{{ n }}" {
  name             = {{ r.name | hcl }}
  retention_period = {{ p.retention_hours }}
{%- if p.shards %}
  shard_count      = {{ p.shards }}
{%- endif %}
  encryption_type  = "KMS"
  kms_key_id       = {{ p.kms_key | hcl }}
  stream_mode_details {
    stream_mode = {% if p.mode == "provisioned" %}"PROVISIONED"{% else %}"ON_DEMAND"{% endif %}
  }
}
{%- else %}
output "{{ n }}_name" {
  description = "The Kinesis stream events are written to"
  value       = aws_kinesis_stream.{{ n }}.name
}

output "{{ n }}_arn" {
  value = aws_kinesis_stream.{{ n }}.arn
}
{%- endif %}
