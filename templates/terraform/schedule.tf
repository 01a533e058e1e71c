{% set n = r.id | snake -%}
{% if section == "resource" %}
resource "aws_cloudwatch_event_rule" "{{ n }}" {
  name                = {{ r.name | hcl }}
  schedule_expression = {{ p.expression | hcl }}
  state               = {% if p.enabled %}"ENABLED"{% else %}"DISABLED"{% endif %}
}

resource "aws_cloudwatch_event_target" "{{ n }}" {
  rule = aws_cloudwatch_event_rule.{{ n }}.name
{%- if p.target.function_id %}
  target_id = "function"
  arn       = aws_lambda_function.{{ p.target.function_id | snake }}.arn
{%- else %}
  target_id = "task"
  arn       = aws_ecs_cluster.{{ p.target.cluster_id | snake }}.arn
  role_arn  = aws_iam_role.{{ p.target.role_id | snake }}.arn
  ecs_target {
    task_definition_arn = aws_ecs_task_definition.{{ p.target.task_definition_id | snake }}.arn
    launch_type         = {{ p.target.launch_type | hcl }}
    task_count          = 1
    network_configuration {
      subnets          = var.{{ p.target.subnets_parameter | snake }}
      security_groups  = [aws_security_group.{{ p.target.security_group_id | snake }}.id]
      assign_public_ip = false
    }
  }
{%- endif %}
}
{%- endif %}
