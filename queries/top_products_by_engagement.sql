-- Which products draw the most interest? Views, unique viewers and views per viewer.
SELECT product_id, category, view_count, unique_viewers,
       ROUND(CAST(view_count AS DOUBLE) / unique_viewers, 2) AS views_per_viewer
FROM product_popularity
WHERE unique_viewers > 0
ORDER BY view_count DESC, product_id
LIMIT 20
