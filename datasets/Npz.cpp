// Zip directory parsing (with the zip64 extensions NumPy writes), streaming inflate
// through zlib, and .npy header parsing.

#include "datasets/Npz.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>

namespace prisma::datasets {
namespace {

constexpr std::uint32_t kEndOfDirectorySignature = 0x06054b50;
constexpr std::uint32_t kZip64EndOfDirectorySignature = 0x06064b50;
constexpr std::uint32_t kZip64LocatorSignature = 0x07064b50;
constexpr std::uint32_t kDirectoryEntrySignature = 0x02014b50;
constexpr std::uint32_t kLocalHeaderSignature = 0x04034b50;
constexpr std::size_t kEndOfDirectorySize = 22;
constexpr std::size_t kZip64LocatorSize = 20;
constexpr std::size_t kZip64EndOfDirectorySize = 56;
constexpr std::size_t kDirectoryEntrySize = 46;
constexpr std::size_t kLocalHeaderSize = 30;
constexpr std::size_t kMaxCommentSize = 0xFFFF;
constexpr std::uint16_t kZip64ExtraId = 0x0001;
constexpr std::uint16_t kMethodStored = 0;
constexpr std::uint16_t kMethodDeflate = 8;
constexpr std::uint16_t kFlagEncrypted = 0x0001;
constexpr std::uint16_t kSaturated16 = 0xFFFF;
constexpr std::uint32_t kSaturated32 = 0xFFFFFFFF;

constexpr char kNpyMagic[] = "\x93NUMPY";
constexpr std::size_t kNpyMagicSize = 6;
constexpr std::size_t kInputChunk = 1 << 16;
// NumPy pads headers to 64 bytes and writes a few hundred; a megabyte is no real header.
constexpr std::size_t kMaxNpyHeaderBytes = std::size_t(1) << 20;
constexpr std::uint64_t kDeflateSlackBytes = 1024;
// zlib counts in 32-bit unsigned ints; larger requests are served in pieces.
constexpr std::size_t kMaxZlibChunk = 1u << 30;

std::uint16_t le16(const unsigned char* p) { return static_cast<std::uint16_t>(p[0] | (p[1] << 8)); }
std::uint32_t le32(const unsigned char* p) {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}
std::uint64_t le64(const unsigned char* p) {
  return static_cast<std::uint64_t>(le32(p)) | (static_cast<std::uint64_t>(le32(p + 4)) << 32);
}

[[noreturn]] void fail(const std::string& where, const std::string& problem) {
  throw std::runtime_error(where + ": " + problem);
}

std::vector<unsigned char> readAt(std::ifstream& file, std::uint64_t offset, std::size_t size,
                                  const std::string& where) {
  std::vector<unsigned char> bytes(size);
  file.clear();
  file.seekg(static_cast<std::streamoff>(offset));
  file.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  if (static_cast<std::size_t>(file.gcount()) != size)
    fail(where, "truncated zip archive (wanted " + std::to_string(size) + " bytes at offset " +
                    std::to_string(offset) + ")");
  return bytes;
}

std::string afterKey(const std::string& dict, const std::string& key, const std::string& where) {
  const std::size_t at = dict.find("'" + key + "'");
  if (at == std::string::npos) fail(where, "npy header has no '" + key + "'");
  const std::size_t colon = dict.find(':', at);
  if (colon == std::string::npos) fail(where, "malformed npy header: " + dict);
  std::size_t start = colon + 1;
  while (start < dict.size() && dict[start] == ' ') ++start;
  return dict.substr(start);
}

NpyHeader parseNpyHeader(const std::string& dict, const std::string& where) {
  NpyHeader h;
  const std::string descr = afterKey(dict, "descr", where);
  if (descr.empty() || (descr[0] != '\'' && descr[0] != '"')) fail(where, "malformed npy descr");
  const std::size_t close = descr.find(descr[0], 1);
  if (close == std::string::npos) fail(where, "malformed npy descr");
  h.descr = descr.substr(1, close - 1);
  if (h.descr.size() < 3) fail(where, "unsupported npy dtype '" + h.descr + "'");
  const char order = h.descr[0];
  h.kind = h.descr[1];
  try {
    h.itemSize = static_cast<std::size_t>(std::stoul(h.descr.substr(2)));
  } catch (const std::exception&) {
    fail(where, "unsupported npy dtype '" + h.descr + "'");
  }
  const bool knownKind = h.kind == 'u' || h.kind == 'i' || h.kind == 'f' || h.kind == 'b';
  const bool littleEndian = order == '<' || order == '|' || (order == '=' && h.itemSize == 1);
  if (!knownKind || !littleEndian || h.itemSize == 0 || h.itemSize > sizeof(std::int64_t))
    fail(where, "unsupported npy dtype '" + h.descr + "' (need little-endian numbers)");

  h.fortranOrder = afterKey(dict, "fortran_order", where).rfind("True", 0) == 0;

  const std::string shape = afterKey(dict, "shape", where);
  if (shape.empty() || shape[0] != '(') fail(where, "malformed npy shape");
  const std::size_t end = shape.find(')');
  if (end == std::string::npos) fail(where, "malformed npy shape");
  std::size_t pos = 1;
  while (pos < end) {
    while (pos < end && (shape[pos] == ' ' || shape[pos] == ',')) ++pos;
    if (pos >= end) break;
    std::size_t used = 0;
    try {
      h.shape.push_back(static_cast<std::size_t>(std::stoull(shape.substr(pos, end - pos), &used)));
    } catch (const std::exception&) {
      fail(where, "malformed npy shape");
    }
    pos += used;
  }
  return h;
}

}  // namespace

std::size_t NpyHeader::count() const {
  // Saturates: NpzFile::open refuses a shape whose product overflows, so this only
  // guards headers built elsewhere.
  std::size_t n = 1;
  for (std::size_t d : shape)
    if (__builtin_mul_overflow(n, d, &n)) return std::numeric_limits<std::size_t>::max();
  return n;
}

// ---------------------------------------------------------------------------------------

struct NpyReader::Impl {
  std::string where;  // "file: array", for messages
  std::ifstream file;
  std::uint16_t method = kMethodStored;
  std::uint64_t compressedLeft = 0;
  std::uint64_t dataLeft = 0;  // array bytes the header promises and read() has not yet delivered
  z_stream zs{};
  bool inflating = false;
  bool streamEnded = false;
  std::vector<unsigned char> input;
  NpyHeader header;

