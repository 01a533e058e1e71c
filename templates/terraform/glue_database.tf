{% set n = r.id | snake -%}
{% if section == "resource" %}
resource "aws_glue_catalog_database" "{{ n }}" {
  name         = {{ r.name | hcl }}
  description  = "pipegen lake catalog (bronze, silver, gold)"
  location_uri = {{ p.location | hcl }}
}
{%- else %}
output "{{ n }}_name" {
  description = "The Glue database analysts query"
  value       = aws_glue_catalog_database.{{ n }}.name
}
{%- endif %}
