//! Stage two of the block validator: the JSON grammar, checked a block at a time.
//!
//! In JSON each token allows only certain tokens after it: after `{` a member name or `}`,
//! after a name `:`, after `:` a value, after a value `,` or a closing bracket, after `,` a name
//! (in an object) or a value (in an array). With the tokens of a block as bit masks, "the first
//! token after each X" is one addition — whitespace runs carry the bit to the byte that ends
//! them — so each rule is a few integer instructions for 64 bytes, whatever their content.
//!
//! What masks cannot do is match brackets: the brackets (a few per line) are walked one by one,
//! keeping the nesting, and noting where the innermost container changes between object and
//! array — the context that tells what a `,` allows — and where depth one (the top-level
//! object's members) begins and ends.
//!
//! Lines whose top-level value is not an object or array go to the scalar validator, as do
//! lines nested deeper than a `u64` of brackets can follow.

use super::bits::Tokens;
use crate::scan::TopField;

/// Deepest nesting followed here (one bit per level); deeper lines go to the scalar validator,
/// which applies the real limit.
const MAX_DEPTH: usize = 64;

/// Room for the notes of member positions; reported (and emptied) after a block once more than
/// `NOTES - 64` are held, so a block's notes always fit.
const NOTES: usize = 128;

/// How the check of a block ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Checked {
    Ok,
    NotJson,
    /// Nested deeper than followed here.
    TooDeep,
}

/// The search for the first token after some positions, carried from block to block.
#[derive(Debug, Default)]
struct NextToken {
    /// 1 when the search goes on from the next block's first byte.
    pending: u64,
}

impl NextToken {
    /// The first non-whitespace byte after each of `tokens` and at or after each of `from`
    /// (positions where the search starts itself). Adding the start bits to the whitespace mask
    /// carries each through its run of whitespace to the byte that ends the run.
    #[inline(always)]
    fn find(&mut self, tokens: u64, from: u64, whitespace: u64) -> u64 {
        let starts = (tokens << 1) | from | self.pending;
        let (sum, overflow) = whitespace.overflowing_add(starts);
        self.pending = (tokens >> 63) | u64::from(overflow);
        sum & !whitespace
    }
}

/// The grammar state of one line, block after block.
pub(crate) struct Grammar<'a, F> {
    line: &'a [u8],
    after_open_object: NextToken,
    after_open_array: NextToken,
    /// After `:` and after `,` in arrays.
    value_expected: NextToken,
    /// After `,` in objects.
    name_expected: NextToken,
    after_name: NextToken,
    after_value: NextToken,
    /// 1 when a member name runs on into the next block.
    name_carry: u64,
    /// Whether a member name seen so far holds a backslash (only then are names searched for
    /// one when reported).
    names_escaped: bool,
    depth: usize,
    /// Bit `i` set: the container `i` levels below the innermost is an object.
    objects: u64,
    /// All ones when the innermost container at the end of the block is an object.
    in_object: u64,
    /// All ones when the end of the block is at depth one.
    at_depth_one: u64,
    /// Where the top-level value's closing bracket is, once seen.
    top_closed_at: Option<usize>,
    /// Whether the top-level value is an object (only then are members reported).
    top_object: bool,
    /// Member positions, three per member: name's opening quote, colon, then `,` or `}`. The
    /// line is shorter than 4 GiB (longer ones go to the scalar validator).
    notes: [u32; NOTES],
    noted: usize,
    /// Members reported so far.
    pub reported: usize,
    on_field: F,
}

impl<'a, F: FnMut(TopField)> Grammar<'a, F> {
    /// The grammar for `line`, whose first byte other than whitespace is `{` (when
    /// `top_object`) or `[`.
    pub fn new(line: &'a [u8], top_object: bool, on_field: F) -> Self {
        Grammar {
            line,
            after_open_object: NextToken::default(),
            after_open_array: NextToken::default(),
            value_expected: NextToken::default(),
            name_expected: NextToken::default(),
            after_name: NextToken::default(),
            after_value: NextToken::default(),
            name_carry: 0,
            names_escaped: false,
            depth: 0,
            objects: 0,
            in_object: 0,
            at_depth_one: 0,
            top_closed_at: None,
            top_object,
            notes: [0; NOTES],
            noted: 0,
            reported: 0,
            on_field,
        }
    }

    /// Checks the tokens of the block starting at `base`.
    #[inline(always)]
    pub fn check(&mut self, t: &Tokens, prefix_xor: impl Fn(u64) -> u64, base: usize) -> Checked {
        let (context_flips, depth_one_flips, top_close) = match self.brackets(t, base) {
            Ok(flips) => flips,
            Err(checked) => return checked,
        };
        let flip = |flips: u64, carry: &mut u64| {
            let mask = if flips == 0 {
                *carry
            } else {
                prefix_xor(flips) ^ *carry
            };
            *carry = ((mask as i64) >> 63) as u64;
            mask
        };
        let in_object = flip(context_flips, &mut self.in_object);
        let at_depth_one = flip(depth_one_flips, &mut self.at_depth_one);
        // JSON.stringify writes no whitespace between tokens: a copy of the rules for blocks
        // without any, where every search for the next token folds to a shift.
        let name_start = if t.whitespace == 0 {
            self.rules(t, in_object, 0)
        } else {
            self.rules(t, in_object, t.whitespace)
        };
        let Some(name_start) = name_start else {
            return Checked::NotJson;
        };
        if self.top_object {
            self.note(
                (name_start | t.colon | t.comma) & at_depth_one | top_close,
                base,
            );
        }
        Checked::Ok
    }

