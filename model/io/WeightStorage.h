#pragma once
// How the project's own weight files store their tensors, and reading them back as float32.
//
// The shipped mice are dozens of small ViTs; float16 halves their files and 8-bit blocks
// quarter them. Int8Blocks cuts each floating tensor (flattened, in storage order) into
// blocks of kInt8BlockSize values and keeps one float32 scale per block, max|block| / 127,
// so every value comes back within half a step (max|block| / 254) of the original: about
// 8.5 bits a value, and a block-local step, so one large weight does not coarsen a whole
// matrix. Small tensors (biases, LayerNorm, the CLS token) stay float16 because their share
// of the file is tiny and a step would be coarse for them. Blocks rather than rows because
// the same rule then fits every layout (HookedViT's [head, d_model, d_head], a conv
// kernel's [out, c, p, p]).
//
// On disk a quantised tensor NAME is an I8 tensor of NAME's shape beside an F32 tensor
// NAME + kInt8ScaleSuffix of ceil(numel / block) scales; the file's metadata names the
// scheme and the block size, so a reader never guesses. Exporting to Hugging Face or timm
// goes through the loaded float32 model and never writes this layout.

#include "model/vit/StateDict.h"

#include <map>
#include <string>
#include <vector>

namespace prisma::io {

class SafeTensorsFile;

enum class WeightStorage { Int8Blocks, Float16, Float32 };

std::string toString(WeightStorage s);  // "int8", "float16", "float32"

constexpr int64_t kInt8BlockSize = 64;
// Tensors with fewer values stay float16 under Int8Blocks.
constexpr int64_t kMinInt8Elements = 1024;
// ':' never occurs in a parameter name, so a scale can never shadow one.
constexpr const char* kInt8ScaleSuffix = ":int8_scale";
constexpr const char* kQuantizationKey = "prisma.quantization";
constexpr const char* kQuantizationInt8Blocks = "int8_blocks";
constexpr const char* kInt8BlockSizeKey = "prisma.int8_block_size";

struct EncodedWeights {
  StateDict tensors;
  std::map<std::string, std::string> metadata;  // safetensors __metadata__ entries
};

// `tensors` as they are to be written under `storage`; non-floating tensors are kept as is.
EncodedWeights encodeWeights(const StateDict& tensors, WeightStorage storage);
// Encodes and writes `path` atomically (safetensors, metadata format "pt" plus the scheme's).
void writeWeights(const std::string& path, const StateDict& tensors, WeightStorage storage);

// The file's tensor names without the quantisation scales.
std::vector<std::string> weightNames(const SafeTensorsFile& file);
// How the file stores its floating tensors: Int8Blocks when any is quantised, Float16 when
// all are float16, else Float32 (mixed or wider files included).
WeightStorage storageOf(const SafeTensorsFile& file);
// The tensor as float32: dequantised when it is stored as int8 blocks. Throws prisma::Error
// naming the file and the tensor when a scale is missing, misshapen or not a finite
// non-negative number, or the metadata's block size is not a sane positive integer.
torch::Tensor readFloatWeight(const SafeTensorsFile& file, const std::string& name);

}  // namespace prisma::io
