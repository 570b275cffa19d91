// libFuzzer target for CLIP's tokenizer: the text clean-up (ICU normalisation, HTML
// unescaping, ftfy's subset), the piece split and the byte-pair encoding, and the merges
// file reader. The first input byte (mod 8) picks what the rest is:
//   0-4  text, through the shipped vocabulary (resources/clip/bpe_simple_vocab_16e6.txt.gz):
//      cleanText, splitPieces, encode and tokenize (a short context, so rows are cut)
//   5  an edit of the shipped merges: two bytes pick a line, the rest replaces that many
//      lines there (so the file keeps its length and the reader gets to the end); the
//      edited file, gzipped, is read and then tokenizes a few fixed texts and the edit
//      itself -- merges that build odd symbols ("</w>" inside, the special tokens, lone
//      UTF-8 bytes) reach the BPE loop and the vocabulary lookup
//   6  a whole merges file, gzipped by the harness (header, line and symbol checks)
//   7  the raw bytes as the .gz file (the gzip layer: corrupt streams, bombs)
// Text has five of the eight values: an edit re-reads all 48,894 merges (~0.1 s under
// AddressSanitizer), a text takes microseconds, and the text path is what users reach.
// Only prisma::Error may come out; any other exception aborts, so the fuzzer reports it.

#include "model/Error.h"
#include "model/clip/ClipTokenizer.h"
#include "model/clip/TextClean.h"
#include "model/io/ResourcePaths.h"

#include <torch/torch.h>
#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;

namespace {

enum Mode : uint8_t { kMergesEdit = 5, kMergesFile, kGzipFile, kModes };

// Short enough that long texts are cut (the last id forced to <end_of_text>).
constexpr int kContextLength = 16;
// open_clip's default context length.
constexpr int kClipContextLength = 77;
// Bytes of an edit that pick the first replaced line.
constexpr size_t kLineIndexBytes = 2;
// A stored (level 0) gzip: the reader's work, not the compressor's, is what is timed.
constexpr const char* kGzipStored = "wb0";

[[noreturn]] void unexpected(const char* what) {
  std::fprintf(stderr, "tokenizer threw something other than prisma::Error: %s\n", what);
  std::abort();
}

const prisma::clip::ClipTokenizer& bundled() {
  static const prisma::clip::ClipTokenizer t = prisma::clip::ClipTokenizer::bundled();
  return t;
}

// The shipped merges file, uncompressed, as lines (header first).
const std::vector<std::string>& bundledLines() {
  static const std::vector<std::string> lines = [] {
    const std::string path = prisma::io::findResource("clip/bpe_simple_vocab_16e6.txt.gz");
    std::unique_ptr<gzFile_s, int (*)(gzFile)> f(gzopen(path.c_str(), "rb"), gzclose);
    if (!f) {
      std::fprintf(stderr, "cannot open the shipped vocabulary '%s'\n", path.c_str());
      std::abort();
    }
    std::string text;
    char buf[1 << 16];
    for (int n; (n = gzread(f.get(), buf, sizeof(buf))) > 0;) text.append(buf, static_cast<size_t>(n));
    std::vector<std::string> out;
    for (size_t pos = 0; pos < text.size();) {
      size_t end = text.find('\n', pos);
      if (end == std::string::npos) end = text.size();
      out.push_back(text.substr(pos, end - pos));
      pos = end + 1;
    }
    return out;
  }();
  return lines;
}

// Removed when the process ends (the smoke test runs in every build).
const std::string& scratchFile() {
  struct Scratch {
    std::string path =
        (fs::temp_directory_path() / ("prisma-fuzz-bpe-" + std::to_string(::getpid()) + ".txt.gz")).string();
    ~Scratch() { std::remove(path.c_str()); }
  };
  static const Scratch file;
  return file.path;
}

void writeGzip(const std::string& text) {
  gzFile f = gzopen(scratchFile().c_str(), kGzipStored);
  if (!f) std::abort();
  if (!text.empty()) gzwrite(f, text.data(), static_cast<unsigned>(text.size()));
  gzclose(f);
}

void writeRaw(const uint8_t* data, size_t size) {
  std::ofstream out(scratchFile(), std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
}

void tokenizeAll(const prisma::clip::ClipTokenizer& t, const std::vector<std::string>& texts) {
  for (const auto& text : texts) (void)t.encode(text);
  (void)t.tokenize(texts, kContextLength);
  (void)t.tokenize(texts, kClipContextLength);
}

void fuzzText(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const std::string cleaned = prisma::clip::cleanText(text);
    (void)prisma::clip::splitPieces(cleaned);
    (void)prisma::clip::splitPieces(text);  // callers may split text that was not cleaned
    tokenizeAll(bundled(), {text, cleaned});
  } catch (const prisma::Error&) {
  } catch (const std::exception& e) {
    unexpected(e.what());
  }
}

void readAndTokenize(const std::string& edit) {
  try {
    const auto t = prisma::clip::ClipTokenizer::fromFile(scratchFile());
    tokenizeAll(t, {"a photo of a cat.", "<start_of_text>it's <end_of_text> x", "Ünïcödé ﬁ ＡＢＣ 123", edit});
  } catch (const prisma::Error&) {
  } catch (const std::exception& e) {
    unexpected(e.what());
  }
}

void fuzzMergesEdit(const uint8_t* data, size_t size) {
  if (size < kLineIndexBytes) return;
  std::vector<std::string> lines = bundledLines();
  const size_t first = (size_t(data[0]) << 8 | data[1]) * lines.size() >> 16;
  const std::string edit(reinterpret_cast<const char*>(data + kLineIndexBytes), size - kLineIndexBytes);
  size_t line = first;
  for (size_t pos = 0; pos <= edit.size() && line < lines.size(); ++line) {
    size_t end = edit.find('\n', pos);
    if (end == std::string::npos) end = edit.size();
    lines[line] = edit.substr(pos, end - pos);
    pos = end + 1;
  }
  std::string text;
  for (const auto& l : lines) text += l + "\n";
  writeGzip(text);
  readAndTokenize(edit);
}

void fuzzMergesFile(const uint8_t* data, size_t size) {
  writeGzip(std::string(reinterpret_cast<const char*>(data), size));
  readAndTokenize(std::string(reinterpret_cast<const char*>(data), size));
}

void fuzzGzipFile(const uint8_t* data, size_t size) {
  writeRaw(data, size);
  readAndTokenize({});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  switch (data[0] % kModes) {
    case kMergesEdit: fuzzMergesEdit(data + 1, size - 1); break;
    case kMergesFile: fuzzMergesFile(data + 1, size - 1); break;
    case kGzipFile: fuzzGzipFile(data + 1, size - 1); break;
    default: fuzzText(data + 1, size - 1); break;
  }
  return 0;
}
