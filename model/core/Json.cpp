// Reading JSON (see Json.h). nlohmann's parser is iterative, but copying, dumping and
// comparing a value recurse once per level, so a document nested 100,000 levels deep
// parses fine and then overflows the stack wherever it is used. The depth is therefore
// checked while parsing, through a SAX handler in front of nlohmann's own DOM builder
// that also keeps the path to the value being read, for errors.

#include "model/core/Json.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace prisma {

namespace {

using DomBuilder = nlohmann::detail::json_sax_dom_parser<nlohmann::json>;

class LimitedSax {
public:
  LimitedSax(nlohmann::json& result, const std::string& source, const JsonLimits& limits)
      : dom_(result), source_(source), limits_(limits) {}

  bool null() { return value() && dom_.null(); }
  bool boolean(bool v) { return value() && dom_.boolean(v); }
  bool number_integer(nlohmann::json::number_integer_t v) { return value() && dom_.number_integer(v); }
  bool number_unsigned(nlohmann::json::number_unsigned_t v) { return value() && dom_.number_unsigned(v); }
  bool number_float(nlohmann::json::number_float_t v, const std::string& text) {
    return value() && dom_.number_float(v, text);
  }
  bool string(std::string& v) { return value() && dom_.string(v); }
  bool binary(nlohmann::json::binary_t& v) { return value() && dom_.binary(v); }

  bool start_object(std::size_t n) {
    open(false);
    return dom_.start_object(n);
  }
  bool key(std::string& k) {
    Frame& f = frames_.back();
    f.keyed = true;
    f.key = k;
    if (limits_.reject_duplicate_keys && !f.keys.insert(k).second)
      throw Error(source_, path(), "appears twice in its object");
    return dom_.key(k);
  }
  bool end_object() {
    frames_.pop_back();
    return dom_.end_object();
  }
  bool start_array(std::size_t n) {
    open(true);
    return dom_.start_array(n);
  }
  bool end_array() {
    frames_.pop_back();
    return dom_.end_array();
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) {
    // Inside an array the parser fails on the element it is reading, not yet counted.
    throw Error(source_, path(/*reading_element=*/true), std::string("is not valid JSON: ") + e.what());
  }

private:
  struct Frame {
    bool array = false;
    std::size_t next = 0;  // arrays: index of the next element
    bool keyed = false;    // objects: a key has been read
    std::string key;       // objects: the key being read
    std::set<std::string> keys;
  };

  // Every value inside an array advances its index (containers included).
  bool value() {
    if (!frames_.empty() && frames_.back().array) ++frames_.back().next;
    return true;
  }
  void open(bool array) {
    value();
    if (static_cast<int>(frames_.size()) >= limits_.max_depth)
      throw Error(source_, path(),
                  "values nested deeper than " + std::to_string(limits_.max_depth) + " levels: not a real config");
    Frame f;
    f.array = array;
    frames_.push_back(std::move(f));
  }
  // "pretrained_cfg.mean[2]": where the parser is, for messages. `reading_element`: the
  // innermost array's next element is being read (a parse error) rather than open.
  std::string path(bool reading_element = false) const {
    std::string out;
    for (size_t i = 0; i < frames_.size(); ++i) {
      const Frame& f = frames_[i];
      if (f.array) {
        const bool innermost = i + 1 == frames_.size();
        if (reading_element && innermost) out += "[" + std::to_string(f.next) + "]";
        else if (f.next > 0) out += "[" + std::to_string(f.next - 1) + "]";
      } else if (f.keyed) {
        out += (out.empty() ? "" : ".") + f.key;
      }
    }
    return out;
  }

  DomBuilder dom_;
  const std::string& source_;
  const JsonLimits& limits_;
  std::vector<Frame> frames_;
};

}  // namespace

nlohmann::json parseJson(std::string_view text, const std::string& source, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes)
    throw Error(source, "", std::to_string(text.size()) + " bytes of JSON, more than the limit of " +
                                std::to_string(limits.max_bytes));
  nlohmann::json result;
  LimitedSax sax(result, source, limits);
  try {
    nlohmann::json::sax_parse(text.begin(), text.end(), &sax);
  } catch (const nlohmann::json::exception& e) {
    throw Error(source, "", std::string("is not valid JSON: ") + e.what());
  }
  return result;
}

nlohmann::json readJsonFile(const std::string& path, const JsonLimits& limits) {
  // Non-blocking: a FIFO named config.json must not hang the reader.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    throw Error(path, "", err == ENOENT ? "missing" : std::string("cannot open: ") + std::strerror(err));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw Error(path, "", std::string("cannot stat: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw Error(path, "", "not a regular file");
  // The size is checked before reading, so a huge file is never loaded to be refused.
  if (static_cast<uint64_t>(st.st_size) > limits.max_bytes)
    throw Error(path, "", std::to_string(st.st_size) + " bytes, more than the limit of " +
                              std::to_string(limits.max_bytes) + " for a JSON file");
  std::string text(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t have = 0;
  while (have < text.size()) {
    const ssize_t got = ::read(fd, text.data() + have, text.size() - have);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw Error(path, "", std::string("cannot read: ") + std::strerror(errno));
    if (got == 0) break;
    have += static_cast<std::size_t>(got);
  }
  text.resize(have);
  return parseJson(text, path, limits);
}

std::string jsonString(const nlohmann::json& j, const std::string& key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace prisma
