{% set n = r.id | snake -%}
{% if section == "resource" %}
resource "aws_sns_topic" "{{ n }}" {
  name              = {{ r.name | hcl }}
  kms_master_key_id = aws_kms_key.{{ p.kms_key_id | snake }}.arn
}
{%- else %}
output "{{ n }}_arn" {
  description = "Subscribe to receive bot alerts and alarms"
  value       = aws_sns_topic.{{ n }}.arn
}
{%- endif %}
