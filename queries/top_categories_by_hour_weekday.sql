-- Which categories lead each hour of the week? The top 3 per weekday and hour, for timing discounts.
SELECT day_of_week, hour_of_day, rank_in_hour, category, events, purchases, revenue
FROM category_hourly
WHERE rank_in_hour <= 3
ORDER BY CASE day_of_week WHEN 'Mon' THEN 1 WHEN 'Tue' THEN 2 WHEN 'Wed' THEN 3 WHEN 'Thu' THEN 4
                          WHEN 'Fri' THEN 5 WHEN 'Sat' THEN 6 ELSE 7 END,
         hour_of_day, rank_in_hour
