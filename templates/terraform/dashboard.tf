{% if section == "resource" %}
resource "aws_cloudwatch_dashboard" "{{ r.id | snake }}" {
  dashboard_name = {{ r.name | hcl }}
  dashboard_body = {{ p.body | hcl }}
}
{%- endif %}
