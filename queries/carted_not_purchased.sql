-- On a given day, which products were added to carts but not bought?
-- params: event_date
SELECT event_date, product_id, carted_users, purchased_users, abandoned_users, abandonment_pct
FROM cart_abandonment
WHERE event_date = ? AND abandoned_users > 0
ORDER BY abandoned_users DESC, product_id
