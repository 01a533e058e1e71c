-- Which products convert views to purchases best? The 10 most viewed products with their funnel rates (percent).
SELECT product_id, category, view_count, add_to_cart_count, purchase_count,
       view_to_cart_pct, cart_to_purchase_pct, view_to_purchase_pct
FROM product_funnel
ORDER BY view_count DESC, product_id
LIMIT 10
