-- Which brands convert well but are seen too little? (below the median brand's views, at or above its conversion)
SELECT brand, views, add_to_carts, purchases, revenue, view_to_purchase_pct
FROM brand_performance
WHERE needs_marketing
ORDER BY view_to_purchase_pct DESC, brand
