-- The ETL's silver + gold logic (spec/silver.md, spec/gold.md) in DuckDB SQL,
-- the peer of scripts/bench-etl.py. Placeholders: {bronze} (glob of bronze
-- objects), {out} (output directory), {zone} (reporting time zone).
-- It does the same work as pipegen's ETL: parse every line, validate, alias
-- cities, enrich, de-duplicate, write silver partitioned by date and the 15
-- gold tables as Parquet (zstd).
SET preserve_insertion_order = false;

CREATE TEMP TABLE cities AS SELECT * FROM (VALUES
  ('Delhi','North',28.7041,77.1025),('Lucknow','North',26.8467,80.9462),('Kanpur','North',26.4499,80.3319),
  ('Ghaziabad','North',28.6692,77.4538),('Agra','North',27.1767,78.0081),('Jaipur','North',26.9124,75.7873),
  ('Ludhiana','North',30.9010,75.8573),('Mumbai','West',19.0760,72.8777),('Pune','West',18.5204,73.8567),
  ('Ahmedabad','West',23.0225,72.5714),('Surat','West',21.1702,72.8311),('Nagpur','West',21.1458,79.0882),
  ('Thane','West',19.2183,72.9781),('Vadodara','West',22.3072,73.1812),('Nashik','West',19.9975,73.7898),
  ('Bangalore','South',12.9716,77.5946),('Hyderabad','South',17.3850,78.4867),('Chennai','South',13.0827,80.2707),
  ('Visakhapatnam','South',17.6868,83.2185),('Kolkata','East',22.5726,88.3639),('Patna','East',25.5941,85.1376),
  ('Bhopal','Central',23.2599,77.4126),('Indore','Central',22.7196,75.8577)
) t(city, region, latitude, longitude);

CREATE TEMP TABLE raw AS
SELECT * FROM read_json('{bronze}', format = 'newline_delimited', ignore_errors = true, filename = true,
  columns = {event_id: 'VARCHAR', event_time: 'VARCHAR', "timestamp": 'VARCHAR', event_type: 'VARCHAR',
    user_id: 'VARCHAR', session_id: 'VARCHAR', product_id: 'VARCHAR', product_name: 'VARCHAR', category: 'VARCHAR',
    brand: 'VARCHAR', price: 'VARCHAR', cost_price: 'VARCHAR', discount_percentage: 'VARCHAR', quantity: 'VARCHAR',
    stock_quantity: 'VARCHAR', seller_id: 'VARCHAR', city: 'VARCHAR', payment_type: 'VARCHAR',
    customer_age_group: 'VARCHAR', customer_gender: 'VARCHAR', rating: 'VARCHAR', search_query: 'VARCHAR'});

CREATE TEMP TABLE typed AS
SELECT
  nullif(trim(event_id), '') AS event_id,
  try_cast(coalesce(nullif(trim(event_time), ''), nullif(trim("timestamp"), '')) AS TIMESTAMPTZ) AS ts,
  CASE lower(trim(event_type)) WHEN 'page_view' THEN 'view' WHEN 'cart' THEN 'add_to_cart' ELSE lower(trim(event_type)) END AS event_type,
  nullif(trim(user_id), '') AS user_id, nullif(trim(session_id), '') AS session_id,
  nullif(trim(product_id), '') AS product_id, nullif(trim(product_name), '') AS product_name,
  nullif(trim(category), '') AS category, nullif(trim(brand), '') AS brand,
  try_cast(price AS DOUBLE) AS price, try_cast(cost_price AS DOUBLE) AS cost_price,
  try_cast(discount_percentage AS DOUBLE) AS discount_percentage,
  try_cast(quantity AS INTEGER) AS quantity, try_cast(stock_quantity AS INTEGER) AS stock_quantity,
  nullif(trim(seller_id), '') AS seller_id,
  CASE lower(trim(city)) WHEN 'bengaluru' THEN 'Bangalore' WHEN 'bombay' THEN 'Mumbai' WHEN 'calcutta' THEN 'Kolkata'
    WHEN 'madras' THEN 'Chennai' ELSE nullif(trim(city), '') END AS city,
  nullif(trim(payment_type), '') AS payment_type, customer_age_group, customer_gender,
  try_cast(rating AS DOUBLE) AS rating, search_query, filename
FROM raw;

CREATE TEMP TABLE checked AS
SELECT t.*, c.region, CASE WHEN c.city IN ('Mumbai','Delhi','Bangalore','Hyderabad','Chennai','Kolkata') THEN 'Tier 1'
    WHEN c.city IS NOT NULL THEN 'Tier 2' END AS city_tier, c.latitude, c.longitude,
  (ts IS NULL OR ts > now() + INTERVAL 1 DAY
   OR event_type NOT IN ('view','add_to_cart','remove_from_cart','purchase','search','stock_update','price_change')
   OR user_id IS NULL
   OR coalesce(price <= 0, event_type IN ('purchase','add_to_cart','remove_from_cart'))
   OR cost_price <= 0 OR quantity < 0 OR (event_type = 'purchase' AND coalesce(quantity, 0) < 1)
   OR stock_quantity < 0 OR rating NOT BETWEEN 1 AND 5 OR discount_percentage NOT BETWEEN 0 AND 100
   OR (t.city IS NOT NULL AND c.city IS NULL)
   OR (event_type = 'purchase' AND payment_type NOT IN ('UPI','Credit Card','Debit Card','Net Banking','Cash on Delivery'))
  ) IS TRUE AS invalid
