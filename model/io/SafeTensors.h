#pragma once
// The safetensors format: an 8-byte little-endian header length, a JSON header mapping
// each tensor name to {dtype, shape, data_offsets} (plus optional "__metadata__"), then
// the raw bytes. The reader maps the file into memory and validates every header field
// before touching data, because weight files come from strangers: offsets past the end,
// overlapping ranges (empty tensors do not hide them), byte counts that disagree with the
// dtype and shape, absurd header sizes and duplicate names are all errors naming the file
// and the tensor; so is an integer tensor where a float weight is expected.

#include <torch/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace prisma::io {

class MappedFile;

class SafeTensorsFile {
public:
  struct Entry {
    std::string dtype;           // "F32", "F16", "BF16", ...
    std::vector<int64_t> shape;
    size_t begin = 0, end = 0;   // byte range within the data section
  };

  // Maps and validates `path`; throws prisma::Error naming the file and the field.
  explicit SafeTensorsFile(const std::string& path);

  const std::string& path() const { return path_; }
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const { return entries_.count(name) != 0; }
  const Entry& entry(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  // The tensor in its stored dtype. Shares the mapping (no copy) when the data is
  // suitably aligned, else copies once; either way the file stays mapped while any
  // returned tensor lives.
  torch::Tensor tensor(const std::string& name) const;
  // Same, converted to float32; refuses a tensor stored as an integer or bool dtype
  // (prisma::Error naming the file and the tensor), since a float is expected.
  torch::Tensor float_tensor(const std::string& name) const;

private:
  std::string path_;
  std::shared_ptr<MappedFile> file_;
  size_t data_offset_ = 0;
  std::map<std::string, Entry> entries_;
  std::map<std::string, std::string> metadata_;
};

// Writes `tensors` (any CPU dtype the format knows) atomically, names sorted, the header
// padded so the data starts 8-byte aligned.
void writeSafeTensors(const std::string& path, const std::map<std::string, torch::Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace prisma::io
