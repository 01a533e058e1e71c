{% if section == "resource" %}
resource "aws_lambda_event_source_mapping" "{{ r.id | snake }}" {
  function_name                      = aws_lambda_function.{{ p.function_id | snake }}.arn
  event_source_arn                   = aws_kinesis_stream.{{ p.stream_id | snake }}.arn
  starting_position                  = {% if p.starting_position == "latest" %}"LATEST"{% else %}"TRIM_HORIZON"{% endif %}
  batch_size                         = {{ p.batch_size }}
  maximum_batching_window_in_seconds = {{ p.batching_window_seconds }}
  maximum_retry_attempts             = {{ p.max_retries }}
  maximum_record_age_in_seconds      = {{ p.max_record_age_seconds }}
  bisect_batch_on_function_error     = {{ p.bisect_on_error }}
  parallelization_factor             = {{ p.parallelization_factor }}
  function_response_types            = ["ReportBatchItemFailures"]
{%- if p.tumbling_window_seconds %}
  tumbling_window_in_seconds         = {{ p.tumbling_window_seconds }}
{%- endif %}
{%- if p.on_failure_queue_id %}
  destination_config {
    on_failure {
      destination_arn = aws_sqs_queue.{{ p.on_failure_queue_id | snake }}.arn
    }
  }
{%- endif %}
}
{%- endif %}
