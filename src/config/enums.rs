//! The allowed values of every enum-valued setting, read from the serde derives themselves.
//!
//! The `config` crate reports a bad enum value as "enum ConflictPolicySetting does not have variant
//! constructor newest": a Rust type name, and no list of what would be accepted. Walking
//! [`Settings`]'s shape with a probe deserializer collects each enum's name and variant names, so
//! every enum key (including ones added later) gets "\"newest\" is not one of …" without a table
//! to keep in step.

use std::cell::RefCell;
use std::collections::HashMap;

use serde::de::value::{Error, StrDeserializer};
use serde::de::{
    self, Deserialize, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};

use super::settings::Settings;

type Found = RefCell<HashMap<&'static str, &'static [&'static str]>>;

/// Enum type name → the values its key accepts, as serde spells them (snake_case).
pub fn variants_by_enum() -> HashMap<&'static str, &'static [&'static str]> {
    let found = Found::default();
    // The probe only ever produces valid placeholder values, so this cannot fail; if a future
    // field type defeats it, the enums seen so far are still returned.
    let _ = Settings::deserialize(Probe { found: &found });
    found.into_inner()
}

/// The readable form of the `config` crate's enum error, or `None` for any other problem.
pub fn describe(problem: &str) -> Option<String> {
    let rest = problem.strip_prefix("enum ")?;
    let (name, value) = rest.split_once(" does not have variant constructor ")?;
    let allowed = variants_by_enum()
        .get(name)
        .map(|v| format!("is not one of {}", v.join(", ")))
        .unwrap_or_else(|| "is not an allowed value".to_owned());
    Some(format!("\"{value}\" {allowed}"))
}

/// Deserializes any shape with placeholder values (empty strings, zeros, empty lists), recording
/// each enum it meets on the way.
#[derive(Clone, Copy)]
struct Probe<'a> {
    found: &'a Found,
}

impl<'de> de::Deserializer<'de> for Probe<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_unit()
    }
    fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_bool(false)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_u64(0)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_u64(0)
    }
    fn deserialize_f64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_f64(0.0)
    }
    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_str("")
    }
    // `Some` and one-element lists, so an enum inside an `Option` or a `[[pairs]]` table is seen.
    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_some(self)
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        v: V,
    ) -> Result<V::Value, Error> {
        v.visit_newtype_struct(self)
    }
    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_seq(One(Some(self)))
    }
    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_map(Fields::new(self, &[]))
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Error> {
        v.visit_map(Fields::new(self, fields))
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Error> {
        self.found.borrow_mut().insert(name, variants);
        let first = variants.first().copied().unwrap_or_default();
        v.visit_enum(first.into_deserializer())
    }

    serde::forward_to_deserialize_any! {
        unit unit_struct ignored_any tuple tuple_struct bytes byte_buf
    }

    fn deserialize_i8<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_u64(v)
    }
    fn deserialize_i16<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_u64(v)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_u64(v)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_u64(v)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_u64(v)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_u64(v)
    }
    fn deserialize_f32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_f64(v)
    }
    fn deserialize_char<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_char(' ')
    }
    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_str(v)
    }
    fn deserialize_identifier<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_str(v)
    }
}

/// A struct's fields, each answered by a probe.
struct Fields<'a> {
    probe: Probe<'a>,
    names: std::slice::Iter<'static, &'static str>,
}

impl<'a> Fields<'a> {
    fn new(probe: Probe<'a>, names: &'static [&'static str]) -> Self {
        Self {
            probe,
            names: names.iter(),
        }
    }
}

impl<'de> MapAccess<'de> for Fields<'_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        self.names
            .next()
            .map(|name| seed.deserialize(StrDeserializer::<Error>::new(name)))
            .transpose()
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, Error> {
        seed.deserialize(self.probe)
    }
}

/// A list of one probe.
struct One<'a>(Option<Probe<'a>>);

impl<'de> SeqAccess<'de> for One<'_> {
    type Error = Error;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, Error> {
        self.0
            .take()
            .map(|probe| seed.deserialize(probe))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_enum_setting_is_found_with_its_values() {
        let found = variants_by_enum();
        assert_eq!(
            found.get("ConflictPolicySetting").copied(),
            Some(
                &[
                    "last_writer_wins",
                    "prefer_sheet",
                    "prefer_trello",
                    "prefer_tracker"
                ][..]
            )
        );
        assert_eq!(
            found.get("OnRowDeleted").copied(),
            Some(&["archive_card", "ignore"][..])
        );
    }

    #[test]
    fn the_probe_walks_the_whole_settings_shape() {
        // Were it to stop at some field type, enums after that field would go unseen.
        let found = Found::default();
        let walked = Settings::deserialize(Probe { found: &found });
        assert!(walked.is_ok(), "{:?}", walked.err());
    }

    #[test]
    fn the_config_crate_message_becomes_the_allowed_values() {
        assert_eq!(
            describe("enum OnRowDeleted does not have variant constructor keep").as_deref(),
            Some("\"keep\" is not one of archive_card, ignore")
        );
        assert_eq!(describe("invalid type: string"), None);
    }
}
