{% set n = r.id | snake -%}
{% if section == "resource" %}
resource "aws_sqs_queue" "{{ n }}" {
  name                      = {{ r.name | hcl }}
  message_retention_seconds = {{ p.retention_seconds }}
  kms_master_key_id         = aws_kms_key.{{ p.kms_key_id | snake }}.arn
}
{%- else %}
output "{{ n }}_url" {
  description = "Records a consumer gave up on"
  value       = aws_sqs_queue.{{ n }}.url
}
{%- endif %}
