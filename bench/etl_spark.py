"""Spark local, the slow peer of scripts/bench-etl.py: usage
etl_spark.py BRONZE_GLOB OUT_DIR ZONE.

The same work as bench/etl_duckdb.sql: parse, validation, city aliasing,
enrichment, de-duplication, silver partitioned by date, the invalid rows, and
all 15 gold tables. The JVM start is included, as it is in a real
`spark-submit`.
"""
import sys

from pyspark.sql import SparkSession

bronze_glob, out, zone = sys.argv[1], sys.argv[2], sys.argv[3]
# The bench passes a `**` glob (DuckDB's); Spark reads the folder recursively.
root = bronze_glob.split("**")[0]

spark = (SparkSession.builder.master("local[*]").appName("pipegen-bench")
         .config("spark.driver.memory", "8g")
         .config("spark.sql.session.timeZone", zone)
         .config("spark.sql.shuffle.partitions", "8")
         .config("spark.ui.enabled", "false")
         .getOrCreate())
spark.sparkContext.setLogLevel("ERROR")

fields = ["event_id", "event_time", "timestamp", "event_type", "user_id", "session_id", "product_id",
          "product_name", "category", "brand", "price", "cost_price", "discount_percentage", "quantity",
          "stock_quantity", "seller_id", "city", "payment_type", "customer_age_group", "customer_gender",
          "rating", "search_query"]
schema = ", ".join(f"`{f}` STRING" for f in fields)
(spark.read.schema(schema).option("recursiveFileLookup", "true").option("pathGlobFilter", "*.jsonl.gz")
 .option("mode", "PERMISSIVE").json(root).createOrReplaceTempView("raw"))

spark.sql("""
CREATE OR REPLACE TEMP VIEW cities AS SELECT * FROM VALUES
  ('Delhi','North',28.7041,77.1025),('Lucknow','North',26.8467,80.9462),('Kanpur','North',26.4499,80.3319),
  ('Ghaziabad','North',28.6692,77.4538),('Agra','North',27.1767,78.0081),('Jaipur','North',26.9124,75.7873),
  ('Ludhiana','North',30.9010,75.8573),('Mumbai','West',19.0760,72.8777),('Pune','West',18.5204,73.8567),
  ('Ahmedabad','West',23.0225,72.5714),('Surat','West',21.1702,72.8311),('Nagpur','West',21.1458,79.0882),
  ('Thane','West',19.2183,72.9781),('Vadodara','West',22.3072,73.1812),('Nashik','West',19.9975,73.7898),
  ('Bangalore','South',12.9716,77.5946),('Hyderabad','South',17.3850,78.4867),('Chennai','South',13.0827,80.2707),
  ('Visakhapatnam','South',17.6868,83.2185),('Kolkata','East',22.5726,88.3639),('Patna','East',25.5941,85.1376),
  ('Bhopal','Central',23.2599,77.4126),('Indore','Central',22.7196,75.8577)
  AS t(city, region, latitude, longitude)""")

spark.sql("""
CREATE OR REPLACE TEMP VIEW typed AS SELECT
  nullif(trim(event_id), '') AS event_id,
  try_cast(coalesce(nullif(trim(event_time), ''), nullif(trim(`timestamp`), '')) AS TIMESTAMP) AS ts,
  CASE lower(trim(event_type)) WHEN 'page_view' THEN 'view' WHEN 'cart' THEN 'add_to_cart' ELSE lower(trim(event_type)) END AS event_type,
  nullif(trim(user_id), '') AS user_id, nullif(trim(session_id), '') AS session_id,
  nullif(trim(product_id), '') AS product_id, nullif(trim(product_name), '') AS product_name,
  nullif(trim(category), '') AS category, nullif(trim(brand), '') AS brand,
  try_cast(price AS DOUBLE) AS price, try_cast(cost_price AS DOUBLE) AS cost_price,
  try_cast(discount_percentage AS DOUBLE) AS discount_percentage,
  try_cast(quantity AS INT) AS quantity, try_cast(stock_quantity AS INT) AS stock_quantity,
  nullif(trim(seller_id), '') AS seller_id,
  CASE lower(trim(city)) WHEN 'bengaluru' THEN 'Bangalore' WHEN 'bombay' THEN 'Mumbai' WHEN 'calcutta' THEN 'Kolkata'
    WHEN 'madras' THEN 'Chennai' ELSE nullif(trim(city), '') END AS city,
  nullif(trim(payment_type), '') AS payment_type, customer_age_group, customer_gender,
  try_cast(rating AS DOUBLE) AS rating, search_query, input_file_name() AS filename
FROM raw""")

