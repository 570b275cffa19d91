// torch.save archives read without executing code (see TorchArchive.h). Each storage
// record is read once by PyTorchStreamReader (which checks its CRC), must hold exactly the
// bytes the pickle claims, and every tensor is a checked view of its storage.

#include "model/io/TorchArchive.h"

#include "datasets/Npz.h"
#include "model/Error.h"
#include "model/core/MemoryBudget.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/torch.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace prisma::io {

namespace {

constexpr unsigned char kZipMagic[] = {'P', 'K', 3, 4};
constexpr unsigned char kPickleProto = 0x80;
// What the legacy (pre-1.6) torch.save writes first: the pickled magic number
// 0x1950a86a20f9469cfc6c as PROTO n, LONG1 of 10 bytes. Byte 1 (the protocol) varies.
constexpr unsigned char kLegacyMagic[] = {0x80, 0x00, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46,
                                          0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
constexpr int kHighestPickleProtocol = 5;
// zip's compression methods.
constexpr uint16_t kZipStored = 0;
constexpr uint16_t kZipDeflate = 8;
// A state dict's pickle is kilobytes (ViT-H with its optimizer state: well under a MB);
// strings in a checkpoint's extras can add some. Past this it is not a state dict, and it
// is never inflated to find out.
constexpr uint64_t kMaxPickleBytes = uint64_t(256) << 20;
// Tensors may view their storages more than once (tied weights, an expanded buffer), but
// a real state dict never declares more tensor bytes than a few times the file: a small
// file whose views add up to a ViT-Huge is hostile. Plus room for small files.
constexpr uint64_t kMaxViewBytesPerFileByte = 4;
constexpr uint64_t kViewSlackBytes = uint64_t(16) << 20;

struct StorageType {
  const char* name;
  torch::ScalarType dtype;
};

constexpr StorageType kStorageTypes[] = {
    {"FloatStorage", torch::kFloat32},  {"DoubleStorage", torch::kFloat64}, {"HalfStorage", torch::kFloat16},
    {"BFloat16Storage", torch::kBFloat16}, {"LongStorage", torch::kInt64},  {"IntStorage", torch::kInt32},
    {"ShortStorage", torch::kInt16},    {"CharStorage", torch::kInt8},      {"ByteStorage", torch::kUInt8},
    {"BoolStorage", torch::kBool}};

// Wrapper entries of training checkpoints that hold the model's weights, most specific first.
constexpr const char* kStateDictKeys[] = {"model_state_dict", "state_dict", "model", "module", "net"};

// The first `n` bytes ("" when the file cannot be opened). A FIFO, device or directory is
// refused at once: reading one would block or never end.
std::string firstBytes(const std::string& path, size_t n) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return "";
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(path, "", "not a regular file");
  }
  std::string s(n, '\0');
  size_t have = 0;
  while (have < n) {
    const ssize_t got = ::read(fd, s.data() + have, n - have);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    have += static_cast<size_t>(got);
  }
  ::close(fd);
  s.resize(have);
  return s;
}

bool allTensors(const pickle::Value& v) {
  if (!v.isDict() || v.entries.empty()) return false;
  for (const auto& [k, val] : v.entries)
    if (k->kind != pickle::Value::Kind::String || val->kind != pickle::Value::Kind::Tensor) return false;
  return true;
}

// Multiplication and addition that refuse to overflow int64 (sizes come from the file).
bool mulOk(int64_t a, int64_t b, int64_t& out) { return !__builtin_mul_overflow(a, b, &out); }
bool addOk(int64_t a, int64_t b, int64_t& out) { return !__builtin_add_overflow(a, b, &out); }

}  // namespace

bool looksLikeZip(const std::string& path) {
  const std::string head = firstBytes(path, sizeof kZipMagic);
  return head.size() == sizeof kZipMagic && std::equal(head.begin(), head.end(), std::begin(kZipMagic));
}

bool looksLikeLegacyTorchSave(const std::string& path) {
  const std::string head = firstBytes(path, sizeof kLegacyMagic);
  if (head.size() != sizeof kLegacyMagic) return false;
  for (size_t i = 0; i < sizeof kLegacyMagic; ++i) {
    const auto b = static_cast<unsigned char>(head[i]);
    if (i == 1 ? (b < 2 || b > kHighestPickleProtocol) : b != kLegacyMagic[i]) return false;
  }
  return true;
}

