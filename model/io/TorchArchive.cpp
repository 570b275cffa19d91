// torch.save archives read without executing code (see TorchArchive.h). Each storage
// record is read once by PyTorchStreamReader (which checks its CRC), must hold exactly the
// bytes the pickle claims, and every tensor is a checked view of its storage.

#include "model/io/TorchArchive.h"

#include "model/Error.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

namespace prisma::io {

namespace {

constexpr unsigned char kZipMagic[] = {'P', 'K', 3, 4};
constexpr unsigned char kPickleProto = 0x80;

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

std::string firstBytes(const std::string& path, size_t n) {
  std::ifstream in(path, std::ios::binary);
  std::string s(n, '\0');
  in.read(s.data(), static_cast<std::streamsize>(n));
  s.resize(static_cast<size_t>(in.gcount()));
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

struct TorchArchive::Records {
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  uint64_t file_size = 0;
  std::map<std::string, torch::Tensor> storages;  // key -> 1-D tensor over the record
};

TorchArchive::TorchArchive(const std::string& path) : path_(path), records_(std::make_unique<Records>()) {
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
    auto [ptr, size] = r.reader->getRecord("data.pkl");
    root_ = pickle::unpickle(static_cast<const unsigned char*>(ptr.get()), size, path);
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
