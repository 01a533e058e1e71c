//! `pipegen dashboard`: the six business views of `spec/queries.md` as one
//! self-contained HTML file (inline SVG drawn here, no script or font from
//! the network), from the gold tables through the same SQL engine as
//! `pipegen query`, plus the ETL's last run.
//!
//! Why SVG written by hand rather than a vendored charting library: six
//! simple charts are a few hundred lines, the file stays small and opens
//! anywhere offline, and the output is deterministic (same gold, same bytes),
//! which a test can compare.

use std::fmt::Write as _;

use serde_json::Value as Json;

use crate::query::QueryResult;

/// One view: its title, the SQL that feeds it, and how it is drawn.
pub struct View {
    pub id: &'static str,
    pub title: &'static str,
    pub sql: &'static str,
}

/// The six views (QuickSight's, in the originals).
pub const VIEWS: &[View] = &[
    View {
        id: "total_revenue",
        title: "Total revenue",
        sql: "SELECT SUM(total_revenue) AS revenue, SUM(total_orders) AS orders FROM geo_heatmap",
    },
    View {
        id: "revenue_by_city",
        title: "Revenue by city",
        sql: "SELECT city, latitude, longitude, total_revenue, total_orders FROM geo_heatmap ORDER BY total_revenue DESC, city",
    },
    View {
        id: "funnel",
        title: "View → cart → purchase",
        sql: "SELECT SUM(view_count) AS views, SUM(add_to_cart_count) AS carts, SUM(purchase_count) AS purchases FROM product_funnel",
    },
    View {
        id: "profit_by_category",
        title: "Profit by category (each seller's top products)",
        sql: "SELECT category, SUM(total_profit) AS profit FROM product_metrics GROUP BY category ORDER BY profit DESC, category",
    },
    View {
        id: "latest_orders",
        title: "Latest orders",
        sql: "SELECT event_time_local, seller_id, product_name, city, final_price, quantity FROM order_details ORDER BY event_time_local DESC, seller_id LIMIT 10",
    },
    View {
        id: "margin",
        title: "Average profit margin",
        sql: "SELECT event_date, SUM(total_profit) AS profit, SUM(total_revenue) AS revenue FROM daily_metrics GROUP BY event_date ORDER BY event_date",
    },
];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn num(v: &Json) -> f64 {
    v.as_f64().unwrap_or(0.0)
}

fn text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Null => "-".into(),
        other => other.to_string(),
    }
}

fn money(x: f64) -> String {
    let whole = x.round() as i64;
    let digits = whole.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{}{out}", if whole < 0 { "-" } else { "" })
}

fn col<'a>(r: &'a QueryResult, name: &str) -> Option<usize> {
    r.columns.iter().position(|c| c == name)
}

fn empty(view: &View) -> String {
    format!(
        "<p class=\"empty\" data-view=\"{}\">No data yet: run the ETL first.</p>",
        view.id
    )
}

fn kpi(view: &View, r: &QueryResult) -> String {
    let (Some(rev), Some(ord)) = (col(r, "revenue"), col(r, "orders")) else {
        return empty(view);
    };
    let Some(row) = r.rows.first().filter(|row| !row[rev].is_null()) else {
        return empty(view);
    };
    format!(
        "<svg class=\"chart\" data-view=\"{}\" viewBox=\"0 0 360 120\" width=\"360\" height=\"120\" role=\"img\"><text data-mark=\"1\" x=\"10\" y=\"62\" font-size=\"40\" font-weight=\"bold\" fill=\"#1f4e79\">{}</text><text x=\"12\" y=\"98\" font-size=\"16\" fill=\"#555\">from {} orders</text></svg>",
        view.id,
        money(num(&row[rev])),
        money(num(&row[ord]))
    )
}