bool looksLikeTorchSave(const std::string& path) { return looksLikeZip(path) || looksLikeLegacyTorchSave(path); }

int64_t addressedElements(const std::vector<int64_t>& size, const std::vector<int64_t>& stride) {
  // Distinct elements a view can reach: at most the product of the sizes along axes that
  // move (stride 0 repeats), and at most the span from its first to its last element.
  int64_t moving = 1, span = 1;
  for (size_t d = 0; d < size.size(); ++d) {
    if (size[d] == 0) return 0;
    if (stride[d] != 0 && size[d] > 1) {
      if (__builtin_mul_overflow(moving, size[d], &moving)) moving = INT64_MAX;
      int64_t reach = 0;
      if (__builtin_mul_overflow(size[d] - 1, std::abs(stride[d]), &reach) || __builtin_add_overflow(span, reach, &span))
        span = INT64_MAX;
    }
  }
  return std::min(moving, span);
}

struct TorchArchive::Records {
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  uint64_t file_size = 0;
  std::map<std::string, torch::Tensor> storages;  // key -> 1-D tensor over the record
  std::map<std::string, datasets::ZipEntry> directory;  // record name below the archive's folder -> entry
  uint64_t storage_bytes = 0;  // read so far
  uint64_t view_bytes = 0;     // every tensor built so far, as if materialised

  // What the zip says about `record` (data.pkl, data/KEY) is checked before the reader
  // allocates its declared size: a stored record holds what it declares, a deflated one
  // cannot expand past deflate's ratio, and none may exceed `limit` (nor the budget).
  void checkRecord(const std::string& path, const std::string& record, uint64_t limit, const std::string& what) const {
    auto it = directory.find(record);
    if (it == directory.end()) return;  // the reader reports a missing record
    const datasets::ZipEntry& e = it->second;
    if (e.method == kZipStored && e.uncompressedSize != e.compressedSize)
      throw Error(path, record, "the zip declares " + std::to_string(e.uncompressedSize) + " bytes but stores " +
                                    std::to_string(e.compressedSize) + ": corrupt");
    if (e.method == kZipDeflate && e.uncompressedSize / datasets::kMaxDeflateRatio > e.compressedSize)
      throw Error(path, record, "the zip declares " + std::to_string(e.uncompressedSize) + " bytes inflated from " +
                                    std::to_string(e.compressedSize) + " compressed, more than deflate can expand");
    if (e.method != kZipStored && e.method != kZipDeflate)
      throw Error(path, record, "compressed with zip method " + std::to_string(e.method) + ", which is not read");
    if (e.uncompressedSize > limit)
      throw Error(path, record, "the zip declares " + formatBytes(e.uncompressedSize) + " for " + what +
                                    ", more than the " + formatBytes(limit) + " it can be");
    checkMemoryBudget(e.uncompressedSize, path, record, what);
  }
};

