-- How do categories perform day over day? Revenue and view-to-purchase conversion (percent).
SELECT event_date, category, total_revenue, page_views, purchases,
       CASE WHEN page_views = 0 THEN 0.0
            ELSE ROUND(100.0 * purchases / page_views, 2) END AS conversion_pct
FROM category_daily_performance
ORDER BY event_date, total_revenue DESC, category
