#pragma once
// CLIP's tokenizer (open_clip's SimpleTokenizer, OpenAI's BPE): the text is cleaned and
// split into pieces (TextClean.h); each piece's UTF-8 bytes are mapped to printable
// symbols (GPT-2's byte -> unicode table), the last symbol gets "</w>", and the merges of
// bpe_simple_vocab_16e6.txt.gz are applied in rank order. Ids: the 256 byte symbols, the
// same with "</w>", one per merge, then <start_of_text> and <end_of_text>. A row is
// [start, ids..., end] padded with 0 to the context length; a longer row is cut to it
// with its last id set to <end_of_text>.

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace prisma::clip {

class ClipTokenizer {
public:
  // The merges file (gzip, UTF-8, a header line then "a b" per line). Throws
  // prisma::Error naming the file and the line for a truncated or broken file.
  static ClipTokenizer fromFile(const std::string& merges_gz);
  // The vocabulary shipped in resources/clip (found through io::findResource).
  static ClipTokenizer bundled();

  // The BPE ids of `text` (cleaned), without start and end.
  std::vector<int64_t> encode(const std::string& text) const;
  // [texts, context_length] int64, as open_clip's tokenizer returns them.
  torch::Tensor tokenize(const std::vector<std::string>& texts, int context_length) const;

  int64_t vocab_size() const { return static_cast<int64_t>(encoder_.size()); }
  int64_t start_id() const { return start_id_; }
  int64_t end_id() const { return end_id_; }
  const std::string& source() const { return source_; }

private:
  std::vector<std::string> bpe(const std::string& piece) const;

  std::string source_;
  std::unordered_map<std::string, int64_t> encoder_;
  std::unordered_map<std::string, int> ranks_;  // "first second" -> rank
  int64_t start_id_ = 0, end_id_ = 0;
};

}  // namespace prisma::clip
