{% if section == "resource" %}
resource "aws_glue_security_configuration" "{{ r.id | snake }}" {
  name = {{ r.name | hcl }}
  encryption_configuration {
    s3_encryption {
      s3_encryption_mode = {{ p.s3_encryption | hcl }}
    }
    cloudwatch_encryption {
      cloudwatch_encryption_mode = "SSE-KMS"
      kms_key_arn                = aws_kms_key.{{ p.kms_key_id | snake }}.arn
    }
    job_bookmarks_encryption {
      job_bookmarks_encryption_mode = "CSE-KMS"
      kms_key_arn                   = aws_kms_key.{{ p.kms_key_id | snake }}.arn
    }
  }
}
{%- endif %}
