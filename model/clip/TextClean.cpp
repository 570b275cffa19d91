// CLIP's text clean-up and pre-tokenisation (see TextClean.h), on ICU.

#include "model/clip/TextClean.h"

#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

#include <array>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string_view>

namespace prisma::clip {

namespace {

using Text = std::u32string;

constexpr char32_t kReplacement = 0xFFFD;
constexpr char32_t kMaxCodePoint = 0x10FFFF;
constexpr size_t kMaxEntityName = 32;  // html.unescape's longest named reference

// --- UTF-8 <-> code points ------------------------------------------------------------

Text decode(const std::string& s) {
  Text out;
  out.reserve(s.size());
  const auto* bytes = reinterpret_cast<const uint8_t*>(s.data());
  const int32_t n = static_cast<int32_t>(s.size());
  for (int32_t i = 0; i < n;) {
    UChar32 c;
    U8_NEXT(bytes, i, n, c);
    out.push_back(c < 0 ? kReplacement : static_cast<char32_t>(c));
  }
  return out;
}

std::string encode(const Text& t) {
  std::string out;
  out.reserve(t.size());
  for (char32_t c : t) {
    uint8_t buf[U8_MAX_LENGTH];
    int32_t len = 0;
    U8_APPEND_UNSAFE(buf, len, static_cast<UChar32>(c));  // c is a valid code point: decode() made it
    out.append(reinterpret_cast<const char*>(buf), static_cast<size_t>(len));
  }
  return out;
}

icu::UnicodeString toIcu(const Text& t) {
  return icu::UnicodeString::fromUTF32(reinterpret_cast<const UChar32*>(t.data()), static_cast<int32_t>(t.size()));
}

Text fromIcu(const icu::UnicodeString& u) {
  Text out;
  for (int32_t i = 0; i < u.length(); i = u.moveIndex32(i, 1)) out.push_back(static_cast<char32_t>(u.char32At(i)));
  return out;
}

const icu::Normalizer2& normalizer(bool compatibility) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* n = compatibility ? icu::Normalizer2::getNFKCInstance(status)
                                            : icu::Normalizer2::getNFCInstance(status);
  if (U_FAILURE(status) || !n) throw std::runtime_error("ICU normaliser unavailable");
  return *n;
}

Text normalize(const Text& t, bool compatibility) {
  UErrorCode status = U_ZERO_ERROR;
  icu::UnicodeString out = normalizer(compatibility).normalize(toIcu(t), status);
  if (U_FAILURE(status)) return t;
  return fromIcu(out);
}

// --- ftfy.fix_text, the part that acts on well-formed text --------------------------

// ftfy's remove_terminal_escapes: ESC [ digits/semicolons letter.
Text removeTerminalEscapes(const Text& t) {
  Text out;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] == 0x1B && i + 1 < t.size() && t[i + 1] == U'[') {
      size_t j = i + 2;
      while (j < t.size() && ((t[j] >= U'0' && t[j] <= U'9') || t[j] == U';')) ++j;
      if (j < t.size() && ((t[j] >= U'a' && t[j] <= U'z') || (t[j] >= U'A' && t[j] <= U'Z'))) {
        i = j;
        continue;
      }
    }
    out.push_back(t[i]);
  }
  return out;
}

// ftfy's fix_c1_controls: C1 controls are Windows-1252 bytes decoded as Latin-1.
char32_t windows1252(char32_t c) {
  static const std::array<char32_t, 32> kTable = {
      0x20AC, 0x81,   0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
      0x2039, 0x0152, 0x8D,   0x017D, 0x8F,   0x90,   0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
      0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D,   0x017E, 0x0178};
  return (c >= 0x80 && c <= 0x9F) ? kTable[c - 0x80] : c;
}

// ftfy's LIGATURES (fix_latin_ligatures).
const std::map<char32_t, std::u32string_view>& ligatures() {
  static const std::map<char32_t, std::u32string_view> kMap = {
      {0x0132, U"IJ"}, {0x0133, U"ij"}, {0x0149, U"\u02BCn"}, {0x01F1, U"DZ"}, {0x01F2, U"Dz"},
      {0x01F3, U"dz"}, {0x01C4, U"D\u017D"}, {0x01C5, U"D\u017E"}, {0x01C6, U"d\u017E"}, {0x01C7, U"LJ"},
      {0x01C8, U"Lj"}, {0x01C9, U"lj"}, {0x01CA, U"NJ"}, {0x01CB, U"Nj"}, {0x01CC, U"nj"},
      {0xFB00, U"ff"}, {0xFB01, U"fi"}, {0xFB02, U"fl"}, {0xFB03, U"ffi"}, {0xFB04, U"ffl"},
      {0xFB05, U"\u017Ft"}, {0xFB06, U"st"}};
  return kMap;
}