TorchArchive::TorchArchive(const std::string& path, const std::vector<std::string>& data_classes)
    : path_(path), records_(std::make_unique<Records>()) {
  const std::string head = firstBytes(path, sizeof kZipMagic);
  if (head.empty()) {
    std::ifstream probe(path);
    if (!probe) throw Error(path, "", "cannot open");
    throw Error(path, "", "empty file");
  }
  if (!looksLikeZip(path)) {
    if (static_cast<unsigned char>(head[0]) == kPickleProto)
      throw Error(path, "", "written by torch.save before PyTorch 1.6 (the legacy non-zip format), "
                            "which is not read; re-save it with a current PyTorch or as safetensors");
    throw Error(path, "", "not a PyTorch archive (expected the zip format torch.save writes)");
  }
  auto& r = *records_;
  try {
    r.reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const c10::Error& e) {
    throw Error(path, "", std::string("not a readable PyTorch archive: ") + e.what_without_backtrace());
  }
  r.file_size = std::filesystem::file_size(path);
  try {
    for (auto& e : datasets::readZipDirectory(path)) {
      // PyTorchStreamReader names records below the archive's one top-level folder.
      const auto slash = e.name.find('/');
      if (slash != std::string::npos) r.directory.emplace(e.name.substr(slash + 1), std::move(e));
    }
  } catch (const std::runtime_error& e) {
    throw Error(path, "", std::string("not a readable PyTorch archive: ") + e.what());
  }
  auto has = [&](const std::string& name) {
    try {
      return r.reader->hasRecord(name);
    } catch (const c10::Error&) {
      return false;
    }
  };
  if (has("constants.pkl") || has("code/__torch__.py") || has("bytecode.pkl"))
    throw Error(path, "", "a TorchScript archive (torch.jit.save), not a state dict");
  if (!has("data.pkl")) throw Error(path, "data.pkl", "missing: not a torch.save archive");
  try {
    if (has("byteorder")) {
      auto [ptr, size] = r.reader->getRecord("byteorder");
      const std::string order(static_cast<const char*>(ptr.get()), size);
      if (order != "little") throw Error(path, "byteorder", "'" + order + "' data is not supported");
    }
    r.checkRecord(path, "data.pkl", kMaxPickleBytes, "the pickle");
    auto [ptr, size] = r.reader->getRecord("data.pkl");
    root_ = pickle::unpickle(static_cast<const unsigned char*>(ptr.get()), size, path, data_classes);
  } catch (const c10::Error& e) {
    throw Error(path, "data.pkl", std::string("cannot be read: ") + e.what_without_backtrace());
  }
}

TorchArchive::~TorchArchive() = default;

torch::Tensor TorchArchive::tensor(const pickle::TensorRef& ref) const {
  auto& r = *records_;
  const std::string record = "data/" + ref.storage_key;
  const StorageType* type = nullptr;
  for (const auto& t : kStorageTypes)
    if (ref.storage_type == t.name) type = &t;
  if (!type) throw Error(path_, record, "unknown storage type " + ref.storage_type);

  auto it = r.storages.find(ref.storage_key);
  if (it == r.storages.end()) {
    if (ref.storage_key.empty() || ref.storage_key.find_first_not_of(
                                       "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_") !=
                                       std::string::npos)
      throw Error(path_, record, "storage key is not a plain name");
    const size_t elem = torch::elementSize(type->dtype);
    const uint64_t numel = static_cast<uint64_t>(ref.storage_numel);
    // torch.save stores records uncompressed, so no real storage is larger than the file;
    // checked before the reader allocates anything.
    if (numel > r.file_size / elem)
      throw Error(path_, record, std::to_string(ref.storage_numel) + " " + ref.storage_type +
                                     " elements run past the end of the file");
    // Exactly the bytes the pickle describes, and all storages together within the budget,
    // before the reader allocates what the zip declares.
    r.checkRecord(path_, record, numel * elem, std::to_string(ref.storage_numel) + " " + ref.storage_type + " elements");
    checkMemoryBudget(r.storage_bytes + numel * elem, path_, record, "the storages read so far");
    at::DataPtr data;
    size_t bytes = 0;
    try {
      if (!r.reader->hasRecord(record)) throw Error(path_, record, "missing storage record");
      std::tie(data, bytes) = r.reader->getRecord(record);
    } catch (const c10::Error& e) {
      throw Error(path_, record, std::string("cannot be read: ") + e.what_without_backtrace());
    }
    if (bytes != numel * elem)
      throw Error(path_, record, "holds " + std::to_string(bytes) + " bytes but the pickle describes " +
                                     std::to_string(ref.storage_numel) + " " + ref.storage_type + " elements (" +
                                     std::to_string(numel * elem) + " bytes)");
    // The record's buffer (c10's allocator, 64-byte aligned) becomes the storage as is.
    auto holder = std::make_shared<at::DataPtr>(std::move(data));
    torch::Tensor storage =
        bytes == 0 ? torch::empty({0}, torch::TensorOptions().dtype(type->dtype))
                   : torch::from_blob(holder->get(), {ref.storage_numel}, [holder](void*) {},
                                      torch::TensorOptions().dtype(type->dtype));
    r.storage_bytes += bytes;
    it = r.storages.emplace(ref.storage_key, storage).first;
  } else if (it->second.numel() != ref.storage_numel || it->second.scalar_type() != type->dtype) {
    throw Error(path_, record, "one storage described with two sizes or types");
  }
  const torch::Tensor& storage = it->second;

  // Every element the view can reach must lie inside the storage.
  int64_t last = ref.offset, numel = 1;
  bool empty = false;
  for (size_t d = 0; d < ref.size.size(); ++d) {
    const int64_t n = ref.size[d], s = ref.stride[d];
    if (n < 0 || s < 0) throw Error(path_, record, "negative size or stride");
    if (n == 0) empty = true;
    int64_t reach = 0;
    if (!mulOk(n > 0 ? n - 1 : 0, s, reach) || !addOk(last, reach, last) || !mulOk(numel, n, numel))
      throw Error(path_, record, "tensor sizes overflow");
  }
  if (!empty && last >= ref.storage_numel)
    throw Error(path_, record, "tensor view reaches element " + std::to_string(last) + " of a " +
                                   std::to_string(ref.storage_numel) + "-element storage");
  // A view costs nothing until a converter copies it; what it will cost is its element
  // count, which stride 0 can make far larger than the bytes it addresses. Counted here,
  // against the file and the budget, before anything is copied.
  uint64_t view_bytes = 0;
  if (__builtin_mul_overflow(static_cast<uint64_t>(numel), static_cast<uint64_t>(storage.element_size()), &view_bytes) ||
      __builtin_add_overflow(r.view_bytes, view_bytes, &r.view_bytes))
    throw Error(path_, record, "tensor sizes overflow");
  const uint64_t file_limit = r.file_size > (UINT64_MAX - kViewSlackBytes) / kMaxViewBytesPerFileByte
                                  ? UINT64_MAX
                                  : r.file_size * kMaxViewBytesPerFileByte + kViewSlackBytes;
  if (r.view_bytes > file_limit)
    throw Error(path_, record,
                "the tensors declare " + formatBytes(r.view_bytes) + " (this one " + std::to_string(numel) + " elements over " +
                    std::to_string(addressedElements(ref.size, ref.stride)) +
                    " addressed), far more than the " + formatBytes(r.file_size) +
                    " file holds: views repeating their storage (stride 0) are not weights");
  checkMemoryBudget(r.view_bytes, path_, record, "the tensors declared so far");
  if (empty) return torch::empty(ref.size, storage.options());
  return storage.as_strided(ref.size, ref.stride, ref.offset);
}

