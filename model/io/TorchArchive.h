#pragma once
// Files written by torch.save (PyTorch >= 1.6): a zip archive holding `<name>/data.pkl`
// (the pickled object) and one record `<name>/data/<key>` per storage. LibTorch's
// PyTorchStreamReader reads the records; the pickle goes through RestrictedUnpickler,
// so nothing in the file is ever executed (LibTorch 1.13's own torch::pickle_load also
// cannot read the OrderedDict-with-_metadata every Hugging Face .bin holds). Each tensor
// is checked against its storage's byte count before it is built.

#include "model/io/RestrictedUnpickler.h"
#include "model/vit/StateDict.h"

#include <memory>
#include <string>
#include <vector>

namespace prisma::io {

// True when `path` starts like a zip archive (torch.save's format since PyTorch 1.6).
bool looksLikeZip(const std::string& path);
// True when `path` starts with the pickled magic number of the legacy (pre-1.6) torch.save.
bool looksLikeLegacyTorchSave(const std::string& path);
// Either: a file for TorchArchive (which explains why a legacy one is not read), never for
// the safetensors reader.
bool looksLikeTorchSave(const std::string& path);

// The distinct elements a view of `size` and `stride` can reach (an upper bound): stride-0
// axes repeat elements, so this can be far below the element count.
int64_t addressedElements(const std::vector<int64_t>& size, const std::vector<int64_t>& stride);

class TorchArchive {
public:
  // Opens and unpickles `path`; throws prisma::Error naming the file (and the record or
  // global at fault) for legacy pre-1.6 files, TorchScript archives, corrupt zips,
  // forbidden globals and malformed pickles. What the zip declares for data.pkl is checked
  // before it is inflated (against the pickle's cap and the memory budget).
  // `data_classes`: classes whose pickled instances are read as data records (see
  // pickle::unpickle); none by default.
  explicit TorchArchive(const std::string& path, const std::vector<std::string>& data_classes = {});
  ~TorchArchive();
  TorchArchive(const TorchArchive&) = delete;
  TorchArchive& operator=(const TorchArchive&) = delete;

  const std::string& path() const { return path_; }
  const pickle::Value& root() const { return *root_; }

  // The tensor `ref` describes, in its stored dtype, viewing its storage record (read
  // once per archive). Throws when the sizes/strides/offset reach outside the storage,
  // when the storage record's declared size disagrees with the pickle, or when the tensors
  // built so far declare far more bytes than the file holds (views repeating their storage
  // through stride 0) or than the memory budget allows -- all before allocating.
  torch::Tensor tensor(const pickle::TensorRef& ref) const;

  // A {name: tensor} dict as a StateDict; a non-tensor value or duplicate name is an
  // error naming the key.
  StateDict tensors(const pickle::Value& dict) const;

  // The model's state dict: the root itself, or the usual wrapper entry of a training
  // checkpoint ("model_state_dict", "state_dict", "model", ...). `notes` says which entry
  // was used and what else the file held.
  StateDict modelStateDict(std::vector<std::string>& notes) const;

private:
  struct Records;
  std::string path_;
  std::unique_ptr<Records> records_;
  pickle::ValuePtr root_;
};

}  // namespace prisma::io
