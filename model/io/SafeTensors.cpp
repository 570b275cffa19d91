#include "model/io/SafeTensors.h"

#include "model/Error.h"
#include "model/core/Json.h"
#include "model/io/AtomicFile.h"
#include "model/io/MappedFile.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <set>

namespace prisma::io {

namespace {

constexpr size_t kLengthPrefixBytes = 8;
// Real headers are a few hundred bytes per tensor; 100 MB already allows over 10^5
// tensors. Anything larger is a hostile or corrupt file, refused before allocating.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;
constexpr size_t kTensorAlignment = 64;

struct DType {
  const char* name;
  torch::ScalarType type;
  size_t bytes;
};

const DType kDTypes[] = {
    {"F64", torch::kFloat64, 8}, {"F32", torch::kFloat32, 4}, {"F16", torch::kFloat16, 2},
    {"BF16", torch::kBFloat16, 2}, {"I64", torch::kInt64, 8}, {"I32", torch::kInt32, 4},
    {"I16", torch::kInt16, 2},   {"I8", torch::kInt8, 1},     {"U8", torch::kUInt8, 1},
    {"BOOL", torch::kBool, 1}};

const DType* findDType(const std::string& name) {
  for (const auto& d : kDTypes)
    if (name == d.name) return &d;
  return nullptr;
}

const DType* findDType(torch::ScalarType type) {
  for (const auto& d : kDTypes)
    if (type == d.type) return &d;
  return nullptr;
}

}  // namespace

SafeTensorsFile::SafeTensorsFile(const std::string& path) : path_(path) {
  file_ = std::make_shared<MappedFile>(path);
  const size_t size = file_->size();
  if (size < kLengthPrefixBytes)
    throw Error(path, "header", "file is " + std::to_string(size) + " bytes, too short for a header");
  uint64_t header_len = 0;
  for (size_t i = 0; i < kLengthPrefixBytes; ++i)
    header_len |= static_cast<uint64_t>(file_->data()[i]) << (8 * i);
  if (header_len > kMaxHeaderBytes)
    throw Error(path, "header", "declared header size " + std::to_string(header_len) +
                                    " bytes is absurd (limit " + std::to_string(kMaxHeaderBytes) + ")");
  if (header_len > size - kLengthPrefixBytes)
    throw Error(path, "header", "declared header size " + std::to_string(header_len) +
                                    " runs past the end of the " + std::to_string(size) +
                                    "-byte file (truncated?)");
  data_offset_ = kLengthPrefixBytes + header_len;
  const size_t data_size = size - data_offset_;

  const char* begin = reinterpret_cast<const char*>(file_->data() + kLengthPrefixBytes);
  JsonLimits limits;
  limits.max_bytes = kMaxHeaderBytes;
  limits.reject_duplicate_keys = true;  // a tensor named twice is ambiguous
  const nlohmann::json header = parseJson(std::string_view(begin, header_len), path, limits);
  if (!header.is_object()) throw Error(path, "header", "is not a JSON object");

  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const auto& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) throw Error(path, name, "must be an object of strings");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) throw Error(path, "__metadata__." + m.key(), "must be a string");
        metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    if (!v.is_object()) throw Error(path, name, "entry is not an object");
    auto dtype_it = v.find("dtype");
    auto shape_it = v.find("shape");
    auto offsets_it = v.find("data_offsets");
    if (dtype_it == v.end() || !dtype_it->is_string()) throw Error(path, name, "missing or non-string 'dtype'");
    if (shape_it == v.end() || !shape_it->is_array()) throw Error(path, name, "missing or non-array 'shape'");
    if (offsets_it == v.end() || !offsets_it->is_array() || offsets_it->size() != 2)
      throw Error(path, name, "'data_offsets' must be [begin, end]");
    Entry e;
    e.dtype = dtype_it->get<std::string>();
    const DType* dt = findDType(e.dtype);
    if (!dt) throw Error(path, name, "unsupported dtype '" + e.dtype + "'");
    uint64_t numel = 1;
    for (const auto& d : *shape_it) {
      if (!d.is_number_unsigned()) throw Error(path, name, "shape entries must be non-negative integers");
      const uint64_t n = d.get<uint64_t>();
      if (n != 0 && numel > std::numeric_limits<uint64_t>::max() / n)
        throw Error(path, name, "shape overflows");
      numel *= n;
      e.shape.push_back(static_cast<int64_t>(n));
    }
    for (const auto& o : *offsets_it)
      if (!o.is_number_unsigned()) throw Error(path, name, "data_offsets must be non-negative integers");
    const uint64_t b = (*offsets_it)[0].get<uint64_t>(), en = (*offsets_it)[1].get<uint64_t>();
    if (b > en) throw Error(path, name, "data_offsets begin after they end");
    if (en > data_size)
      throw Error(path, name, "data_offsets [" + std::to_string(b) + ", " + std::to_string(en) +
                                  "] run past the end of the data (" + std::to_string(data_size) +
                                  " bytes; truncated file?)");
    if (numel > std::numeric_limits<uint64_t>::max() / dt->bytes || numel * dt->bytes != en - b)
      throw Error(path, name, "holds " + std::to_string(en - b) + " bytes but " + e.dtype + " " +
                                  "shape needs " + std::to_string(numel * dt->bytes));
    e.begin = static_cast<size_t>(b);
    e.end = static_cast<size_t>(en);
    entries_.emplace(name, std::move(e));
  }

  // Byte ranges must not overlap: two names aliasing the same bytes is never legitimate.
  // Empty tensors hold no bytes and are left out, so one placed between two overlapping
  // ranges cannot hide the overlap; each range is checked against the furthest end of all
  // ranges starting before it, not only its neighbour's.
  std::vector<std::pair<const Entry*, const std::string*>> byStart;
  for (const auto& [name, e] : entries_)
    if (e.begin != e.end) byStart.emplace_back(&e, &name);
  std::sort(byStart.begin(), byStart.end(), [](const auto& a, const auto& b) {
    return a.first->begin != b.first->begin ? a.first->begin < b.first->begin : *a.second < *b.second;
  });
  size_t furthest = 0;
  const std::string* furthestName = nullptr;
  for (const auto& [e, name] : byStart) {
    if (furthestName && e->begin < furthest)
      throw Error(path, *name, "data overlaps tensor '" + *furthestName + "'");
    if (e->end > furthest) {
      furthest = e->end;
      furthestName = name;
    }
  }
}

