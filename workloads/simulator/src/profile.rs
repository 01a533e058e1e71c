//! The simulator's profiles: the originals' distributions (spec/events.md).

use pipegen_events::EventType;

/// Which original generator to reproduce.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    Flashcommerce,
    Capstone,
}

/// A product of the FlashCommerce catalogue: name, category, price range.
pub struct Product {
    pub name: &'static str,
    pub category: &'static str,
    pub min_price: f64,
    pub max_price: f64,
}

const fn p(name: &'static str, category: &'static str, min_price: f64, max_price: f64) -> Product {
    Product {
        name,
        category,
        min_price,
        max_price,
    }
}

/// 25 products in 8 categories, as the FlashCommerce producer had them.
pub const FLASH_PRODUCTS: &[Product] = &[
    p("Cotton Kurta", "Clothing", 499.0, 1999.0),
    p("Denim Jeans", "Clothing", 799.0, 2999.0),
    p("Silk Saree", "Clothing", 1499.0, 9999.0),
    p("Laptop", "Electronics", 24999.0, 99999.0),
    p("Smartphone", "Electronics", 7999.0, 79999.0),
    p("Wireless Earbuds", "Electronics", 999.0, 9999.0),
    p("Smart Watch", "Electronics", 1999.0, 24999.0),
    p("Yoga Mat", "Fitness", 299.0, 1999.0),
    p("Dumbbell Set", "Fitness", 999.0, 5999.0),
    p("Resistance Bands", "Fitness", 199.0, 999.0),
    p("Pressure Cooker", "Kitchen", 999.0, 3999.0),
    p("Mixer Grinder", "Kitchen", 1499.0, 6999.0),
    p("Non-stick Pan", "Kitchen", 499.0, 2499.0),
    p("Gold Earrings", "Jewelry", 4999.0, 49999.0),
    p("Silver Bracelet", "Jewelry", 999.0, 7999.0),
    p("Pearl Necklace", "Jewelry", 1999.0, 19999.0),
    p("Running Shoes", "Footwear", 1299.0, 7999.0),
    p("Leather Sandals", "Footwear", 499.0, 2999.0),
    p("Formal Shoes", "Footwear", 1499.0, 5999.0),
    p("Novel", "Books", 149.0, 799.0),
    p("Cookbook", "Books", 299.0, 1499.0),
    p("Exam Guide", "Books", 199.0, 999.0),
    p("Table Lamp", "Home Decor", 499.0, 2999.0),
    p("Wall Clock", "Home Decor", 399.0, 2499.0),
    p("Cushion Covers", "Home Decor", 299.0, 1499.0),
];

/// The 23 cities of silver.md's reference table.
pub const CITIES: &[&str] = &[
    "Delhi",
    "Lucknow",
    "Kanpur",
    "Ghaziabad",
    "Agra",
    "Jaipur",
    "Ludhiana",
    "Mumbai",
    "Pune",
    "Ahmedabad",
    "Surat",
    "Nagpur",
    "Thane",
    "Vadodara",
    "Nashik",
    "Bangalore",
    "Hyderabad",
    "Chennai",
    "Visakhapatnam",
    "Kolkata",
    "Patna",
    "Bhopal",
    "Indore",
];

pub const PAYMENTS: &[(&str, f64)] = &[
    ("UPI", 0.4),
    ("Cash on Delivery", 0.3),
    ("Credit Card", 0.15),
    ("Debit Card", 0.1),
    ("Net Banking", 0.05),
];
pub const AGE_GROUPS: &[&str] = &["18-24", "25-34", "35-44", "45-54", "55+"];
pub const GENDERS: &[&str] = &["female", "male", "other"];
pub const DEVICES: &[&str] = &["mobile", "desktop", "tablet"];
pub const REFERRALS: &[&str] = &[
    "google_ads",
    "facebook_ads",
    "instagram",
    "email_campaign",
    "organic_search",
    "friend_referral",
];

pub const CAPSTONE_CATEGORIES: &[&str] = &["electronics", "clothing", "home", "books", "sports", "toys"];
pub const SEARCH_TERMS: &[&str] = &[
    "wireless headphones",
    "running shoes",
    "coffee maker",
    "kids toys",
    "yoga mat",
    "bestseller novel",
];

impl Profile {
    /// Event types with the original weights.
    pub fn event_weights(self) -> &'static [(EventType, f64)] {
        match self {
            Profile::Flashcommerce => &[
                (EventType::View, 0.5),
                (EventType::AddToCart, 0.2),
                (EventType::Purchase, 0.1),
                (EventType::StockUpdate, 0.1),
                (EventType::PriceChange, 0.1),
            ],
            Profile::Capstone => &[
                (EventType::View, 0.5),
                (EventType::AddToCart, 0.2),
                (EventType::RemoveFromCart, 0.1),
                (EventType::Purchase, 0.1),
                (EventType::Search, 0.1),
            ],
        }
    }

    /// Number of distinct (normal) users.
    pub fn users(self) -> u32 {
        match self {
            Profile::Flashcommerce => 500,
            Profile::Capstone => 90_000,
        }
    }

    pub fn user_id(self, i: u32) -> String {
        match self {
            Profile::Flashcommerce => format!("U{:04}", i + 1),
            Profile::Capstone => format!("u_{}", 10_000 + i),
        }
    }

    /// Bot users are outside the normal id range, so no real user collides.
    pub fn bot_id(self, i: u32) -> String {
        match self {
            Profile::Flashcommerce => format!("U{:04}", 9_000 + i),
            Profile::Capstone => format!("u_bot_{i:04}"),
        }
    }

    /// Number of products (popularity is Zipf over this list).
    pub fn products(self) -> usize {
        match self {
            Profile::Flashcommerce => FLASH_PRODUCTS.len(),
            Profile::Capstone => CAPSTONE_CATEGORIES.len() * 5,
        }
    }

    /// The source format the profile writes.
    pub fn source_format(self) -> &'static str {
        match self {
            Profile::Flashcommerce => "flashcommerce",
            Profile::Capstone => "capstone",
        }
    }
}