// ftfy's remove_control_chars.
bool isRemovedControl(char32_t c) {
  return c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F || (c >= 0x206A && c <= 0x206F) ||
         c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC) || (c >= 0x1D173 && c <= 0x1D17A) ||
         (c >= 0xE0000 && c <= 0xE007F);
}

// ftfy's fix_character_width: U+FF01..U+FFEF and the ideographic space to their NFKC forms.
bool isWidthVariant(char32_t c) { return (c >= 0xFF01 && c <= 0xFFEF) || c == 0x3000; }

Text fixText(const Text& input) {
  Text t = removeTerminalEscapes(input);
  Text out;
  out.reserve(t.size());
  for (size_t i = 0; i < t.size(); ++i) {
    char32_t c = windows1252(t[i]);
    if (auto it = ligatures().find(c); it != ligatures().end()) {
      out.append(it->second);
      continue;
    }
    if (isWidthVariant(c)) {
      out.append(normalize(Text(1, c), /*compatibility=*/true));
      continue;
    }
    if (c == 0x02BC || (c >= 0x2018 && c <= 0x201B)) c = U'\'';  // uncurl_quotes
    else if (c >= 0x201C && c <= 0x201F) c = U'"';
    if (c == U'\r') {  // fix_line_breaks
      if (i + 1 < t.size() && t[i + 1] == U'\n') ++i;
      c = U'\n';
    } else if (c == 0x2028 || c == 0x2029 || c == 0x85) {
      c = U'\n';
    }
    if (isRemovedControl(c)) continue;
    out.push_back(c);
  }
  return normalize(out, /*compatibility=*/false);
}

// --- html.unescape ------------------------------------------------------------------

// The named references understood: the XML five, the HTML 4 ones prompts meet, and the
// ones html.unescape accepts without a semicolon (flagged).
struct Entity {
  std::u32string_view text;
  bool without_semicolon;
};
const std::map<std::u32string, Entity>& entities() {
  static const std::map<std::u32string, Entity> kNamedEntities = {
      {U"amp", {U"&", true}},         {U"lt", {U"<", true}},          {U"gt", {U">", true}},
      {U"quot", {U"\"", true}},       {U"apos", {U"'", false}},       {U"nbsp", {U"\u00A0", true}},
      {U"copy", {U"\u00A9", true}},   {U"reg", {U"\u00AE", true}},    {U"trade", {U"\u2122", false}},
      {U"hellip", {U"\u2026", false}}, {U"mdash", {U"\u2014", false}}, {U"ndash", {U"\u2013", false}},
      {U"lsquo", {U"\u2018", false}}, {U"rsquo", {U"\u2019", false}}, {U"ldquo", {U"\u201C", false}},
      {U"rdquo", {U"\u201D", false}}, {U"laquo", {U"\u00AB", true}},  {U"raquo", {U"\u00BB", true}},
      {U"deg", {U"\u00B0", true}},    {U"times", {U"\u00D7", true}},  {U"divide", {U"\u00F7", true}},
      {U"euro", {U"\u20AC", false}},  {U"pound", {U"\u00A3", true}},  {U"cent", {U"\u00A2", true}},
      {U"yen", {U"\u00A5", true}},    {U"sect", {U"\u00A7", true}},   {U"para", {U"\u00B6", true}},
      {U"middot", {U"\u00B7", true}}, {U"bull", {U"\u2022", false}},  {U"eacute", {U"\u00E9", true}},
      {U"egrave", {U"\u00E8", true}}, {U"agrave", {U"\u00E0", true}}, {U"ccedil", {U"\u00E7", true}},
      {U"uuml", {U"\u00FC", true}},   {U"ouml", {U"\u00F6", true}},   {U"auml", {U"\u00E4", true}},
      {U"szlig", {U"\u00DF", true}},  {U"ntilde", {U"\u00F1", true}}};
  return kNamedEntities;
}

bool isHexDigit(char32_t c) { return (c >= U'0' && c <= U'9') || (c >= U'a' && c <= U'f') || (c >= U'A' && c <= U'F'); }

// A numeric reference's code point as html.unescape maps it (invalid ones -> U+FFFD,
// C1 controls -> Windows-1252).
char32_t numericReference(uint64_t value) {
  if (value == 0 || value > kMaxCodePoint || (value >= 0xD800 && value <= 0xDFFF)) return kReplacement;
  return windows1252(static_cast<char32_t>(value));
}