fn bubbles(view: &View, r: &QueryResult) -> String {
    let (Some(city), Some(lat), Some(lon), Some(rev)) = (
        col(r, "city"),
        col(r, "latitude"),
        col(r, "longitude"),
        col(r, "total_revenue"),
    ) else {
        return empty(view);
    };
    let points: Vec<(String, f64, f64, f64)> = r
        .rows
        .iter()
        .filter(|row| row[lat].is_number() && row[lon].is_number())
        .map(|row| (text(&row[city]), num(&row[lat]), num(&row[lon]), num(&row[rev])))
        .collect();
    if points.is_empty() {
        return empty(view);
    }
    let (w, h, pad) = (520.0, 420.0, 40.0);
    let min = |f: fn(&(String, f64, f64, f64)) -> f64| points.iter().map(f).fold(f64::INFINITY, f64::min);
    let max = |f: fn(&(String, f64, f64, f64)) -> f64| points.iter().map(f).fold(f64::NEG_INFINITY, f64::max);
    let (lat0, lat1, lon0, lon1) = (min(|p| p.1), max(|p| p.1), min(|p| p.2), max(|p| p.2));
    let top = max(|p| p.3).max(1e-9);
    let sx = |lon: f64| pad + (lon - lon0) / (lon1 - lon0).max(1e-9) * (w - 2.0 * pad);
    let sy = |lat: f64| h - pad - (lat - lat0) / (lat1 - lat0).max(1e-9) * (h - 2.0 * pad);
    let mut svg = format!(
        "<svg class=\"chart\" data-view=\"{}\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\"><rect x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\" fill=\"#f4f8fb\"/>",
        view.id
    );
    for (i, (name, lat, lon, revenue)) in points.iter().enumerate() {
        let radius = 4.0 + 22.0 * (revenue / top).sqrt();
        let _ = write!(
            svg,
            "<circle data-mark=\"1\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"{radius:.1}\" fill=\"#2e86c1\" fill-opacity=\"0.55\" stroke=\"#1b4f72\"><title>{}: {}</title></circle>",
            sx(*lon),
            sy(*lat),
            esc(name),
            money(*revenue)
        );
        if i < 8 {
            let _ = write!(
                svg,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"#333\">{}</text>",
                sx(*lon) + radius + 2.0,
                sy(*lat) + 4.0,
                esc(name)
            );
        }
    }
    svg.push_str("<text x=\"8\" y=\"16\" font-size=\"11\" fill=\"#777\">bubble area: revenue; position: latitude/longitude</text></svg>");
    svg
}

/// Horizontal bars: (label, value, caption).
fn bars(view: &View, items: &[(String, f64, String)]) -> String {
    if items.is_empty() {
        return empty(view);
    }
    let (w, row, label_w) = (520.0, 30.0, 170.0);
    let h = row * items.len() as f64 + 10.0;
    let top = items.iter().map(|i| i.1).fold(0.0, f64::max).max(1e-9);
    let mut svg = format!(
        "<svg class=\"chart\" data-view=\"{}\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\">",
        view.id
    );
    for (i, (label, value, caption)) in items.iter().enumerate() {
        let y = 5.0 + i as f64 * row;
        let len = ((value.max(0.0) / top) * (w - label_w - 170.0)).max(1.0);
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"end\" fill=\"#333\">{}</text><rect data-mark=\"1\" x=\"{label_w}\" y=\"{y:.1}\" width=\"{len:.1}\" height=\"{:.1}\" fill=\"#28b463\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" fill=\"#333\">{}</text>",
            label_w - 6.0,
            y + row * 0.6,
            esc(label),
            row - 8.0,
            label_w + len + 6.0,
            y + row * 0.6,
            esc(caption)
        );
    }
    svg.push_str("</svg>");
    svg
}

fn funnel(view: &View, r: &QueryResult) -> String {
    let Some(row) = r.rows.first() else { return empty(view) };
    let steps = ["views", "carts", "purchases"];
    let values: Vec<f64> = steps
        .iter()
        .map(|s| col(r, s).map(|i| num(&row[i])).unwrap_or(0.0))
        .collect();
    if values[0] <= 0.0 {
        return empty(view);
    }
    let items: Vec<(String, f64, String)> = steps
        .iter()
        .zip(&values)
        .map(|(s, v)| {
            (
                s.to_string(),
                *v,
                format!("{} ({:.1}% of views)", money(*v), 100.0 * v / values[0]),
            )
        })
        .collect();
    bars(view, &items)
}