    /// Checks which token follows which; gives the opening quotes of member names, or `None`
    /// when a token follows one it may not follow.
    #[inline(always)]
    fn rules(&mut self, t: &Tokens, in_object: u64, ws: u64) -> Option<u64> {
        let close = t.close_object | t.close_array;
        let value_start = t.string_start | t.open_object | t.open_array | t.atom_start;
        let after_open_object = self.after_open_object.find(t.open_object, 0, ws);
        let name_expected = self.name_expected.find(t.comma & in_object, 0, ws);
        let after_open_array = self.after_open_array.find(t.open_array, 0, ws);
        let value_expected = self
            .value_expected
            .find(t.colon | (t.comma & !in_object), 0, ws);
        let mut error = (after_open_object & !(t.string_start | close))
            | (name_expected & !t.string_start)
            | (after_open_array & !(value_start | close))
            | (value_expected & !value_start);
        // A member name is a string where a name is expected; its closing quote is where the
        // carry of adding its opening quote to the string mask lands.
        let name_start = (after_open_object | name_expected) & t.string_start;
        let (sum, overflow) = t.in_string.overflowing_add(name_start | self.name_carry);
        self.name_carry = u64::from(overflow);
        // The carry clears the names' bits of the string mask.
        self.names_escaped |= t.in_string & !sum & t.backslash != 0;
        let name_end = sum & t.string_end;
        let value_end = t.string_end & !name_end;
        error |= self.after_name.find(name_end, 0, ws) & !t.colon;
        error |= self.after_value.find(value_end | close, t.after_atom, ws) & !(t.comma | close);
        (error == 0).then_some(name_start)
    }

    /// Walks the brackets of a block, keeping the nesting. Gives the positions where the
    /// innermost container changes between object and array (none counts as array), where
    /// depth one begins or ends, and the top-level value's closing bracket if in this block.
    #[inline(always)]
    fn brackets(&mut self, t: &Tokens, base: usize) -> Result<(u64, u64, u64), Checked> {
        let opens = t.open_object | t.open_array;
        let mut brackets = opens | t.close_object | t.close_array;
        let (mut context_flips, mut depth_one_flips, mut top_close) = (0, 0, 0);
        let (mut depth, mut objects) = (self.depth, self.objects);
        let mut in_object = depth > 0 && objects & 1 == 1;
        while brackets != 0 {
            let i = brackets.trailing_zeros();
            brackets &= brackets - 1;
            let (was_in_object, was_at_depth_one) = (in_object, depth == 1);
            if opens >> i & 1 == 1 {
                if self.top_closed_at.is_some() {
                    return Err(Checked::NotJson);
                }
                if depth == MAX_DEPTH {
                    return Err(Checked::TooDeep);
                }
                let object = t.open_object >> i & 1;
                objects = objects << 1 | object;
                depth += 1;
                in_object = object == 1;
            } else {
                if depth == 0 || objects & 1 != t.close_object >> i & 1 {
                    return Err(Checked::NotJson);
                }
                objects >>= 1;
                depth -= 1;
                in_object = depth > 0 && objects & 1 == 1;
                if depth == 0 {
                    self.top_closed_at = Some(base + i as usize);
                    top_close = 1 << i;
                }
            }
            context_flips |= u64::from(in_object != was_in_object) << i;
            depth_one_flips |= u64::from((depth == 1) != was_at_depth_one) << i;
        }
        (self.depth, self.objects) = (depth, objects);
        Ok((context_flips, depth_one_flips, top_close))
    }

    fn note(&mut self, mut positions: u64, base: usize) {
        while positions != 0 {
            self.notes[self.noted % NOTES] = (base + positions.trailing_zeros() as usize) as u32;
            self.noted += 1;
            positions &= positions - 1;
        }
        if self.noted > NOTES - 64 {
            self.report();
        }
    }

    /// Whether the blocks checked make one complete value followed by whitespace only; reports
    /// the last members.
    pub fn finish(&mut self) -> bool {
        let Some(end) = self.top_closed_at else {
            return false;
        };
        if !self.line[end + 1..].iter().all(|&c| is_whitespace(c)) {
            return false;
        }
        self.report();
        true
    }

    /// Reports the members whose three notes are complete, and keeps the notes of an
    /// incomplete one.
    fn report(&mut self) {
        let complete = self.noted / 3 * 3;
        for member in self.notes[..complete].chunks_exact(3) {
            let &[name, colon, end] = member else {
                continue;
            };
            let (name, colon, end) = (name as usize, colon as usize, end as usize);
            let key = (name + 1, self.trim_back(colon) - 1);
            let field = TopField {
                key,
                key_escaped: self.names_escaped && self.line[key.0..key.1].contains(&b'\\'),
                value: (self.skip_whitespace(colon + 1), self.trim_back(end)),
            };
            (self.on_field)(field);
            self.reported += 1;
        }
        self.notes.copy_within(complete..self.noted, 0);
        self.noted -= complete;
    }

    /// `pos` moved back over the whitespace before it.
    fn trim_back(&self, mut pos: usize) -> usize {
        while pos > 0 && is_whitespace(self.line[pos - 1]) {
            pos -= 1;
        }
        pos
    }

    /// `pos` moved forward over whitespace.
    fn skip_whitespace(&self, mut pos: usize) -> usize {
        while self.line.get(pos).is_some_and(|&c| is_whitespace(c)) {
            pos += 1;
        }
        pos
    }
}

fn is_whitespace(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}
