{% if section == "resource" %}
resource "aws_cloudwatch_log_group" "{{ r.id | snake }}" {
  name              = {{ r.name | hcl }}
  retention_in_days = {{ p.retention_days }}
  kms_key_id        = aws_kms_key.{{ p.kms_key_id | snake }}.arn
}
{%- endif %}