  ~Impl() {
    if (inflating) inflateEnd(&zs);
  }

  // Fills up to `size` bytes of entry data; returns fewer only at the entry's end.
  std::size_t readSome(unsigned char* out, std::size_t size) {
    if (method == kMethodStored) {
      const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(size, compressedLeft));
      file.read(reinterpret_cast<char*>(out), static_cast<std::streamsize>(want));
      const auto got = static_cast<std::size_t>(file.gcount());
      compressedLeft -= got;
      return got;
    }
    std::size_t produced = 0;
    while (produced < size && !streamEnded) {
      if (zs.avail_in == 0) {
        const std::size_t want =
            static_cast<std::size_t>(std::min<std::uint64_t>(input.size(), compressedLeft));
        if (want == 0) break;
        file.read(reinterpret_cast<char*>(input.data()), static_cast<std::streamsize>(want));
        const auto got = static_cast<std::size_t>(file.gcount());
        if (got == 0) break;
        compressedLeft -= got;
        zs.next_in = input.data();
        zs.avail_in = static_cast<uInt>(got);
      }
      const std::size_t chunk = std::min(size - produced, kMaxZlibChunk);
      zs.next_out = out + produced;
      zs.avail_out = static_cast<uInt>(chunk);
      const int rc = inflate(&zs, Z_NO_FLUSH);
      produced += chunk - zs.avail_out;
      if (rc == Z_STREAM_END) {
        streamEnded = true;
      } else if (rc == Z_BUF_ERROR) {
        // No progress: only more input can help, and there is none once the entry ends.
        if (zs.avail_in != 0 || compressedLeft == 0) break;
      } else if (rc != Z_OK) {
        fail(where, std::string("corrupt deflate data (") + (zs.msg ? zs.msg : "zlib error") + ")");
      }
    }
    return produced;
  }

