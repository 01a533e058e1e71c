//! Why a record is invalid: the reasons of spec/silver.md, one name each.
//! A record carries every reason it fails, not only the first.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    MalformedJson,
    MissingEventTime,
    BadEventTime,
    FutureEventTime,
    UnknownEventType,
    MissingUserId,
    NonPositivePrice,
    BadCostPrice,
    BadQuantity,
    BadStock,
    BadRating,
    BadDiscount,
    UnknownCity,
    BadPaymentType,
    BadAgeGroup,
    BadGender,
    Cancellation,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::MalformedJson => "malformed_json",
            Reason::MissingEventTime => "missing_event_time",
            Reason::BadEventTime => "bad_event_time",
            Reason::FutureEventTime => "future_event_time",
            Reason::UnknownEventType => "unknown_event_type",
            Reason::MissingUserId => "missing_user_id",
            Reason::NonPositivePrice => "non_positive_price",
            Reason::BadCostPrice => "bad_cost_price",
            Reason::BadQuantity => "bad_quantity",
            Reason::BadStock => "bad_stock",
            Reason::BadRating => "bad_rating",
            Reason::BadDiscount => "bad_discount",
            Reason::UnknownCity => "unknown_city",
            Reason::BadPaymentType => "bad_payment_type",
            Reason::BadAgeGroup => "bad_age_group",
            Reason::BadGender => "bad_gender",
            Reason::Cancellation => "cancellation",
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