StateDict TorchArchive::tensors(const pickle::Value& dict) const {
  if (!dict.isDict()) throw Error(path_, "", "expected a dict of tensors, found a " + dict.kindName());
  StateDict out;
  for (const auto& [k, v] : dict.entries) {
    if (k->kind != pickle::Value::Kind::String) throw Error(path_, k->kindName(), "state-dict key is not a string");
    if (v->kind != pickle::Value::Kind::Tensor)
      throw Error(path_, k->text, "is a " + v->kindName() + ", not a tensor");
    if (!out.emplace(k->text, tensor(*v->tensor)).second) throw Error(path_, k->text, "appears twice");
  }
  return out;
}

StateDict TorchArchive::modelStateDict(std::vector<std::string>& notes) const {
  const pickle::Value& r = root();
  if (allTensors(r)) return tensors(r);
  if (r.isDict()) {
    for (const char* key : kStateDictKeys) {
      const pickle::Value* v = r.find(key);
      if (!v || !allTensors(*v)) continue;
      std::string others;
      for (const auto& [k, val] : r.entries)
        if (k->kind == pickle::Value::Kind::String && k->text != key) others += (others.empty() ? "" : ", ") + k->text;
      notes.push_back("weights from the checkpoint's '" + std::string(key) + "' entry" +
                      (others.empty() ? "" : " (also held, not used: " + others + ")"));
      return tensors(*v);
    }
  }
  std::string keys;
  if (r.isDict())
    for (const auto& [k, val] : r.entries)
      if (k->kind == pickle::Value::Kind::String) keys += (keys.empty() ? "" : ", ") + k->text;
  throw Error(path_, "", "holds no state dict (a " + r.kindName() + (keys.empty() ? "" : " with keys " + keys) + ")");
}

}  // namespace prisma::io
