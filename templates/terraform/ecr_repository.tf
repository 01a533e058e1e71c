{% set n = r.id | snake -%}
{% if section == "resource" %}
resource "aws_ecr_repository" "{{ n }}" {
  name                 = {{ r.name | hcl }}
  image_tag_mutability = {% if p.immutable_tags %}"IMMUTABLE"{% else %}"MUTABLE"{% endif %}
  force_delete         = true
  image_scanning_configuration {
    scan_on_push = {{ p.scan_on_push }}
  }
  encryption_configuration {
    encryption_type = "KMS"
  }
}

resource "aws_ecr_lifecycle_policy" "{{ n }}" {
  repository = aws_ecr_repository.{{ n }}.name
  policy     = {{ ecr_lifecycle | json_encode() | hcl }}
}
{%- else %}
output "{{ n }}_uri" {
  description = "Push the ETL image here"
  value       = aws_ecr_repository.{{ n }}.repository_url
}
{%- endif %}
