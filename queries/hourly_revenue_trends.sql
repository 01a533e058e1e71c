-- What are the peak revenue hours? Revenue per local date and hour, latest 20 date-hours.
SELECT event_date, hour_of_day, total_revenue, purchase_count, total_items_sold, avg_order_value
FROM hourly_revenue
ORDER BY event_date DESC, hour_of_day DESC
LIMIT 20