fn category_profit(view: &View, r: &QueryResult) -> String {
    let (Some(c), Some(p)) = (col(r, "category"), col(r, "profit")) else {
        return empty(view);
    };
    let items: Vec<(String, f64, String)> = r
        .rows
        .iter()
        .filter(|row| row[p].is_number())
        .take(12)
        .map(|row| (text(&row[c]), num(&row[p]), money(num(&row[p]))))
        .collect();
    bars(view, &items)
}

fn orders(view: &View, r: &QueryResult) -> String {
    if r.rows.is_empty() {
        return empty(view);
    }
    let mut html = format!("<table class=\"orders\" data-view=\"{}\"><tr>", view.id);
    for c in &r.columns {
        let _ = write!(html, "<th>{}</th>", esc(c));
    }
    html.push_str("</tr>");
    for row in &r.rows {
        html.push_str("<tr data-mark=\"1\">");
        for v in row {
            let cell = match v {
                Json::Number(n) if n.is_f64() => format!("{:.2}", n.as_f64().unwrap_or(0.0)),
                other => text(other),
            };
            let _ = write!(html, "<td>{}</td>", esc(&cell));
        }
        html.push_str("</tr>");
    }
    html.push_str("</table>");
    html
}

fn margin(view: &View, r: &QueryResult) -> String {
    let (Some(d), Some(p), Some(v)) = (col(r, "event_date"), col(r, "profit"), col(r, "revenue")) else {
        return empty(view);
    };
    let days: Vec<(String, f64)> = r
        .rows
        .iter()
        .filter(|row| num(&row[v]) > 0.0 && row[p].is_number())
        .map(|row| (text(&row[d]), 100.0 * num(&row[p]) / num(&row[v])))
        .collect();
    if days.is_empty() {
        return empty(view);
    }
    let profit: f64 = r.rows.iter().map(|row| num(&row[p])).sum();
    let revenue: f64 = r.rows.iter().map(|row| num(&row[v])).sum();
    let overall = if revenue > 0.0 { 100.0 * profit / revenue } else { 0.0 };
    let (w, h, pad) = (520.0, 220.0, 36.0);
    let hi = days.iter().map(|d| d.1).fold(overall, f64::max).max(1.0) * 1.15;
    let lo = days.iter().map(|d| d.1).fold(0.0, f64::min);
    let x = |i: usize| {
        pad + if days.len() > 1 {
            i as f64 / (days.len() - 1) as f64 * (w - 2.0 * pad)
        } else {
            (w - 2.0 * pad) / 2.0
        }
    };
    let y = |m: f64| h - pad - (m - lo) / (hi - lo) * (h - 2.0 * pad);
    let mut svg = format!(
        "<svg class=\"chart\" data-view=\"{}\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\"><text x=\"{pad}\" y=\"22\" font-size=\"18\" font-weight=\"bold\" fill=\"#7d3c98\">{overall:.1}% overall</text><line x1=\"{pad}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#bbb\"/>",
        view.id,
        y(lo),
        w - pad,
        y(lo)
    );
    let points: Vec<String> = days
        .iter()
        .enumerate()
        .map(|(i, d)| format!("{:.1},{:.1}", x(i), y(d.1)))
        .collect();
    let _ = write!(
        svg,
        "<polyline points=\"{}\" fill=\"none\" stroke=\"#7d3c98\" stroke-width=\"2\"/>",
        points.join(" ")
    );
    for (i, (date, m)) in days.iter().enumerate() {
        let _ = write!(
            svg,
            "<circle data-mark=\"1\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"4\" fill=\"#7d3c98\"><title>{}: {m:.1}%</title></circle>",
            x(i),
            y(*m),
            esc(date)
        );
    }
    let _ = write!(
        svg,
        "<text x=\"{pad}\" y=\"{:.1}\" font-size=\"11\" fill=\"#555\">{}</text><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\" fill=\"#555\">{}</text></svg>",
        h - 10.0,
        esc(&days[0].0),
        w - pad,
        h - 10.0,
        esc(&days[days.len() - 1].0)
    );
    svg
}

/// The view's markup from its query's result.
pub fn draw(view: &View, r: &QueryResult) -> String {
    match view.id {
        "total_revenue" => kpi(view, r),
        "revenue_by_city" => bubbles(view, r),
        "funnel" => funnel(view, r),
        "profit_by_category" => category_profit(view, r),
        "latest_orders" => orders(view, r),
        _ => margin(view, r),
    }
}