Text htmlUnescape(const Text& t) {
  Text out;
  for (size_t i = 0; i < t.size();) {
    if (t[i] != U'&') {
      out.push_back(t[i++]);
      continue;
    }
    size_t j = i + 1;
    if (j < t.size() && t[j] == U'#') {
      const bool hex = j + 1 < t.size() && (t[j + 1] == U'x' || t[j + 1] == U'X');
      size_t k = j + (hex ? 2 : 1);
      uint64_t value = 0;
      const size_t digits_from = k;
      while (k < t.size() && (hex ? isHexDigit(t[k]) : (t[k] >= U'0' && t[k] <= U'9'))) {
        const char32_t d = t[k];
        const uint64_t digit = d <= U'9' ? d - U'0' : (d | 0x20) - U'a' + 10;
        if (value <= kMaxCodePoint) value = value * (hex ? 16 : 10) + digit;
        ++k;
      }
      if (k > digits_from) {
        if (k < t.size() && t[k] == U';') ++k;
        out.push_back(numericReference(value));
        i = k;
        continue;
      }
    } else {
      size_t k = j;
      while (k < t.size() && k - j < kMaxEntityName && t[k] != U';' && t[k] != U'&' && t[k] != U'<' &&
             t[k] != U' ' && t[k] != U'\t' && t[k] != U'\n' && t[k] != U'\f' && t[k] != U'#')
        ++k;
      const Text name = t.substr(j, k - j);
      if (k < t.size() && t[k] == U';') {
        if (auto it = entities().find(name); it != entities().end()) {
          out.append(it->second.text);
          i = k + 1;
          continue;
        }
      }
      // Without a semicolon: the longest legacy name that prefixes the text.
      bool matched = false;
      for (size_t len = name.size(); len > 0 && !matched; --len) {
        auto it = entities().find(name.substr(0, len));
        if (it != entities().end() && it->second.without_semicolon) {
          out.append(it->second.text);
          i = j + len;
          matched = true;
        }
      }
      if (matched) continue;
    }
    out.push_back(t[i++]);
  }
  return out;
}

// --- whitespace, case, character classes --------------------------------------------

// Python's str.isspace: Unicode White_Space plus the separators U+001C..U+001F.
bool isSpace(char32_t c) { return u_isUWhiteSpace(static_cast<UChar32>(c)) || (c >= 0x1C && c <= 0x1F); }

bool isLetter(char32_t c) {
  switch (u_charType(static_cast<UChar32>(c))) {
    case U_UPPERCASE_LETTER:
    case U_LOWERCASE_LETTER:
    case U_TITLECASE_LETTER:
    case U_MODIFIER_LETTER:
    case U_OTHER_LETTER:
      return true;
    default:
      return false;
  }
}

bool isNumber(char32_t c) {
  switch (u_charType(static_cast<UChar32>(c))) {
    case U_DECIMAL_DIGIT_NUMBER:
    case U_LETTER_NUMBER:
    case U_OTHER_NUMBER:
      return true;
    default:
      return false;
  }
}

// " ".join(text.split())
Text collapseWhitespace(const Text& t) {
  Text out;
  bool pending = false;
  for (char32_t c : t) {
    if (isSpace(c)) {
      pending = !out.empty();
      continue;
    }
    if (pending) out.push_back(U' ');
    pending = false;
    out.push_back(c);
  }
  return out;
}

Text lower(const Text& t) {
  icu::UnicodeString u = toIcu(t);
  u.toLower(icu::Locale::getRoot());
  return fromIcu(u);
}

bool startsWith(const Text& t, size_t at, std::u32string_view what) {
  return t.size() - at >= what.size() && std::u32string_view(t).substr(at, what.size()) == what;
}

}  // namespace

std::string cleanText(const std::string& text) {
  Text t = fixText(decode(text));
  // ftfy unescapes HTML itself unless the text looks like HTML (has a '<'); then
  // SimpleTokenizer unescapes twice more.
  if (t.find(U'<') == Text::npos) t = htmlUnescape(t);
  t = htmlUnescape(htmlUnescape(t));
  return encode(lower(collapseWhitespace(t)));
}

std::vector<std::string> splitPieces(const std::string& cleaned) {
  static constexpr std::u32string_view kSpecial[] = {U"<start_of_text>", U"<end_of_text>"};
  static constexpr std::u32string_view kContractions[] = {U"'s", U"'t", U"'re", U"'ve", U"'m", U"'ll", U"'d"};
  const Text t = decode(cleaned);
  std::vector<std::string> out;
  for (size_t i = 0; i < t.size();) {
    size_t len = 0;
    // The alternatives in the expression's order; the first that matches here wins.
    for (auto s : kSpecial)
      if (!len && startsWith(t, i, s)) len = s.size();
    for (auto s : kContractions)
      if (!len && startsWith(t, i, s)) len = s.size();
    if (!len && isLetter(t[i])) {
      while (i + len < t.size() && isLetter(t[i + len])) ++len;
    } else if (!len && isNumber(t[i])) {
      len = 1;
    } else if (!len && !isSpace(t[i])) {
      while (i + len < t.size() && !isSpace(t[i + len]) && !isLetter(t[i + len]) && !isNumber(t[i + len])) ++len;
    }
    if (!len) {  // whitespace: no alternative matches, findall moves on
      ++i;
      continue;
    }
    out.push_back(encode(t.substr(i, len)));
    i += len;
  }
  return out;
}

}  // namespace prisma::clip
