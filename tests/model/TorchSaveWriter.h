#pragma once
// Writes torch.save-format archives for tests: a hand-assembled pickle (the opcodes
// torch.save emits for a state dict) plus one storage record per tensor, through
// LibTorch's PyTorchStreamWriter. With it the tests build .bin files that are valid,
// subtly wrong (a missing key, a view past its storage) or hostile (forbidden globals),
// without Python.

#include "model/vit/StateDict.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace prisma::test {

// A pickle assembled opcode by opcode (protocol 2, as torch.save writes).
class PickleBytes {
public:
  PickleBytes() { bytes_ = std::string("\x80\x02", 2); }
  PickleBytes& raw(const std::string& b) {
    bytes_ += b;
    return *this;
  }
  PickleBytes& op(char c) {
    bytes_ += c;
    return *this;
  }
  PickleBytes& str(const std::string& s) {
    bytes_ += 'X';
    u32(static_cast<uint32_t>(s.size()));
    bytes_ += s;
    return *this;
  }
  PickleBytes& integer(int32_t v) {
    bytes_ += 'J';
    u32(static_cast<uint32_t>(v));
    return *this;
  }
  PickleBytes& global(const std::string& module, const std::string& name) {
    bytes_ += 'c' + module + '\n' + name + '\n';
    return *this;
  }
  PickleBytes& mark() { return op('('); }
  PickleBytes& tuple() { return op('t'); }
  // torch._utils._rebuild_tensor_v2(storage pid, offset, size, stride, False, OrderedDict())
  PickleBytes& tensor(const std::string& key, int64_t storage_numel, const std::vector<int64_t>& size,
                      const std::vector<int64_t>& stride, int64_t offset = 0,
                      const std::string& storage_type = "FloatStorage") {
    global("torch._utils", "_rebuild_tensor_v2").mark();
    mark().str("storage").global("torch", storage_type).str(key).str("cpu").integer(static_cast<int32_t>(storage_numel));
    tuple().op('Q');
    integer(static_cast<int32_t>(offset));
    mark();
    for (int64_t s : size) integer(static_cast<int32_t>(s));
    tuple().mark();
    for (int64_t s : stride) integer(static_cast<int32_t>(s));
    tuple().op('\x89');
    global("collections", "OrderedDict").op(')').op('R');
    return tuple().op('R');
  }
  std::string done() const { return bytes_ + "."; }

private:
  void u32(uint32_t v) {
    for (int i = 0; i < 4; ++i) bytes_ += static_cast<char>((v >> (8 * i)) & 0xff);
  }
  std::string bytes_;
};

// Writes `pickle` as data.pkl plus the given storage records (key -> bytes).
inline void writeArchive(const std::string& path, const std::string& pickle,
                         const std::vector<std::pair<std::string, std::string>>& storages = {}) {
  caffe2::serialize::PyTorchStreamWriter writer(path);
  writer.writeRecord("data.pkl", pickle.data(), pickle.size());
  writer.writeRecord("byteorder", "little", 6);
  for (const auto& [key, bytes] : storages) writer.writeRecord("data/" + key, bytes.data(), bytes.size());
  writer.writeEndOfFile();
}

// A state dict saved the way Hugging Face does: an OrderedDict with a `_metadata`
// attribute (a BUILD opcode), each tensor in its own float32 storage.
inline void writeStateDict(const std::string& path, const prisma::StateDict& sd, bool with_metadata = true) {
  PickleBytes p;
  p.global("collections", "OrderedDict").op(')').op('R').mark();
  std::vector<std::pair<std::string, std::string>> storages;
  int key = 0;
  for (const auto& [name, t] : sd) {
    const torch::Tensor c = t.detach().to(torch::kFloat32).contiguous();
    std::vector<int64_t> stride = c.strides().vec();
    p.str(name).tensor(std::to_string(key), c.numel(), c.sizes().vec(), stride);
    storages.emplace_back(std::to_string(key),
                          std::string(static_cast<const char*>(c.data_ptr()), static_cast<size_t>(c.nbytes())));
    ++key;
  }
  p.op('u');
  if (with_metadata) p.op('}').mark().str("_metadata").op('}').op('u').op('b');
  writeArchive(path, p.done(), storages);
}

}  // namespace prisma::test