/// Marks each view `data-rendered="true"` once the browser has laid it out
/// with something drawn: what the headless-browser test reads back.
const CHECK: &str = "document.querySelectorAll('[data-view]').forEach(function (el) {\n  var box = el.getBoundingClientRect();\n  var marks = el.querySelectorAll('[data-mark]');\n  var drawn = Array.prototype.some.call(marks, function (m) { var b = m.getBoundingClientRect(); return b.width > 0 && b.height > 0; });\n  el.setAttribute('data-rendered', String(box.width > 0 && box.height > 0 && drawn));\n});";

/// The whole page.
pub fn html(env: &str, results: &[(&View, QueryResult)], run: Option<&Json>) -> String {
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>pipegen dashboard: {env}</title><style>body{{font-family:sans-serif;margin:24px;color:#222;background:#fff}}h1{{font-size:22px}}section{{display:inline-block;vertical-align:top;margin:10px;padding:12px;border:1px solid #ddd;border-radius:6px}}h2{{font-size:15px;margin:0 0 8px}}table.orders{{border-collapse:collapse;font-size:12px}}table.orders td,table.orders th{{border-bottom:1px solid #eee;padding:3px 6px;text-align:left}}.run{{font-size:13px;color:#444}}.empty{{color:#a00}}</style></head><body><h1>pipegen dashboard: {env}</h1>",
        env = esc(env)
    );
    if let Some(run) = run {
        let t = &run["totals"];
        let _ = write!(
            page,
            "<p class=\"run\">Last ETL run {}: {} bronze lines = {} valid + {} invalid + {} duplicates ({}).</p>",
            esc(run["run_id"].as_str().unwrap_or("-")),
            t["lines"],
            t["valid"],
            t["invalid"],
            t["duplicates"],
            if run["reconciled"] == true {
                "reconciled"
            } else {
                "NOT reconciled"
            }
        );
    }
    for (view, r) in results {
        let _ = write!(page, "<section><h2>{}</h2>{}</section>", esc(view.title), draw(view, r));
    }
    let _ = write!(page, "<script>{CHECK}</script></body></html>\n");
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(columns: &[&str], rows: Vec<Vec<Json>>) -> QueryResult {
        QueryResult {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows,
            elapsed_ms: 0.0,
        }
    }

    #[test]
    fn views_draw_their_data_and_say_when_there_is_none() {
        let cities = result(
            &["city", "latitude", "longitude", "total_revenue", "total_orders"],
            vec![
                vec!["Agra".into(), 27.18.into(), 78.0.into(), 1000.0.into(), 3.into()],
                vec!["Pune <x>".into(), 18.5.into(), 73.8.into(), 250.0.into(), 1.into()],
            ],
        );
        let svg = draw(&VIEWS[1], &cities);
        assert_eq!(svg.matches("<circle data-mark").count(), 2);
        assert!(svg.contains("Pune &lt;x&gt;"), "labels are escaped");
        // Area follows revenue: the radius of 4x the revenue is 2x (plus the floor).
        let radii: Vec<f64> = svg
            .split(" r=\"")
            .skip(1)
            .map(|s| s.split('"').next().unwrap().parse().unwrap())
            .collect();
        assert!(
            (radii[0] - 26.0).abs() < 0.05 && (radii[1] - 15.0).abs() < 0.05,
            "{radii:?}"
        );
        let f = draw(
            &VIEWS[2],
            &result(
                &["views", "carts", "purchases"],
                vec![vec![200.into(), 50.into(), 10.into()]],
            ),
        );
        assert!(f.contains("10 (5.0% of views)"), "{f}");
        let m = draw(
            &VIEWS[5],
            &result(
                &["event_date", "profit", "revenue"],
                vec![
                    vec!["2026-11-22".into(), 25.0.into(), 100.0.into()],
                    vec!["2026-11-23".into(), 5.0.into(), 100.0.into()],
                ],
            ),
        );
        assert!(m.contains("15.0% overall"), "{m}");
        for v in VIEWS {
            let e = draw(v, &result(&[], vec![]));
            assert!(e.contains("No data yet") && !e.contains("data-mark"), "{}", v.id);
        }
        assert_eq!(money(1234567.6), "1,234,568");
    }
}
