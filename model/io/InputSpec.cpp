#include "model/io/InputSpec.h"

#include "datasets/ImageIO.h"
#include "model/Error.h"
#include "model/core/Numbers.h"
#include "model/io/DatasetItemSpec.h"
#include "model/io/SafeTensors.h"
#include "model/io/WeightStorage.h"

#include <torch/torch.h>

namespace prisma::io {

torch::Tensor imageInput(const cv::Mat& image, const datasets::Preprocess& pre) {
  std::vector<float> chw = datasets::toModelInput(image, pre);
  return torch::from_blob(chw.data(), {1, pre.channels, pre.height, pre.width}, torch::kFloat32).clone();
}

torch::Tensor loadInput(const std::string& spec, const LoadedModel& model) {
  if (const auto named = readDatasetItemSpec(spec)) {
    const datasets::Item& item = named->item;
    return imageInput(datasets::fromPixels(item.pixels.data(), item.height, item.width, item.channels), model.preprocess);
  }
  const std::string marker = ".safetensors:";
  const auto pos = spec.find(marker);
  if (pos == std::string::npos) return imageInput(datasets::readImage(spec), model.preprocess);

  const std::string file = spec.substr(0, pos + marker.size() - 1);
  std::string key = spec.substr(pos + marker.size());
  std::optional<int64_t> index;
  if (const auto colon = key.rfind(':'); colon != std::string::npos) {
    const std::string idx = key.substr(colon + 1);
    if (!idx.empty() && idx.find_first_not_of("0123456789") == std::string::npos) {
      // Digits that do not fit are an error naming the spec, not "stoll".
      const auto parsed = parseInteger(idx);
      if (!parsed) throw Error(file, key.substr(0, colon), "index " + idx + " does not fit an integer");
      index = *parsed;
      key = key.substr(0, colon);
    }
  }
  SafeTensorsFile st(file);
  torch::Tensor t = readFloatWeight(st, key);
  if (index) {
    if (t.dim() < 1 || *index >= t.size(0))
      throw Error(file, key, "index " + std::to_string(*index) + " out of range");
    t = t.slice(0, *index, *index + 1);
  }
  return t.contiguous();
}

}  // namespace prisma::io
