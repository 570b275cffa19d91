// The few protobuf wire-format pieces an Event needs: varints, fixed 32/64-bit values and
// length-delimited fields (Protocol Buffers encoding guide), little-endian throughout.

#include "model/train/EventFile.h"

#include "model/Error.h"
#include "model/io/AtomicFile.h"
#include "model/train/Crc32c.h"

#include <chrono>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

namespace prisma::train {
namespace {

constexpr const char* kFileVersion = "brain.Event:2";
constexpr const char* kWriterName = "prisma-explorer";
constexpr size_t kHeaderSize = 12;   // uint64 length + masked CRC of it
constexpr size_t kFooterSize = 4;    // masked CRC of the data
// Event fields and wire types.
enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kBytes = 2, kFixed32 = 5 };
constexpr uint32_t kEventWallTime = 1, kEventStep = 2, kEventFileVersion = 3, kEventSummary = 5,
                   kEventSourceMetadata = 10;
constexpr uint32_t kSummaryValue = 1;
constexpr uint32_t kValueTag = 1, kValueSimpleValue = 2;
constexpr uint32_t kSourceMetadataWriter = 1;

void putVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
void putKey(std::string& out, uint32_t field, WireType type) { putVarint(out, (uint64_t(field) << 3) | type); }
template <typename T>
void putLittleEndian(std::string& out, T v) {
  unsigned char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));  // x86-64 and every platform we build for are little-endian
  out.append(reinterpret_cast<const char*>(b), sizeof(T));
}
void putBytes(std::string& out, uint32_t field, const std::string& bytes) {
  putKey(out, field, kBytes);
  putVarint(out, bytes.size());
  out += bytes;
}

// A cursor over protobuf bytes that throws on anything malformed.
class Reader {
public:
  Reader(const std::string& data, std::string where) : d_(data), where_(std::move(where)) {}
  bool done() const { return i_ >= d_.size(); }
  uint64_t varint() {
    uint64_t r = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (i_ >= d_.size()) fail("truncated varint");
      const auto b = static_cast<unsigned char>(d_[i_++]);
      r |= uint64_t(b & 0x7F) << shift;
      if (!(b & 0x80)) return r;
    }
    fail("varint too long");
  }
  std::string bytes(size_t n) {
    if (n > d_.size() - i_) fail("field runs past the record");
    std::string s = d_.substr(i_, n);
    i_ += n;
    return s;
  }
  template <typename T>
  T fixed() {
    const std::string b = bytes(sizeof(T));
    T v;
    std::memcpy(&v, b.data(), sizeof(T));
    return v;
  }
  void skip(uint32_t type) {
    switch (type) {
      case kVarint: varint(); break;
      case kFixed64: bytes(8); break;
      case kBytes: bytes(varint()); break;
      case kFixed32: bytes(4); break;
      default: fail("unsupported wire type " + std::to_string(type));
    }
  }
  [[noreturn]] void fail(const std::string& m) const { throw Error(where_, "event", m); }

private:
  const std::string& d_;
  std::string where_;
  size_t i_ = 0;
};

EventRecord decodeEvent(const std::string& data, const std::string& where) {
  EventRecord ev;
  Reader r(data, where);
  while (!r.done()) {
    const uint64_t key = r.varint();
    const auto field = uint32_t(key >> 3), type = uint32_t(key & 7);
    if (field == kEventWallTime && type == kFixed64) ev.wall_time = r.fixed<double>();
    else if (field == kEventStep && type == kVarint) ev.step = static_cast<int64_t>(r.varint());
    else if (field == kEventFileVersion && type == kBytes) ev.file_version = r.bytes(r.varint());
    else if (field == kEventSourceMetadata && type == kBytes) {
      const std::string meta = r.bytes(r.varint());
      Reader m(meta, where);
      while (!m.done()) {
        const uint64_t k = m.varint();
        if ((k >> 3) == kSourceMetadataWriter && (k & 7) == kBytes) ev.writer = m.bytes(m.varint());
        else m.skip(uint32_t(k & 7));
      }
    } else if (field == kEventSummary && type == kBytes) {
      const std::string summary = r.bytes(r.varint());
      Reader s(summary, where);
      while (!s.done()) {
        const uint64_t k = s.varint();
        if ((k >> 3) != kSummaryValue || (k & 7) != kBytes) {
          s.skip(uint32_t(k & 7));
          continue;
        }
        const std::string value = s.bytes(s.varint());
        Reader v(value, where);
        ScalarValue sv;
        bool hasValue = false;
        while (!v.done()) {
          const uint64_t vk = v.varint();
          if ((vk >> 3) == kValueTag && (vk & 7) == kBytes) sv.tag = v.bytes(v.varint());
          else if ((vk >> 3) == kValueSimpleValue && (vk & 7) == kFixed32) {
            sv.value = v.fixed<float>();
            hasValue = true;
          } else v.skip(uint32_t(vk & 7));
        }
        if (hasValue) ev.scalars.push_back(sv);
      }
    } else {
      r.skip(type);
    }
  }
  return ev;
}

std::string readAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path, "", "cannot open the event file");
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

double wallTimeNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string encodeEvent(const EventRecord& e) {
  std::string out;
  putKey(out, kEventWallTime, kFixed64);
  putLittleEndian(out, e.wall_time);
  if (e.step != 0) {
    putKey(out, kEventStep, kVarint);
    putVarint(out, static_cast<uint64_t>(e.step));
  }
  if (!e.file_version.empty()) putBytes(out, kEventFileVersion, e.file_version);
  if (!e.scalars.empty()) {
    std::string summary;
    for (const auto& s : e.scalars) {
      std::string value;
      putBytes(value, kValueTag, s.tag);
      putKey(value, kValueSimpleValue, kFixed32);
      putLittleEndian(value, s.value);
      putBytes(summary, kSummaryValue, value);
    }
    putBytes(out, kEventSummary, summary);
  }
  if (!e.writer.empty()) {
    std::string meta;
    putBytes(meta, kSourceMetadataWriter, e.writer);
    putBytes(out, kEventSourceMetadata, meta);
  }
  return out;
}

std::string frameRecord(const std::string& data) {
  std::string out;
  std::string length;
  putLittleEndian(length, static_cast<uint64_t>(data.size()));
  out += length;
  putLittleEndian(out, maskedCrc32c(length.data(), length.size()));
  out += data;
  putLittleEndian(out, maskedCrc32c(data.data(), data.size()));
  return out;
}

EventFileWriter::EventFileWriter(std::string path, bool append, double wallTime) : path_(std::move(path)) {
  file_ = std::make_unique<io::AppendFile>(path_, /*truncate=*/!append);
  if (!append) {
    EventRecord first;
    first.wall_time = wallTime < 0 ? wallTimeNow() : wallTime;
    first.file_version = kFileVersion;
    first.writer = kWriterName;
    pending_ = frameRecord(encodeEvent(first));
    flush();
  }
}

EventFileWriter::~EventFileWriter() {
  try {
    flush();
  } catch (const Error&) {
    // A destructor cannot report it; the next run's resume truncates to whole records.
  }
}

void EventFileWriter::addScalar(const std::string& tag, int64_t step, float value, double wallTime) {
  EventRecord e;
  e.wall_time = wallTime < 0 ? wallTimeNow() : wallTime;
  e.step = step;
  e.scalars.push_back({tag, value});
  pending_ += frameRecord(encodeEvent(e));
}

void EventFileWriter::flush() {
  if (pending_.empty()) return;
  std::string records;
  records.swap(pending_);  // dropped on failure: the file is back to its last whole record
  file_->append(records);
}

std::string EventFileWriter::fileName(double wallTime, const std::string& host, long pid, int index) {
  return "events.out.tfevents." + std::to_string(static_cast<long long>(wallTime)) + "." + host + "." +
         std::to_string(pid) + "." + std::to_string(index);
}

namespace {

// Calls fn(offset, recordSize, body) for every record whose CRCs verify.
template <typename Fn>
void forEachRecord(const std::string& data, const std::string& path, bool tolerateTornTail, Fn&& fn) {
  size_t i = 0;
  while (i < data.size()) {
    const std::string at = path + " @" + std::to_string(i);
    if (data.size() - i < kHeaderSize) {
      if (tolerateTornTail) return;
      throw Error(at, "length", "truncated record header");
    }
    uint64_t length = 0;
    uint32_t lengthCrc = 0;
    std::memcpy(&length, data.data() + i, 8);
    std::memcpy(&lengthCrc, data.data() + i + 8, 4);
    if (maskedCrc32c(data.data() + i, 8) != lengthCrc) {
      if (tolerateTornTail) return;
      throw Error(at, "length", "CRC of the record length does not match");
    }
    if (length > data.size() - i - kHeaderSize || data.size() - i - kHeaderSize - length < kFooterSize) {
      if (tolerateTornTail) return;
      throw Error(at, "data", "record runs past the end of the file");
    }
    const std::string body = data.substr(i + kHeaderSize, length);
    uint32_t dataCrc = 0;
    std::memcpy(&dataCrc, data.data() + i + kHeaderSize + length, 4);
    if (maskedCrc32c(body.data(), body.size()) != dataCrc) {
      if (tolerateTornTail) return;
      throw Error(at, "data", "CRC of the record data does not match");
    }
    const size_t recordSize = kHeaderSize + length + kFooterSize;
    fn(i, recordSize, body, at);
    i += recordSize;
  }
}

}  // namespace

std::vector<EventRecord> readEventFile(const std::string& path, bool tolerateTornTail) {
  std::vector<EventRecord> out;
  forEachRecord(readAll(path), path, tolerateTornTail,
                [&](size_t, size_t, const std::string& body, const std::string& at) {
                  out.push_back(decodeEvent(body, at));
                });
  return out;
}

void truncateEventFile(const std::string& path, int64_t maxStep) {
  const std::string data = readAll(path);
  std::string kept;
  // Records are copied byte for byte, so fields this writer does not know survive.
  forEachRecord(data, path, /*tolerateTornTail=*/true,
                [&](size_t offset, size_t size, const std::string& body, const std::string& at) {
                  const EventRecord e = decodeEvent(body, at);
                  if (!e.file_version.empty() || e.step <= maxStep) kept.append(data, offset, size);
                });
  io::writeTextAtomically(path, kept);
}

}  // namespace prisma::train
