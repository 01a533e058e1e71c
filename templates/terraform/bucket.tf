{% set n = r.id | snake -%}
{% if section == "resource" %}
resource "aws_s3_bucket" "{{ n }}" {
  bucket = {{ r.name | hcl }}
}

resource "aws_s3_bucket_versioning" "{{ n }}" {
  bucket = aws_s3_bucket.{{ n }}.id
  versioning_configuration {
    status = {% if p.versioned %}"Enabled"{% else %}"Suspended"{% endif %}
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "{{ n }}" {
  bucket = aws_s3_bucket.{{ n }}.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = {% if p.encryption == "kms" %}"aws:kms"{% else %}"AES256"{% endif %}
    }
    bucket_key_enabled = {% if p.encryption == "kms" %}true{% else %}false{% endif %}
  }
}

resource "aws_s3_bucket_public_access_block" "{{ n }}" {
  bucket                  = aws_s3_bucket.{{ n }}.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_notification" "{{ n }}" {
  bucket      = aws_s3_bucket.{{ n }}.id
  eventbridge = true
}

resource "aws_s3_bucket_ownership_controls" "{{ n }}" {
  bucket = aws_s3_bucket.{{ n }}.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "{{ n }}" {
  bucket = aws_s3_bucket.{{ n }}.id
{%- for rule in p.lifecycle_rules %}
  rule {
    id     = {{ rule.id | hcl }}
    status = "Enabled"
    filter {
      prefix = {{ rule.prefix | hcl }}
    }
{%- if rule.expiration_days %}
    expiration {
      days = {{ rule.expiration_days }}
    }
{%- endif %}
{%- if rule.noncurrent_days %}
    noncurrent_version_expiration {
      noncurrent_days = {{ rule.noncurrent_days }}
    }
{%- endif %}
{%- if rule.abort_incomplete_days %}
    abort_incomplete_multipart_upload {
      days_after_initiation = {{ rule.abort_incomplete_days }}
    }
{%- endif %}
  }
{%- endfor %}
  depends_on = [aws_s3_bucket_versioning.{{ n }}]
}
{%- else %}
output "{{ n }}_name" {
  description = "The {{ p.purpose }} bucket"
  value       = aws_s3_bucket.{{ n }}.bucket
}
{%- endif %}
