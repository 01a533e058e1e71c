{% set n = r.id | snake -%}
{% if section == "resource" %}
resource "aws_ecs_cluster" "{{ n }}" {
  name = {{ r.name | hcl }}
  setting {
    name  = "containerInsights"
    value = {% if p.container_insights %}"enabled"{% else %}"disabled"{% endif %}
  }
}
{%- else %}
output "{{ n }}_name" {
  description = "The cluster the ETL task runs in"
  value       = aws_ecs_cluster.{{ n }}.name
}
{%- endif %}
