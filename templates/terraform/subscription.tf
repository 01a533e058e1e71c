{% if section == "resource" %}
resource "aws_sns_topic_subscription" "{{ r.id | snake }}" {
  topic_arn = aws_sns_topic.{{ p.topic_id | snake }}.arn
  protocol  = {{ p.protocol | hcl }}
  endpoint  = {{ p.endpoint | hcl }}
}
{%- endif %}
