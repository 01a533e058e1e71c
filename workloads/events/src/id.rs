//! Deterministic event ids, so a re-delivered event dedupes.
//!
//! When the source has no id, it is derived from the fields silver
//! de-duplicates on (event_time, user_id, session_id, product_id,
//! event_type), plus the order id for invoice-style sources, where two lines of
//! one invoice are two events.

use sha2::{Digest, Sha256};

use crate::event::Event;

/// `e-` and 32 hex digits of a SHA-256 over the identifying fields.
pub fn event_id<S: std::ops::Deref<Target = str>>(e: &Event<S>) -> String {
    let mut h = Sha256::new();
    let mut field = |s: &str| {
        h.update(s.as_bytes());
        h.update([0x1f]);
    };
    field(&e.event_time.to_string());
    field(&*e.user_id);
    field(e.session_id.as_deref().unwrap_or(""));
    field(e.product_id.as_deref().unwrap_or(""));
    field(e.event_type.map(|t| t.as_str()).unwrap_or(""));
    field(e.order_id.as_deref().unwrap_or(""));
    let digest = h.finalize();
    let mut out = String::with_capacity(34);
    out.push_str("e-");
    for b in &digest[..16] {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventType;

    #[test]
    fn same_identity_same_id_other_fields_ignored() {
        let a: Event = Event {
            event_time: 1,
            user_id: "u".into(),
            event_type: Some(EventType::View),
            product_id: Some("p".into()),
            ..Event::default()
        };
        let mut b = a.clone();
        b.price = Some(9.0);
        assert_eq!(event_id(&a), event_id(&b));
        let mut c = a.clone();
        c.event_type = Some(EventType::AddToCart);
        assert_ne!(
            event_id(&a),
            event_id(&c),
            "event_type is part of the identity (the original ignored it)"
        );
        let mut d = a.clone();
        d.event_time = 2;
        assert_ne!(event_id(&a), event_id(&d));
        assert_eq!(event_id(&a).len(), 34);
    }
}