  void readExact(void* destination, std::size_t bytes, const char* what) {
    const std::size_t got = readSome(static_cast<unsigned char*>(destination), bytes);
    if (got != bytes)
      fail(where, std::string("truncated ") + what + " (wanted " + std::to_string(bytes) +
                      " bytes, found " + std::to_string(got) + ")");
  }
};

NpyReader::NpyReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
NpyReader::NpyReader(NpyReader&&) noexcept = default;
NpyReader& NpyReader::operator=(NpyReader&&) noexcept = default;
NpyReader::~NpyReader() = default;

const NpyHeader& NpyReader::header() const { return impl_->header; }

void NpyReader::read(void* destination, std::size_t bytes) {
  if (bytes > impl_->dataLeft)
    fail(impl_->where, "truncated array: asked for " + std::to_string(bytes) + " bytes, the array has " +
                           std::to_string(impl_->dataLeft) + " left");
  impl_->readExact(destination, bytes, "array data");
  impl_->dataLeft -= bytes;
}

std::vector<std::int64_t> NpyReader::readIntegers(std::size_t count) {
  const NpyHeader& h = impl_->header;
  if (h.kind != 'i' && h.kind != 'u' && h.kind != 'b')
    fail(impl_->where, "expected an integer array, found dtype '" + h.descr + "'");
  // Checked before allocating: the count comes from a header.
  if (count > impl_->dataLeft / h.itemSize)
    fail(impl_->where, "asked for " + std::to_string(count) + " elements, the array holds " +
                           std::to_string(impl_->dataLeft / h.itemSize) + " more");
  std::vector<unsigned char> raw(count * h.itemSize);
  read(raw.data(), raw.size());
  std::vector<std::int64_t> out(count);
  for (std::size_t i = 0; i < count; ++i) {
    const unsigned char* p = raw.data() + i * h.itemSize;
    std::uint64_t bits = 0;
    for (std::size_t b = 0; b < h.itemSize; ++b) bits |= static_cast<std::uint64_t>(p[b]) << (8 * b);
    const bool negative = h.kind == 'i' && (p[h.itemSize - 1] & 0x80) != 0;
    if (negative && h.itemSize < sizeof(bits)) bits |= ~std::uint64_t{0} << (8 * h.itemSize);
    std::int64_t value = 0;
    std::memcpy(&value, &bits, sizeof(value));
    out[i] = value;
  }
  return out;
}

// ---------------------------------------------------------------------------------------

NpzFile::NpzFile(std::string path) : path_(std::move(path)), entries_(readZipDirectory(path_)) {}

