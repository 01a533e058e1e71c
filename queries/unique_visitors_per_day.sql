-- How many unique visitors come each day, and how many are new?
SELECT event_date, unique_visitors, new_visitors
FROM unique_visitors_daily
ORDER BY event_date
