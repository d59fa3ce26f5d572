//! corosync's integer parsing, reproduced exactly.
//!
//! Owns `safe_atoq` (typed integers: `strtoll` in base 10, range per cmap type) and
//! `str_to_ull` (`totem.config_version`: `strtoull`, where "-1" is accepted and wraps).
//! It must not guess: anything corosync refuses is refused here, anything it accepts is
//! accepted with the same value.

use serde::Serialize;

/// A cmap integer type that corosync's parser range-checks (`safe_atoq_range`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum IntType {
    /// `ICMAP_VALUETYPE_UINT8`: 0..=255.
    U8,
    /// `ICMAP_VALUETYPE_UINT16`: 0..=65535.
    U16,
    /// `ICMAP_VALUETYPE_UINT32`: 0..=4294967295.
    U32,
    /// `ICMAP_VALUETYPE_INT32`: -2147483648..=2147483647.
    I32,
}

impl IntType {
    /// The inclusive range corosync prints in its error message.
    pub fn range(self) -> (i64, i64) {
        match self {
            IntType::U8 => (0, i64::from(u8::MAX)),
            IntType::U16 => (0, i64::from(u16::MAX)),
            IntType::U32 => (0, i64::from(u32::MAX)),
            IntType::I32 => (i64::from(i32::MIN), i64::from(i32::MAX)),
        }
    }
}

/// `isspace` in the C locale: what `strtoll`/`strtoull` skip before the number.
fn is_c_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Splits `text` as `strtoll`/`strtoull` read it: leading C blanks, an optional sign, then
/// at least one decimal digit, and nothing after. Returns (negative, digits).
fn split_number(text: &str) -> Option<(bool, &str)> {
    let bytes = text.as_bytes();
    let mut start = 0;
    while start < bytes.len() && is_c_space(bytes[start]) {
        start += 1;
    }
    let mut negative = false;
    if let Some(&sign) = bytes.get(start) {
        if sign == b'+' || sign == b'-' {
            negative = sign == b'-';
            start += 1;
        }
    }
    let digits = &text[start..];
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        // No digits: `endptr == str`. Anything after the digits: `*endptr != '\0'`.
        return None;
    }
    Some((negative, digits))
}

/// corosync's `safe_atoq`: `strtoll(text, &end, 10)`, refused on ERANGE, on no digits, on
/// trailing characters, or when outside the range of `int_type`.
pub fn safe_atoq(text: &str, int_type: IntType) -> Option<i64> {
    let (negative, digits) = split_number(text)?;
    // `strtoll` saturates and sets ERANGE beyond i64. Leading zeros do not count; more than
    // 20 significant digits is out of range for every type, and i128 holds the rest exactly.
    let significant = digits.trim_start_matches('0');
    if significant.len() > 20 {
        return None;
    }
    let magnitude: i128 = if significant.is_empty() {
        0
    } else {
        significant.parse().ok()?
    };
    let value = if negative { -magnitude } else { magnitude };
    let value = i64::try_from(value).ok()?;
    let (min, max) = int_type.range();
    (min..=max).contains(&value).then_some(value)
}

/// corosync's `str_to_ull`: `strtoull(text, &end, 10)`. A leading `-` is accepted and the
/// result wraps (`-1` is 18446744073709551615); more than 64 bits is ERANGE.
pub fn str_to_ull(text: &str) -> Option<u64> {
    let (negative, digits) = split_number(text)?;
    let trimmed = digits.trim_start_matches('0');
    if trimmed.len() > 20 {
        return None;
    }
    let magnitude: u64 = if trimmed.is_empty() {
        0
    } else {
        trimmed.parse().ok()?
    };
    Some(if negative {
        magnitude.wrapping_neg()
    } else {
        magnitude
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_atoq_matches_strtoll() {
        assert_eq!(safe_atoq("3000", IntType::U32), Some(3000));
        assert_eq!(safe_atoq("+2", IntType::U32), Some(2));
        assert_eq!(safe_atoq("\x0b 7", IntType::U32), Some(7));
        assert_eq!(safe_atoq("-0", IntType::U8), Some(0));
        assert_eq!(safe_atoq("-1", IntType::U32), None);
        assert_eq!(safe_atoq("0x2", IntType::U32), None);
        assert_eq!(safe_atoq("3s", IntType::U32), None);
        assert_eq!(safe_atoq("", IntType::U32), None);
        assert_eq!(safe_atoq("+", IntType::U32), None);
        assert_eq!(safe_atoq("3000 # comment", IntType::U32), None);
        assert_eq!(safe_atoq("256", IntType::U8), None);
        assert_eq!(safe_atoq("255", IntType::U8), Some(255));
        assert_eq!(safe_atoq("65536", IntType::U16), None);
        assert_eq!(safe_atoq("4294967295", IntType::U32), Some(4_294_967_295));
        assert_eq!(safe_atoq("4294967296", IntType::U32), None);
        assert_eq!(safe_atoq("-2147483648", IntType::I32), Some(-2_147_483_648));
        assert_eq!(safe_atoq("99999999999999999999999", IntType::I32), None);
        assert_eq!(
            safe_atoq("00000000000000000000000000000000001", IntType::U8),
            Some(1)
        );
    }

    #[test]
    fn str_to_ull_matches_strtoull() {
        assert_eq!(str_to_ull("0"), Some(0));
        assert_eq!(str_to_ull("-1"), Some(u64::MAX));
        assert_eq!(str_to_ull("+5"), Some(5));
        assert_eq!(str_to_ull("18446744073709551615"), Some(u64::MAX));
        assert_eq!(str_to_ull("18446744073709551616"), None);
        assert_eq!(str_to_ull("0000000000000000000000000042"), Some(42));
        assert_eq!(str_to_ull(""), None);
        assert_eq!(str_to_ull("1a"), None);
    }
}
