#include "model/io/WeightStorage.h"

#include "model/Error.h"
#include "model/io/SafeTensors.h"

#include <torch/torch.h>

namespace prisma::io {

namespace {

constexpr int64_t kInt8Max = 127;
// A block size past this is not one this code wrote; refusing it keeps a hostile header
// from asking for absurd padding.
constexpr int64_t kMaxBlockSize = int64_t(1) << 20;

bool endsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

int64_t blocksFor(int64_t numel, int64_t block) { return (numel + block - 1) / block; }

// [numel] padded with zeros to whole blocks, as [blocks, block].
torch::Tensor asBlocks(const torch::Tensor& flat, int64_t block) {
  const int64_t n = flat.numel(), blocks = blocksFor(n, block);
  return torch::constant_pad_nd(flat, {0, blocks * block - n}).view({blocks, block});
}

void quantize(const std::string& name, const torch::Tensor& t, StateDict& out) {
  const torch::Tensor x = asBlocks(t.detach().to(torch::kFloat32).contiguous().view({-1}), kInt8BlockSize);
  const torch::Tensor scale = x.abs().amax(1) / double(kInt8Max);  // [blocks]
  // An all-zero block has scale 0; dividing by 1 there keeps its codes 0.
  const torch::Tensor safe = torch::where(scale > 0, scale, torch::ones_like(scale));
  const torch::Tensor q = (x / safe.unsqueeze(1)).round().clamp(-kInt8Max, kInt8Max).to(torch::kInt8);
  out[name] = q.view({-1}).slice(0, 0, t.numel()).view(t.sizes()).contiguous();
  out[name + kInt8ScaleSuffix] = scale.contiguous();
}

int64_t blockSizeOf(const SafeTensorsFile& file) {
  const auto& meta = file.metadata();
  const auto scheme = meta.find(kQuantizationKey);
  if (scheme == meta.end())
    throw Error(file.path(), std::string("__metadata__.") + kQuantizationKey,
                "missing, but the file holds int8 scales");
  if (scheme->second != kQuantizationInt8Blocks)
    throw Error(file.path(), std::string("__metadata__.") + kQuantizationKey,
                "unknown scheme '" + scheme->second + "' (this version reads '" + kQuantizationInt8Blocks + "')");
  const auto size = meta.find(kInt8BlockSizeKey);
  const std::string field = std::string("__metadata__.") + kInt8BlockSizeKey;
  if (size == meta.end()) throw Error(file.path(), field, "missing");
  const std::string& text = size->second;
  if (text.empty() || text.size() > 8 || text.find_first_not_of("0123456789") != std::string::npos)
    throw Error(file.path(), field, "'" + text + "' is not a positive integer");
  const int64_t block = std::stoll(text);
  if (block < 1 || block > kMaxBlockSize)
    throw Error(file.path(), field, text + " is outside 1.." + std::to_string(kMaxBlockSize));
  return block;
}

}  // namespace

std::string toString(WeightStorage s) {
  switch (s) {
    case WeightStorage::Int8Blocks: return "int8";
    case WeightStorage::Float16: return "float16";
    case WeightStorage::Float32: return "float32";
  }
  return "?";
}

EncodedWeights encodeWeights(const StateDict& tensors, WeightStorage storage) {
  EncodedWeights out;
  out.metadata["format"] = "pt";
  if (storage == WeightStorage::Int8Blocks) {
    out.metadata[kQuantizationKey] = kQuantizationInt8Blocks;
    out.metadata[kInt8BlockSizeKey] = std::to_string(kInt8BlockSize);
  }
  for (const auto& [name, t] : tensors) {
    if (endsWith(name, kInt8ScaleSuffix))
      throw Error("", name, std::string("a tensor name may not end in '") + kInt8ScaleSuffix + "'");
    if (!t.is_floating_point() || storage == WeightStorage::Float32)
      out.tensors[name] = t;
    else if (storage == WeightStorage::Int8Blocks && t.numel() >= kMinInt8Elements)
      quantize(name, t, out.tensors);
    else
      out.tensors[name] = t.to(torch::kFloat16);
  }
  return out;
}

void writeWeights(const std::string& path, const StateDict& tensors, WeightStorage storage) {
  const EncodedWeights e = encodeWeights(tensors, storage);
  writeSafeTensors(path, e.tensors, e.metadata);
}

std::vector<std::string> weightNames(const SafeTensorsFile& file) {
  std::vector<std::string> out;
  for (const auto& name : file.names()) {
    if (!endsWith(name, kInt8ScaleSuffix)) {
      out.push_back(name);
      continue;
    }
    const std::string base = name.substr(0, name.size() - std::string(kInt8ScaleSuffix).size());
    if (!file.contains(base) || file.entry(base).dtype != "I8")
      throw Error(file.path(), name, "is an int8 scale without an I8 tensor '" + base + "' beside it");
  }
  return out;
}

WeightStorage storageOf(const SafeTensorsFile& file) {
  bool anyFloat = false, allHalf = true;
  for (const auto& name : file.names()) {
    if (endsWith(name, kInt8ScaleSuffix)) return WeightStorage::Int8Blocks;
    const std::string& dtype = file.entry(name).dtype;
    if (dtype == "F16" || dtype == "F32" || dtype == "F64" || dtype == "BF16") {
      anyFloat = true;
      allHalf = allHalf && dtype == "F16";
    }
  }
  return anyFloat && allHalf ? WeightStorage::Float16 : WeightStorage::Float32;
}

torch::Tensor readFloatWeight(const SafeTensorsFile& file, const std::string& name) {
  const std::string scaleName = name + kInt8ScaleSuffix;
  if (!file.contains(scaleName)) return file.float_tensor(name);

  const auto& entry = file.entry(name);
  if (entry.dtype != "I8")
    throw Error(file.path(), scaleName, "has a scale but the tensor is " + entry.dtype + ", not I8");
  const int64_t block = blockSizeOf(file);
  const torch::Tensor q = file.tensor(name);
  const torch::Tensor scale = file.float_tensor(scaleName);
  const int64_t blocks = blocksFor(q.numel(), block);
  if (scale.dim() != 1 || scale.size(0) != blocks)
    throw Error(file.path(), scaleName,
                "has shape " + shapeString(scale) + ", expected [" + std::to_string(blocks) + "] (one per block of " +
                    std::to_string(block) + " values of " + shapeString(q) + ")");
  if (!torch::isfinite(scale).all().item<bool>() || (scale < 0).any().item<bool>())
    throw Error(file.path(), scaleName, "holds a negative or non-finite scale");
  const torch::Tensor x = asBlocks(q.to(torch::kFloat32).contiguous().view({-1}), block) * scale.unsqueeze(1);
  return x.view({-1}).slice(0, 0, q.numel()).view(q.sizes()).contiguous();
}

}  // namespace prisma::io
