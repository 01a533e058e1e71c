-- Where does revenue come from? Revenue and orders per city, with coordinates for a map.
SELECT city, region, city_tier, latitude, longitude, total_revenue, total_orders
FROM geo_heatmap
ORDER BY total_revenue DESC, city
