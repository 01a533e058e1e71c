{% if section == "resource" %}
{% set b = p.bucket_id | snake -%}
resource "aws_s3_bucket_policy" "{{ r.id | snake }}" {
  bucket = aws_s3_bucket.{{ b }}.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.{{ b }}.arn, "${aws_s3_bucket.{{ b }}.arn}/*"]
        Condition = {
          Bool = {
            "aws:SecureTransport" = "false"
          }
        }
      },
    ]
  })
  depends_on = [aws_s3_bucket_public_access_block.{{ b }}]
}
{%- endif %}
