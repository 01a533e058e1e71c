//! The canonical event (spec/events.md): one shape every workload reads and
//! writes, whatever the source format.

use serde::{Deserialize, Serialize};

/// What a customer (or the catalogue) did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    View,
    AddToCart,
    RemoveFromCart,
    Purchase,
    Search,
    StockUpdate,
    PriceChange,
}

impl EventType {
    pub const ALL: [EventType; 7] = [
        EventType::View,
        EventType::AddToCart,
        EventType::RemoveFromCart,
        EventType::Purchase,
        EventType::Search,
        EventType::StockUpdate,
        EventType::PriceChange,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::View => "view",
            EventType::AddToCart => "add_to_cart",
            EventType::RemoveFromCart => "remove_from_cart",
            EventType::Purchase => "purchase",
            EventType::Search => "search",
            EventType::StockUpdate => "stock_update",
            EventType::PriceChange => "price_change",
        }
    }

    /// Parses a canonical name or a source alias (`page_view`, `cart`).
    pub fn parse(s: &str) -> Option<EventType> {
        let s = s.trim();
        // Sources write lower case; only the others pay for a copy.
        EventType::parse_lower(s).or_else(|| EventType::parse_lower(&s.to_ascii_lowercase()))
    }

    fn parse_lower(s: &str) -> Option<EventType> {
        Some(match s {
            "view" | "page_view" | "pageview" => EventType::View,
            "add_to_cart" | "cart" | "addtocart" => EventType::AddToCart,
            "remove_from_cart" | "removefromcart" => EventType::RemoveFromCart,
            "purchase" => EventType::Purchase,
            "search" => EventType::Search,
            "stock_update" => EventType::StockUpdate,
            "price_change" => EventType::PriceChange,
            _ => return None,
        })
    }

    /// Customer actions feed the behaviour gold tables; `stock_update` and
    /// `price_change` are catalogue events (gold.md).
    pub fn is_customer_action(self) -> bool {
        !matches!(self, EventType::StockUpdate | EventType::PriceChange)
    }
}

/// One canonical event. Optional fields are absent in some sources.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Deterministic when the source has none (see [`crate::id::event_id`]).
    pub event_id: String,
    /// UTC, microseconds since the Unix epoch.
    pub event_time: i64,
    pub event_type: Option<EventType>,
    pub user_id: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub session_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub product_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub product_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub category_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub category_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub brand: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub price: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cost_price: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub discount_percentage: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub quantity: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub stock_quantity: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub seller_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub payment_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub customer_age_group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub customer_gender: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub device_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub referral_source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub campaign_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rating: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub promotion_active: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub search_query: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub order_id: Option<String>,
}
