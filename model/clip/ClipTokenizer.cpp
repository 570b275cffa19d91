// CLIP's byte-pair-encoding tokenizer (see ClipTokenizer.h).

#include "model/clip/ClipTokenizer.h"

#include "model/Error.h"
#include "model/clip/TextClean.h"
#include "model/io/ResourcePaths.h"

#include <torch/torch.h>
#include <zlib.h>

#include <limits>
#include <memory>

namespace prisma::clip {

namespace {

constexpr const char* kBundledMerges = "clip/bpe_simple_vocab_16e6.txt.gz";
// SimpleTokenizer keeps merges[1 : 49152 - 256 - 2 + 1]: the vocabulary has 49152 - 256 - 2
// merge symbols after the 512 byte symbols, then the two special tokens.
constexpr int kMerges = 49152 - 256 - 2;
constexpr int kByteSymbols = 256;
constexpr const char* kEndOfWord = "</w>";
constexpr const char* kStartOfText = "<start_of_text>";
constexpr const char* kEndOfText = "<end_of_text>";
// The file is 3.2 MB uncompressed; a "gzip bomb" stops here.
constexpr size_t kMaxMergesBytes = size_t(64) << 20;

std::string readGzip(const std::string& path) {
  std::unique_ptr<gzFile_s, int (*)(gzFile)> f(gzopen(path.c_str(), "rb"), gzclose);
  if (!f) throw Error(path, "", "cannot open");
  std::string out;
  char buf[1 << 16];
  for (;;) {
    const int n = gzread(f.get(), buf, sizeof(buf));
    if (n < 0) {
      int err = 0;
      throw Error(path, "", std::string("corrupt gzip data: ") + gzerror(f.get(), &err));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > kMaxMergesBytes) throw Error(path, "", "larger than a BPE merges file can be");
  }
  return out;
}

// GPT-2's byte -> printable symbol table, in the order SimpleTokenizer lists the vocabulary.
std::vector<std::pair<int, std::string>> byteSymbols() {
  auto utf8 = [](int cp) {
    std::string s;
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else {  // below U+0800 in this table
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
    return s;
  };
  std::vector<std::pair<int, std::string>> out;
  std::vector<bool> printable(kByteSymbols, false);
  for (int b = '!'; b <= '~'; ++b) printable[b] = true;
  for (int b = 0xA1; b <= 0xAC; ++b) printable[b] = true;
  for (int b = 0xAE; b <= 0xFF; ++b) printable[b] = true;
  for (int b = 0; b < kByteSymbols; ++b)
    if (printable[b]) out.emplace_back(b, utf8(b));
  int n = 0;
  for (int b = 0; b < kByteSymbols; ++b)
    if (!printable[b]) out.emplace_back(b, utf8(kByteSymbols + n++));
  return out;
}

const std::vector<std::string>& byteEncoder() {
  static const std::vector<std::string> kTable = [] {
    std::vector<std::string> t(kByteSymbols);
    for (const auto& [b, s] : byteSymbols()) t[b] = s;
    return t;
  }();
  return kTable;
}

// Splits a UTF-8 string into its code points' byte sequences.
std::vector<std::string> codePoints(const std::string& s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    size_t len = 1;
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0xF0) len = 4;
    else if (c >= 0xE0) len = 3;
    else if (c >= 0xC0) len = 2;
    out.push_back(s.substr(i, len));
    i += len;
  }
  return out;
}

}  // namespace

