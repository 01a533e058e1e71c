{% set n = r.id | snake -%}
{% if section == "resource" %}
resource "aws_iam_role" "{{ n }}" {
  name = {{ r.name | hcl }}
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect    = "Allow"
        Principal = { Service = {{ p.assumed_by | hcl }} }
        Action    = "sts:AssumeRole"
      },
    ]
  })
}

resource "aws_iam_role_policy" "{{ n }}" {
  name = "least-privilege"
  role = aws_iam_role.{{ n }}.id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = {{ policy_statements | hcl(indent=4) }}
  })
}
{%- endif %}
