//! The canonical event (spec/events.md): one shape every workload reads and
//! writes, whatever the source format.

use std::borrow::Cow;

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
///
/// Generic over its text so that an adapter can lend the fields of a record
/// it reads (`Event<Cow<str>>`, see [`crate::Adapter::adapt_borrowed`]): the
/// ETL reads tens of millions of records, and a `String` per field was a fifth
/// of its parse. Every other workload keeps the owned default.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Event<S = String> {
    /// Deterministic when the source has none (see [`crate::id::event_id`]).
    pub event_id: S,
    /// UTC, microseconds since the Unix epoch.
    pub event_time: i64,
    pub event_type: Option<EventType>,
    pub user_id: S,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub session_id: Option<S>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub product_id: Option<S>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub product_name: Option<S>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub category: Option<S>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub category_id: Option<S>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub category_code: Option<S>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub brand: Option<S>,
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
    pub seller_id: Option<S>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub city: Option<S>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub country: Option<S>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub payment_type: Option<S>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub customer_age_group: Option<S>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub customer_gender: Option<S>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub device_type: Option<S>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub referral_source: Option<S>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub campaign_id: Option<S>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rating: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub promotion_active: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub search_query: Option<S>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub order_id: Option<S>,
}

impl Event<Cow<'_, str>> {
    /// The event with its text copied out of the record it was read from.
    pub fn into_owned(self) -> Event {
        let own = |s: Option<Cow<'_, str>>| s.map(Cow::into_owned);
        Event {
            event_id: self.event_id.into_owned(),
            event_time: self.event_time,
            event_type: self.event_type,
            user_id: self.user_id.into_owned(),
            session_id: own(self.session_id),
            product_id: own(self.product_id),
            product_name: own(self.product_name),
            category: own(self.category),
            category_id: own(self.category_id),
            category_code: own(self.category_code),
            brand: own(self.brand),
            price: self.price,
            cost_price: self.cost_price,
            discount_percentage: self.discount_percentage,
            quantity: self.quantity,
            stock_quantity: self.stock_quantity,
            seller_id: own(self.seller_id),
            city: own(self.city),
            country: own(self.country),
            payment_type: own(self.payment_type),
            customer_age_group: own(self.customer_age_group),
            customer_gender: own(self.customer_gender),
            device_type: own(self.device_type),
            referral_source: own(self.referral_source),
            campaign_id: own(self.campaign_id),
            rating: self.rating,
            promotion_active: self.promotion_active,
            search_query: own(self.search_query),
            order_id: own(self.order_id),
        }
    }
}