ClipTokenizer ClipTokenizer::fromFile(const std::string& path) {
  const std::string text = readGzip(path);
  ClipTokenizer t;
  t.source_ = path;
  std::vector<std::string> vocab;
  for (const auto& [b, s] : byteSymbols()) vocab.push_back(s);
  for (int i = 0; i < kByteSymbols; ++i) vocab.push_back(vocab[i] + kEndOfWord);

  size_t pos = text.find('\n');  // line 1 is the header
  if (pos == std::string::npos) throw Error(path, "line 1", "no merges after the header");
  ++pos;
  for (int rank = 0; rank < kMerges; ++rank) {
    const std::string line_field = "line " + std::to_string(rank + 2);
    if (pos >= text.size())
      throw Error(path, line_field, "truncated: " + std::to_string(rank) + " merges, expected " + std::to_string(kMerges));
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    const size_t space = line.find(' ');
    if (space == std::string::npos || space == 0 || space + 1 >= line.size() ||
        line.find_first_of(" \t\r", space + 1) != std::string::npos)
      throw Error(path, line_field, "expected two symbols separated by one space, got '" + line.substr(0, 40) + "'");
    const std::string first = line.substr(0, space), second = line.substr(space + 1);
    if (!t.ranks_.emplace(first + " " + second, rank).second)
      throw Error(path, line_field, "repeats the merge '" + line + "'");
    vocab.push_back(first + second);
  }
  vocab.push_back(kStartOfText);
  vocab.push_back(kEndOfText);
  // Later duplicates overwrite earlier ones, as Python's dict(zip(vocab, range)) does.
  for (size_t i = 0; i < vocab.size(); ++i) t.encoder_[vocab[i]] = static_cast<int64_t>(i);
  t.start_id_ = t.encoder_.at(kStartOfText);
  t.end_id_ = t.encoder_.at(kEndOfText);
  return t;
}

ClipTokenizer ClipTokenizer::bundled() {
  const std::string path = io::findResource(kBundledMerges);
  if (path.empty()) throw Error(kBundledMerges, "", "the bundled CLIP vocabulary is missing from the resources");
  return fromFile(path);
}

std::vector<std::string> ClipTokenizer::bpe(const std::string& piece) const {
  if (piece == kStartOfText || piece == kEndOfText) return {piece};
  std::vector<std::string> word = codePoints(piece);
  word.back() += kEndOfWord;
  while (word.size() > 1) {
    // The adjacent pair of lowest rank; none ranked ends the merging.
    int best = std::numeric_limits<int>::max();
    std::string first, second;
    for (size_t i = 0; i + 1 < word.size(); ++i) {
      auto it = ranks_.find(word[i] + " " + word[i + 1]);
      if (it != ranks_.end() && it->second < best) {
        best = it->second;
        first = word[i];
        second = word[i + 1];
      }
    }
    if (best == std::numeric_limits<int>::max()) break;
    std::vector<std::string> merged;
    for (size_t i = 0; i < word.size();) {
      if (i + 1 < word.size() && word[i] == first && word[i + 1] == second) {
        merged.push_back(first + second);
        i += 2;
      } else {
        merged.push_back(word[i++]);
      }
    }
    word = std::move(merged);
  }
  return word;
}

std::vector<int64_t> ClipTokenizer::encode(const std::string& text) const {
  std::vector<int64_t> ids;
  for (const std::string& piece : splitPieces(cleanText(text))) {
    std::string symbols;
    if (piece == kStartOfText || piece == kEndOfText) {
      symbols = piece;
    } else {
      for (unsigned char b : piece) symbols += byteEncoder()[b];
    }
    for (const std::string& s : bpe(symbols)) {
      auto it = encoder_.find(s);
      // Every byte symbol is in the vocabulary, so only a merges file whose merges
      // produce unknown symbols gets here.
      if (it == encoder_.end()) throw Error(source_, "", "the merges produce a symbol outside the vocabulary");
      ids.push_back(it->second);
    }
  }
  return ids;
}

torch::Tensor ClipTokenizer::tokenize(const std::vector<std::string>& texts, int context_length) const {
  if (context_length < 2) throw Error("tokenizer", "context_length", "must be at least 2");
  torch::Tensor out = torch::zeros({static_cast<int64_t>(texts.size()), context_length}, torch::kInt64);
  auto acc = out.accessor<int64_t, 2>();
  for (size_t r = 0; r < texts.size(); ++r) {
    std::vector<int64_t> row = {start_id_};
    const auto ids = encode(texts[r]);
    row.insert(row.end(), ids.begin(), ids.end());
    row.push_back(end_id_);
    if (row.size() > static_cast<size_t>(context_length)) {
      row.resize(static_cast<size_t>(context_length));
      row.back() = end_id_;
    }
    for (size_t i = 0; i < row.size(); ++i) acc[static_cast<int64_t>(r)][static_cast<int64_t>(i)] = row[i];
  }
  return out;
}

}  // namespace prisma::clip