std::vector<ZipEntry> readZipDirectory(const std::string& path) {
  // A FIFO or device would block or never end; a directory is not an archive.
  std::error_code ec;
  if (std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec))
    fail(path, "not a regular file");
  std::vector<ZipEntry> entries;
  std::ifstream file(path, std::ios::binary);
  if (!file) fail(path, "cannot open (no such file or no permission)");
  file.seekg(0, std::ios::end);
  const auto fileSize = static_cast<std::uint64_t>(file.tellg());
  if (fileSize < kEndOfDirectorySize) fail(path, "not a zip/npz archive (too short)");

  // The end-of-directory record sits before an optional comment of up to 64 KiB.
  const std::size_t tail =
      static_cast<std::size_t>(std::min<std::uint64_t>(fileSize, kEndOfDirectorySize + kMaxCommentSize));
  const std::vector<unsigned char> end = readAt(file, fileSize - tail, tail, path);
  std::size_t eocd = std::string::npos;
  for (std::size_t i = tail - kEndOfDirectorySize + 1; i-- > 0;)
    if (le32(&end[i]) == kEndOfDirectorySignature) {
      eocd = i;
      break;
    }
  if (eocd == std::string::npos) fail(path, "not a zip/npz archive (no end-of-directory record)");

  std::uint64_t entryCount = le16(&end[eocd + 10]);
  std::uint64_t directorySize = le32(&end[eocd + 12]);
  std::uint64_t directoryOffset = le32(&end[eocd + 16]);
  if (entryCount == kSaturated16 || directorySize == kSaturated32 || directoryOffset == kSaturated32) {
    const std::uint64_t eocdOffset = fileSize - tail + eocd;
    if (eocdOffset < kZip64LocatorSize) fail(path, "zip64 locator missing");
    const auto locator = readAt(file, eocdOffset - kZip64LocatorSize, kZip64LocatorSize, path);
    if (le32(locator.data()) != kZip64LocatorSignature) fail(path, "zip64 locator missing");
    const auto record = readAt(file, le64(&locator[8]), kZip64EndOfDirectorySize, path);
    if (le32(record.data()) != kZip64EndOfDirectorySignature) fail(path, "bad zip64 end record");
    entryCount = le64(&record[32]);
    directorySize = le64(&record[40]);
    directoryOffset = le64(&record[48]);
  }
  if (directoryOffset > fileSize || directorySize > fileSize - directoryOffset) fail(path, "truncated zip archive (directory past end of file)");

  const auto dir = readAt(file, directoryOffset, static_cast<std::size_t>(directorySize), path);
  std::size_t pos = 0;
  for (std::uint64_t e = 0; e < entryCount; ++e) {
    if (pos + kDirectoryEntrySize > dir.size() || le32(&dir[pos]) != kDirectoryEntrySignature)
      fail(path, "corrupt zip directory");
    ZipEntry entry;
    entry.flags = le16(&dir[pos + 8]);
    entry.method = le16(&dir[pos + 10]);
    entry.compressedSize = le32(&dir[pos + 20]);
    entry.uncompressedSize = le32(&dir[pos + 24]);
    const std::size_t nameSize = le16(&dir[pos + 28]);
    const std::size_t extraSize = le16(&dir[pos + 30]);
    const std::size_t commentSize = le16(&dir[pos + 32]);
    entry.localHeaderOffset = le32(&dir[pos + 42]);
    if (pos + kDirectoryEntrySize + nameSize + extraSize + commentSize > dir.size())
      fail(path, "corrupt zip directory");
    entry.name.assign(reinterpret_cast<const char*>(&dir[pos + kDirectoryEntrySize]), nameSize);

    // Zip64 sizes replace, in this order, only the fields saturated in the record.
    const unsigned char* extra = &dir[pos + kDirectoryEntrySize + nameSize];
    for (std::size_t x = 0; x + 4 <= extraSize;) {
      const std::uint16_t id = le16(extra + x);
      const std::size_t size = le16(extra + x + 2);
      if (id == kZip64ExtraId) {
        std::size_t field = x + 4;
        auto take = [&](std::uint64_t& value) {
          if (value != kSaturated32) return;
          if (field + 8 > x + 4 + size || field + 8 > extraSize) fail(path, "corrupt zip64 extra field");
          value = le64(extra + field);
          field += 8;
        };
        take(entry.uncompressedSize);
        take(entry.compressedSize);
        take(entry.localHeaderOffset);
      }
      x += 4 + size;
    }
    entries.push_back(std::move(entry));
    pos += kDirectoryEntrySize + nameSize + extraSize + commentSize;
  }
  return entries;
}

std::vector<std::string> NpzFile::arrayNames() const {
  std::vector<std::string> names;
  for (const auto& e : entries_) {
    std::string n = e.name;
    if (n.size() > 4 && n.compare(n.size() - 4, 4, ".npy") == 0) n.resize(n.size() - 4);
    names.push_back(n);
  }
  return names;
}

const NpzFile::Entry* NpzFile::find(const std::string& array) const {
  for (const auto& e : entries_)
    if (e.name == array + ".npy" || e.name == array) return &e;
  return nullptr;
}

bool NpzFile::contains(const std::string& array) const { return find(array) != nullptr; }