spark.sql("""
CREATE OR REPLACE TEMP VIEW checked AS
SELECT t.*, c.region, CASE WHEN c.city IN ('Mumbai','Delhi','Bangalore','Hyderabad','Chennai','Kolkata') THEN 'Tier 1'
    WHEN c.city IS NOT NULL THEN 'Tier 2' END AS city_tier, c.latitude, c.longitude,
  coalesce(ts IS NULL OR ts > current_timestamp() + INTERVAL 1 DAY
   OR event_type NOT IN ('view','add_to_cart','remove_from_cart','purchase','search','stock_update','price_change')
   OR user_id IS NULL
   OR coalesce(price <= 0, event_type IN ('purchase','add_to_cart','remove_from_cart'))
   OR cost_price <= 0 OR quantity < 0 OR (event_type = 'purchase' AND coalesce(quantity, 0) < 1)
   OR stock_quantity < 0 OR NOT (rating BETWEEN 1 AND 5) OR NOT (discount_percentage BETWEEN 0 AND 100)
   OR (t.city IS NOT NULL AND c.city IS NULL)
   OR (event_type = 'purchase' AND payment_type NOT IN ('UPI','Credit Card','Debit Card','Net Banking','Cash on Delivery')),
   false) AS invalid
FROM typed t LEFT JOIN cities c ON lower(c.city) = lower(t.city)""").cache()

spark.sql("SELECT * FROM checked WHERE invalid").drop("invalid").write.mode("overwrite").parquet(f"{out}/invalid")

spark.sql("""
CREATE OR REPLACE TEMP VIEW silver_all AS SELECT *,
  coalesce(lower(product_name), 'unknown ' || lower(category), 'unknown') AS product_name_n,
  CASE WHEN event_type = 'purchase' THEN payment_type ELSE 'other' END AS payment_type_n,
  price * (1 - coalesce(discount_percentage, 0) / 100) AS final_price,
  CASE WHEN event_type = 'purchase' THEN price * (1 - coalesce(discount_percentage, 0) / 100) * quantity ELSE 0 END AS revenue,
  CASE WHEN event_type = 'purchase' AND cost_price IS NOT NULL
    THEN (price * (1 - coalesce(discount_percentage, 0) / 100) - cost_price) * quantity END AS profit,
  CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END AS order_flag,
  ts AS event_time_local,
  date_format(ts, 'yyyy-MM-dd') AS event_date,
  hour(ts) AS hour_of_day,
  date_format(ts, 'E') AS day_of_week,
  row_number() OVER (PARTITION BY coalesce(event_id, md5(concat_ws('|', ts, user_id, session_id, product_id, event_type)))
                     ORDER BY filename) AS copy
FROM checked WHERE NOT invalid""")
silver = (spark.sql("SELECT * FROM silver_all WHERE copy = 1")
          .drop("invalid", "product_name", "payment_type", "filename", "copy")
          .withColumnRenamed("product_name_n", "product_name").withColumnRenamed("payment_type_n", "payment_type"))
silver.write.mode("overwrite").option("compression", "zstd").partitionBy("event_date").parquet(f"{out}/silver")
# Gold reads silver back, as pipegen's does.
spark.read.parquet(f"{out}/silver").createOrReplaceTempView("silver")

spark.sql("""CREATE OR REPLACE TEMP VIEW acts AS SELECT * FROM silver
  WHERE event_type IN ('view','add_to_cart','remove_from_cart','purchase','search')""")

