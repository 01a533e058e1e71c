-- What are a seller's 5 latest orders?
-- params: seller_id
SELECT seller_id, rank, event_time_local, user_id, product_id, product_name, final_price, quantity, city, payment_type
FROM order_details
WHERE seller_id = ?
ORDER BY rank
