{% set n = r.id | snake -%}
{% if section == "resource" %}
resource "aws_athena_workgroup" "{{ n }}" {
  name          = {{ r.name | hcl }}
  description   = "pipegen analysts' workgroup"
  state         = "ENABLED"
  force_destroy = true
  configuration {
    enforce_workgroup_configuration    = {{ p.enforce_configuration }}
    publish_cloudwatch_metrics_enabled = {{ p.publish_metrics }}
{%- if p.bytes_scanned_cutoff %}
    bytes_scanned_cutoff_per_query     = {{ p.bytes_scanned_cutoff }}
{%- endif %}
    result_configuration {
      output_location = {{ p.result_location | hcl }}
      encryption_configuration {
        encryption_option = {{ p.encryption | hcl }}
        kms_key_arn       = aws_kms_key.{{ p.kms_key_id | snake }}.arn
      }
    }
  }
}
{%- else %}
output "{{ n }}_name" {
  description = "The Athena workgroup with the named queries"
  value       = aws_athena_workgroup.{{ n }}.name
}
{%- endif %}