# The 15 gold tables of bench/etl_duckdb.sql, in Spark SQL (no QUALIFY: a
# filtered subquery; FILTER needs WHERE).
gold = {
    "product_metrics": """SELECT * FROM (SELECT coalesce(seller_id,'unknown') seller_id, product_id,
        min(product_name) product_name, coalesce(min(category),'unknown') category, round(sum(revenue),2) total_revenue,
        round(sum(profit),2) total_profit, sum(quantity) total_quantity,
        row_number() OVER (PARTITION BY coalesce(seller_id,'unknown') ORDER BY round(sum(profit),2) DESC NULLS LAST, product_id) AS rank
        FROM silver WHERE event_type = 'purchase' AND product_id IS NOT NULL GROUP BY 1, 2) WHERE rank <= 5""",
    "order_details": """SELECT * FROM (SELECT coalesce(seller_id,'unknown') seller_id, event_time_local, user_id, product_id,
        product_name, round(final_price,2) final_price, quantity, city, payment_type,
        row_number() OVER (PARTITION BY coalesce(seller_id,'unknown') ORDER BY event_time_local DESC, event_id) rank
        FROM silver WHERE event_type = 'purchase') WHERE rank <= 5""",
    "event_counts": """SELECT coalesce(seller_id,'unknown') seller_id, count(*) FILTER (WHERE event_type='view') view_count,
        count(*) FILTER (WHERE event_type='add_to_cart') add_to_cart_count,
        count(*) FILTER (WHERE event_type='remove_from_cart') remove_from_cart_count,
        count(*) FILTER (WHERE event_type='purchase') purchase_count
        FROM acts GROUP BY 1""",
    "city_sales": """SELECT coalesce(seller_id,'unknown') seller_id, coalesce(city,'unknown') city, coalesce(region,'unknown') region,
        coalesce(city_tier,'unknown') city_tier, latitude, longitude, round(sum(revenue),2) total_revenue, sum(order_flag) total_orders
        FROM silver WHERE event_type='purchase' GROUP BY ALL""",
    "geo_heatmap": """SELECT coalesce(city,'unknown') city, coalesce(region,'unknown') region, coalesce(city_tier,'unknown') city_tier,
        latitude, longitude, round(sum(revenue),2) total_revenue, sum(order_flag) total_orders
        FROM silver WHERE event_type='purchase' GROUP BY ALL""",
    "daily_metrics": """SELECT coalesce(seller_id,'unknown') seller_id, event_date, round(sum(revenue),2) total_revenue,
        round(sum(profit),2) total_profit, sum(order_flag) total_orders FROM silver WHERE event_type='purchase' GROUP BY ALL""",
    "product_funnel": """SELECT product_id, category, v, c, p,
        CASE WHEN v > 0 THEN round(c * 100.0 / v, 2) ELSE 0 END view_to_cart_pct,
        CASE WHEN c > 0 THEN round(p * 100.0 / c, 2) ELSE 0 END cart_to_purchase_pct,
        CASE WHEN v > 0 THEN round(p * 100.0 / v, 2) ELSE 0 END view_to_purchase_pct
        FROM (SELECT product_id, coalesce(category,'unknown') category, count(*) FILTER (WHERE event_type='view') v,
          count(*) FILTER (WHERE event_type='add_to_cart') c, count(*) FILTER (WHERE event_type='purchase') p
          FROM acts WHERE product_id IS NOT NULL GROUP BY 1, 2)""",
    "hourly_revenue": """SELECT event_date, hour_of_day, round(sum(revenue),2) total_revenue, count(*) purchase_count,
        sum(quantity) total_items_sold, round(sum(revenue) / count(*), 2) avg_order_value
        FROM silver WHERE event_type='purchase' GROUP BY ALL""",
    "product_popularity": """SELECT product_id, coalesce(category,'unknown') category, count(*) view_count,
        count(DISTINCT user_id) unique_viewers FROM silver WHERE event_type='view' AND product_id IS NOT NULL GROUP BY ALL""",
    "category_daily_performance": """SELECT event_date, coalesce(category,'unknown') category, count(*) total_events,
        count(*) FILTER (WHERE event_type='view') page_views, count(*) FILTER (WHERE event_type='add_to_cart') add_to_carts,
        count(*) FILTER (WHERE event_type='purchase') purchases, round(sum(revenue),2) total_revenue FROM acts GROUP BY ALL""",
    "daily_user_activity": """SELECT event_date, count(DISTINCT user_id) unique_users, count(DISTINCT session_id) unique_sessions,
        count(*) total_events, round(count(*) / count(DISTINCT user_id), 2) events_per_user,
        round(count(DISTINCT session_id) / count(DISTINCT user_id), 2) sessions_per_user FROM acts GROUP BY ALL""",
    "unique_visitors_daily": """WITH f AS (SELECT d, count(*) n FROM (SELECT user_id, min(event_date) d FROM acts GROUP BY 1) GROUP BY 1),
        u AS (SELECT event_date, count(DISTINCT user_id) unique_visitors FROM acts GROUP BY 1)
        SELECT u.event_date, unique_visitors, coalesce(f.n, 0) new_visitors FROM u LEFT JOIN f ON f.d = u.event_date""",
    "cart_abandonment": """WITH u AS (SELECT event_date, product_id, user_id, bool_or(event_type='add_to_cart') carted,
          bool_or(event_type='purchase') bought FROM acts WHERE product_id IS NOT NULL GROUP BY ALL)
        SELECT event_date, product_id, count(*) carted_users, count(*) FILTER (WHERE bought) purchased_users,
          count(*) FILTER (WHERE NOT bought) abandoned_users,
          round(count(*) FILTER (WHERE NOT bought) * 100.0 / count(*), 2) abandonment_pct
        FROM u WHERE carted GROUP BY ALL""",
    "category_hourly": """SELECT day_of_week, hour_of_day, coalesce(category,'unknown') category, count(*) events,
        sum(order_flag) purchases, round(sum(revenue),2) revenue,
        row_number() OVER (PARTITION BY day_of_week, hour_of_day
          ORDER BY sum(order_flag) DESC, round(sum(revenue),2) DESC, coalesce(category,'unknown')) rank_in_hour
        FROM acts GROUP BY 1, 2, 3""",
    "brand_performance": """WITH b AS (SELECT coalesce(brand,'unknown') brand, count(*) FILTER (WHERE event_type='view') views,
          count(*) FILTER (WHERE event_type='add_to_cart') add_to_carts, count(*) FILTER (WHERE event_type='purchase') purchases,
          round(sum(revenue),2) revenue FROM acts GROUP BY 1),
        r AS (SELECT *, CASE WHEN views > 0 THEN round(purchases * 100.0 / views, 2) ELSE 0 END view_to_purchase_pct FROM b)
        SELECT *, views < (SELECT median(views) FROM r) AND view_to_purchase_pct >= (SELECT median(view_to_purchase_pct) FROM r)
          needs_marketing FROM r""",
}
assert len(gold) == 15
for name, sql in gold.items():
    spark.sql(sql).coalesce(1).write.mode("overwrite").option("compression", "zstd").parquet(f"{out}/gold_{name}")
spark.stop()
