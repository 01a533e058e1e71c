{% if section == "resource" %}
resource "aws_cloudwatch_metric_alarm" "{{ r.id | snake }}" {
  alarm_name          = {{ r.name | hcl }}
  namespace           = {{ p.namespace | hcl }}
  metric_name         = {{ p.metric | hcl }}
{%- if p.dimensions %}
  dimensions = {{ p.dimensions | hcl(indent=2) }}
{%- endif %}
  statistic           = {{ p.statistic | hcl }}
  period              = {{ p.period }}
  evaluation_periods  = 1
  threshold           = {{ p.threshold }}
  comparison_operator = {{ p.comparison | hcl }}
  treat_missing_data  = {{ p.treat_missing_data | hcl }}
  alarm_actions       = [aws_sns_topic.{{ p.topic_id | snake }}.arn]
}
{%- endif %}
