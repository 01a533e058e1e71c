{% if section == "resource" %}
resource "aws_athena_named_query" "{{ r.id | snake }}" {
  name        = {{ r.name | hcl }}
  description = {{ p.description | hcl }}
  database    = aws_glue_catalog_database.{{ p.database_id | snake }}.name
  workgroup   = aws_athena_workgroup.{{ p.workgroup_id | snake }}.id
  query       = {{ p.sql | hcl }}
}
{%- endif %}
