{% if section == "resource" %}
resource "aws_security_group" "{{ r.id | snake }}" {
  description = {{ p.description | hcl }}
  vpc_id      = var.{{ p.vpc_parameter | snake }}
{%- for e in p.egress %}
  egress {
    description = {{ e.description | hcl }}
    protocol    = {{ e.protocol | hcl }}
    from_port   = {{ e.port }}
    to_port     = {{ e.port }}
    cidr_blocks = [{{ e.cidr | hcl }}]
  }
{%- endfor %}
}
{%- endif %}
