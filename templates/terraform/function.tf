{% set n = r.id | snake -%}
{% if section == "resource" %}
resource "aws_lambda_function" "{{ n }}" {
  function_name = {{ r.name | hcl }}
  description   = {{ "pipegen " ~ p.workload ~ " workload" | hcl }}
  runtime       = {{ p.runtime | hcl }}
  handler       = {{ p.handler | hcl }}
  architectures = [{{ p.architecture | hcl }}]
  memory_size   = {{ p.memory_mb }}
  timeout       = {{ p.timeout_seconds }}
{%- if p.reserved_concurrency %}
  reserved_concurrent_executions = {{ p.reserved_concurrency }}
{%- endif %}
  role        = aws_iam_role.{{ p.role_id | snake }}.arn
  kms_key_arn = aws_kms_key.{{ p.kms_key_id | snake }}.arn
  s3_bucket = aws_s3_bucket.{{ p.code.bucket_id | snake }}.bucket
  s3_key    = {{ p.code.key | hcl }}
  logging_config {
    log_group  = aws_cloudwatch_log_group.{{ p.log_group_id | snake }}.name
    log_format = "Text"
  }
  environment {
    variables = {{ p.environment | hcl(indent=4) }}
  }
}
{%- else %}
output "{{ n }}_name" {
  description = "The {{ p.workload }} Lambda function"
  value       = aws_lambda_function.{{ n }}.function_name
}
{%- endif %}