FROM typed t LEFT JOIN cities c ON lower(c.city) = lower(t.city);

COPY (SELECT * EXCLUDE (invalid) FROM checked WHERE invalid) TO '{out}/invalid.parquet' (FORMAT PARQUET);

CREATE TEMP TABLE silver AS
SELECT * EXCLUDE (invalid, product_name, payment_type, filename),
  coalesce(lower(product_name), 'unknown ' || lower(category), 'unknown') AS product_name,
  CASE WHEN event_type = 'purchase' THEN payment_type ELSE 'other' END AS payment_type,
  price * (1 - coalesce(discount_percentage, 0) / 100) AS final_price,
  CASE WHEN event_type = 'purchase' THEN price * (1 - coalesce(discount_percentage, 0) / 100) * quantity ELSE 0 END AS revenue,
  CASE WHEN event_type = 'purchase' AND cost_price IS NOT NULL
    THEN (price * (1 - coalesce(discount_percentage, 0) / 100) - cost_price) * quantity END AS profit,
  CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END AS order_flag,
  timezone('{zone}', ts) AS event_time_local,
  strftime(timezone('{zone}', ts), '%Y-%m-%d') AS event_date,
  hour(timezone('{zone}', ts)) AS hour_of_day,
  strftime(timezone('{zone}', ts), '%a') AS day_of_week,
  filename
FROM checked WHERE NOT invalid
QUALIFY row_number() OVER (PARTITION BY coalesce(event_id, md5(concat_ws('|', ts, user_id, session_id, product_id, event_type)))
                           ORDER BY filename) = 1;

COPY (SELECT * EXCLUDE (filename) FROM silver) TO '{out}/silver' (FORMAT PARQUET, PARTITION_BY (event_date), COMPRESSION zstd, OVERWRITE_OR_IGNORE);

CREATE TEMP VIEW acts AS SELECT * FROM silver WHERE event_type IN ('view','add_to_cart','remove_from_cart','purchase','search');

COPY (SELECT coalesce(seller_id,'unknown') seller_id, product_id, min(product_name) product_name, coalesce(min(category),'unknown') category,
  round(sum(revenue),2) total_revenue, round(sum(profit),2) total_profit, sum(quantity) total_quantity,
  row_number() OVER (PARTITION BY coalesce(seller_id,'unknown') ORDER BY round(sum(profit),2) DESC NULLS LAST, product_id) AS rank
  FROM silver WHERE event_type = 'purchase' AND product_id IS NOT NULL GROUP BY 1, 2 QUALIFY rank <= 5)
  TO '{out}/gold_product_metrics.parquet' (FORMAT PARQUET, COMPRESSION zstd);
COPY (SELECT coalesce(seller_id,'unknown') seller_id, event_time_local, user_id, product_id, product_name, round(final_price,2) final_price,
  quantity, city, payment_type, row_number() OVER (PARTITION BY coalesce(seller_id,'unknown') ORDER BY event_time_local DESC, event_id) rank
  FROM silver WHERE event_type = 'purchase' QUALIFY rank <= 5) TO '{out}/gold_order_details.parquet' (FORMAT PARQUET, COMPRESSION zstd);
COPY (SELECT coalesce(seller_id,'unknown') seller_id, count(*) FILTER (event_type='view') view_count,
  count(*) FILTER (event_type='add_to_cart') add_to_cart_count, count(*) FILTER (event_type='remove_from_cart') remove_from_cart_count,
  count(*) FILTER (event_type='purchase') purchase_count FROM acts GROUP BY 1)
  TO '{out}/gold_event_counts.parquet' (FORMAT PARQUET, COMPRESSION zstd);
COPY (SELECT coalesce(seller_id,'unknown') seller_id, coalesce(city,'unknown') city, coalesce(region,'unknown') region,
  coalesce(city_tier,'unknown') city_tier, latitude, longitude, round(sum(revenue),2) total_revenue, sum(order_flag) total_orders
  FROM silver WHERE event_type='purchase' GROUP BY ALL) TO '{out}/gold_city_sales.parquet' (FORMAT PARQUET, COMPRESSION zstd);
COPY (SELECT coalesce(city,'unknown') city, coalesce(region,'unknown') region, coalesce(city_tier,'unknown') city_tier, latitude, longitude,
  round(sum(revenue),2) total_revenue, sum(order_flag) total_orders FROM silver WHERE event_type='purchase' GROUP BY ALL)
  TO '{out}/gold_geo_heatmap.parquet' (FORMAT PARQUET, COMPRESSION zstd);
COPY (SELECT coalesce(seller_id,'unknown') seller_id, event_date, round(sum(revenue),2) total_revenue, round(sum(profit),2) total_profit,
  sum(order_flag) total_orders FROM silver WHERE event_type='purchase' GROUP BY ALL)
  TO '{out}/gold_daily_metrics.parquet' (FORMAT PARQUET, COMPRESSION zstd);
