{% if section == "resource" %}
resource "aws_kinesis_firehose_delivery_stream" "{{ r.id | snake }}" {
  name        = {{ r.name | hcl }}
  destination = "extended_s3"
  kinesis_source_configuration {
    kinesis_stream_arn = aws_kinesis_stream.{{ p.source_stream_id | snake }}.arn
    role_arn           = aws_iam_role.{{ p.role_id | snake }}.arn
  }
  extended_s3_configuration {
    bucket_arn          = aws_s3_bucket.{{ p.bucket_id | snake }}.arn
    role_arn            = aws_iam_role.{{ p.role_id | snake }}.arn
    prefix              = {{ p.prefix | hcl }}
    error_output_prefix = {{ p.error_prefix | hcl }}
    compression_format  = {{ p.compression | hcl }}
    buffering_interval  = {{ p.buffer_seconds }}
    buffering_size      = {{ p.buffer_mb }}
  }
}
{%- endif %}
