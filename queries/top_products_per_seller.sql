-- What are a seller's top 5 products by profit?
-- params: seller_id
SELECT seller_id, rank, product_id, product_name, category, total_revenue, total_profit, total_quantity
FROM product_metrics
WHERE seller_id = ?
ORDER BY rank
