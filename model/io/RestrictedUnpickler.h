#pragma once
// A restricted reader for Python pickles, enough for the `data.pkl` of a torch.save
// archive holding a state dict, and nothing more. Real pickles can call any Python
// function while loading (REDUCE on an arbitrary global), so reading one from a stranger
// with Python's own unpickler runs their code. This reader never executes anything: it
// interprets the binary opcodes (protocols 2-5) into plain values, and the only callables
// it knows are the few a state dict uses -- collections.OrderedDict,
// torch._utils._rebuild_tensor_v2 / _rebuild_parameter(_with_state) and the typed
// torch.*Storage classes named by persistent ids. Any other global is refused with an
// error naming the file and the global, before anything else happens.
//
// Tensors come back as descriptions (storage record, dtype, offset, sizes, strides);
// TorchArchive turns them into tensors after checking them against the storage bytes.
// No LibTorch here, so the fuzzer can drive this parser on its own.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace prisma::io::pickle {

// What `_rebuild_tensor_v2(storage, offset, size, stride, ...)` describes.
struct TensorRef {
  std::string storage_key;   // the archive record data/<key>
  std::string storage_type;  // "FloatStorage", "HalfStorage", ...
  int64_t storage_numel = 0;
  int64_t offset = 0;
  std::vector<int64_t> size, stride;
};

struct Value;
using ValuePtr = std::shared_ptr<Value>;

struct Value {
  enum class Kind { None, Bool, Int, Float, String, Bytes, Tuple, List, Dict, Global, Storage, Tensor };
  Kind kind = Kind::None;
  bool boolean = false;
  int64_t integer = 0;
  double real = 0.0;
  std::string text;                                    // String, Bytes, Global ("module.name")
  std::vector<ValuePtr> items;                         // Tuple, List
  std::vector<std::pair<ValuePtr, ValuePtr>> entries;  // Dict, in insertion order
  std::shared_ptr<const TensorRef> tensor;             // Storage (key, type, numel), Tensor
  // A Dict that records an instance of an allow-listed data class (see unpickle's
  // `data_classes`): the class's qualified name; its entries are the instance's state.
  std::string object_class;
  // Containers become read-only once they are inside another value, which makes
  // self-referencing structures (and so unbounded walks and leaks) impossible.
  bool frozen = false;
  int depth = 0;  // nesting depth below this value

  bool isDict() const { return kind == Kind::Dict; }
  // The entry under string key `key`, or nullptr.
  const Value* find(const std::string& key) const;
  std::string kindName() const;
};

// Interprets `data` (a whole pickle). Throws prisma::Error naming `source` on any opcode
// outside the supported set, any forbidden global, malformed or truncated data, or
// structures nested deeper than a state dict ever is.
//
// `data_classes` (qualified names, empty by default) lets a caller read pickled instances
// of plain configuration classes, such as ViT-Prisma's SAE config dataclass, as data:
// NEWOBJ of such a class with no arguments and the BUILD that follows become a Dict of the
// instance's state with `object_class` set. The class is neither imported nor called; its
// name is only compared. Every other global is still refused.
ValuePtr unpickle(const unsigned char* data, size_t size, const std::string& source,
                  const std::vector<std::string>& data_classes = {});

}  // namespace prisma::io::pickle
