#pragma once
// The text clean-up CLIP's tokenizer does before its byte-pair encoding (open_clip's
// SimpleTokenizer, after OpenAI's): ftfy.fix_text, HTML-unescape twice, collapse
// whitespace, strip, lower-case; then the split into pieces by its regular expression
//   <start_of_text>|<end_of_text>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
// Unicode properties, normalisation and case mapping come from ICU (Debian's libicu).
//
// ftfy is a Python library without a C++ counterpart; what fix_text does here is the part
// that acts on well-formed text: NFC normalisation, curly quotes straightened, Latin
// ligatures and full-width characters (the U+FF01..U+FF5E block and the ideographic space)
// replaced by their plain forms, control characters removed, CRLF / CR made LF. Not done:
// ftfy's repair of mojibake (text decoded with the wrong codec, e.g. "cafÃ©" -> "café")
// and of HTML-escaped text beyond what html.unescape does. HTML unescaping knows the
// numeric references and the common named entities (kNamedEntities in TextClean.cpp),
// not all 2,231 of HTML5. Text that is already clean -- every prompt a user types --
// tokenises as open_clip does.

#include <string>
#include <vector>

namespace prisma::clip {

// ftfy's fix_text (the subset above), html-unescape twice, whitespace clean-up, lower-case.
// `text` is UTF-8; invalid UTF-8 sequences become U+FFFD.
std::string cleanText(const std::string& text);

// The regular expression's pieces of already-cleaned text, in order.
std::vector<std::string> splitPieces(const std::string& cleaned);

}  // namespace prisma::clip
