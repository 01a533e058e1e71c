{% set n = r.id | snake -%}
{% if section == "resource" %}
resource "aws_ecs_task_definition" "{{ n }}" {
  family                   = {{ r.name | hcl }}
  cpu                      = {{ p.cpu ~ "" | hcl }}
  memory                   = {{ p.memory_mb ~ "" | hcl }}
  network_mode             = "awsvpc"
  requires_compatibilities = ["FARGATE"]
  execution_role_arn       = aws_iam_role.{{ p.execution_role_id | snake }}.arn
  task_role_arn            = aws_iam_role.{{ p.task_role_id | snake }}.arn
  runtime_platform {
    cpu_architecture        = {% if p.architecture == "arm64" %}"ARM64"{% else %}"X86_64"{% endif %}
    operating_system_family = "LINUX"
  }
  container_definitions = jsonencode([
    {
      name                   = "etl"
      image                  = "${aws_ecr_repository.{{ p.repository_id | snake }}.repository_url}:{{ p.image_tag }}"
      essential              = true
      user                   = {{ p.user | hcl }}
      memory                 = {{ p.memory_mb }}
      readonlyRootFilesystem = true
      command                = {{ p.command | hcl(indent=6) }}
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.{{ p.log_group_id | snake }}.name
          awslogs-region        = {{ region | hcl }}
          awslogs-stream-prefix = "etl"
        }
      }
    },
  ])
}
{%- else %}
output "{{ n }}_arn" {
  description = "Run this task to run the ETL by hand"
  value       = aws_ecs_task_definition.{{ n }}.arn
}
{%- endif %}