NpyReader NpzFile::open(const std::string& array) const {
  const std::string where = path_ + ": " + array;
  const Entry* entry = find(array);
  if (!entry) fail(path_, "no array '" + array + "' in the archive");
  if (entry->flags & kFlagEncrypted) fail(where, "encrypted zip entry");
  if (entry->method != kMethodStored && entry->method != kMethodDeflate)
    fail(where, "unsupported zip compression method " + std::to_string(entry->method));

  auto impl = std::make_unique<NpyReader::Impl>();
  impl->where = where;
  impl->file.open(path_, std::ios::binary);
  if (!impl->file) fail(path_, "cannot open");
  const auto local = readAt(impl->file, entry->localHeaderOffset, kLocalHeaderSize, path_);
  if (le32(local.data()) != kLocalHeaderSignature) fail(where, "corrupt zip local header");
  const std::uint64_t dataOffset =
      entry->localHeaderOffset + kLocalHeaderSize + le16(&local[26]) + le16(&local[28]);
  impl->file.clear();
  impl->file.seekg(static_cast<std::streamoff>(dataOffset));
  impl->method = entry->method;
  impl->compressedLeft = entry->compressedSize;
  if (entry->method == kMethodDeflate) {
    impl->input.resize(kInputChunk);
    // Negative window bits: raw deflate, as zip stores it (no zlib wrapper).
    if (inflateInit2(&impl->zs, -MAX_WBITS) != Z_OK) fail(where, "cannot start zlib");
    impl->inflating = true;
  }

  std::array<unsigned char, kNpyMagicSize + 2> magic{};
  impl->readExact(magic.data(), magic.size(), "npy header");
  if (std::memcmp(magic.data(), kNpyMagic, kNpyMagicSize) != 0) fail(where, "not a .npy array (bad magic)");
  const int major = magic[kNpyMagicSize];
  std::size_t headerSize = 0;
  if (major == 1) {
    std::array<unsigned char, 2> len{};
    impl->readExact(len.data(), len.size(), "npy header");
    headerSize = le16(len.data());
  } else if (major == 2 || major == 3) {
    std::array<unsigned char, 4> len{};
    impl->readExact(len.data(), len.size(), "npy header");
    headerSize = le32(len.data());
  } else {
    fail(where, "unsupported .npy version " + std::to_string(major));
  }
  if (headerSize > kMaxNpyHeaderBytes)
    fail(where, "npy header of " + std::to_string(headerSize) + " bytes (limit " + std::to_string(kMaxNpyHeaderBytes) + ")");
  std::string dict(headerSize, '\0');
  impl->readExact(dict.data(), headerSize, "npy header");
  impl->header = parseNpyHeader(dict, where);
  if (impl->header.fortranOrder && impl->header.shape.size() > 1)
    fail(where, "Fortran-ordered arrays are not supported");

  // The bytes the shape promises must be bytes the entry holds: a 300-byte file claiming
  // 2^28 rows is refused here, before a caller allocates for them.
  std::uint64_t elements = 1, bytes = 0;
  for (std::size_t d : impl->header.shape)
    if (__builtin_mul_overflow(elements, static_cast<std::uint64_t>(d), &elements))
      fail(where, "'shape': the element count overflows");
  if (__builtin_mul_overflow(elements, static_cast<std::uint64_t>(impl->header.itemSize), &bytes))
    fail(where, "'shape': the byte count overflows");
  const std::uint64_t prefix = magic.size() + (major == 1 ? 2 : 4) + headerSize;
  // A stored entry holds what it stores, whatever its declared size says.
  const std::uint64_t entryBytes = entry->method == kMethodStored
                                       ? std::min(entry->uncompressedSize, entry->compressedSize)
                                       : entry->uncompressedSize;
  const std::uint64_t declared = entryBytes >= prefix ? entryBytes - prefix : 0;
  if (entry->method == kMethodDeflate &&
      entry->uncompressedSize / kMaxDeflateRatio > entry->compressedSize + kDeflateSlackBytes)
    fail(where, "declares " + std::to_string(entry->uncompressedSize) + " bytes inflated from " +
                    std::to_string(entry->compressedSize) + " compressed, more than deflate can expand");
  if (bytes > declared)
    fail(where, "'shape' promises " + std::to_string(elements) + " elements (" + std::to_string(bytes) +
                    " bytes) but the entry holds " + std::to_string(declared) + " bytes of data");
  impl->dataLeft = bytes;
  return NpyReader(std::move(impl));
}

}  // namespace prisma::datasets
