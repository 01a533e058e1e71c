{% if section == "resource" %}
resource "aws_glue_crawler" "{{ r.id | snake }}" {
  name          = {{ r.name | hcl }}
  role          = aws_iam_role.{{ p.role_id | snake }}.arn
  database_name = aws_glue_catalog_database.{{ p.database_id | snake }}.name
  security_configuration = aws_glue_security_configuration.{{ p.security_configuration_id | snake }}.name
  s3_target {
    path = {{ p.path | hcl }}
  }
  schema_change_policy {
    update_behavior = {{ p.update_behavior | hcl }}
    delete_behavior = {{ p.delete_behavior | hcl }}
  }
}
{%- endif %}