COPY (SELECT product_id, coalesce(category,'unknown') category, count(*) FILTER (event_type='view') v, count(*) FILTER (event_type='add_to_cart') c,
  count(*) FILTER (event_type='purchase') p, CASE WHEN v > 0 THEN round(c * 100.0 / v, 2) ELSE 0 END view_to_cart_pct,
  CASE WHEN c > 0 THEN round(p * 100.0 / c, 2) ELSE 0 END cart_to_purchase_pct, CASE WHEN v > 0 THEN round(p * 100.0 / v, 2) ELSE 0 END view_to_purchase_pct
  FROM acts WHERE product_id IS NOT NULL GROUP BY 1, 2) TO '{out}/gold_product_funnel.parquet' (FORMAT PARQUET, COMPRESSION zstd);
COPY (SELECT event_date, hour_of_day, round(sum(revenue),2) total_revenue, count(*) purchase_count, sum(quantity) total_items_sold,
  round(sum(revenue) / count(*), 2) avg_order_value FROM silver WHERE event_type='purchase' GROUP BY ALL)
  TO '{out}/gold_hourly_revenue.parquet' (FORMAT PARQUET, COMPRESSION zstd);
COPY (SELECT product_id, coalesce(category,'unknown') category, count(*) view_count, count(DISTINCT user_id) unique_viewers
  FROM silver WHERE event_type='view' AND product_id IS NOT NULL GROUP BY ALL) TO '{out}/gold_product_popularity.parquet' (FORMAT PARQUET, COMPRESSION zstd);
COPY (SELECT event_date, coalesce(category,'unknown') category, count(*) total_events, count(*) FILTER (event_type='view') page_views,
  count(*) FILTER (event_type='add_to_cart') add_to_carts, count(*) FILTER (event_type='purchase') purchases, round(sum(revenue),2) total_revenue
  FROM acts GROUP BY ALL) TO '{out}/gold_category_daily_performance.parquet' (FORMAT PARQUET, COMPRESSION zstd);
COPY (SELECT event_date, count(DISTINCT user_id) unique_users, count(DISTINCT session_id) unique_sessions, count(*) total_events,
  round(count(*) / count(DISTINCT user_id), 2) events_per_user, round(count(DISTINCT session_id) / count(DISTINCT user_id), 2) sessions_per_user
  FROM acts GROUP BY ALL) TO '{out}/gold_daily_user_activity.parquet' (FORMAT PARQUET, COMPRESSION zstd);
COPY (WITH f AS (SELECT d, count(*) n FROM (SELECT user_id, min(event_date) d FROM acts GROUP BY 1) GROUP BY 1),
    u AS (SELECT event_date, count(DISTINCT user_id) unique_visitors FROM acts GROUP BY 1)
  SELECT u.event_date, unique_visitors, coalesce(f.n, 0) new_visitors FROM u LEFT JOIN f ON f.d = u.event_date) TO '{out}/gold_unique_visitors_daily.parquet' (FORMAT PARQUET, COMPRESSION zstd);
COPY (WITH u AS (SELECT event_date, product_id, user_id, bool_or(event_type='add_to_cart') carted, bool_or(event_type='purchase') bought
    FROM acts WHERE product_id IS NOT NULL GROUP BY ALL)
  SELECT event_date, product_id, count(*) carted_users, count(*) FILTER (bought) purchased_users,
    count(*) FILTER (NOT bought) abandoned_users, round(count(*) FILTER (NOT bought) * 100.0 / count(*), 2) abandonment_pct
  FROM u WHERE carted GROUP BY ALL) TO '{out}/gold_cart_abandonment.parquet' (FORMAT PARQUET, COMPRESSION zstd);
COPY (SELECT day_of_week, hour_of_day, coalesce(category,'unknown') category, count(*) events, sum(order_flag) purchases,
  round(sum(revenue),2) revenue, row_number() OVER (PARTITION BY day_of_week, hour_of_day ORDER BY sum(order_flag) DESC, round(sum(revenue),2) DESC, coalesce(category,'unknown')) rank_in_hour
  FROM acts GROUP BY 1, 2, 3) TO '{out}/gold_category_hourly.parquet' (FORMAT PARQUET, COMPRESSION zstd);
COPY (WITH b AS (SELECT coalesce(brand,'unknown') brand, count(*) FILTER (event_type='view') views, count(*) FILTER (event_type='add_to_cart') add_to_carts,
    count(*) FILTER (event_type='purchase') purchases, round(sum(revenue),2) revenue FROM acts GROUP BY 1),
  r AS (SELECT *, CASE WHEN views > 0 THEN round(purchases * 100.0 / views, 2) ELSE 0 END view_to_purchase_pct FROM b)
  SELECT *, views < (SELECT median(views) FROM r) AND view_to_purchase_pct >= (SELECT median(view_to_purchase_pct) FROM r) needs_marketing FROM r)
  TO '{out}/gold_brand_performance.parquet' (FORMAT PARQUET, COMPRESSION zstd);
