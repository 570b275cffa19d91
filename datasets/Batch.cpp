// Batches through the same preprocessing path as single images, so training and
// inspection see identical inputs.

#include "datasets/Batch.h"

#include "datasets/ImageIO.h"

#include <algorithm>

namespace prisma::datasets {

std::vector<float> toModelInput(const Item& item, const Preprocess& pre) {
  return toModelInput(fromPixels(item.pixels.data(), item.height, item.width, item.channels), pre);
}

Batch makeBatch(const Dataset& dataset, Split split, const std::vector<std::size_t>& indices,
                const Preprocess& pre) {
  Batch batch;
  batch.count = static_cast<int>(indices.size());
  batch.channels = pre.channels;
  batch.height = pre.height;
  batch.width = pre.width;
  const std::size_t perItem = static_cast<std::size_t>(pre.channels) * pre.height * pre.width;
  batch.inputs.resize(perItem * indices.size());
  batch.labels.reserve(indices.size());
  for (std::size_t i = 0; i < indices.size(); ++i) {
    const Item item = dataset.item(split, indices[i]);
    const std::vector<float> input = toModelInput(item, pre);
    std::copy(input.begin(), input.end(), batch.inputs.begin() + static_cast<std::ptrdiff_t>(i * perItem));
    batch.labels.push_back(item.label);
  }
  return batch;
}

}  // namespace prisma::datasets
