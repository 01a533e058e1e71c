{% if section == "resource" %}
resource "aws_glue_catalog_table" "{{ r.id | snake }}" {
  name          = {{ r.name | hcl }}
  database_name = aws_glue_catalog_database.{{ p.database_id | snake }}.name
  table_type    = "EXTERNAL_TABLE"
  parameters = {
    classification = {{ p.storage.classification | hcl }}
{%- if p.compressed %}
    compressionType = "gzip"
{%- endif %}
  }
{%- for k in p.partition_keys %}
  partition_keys {
    name = {{ k.name | hcl }}
    type = {{ k.type | hcl }}
  }
{%- endfor %}
  storage_descriptor {
    location      = {{ p.location | hcl }}
    input_format  = {{ p.storage.input_format | hcl }}
    output_format = {{ p.storage.output_format | hcl }}
    compressed    = {{ p.compressed }}
    ser_de_info {
      serialization_library = {{ p.storage.serde | hcl }}
      parameters = {{ p.storage.serde_parameters | hcl(indent=6) }}
    }
{%- for c in p.columns %}
    columns {
      name = {{ c.name | hcl }}
      type = {{ c.type | hcl }}
    }
{%- endfor %}
  }
}
{%- endif %}
