#pragma once
// Items turned into what a model eats: one contiguous float buffer [N, C, H, W] after
// the model's preprocessing, with the labels alongside.

#include "datasets/Dataset.h"
#include "datasets/Preprocess.h"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace prisma::datasets {

struct Batch {
  std::vector<float> inputs;  // count × channels × height × width
  std::vector<std::int64_t> labels;
  int count = 0;
  int channels = 0;
  int height = 0;
  int width = 0;
};

// One item through ImageIO's canonical form and toModelInput.
std::vector<float> toModelInput(const Item& item, const Preprocess& pre);

// The items at `indices` of one split, each preprocessed like toModelInput.
Batch makeBatch(const Dataset& dataset, Split split, const std::vector<std::size_t>& indices,
                const Preprocess& pre);

}  // namespace prisma::datasets
