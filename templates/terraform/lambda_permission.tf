{% if section == "resource" %}
resource "aws_lambda_permission" "{{ r.id | snake }}" {
  statement_id  = "AllowEventBridge"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.{{ p.function_id | snake }}.function_name
  principal     = {{ p.principal | hcl }}
  source_arn     = aws_cloudwatch_event_rule.{{ p.source_rule_id | snake }}.arn
  source_account = data.aws_caller_identity.current.account_id
}
{%- endif %}