std::vector<std::string> SafeTensorsFile::names() const {
  std::vector<std::string> out;
  for (const auto& [name, e] : entries_) out.push_back(name);
  return out;
}

const SafeTensorsFile::Entry& SafeTensorsFile::entry(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) throw Error(path_, name, "no such tensor in the file");
  return it->second;
}

torch::Tensor SafeTensorsFile::tensor(const std::string& name) const {
  const Entry& e = entry(name);
  const DType* dt = findDType(e.dtype);
  return mappedTensor(file_, data_offset_ + e.begin, e.shape, dt->type);
}

torch::Tensor SafeTensorsFile::float_tensor(const std::string& name) const {
  const Entry& e = entry(name);
  // Converting integers would turn a float's bytes labelled I32 into plausible-looking
  // garbage: a float is expected here, so the label must say float.
  if (!c10::isFloatingType(findDType(e.dtype)->type))
    throw Error(path_, name, "is stored as " + e.dtype + ", but a floating-point tensor (F16, BF16, F32, F64) is expected");
  return tensor(name).to(torch::kFloat32);
}

void writeSafeTensors(const std::string& path, const std::map<std::string, torch::Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<torch::Tensor> data;
  size_t offset = 0;
  for (const auto& [name, t] : tensors) {
    const DType* dt = findDType(t.scalar_type());
    if (!dt) throw Error(path, name, "dtype cannot be stored in safetensors");
    torch::Tensor c = t.detach().to(torch::kCPU).contiguous();
    const size_t bytes = static_cast<size_t>(c.numel()) * dt->bytes;
    header[name] = {{"dtype", dt->name}, {"shape", c.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    data.push_back(c);
  }
  std::string text = header.dump();
  // Pad with spaces (valid JSON whitespace) so the data section starts aligned.
  while ((kLengthPrefixBytes + text.size()) % kTensorAlignment != 0) text.push_back(' ');
  writeFileAtomically(path, [&](const auto& append) {
    unsigned char len[kLengthPrefixBytes];
    const uint64_t n = text.size();
    for (size_t i = 0; i < kLengthPrefixBytes; ++i) len[i] = static_cast<unsigned char>(n >> (8 * i));
    append(len, sizeof len);
    append(text.data(), text.size());
    for (const auto& c : data) append(c.data_ptr(), static_cast<size_t>(c.numel()) * c.element_size());
  });
}

}  // namespace prisma::io
